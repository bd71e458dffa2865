# Serial shell: line editor and command-line parsing (hv/shell/), numbers (hv/lib/parse.c).
$(eval $(call host_test,hv/shell/test_line_edit,tests/hv/shell/test_line_edit.c hv/shell/line_edit.c hv/shell/parse.c))
$(eval $(call host_test,hv/shell/test_shell_parse,tests/hv/shell/test_shell_parse.c hv/shell/parse.c hv/lib/parse.c))
