# hv.cfg parsing (hv/core/config.c).
$(eval $(call host_test,hv/core/test_config,tests/hv/core/test_config.c hv/core/config.c hv/lib/format.c hv/lib/parse.c))
