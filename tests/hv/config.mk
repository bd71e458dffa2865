$(eval $(call host_test,hv/test_config,tests/hv/test_config.c hv/config.c hv/format.c hv/shell_parse.c))
