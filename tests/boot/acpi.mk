# ACPI table parser (boot/acpi.c): built tables, damaged tables, QEMU recordings.
$(eval $(call host_test,boot/test_acpi,tests/boot/test_acpi.c boot/acpi.c))
