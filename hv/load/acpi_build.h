/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables the hypervisor builds for a guest: RSDP, XSDT, FADT (reset
 * register, PM1a blocks, S5 in the DSDT), FACS, DSDT and MADT (one local
 * APIC per vCPU, the I/O APIC, the ISA interrupt overrides); with PCI, the
 * host bridge and its INTx routing in the DSDT and ECAM in an MCFG.  Portable.
 */
#ifndef HV_ACPI_BUILD_H
#define HV_ACPI_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct acpi_build_cfg {
	uint64_t gpa;			/* where the blob will sit in the guest (RSDP first) */
	unsigned int ncpus;		/* local APIC IDs 0 .. ncpus-1 */
	bool pci;			/* describe the PCI bus (guest_boot.h's GUEST_PCI_*) */
};

/* Build the tables into buf; returns the bytes used, 0 if len is too small. */
size_t acpi_build(void *buf, size_t len, const struct acpi_build_cfg *cfg);

#endif
