# Serial shell: line editor and command-line parsing.
$(eval $(call host_test,hv/test_line_edit,tests/hv/test_line_edit.c hv/line_edit.c hv/shell_parse.c))
$(eval $(call host_test,hv/test_shell_parse,tests/hv/test_shell_parse.c hv/shell_parse.c))
