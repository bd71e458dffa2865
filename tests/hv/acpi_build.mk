# The guest's ACPI tables (hv/acpi_build.c), read back by boot/acpi.c and by iasl -d.
$(eval $(call host_test,hv/test_acpi_build,tests/hv/test_acpi_build.c hv/acpi_build.c boot/acpi.c))
