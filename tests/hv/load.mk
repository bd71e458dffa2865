# Guest images (hv/load/): the Linux boot protocol and Multiboot v1 (portable parts),
# and the guest's ACPI tables, read back by boot/acpi.c and by iasl -d.
$(eval $(call host_test,hv/load/test_linux_boot,tests/hv/load/test_linux_boot.c hv/load/linux_boot.c hv/load/layout.c hv/lib/format.c))
$(eval $(call host_test,hv/load/test_multiboot,tests/hv/load/test_multiboot.c hv/load/multiboot.c hv/load/layout.c hv/lib/format.c))
$(eval $(call host_test,hv/load/test_layout,tests/hv/load/test_layout.c hv/load/layout.c))
$(eval $(call host_test,hv/load/test_acpi_build,tests/hv/load/test_acpi_build.c hv/load/acpi_build.c boot/acpi.c))
