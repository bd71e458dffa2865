# Guest image formats: the Linux boot protocol and Multiboot v1 (portable parts).
$(eval $(call host_test,hv/test_linux_boot,tests/hv/test_linux_boot.c hv/linux_boot.c hv/format.c))
$(eval $(call host_test,hv/test_multiboot,tests/hv/test_multiboot.c hv/multiboot.c hv/linux_boot.c hv/format.c))
