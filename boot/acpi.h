/* SPDX-License-Identifier: MIT */
/*
 * ACPI table parser: the RSDP, the root table (XSDT or RSDT), the MADT, the
 * FADT and the \_S5_ object of the DSDT, reduced to the few facts the
 * hypervisor needs.  Firmware tables are treated as hostile input: every
 * length is bounded before use, nothing outside what the map callback
 * returned is read, and a damaged table costs a warning, not the boot.
 *
 * Portable: builds freestanding (the UEFI loader, identity-mapped) and hosted
 * (tests/boot/test_acpi.c).  The result holds no pointers, so it can be
 * copied into the boot information handed to the hypervisor.
 */
#ifndef BOOT_ACPI_H
#define BOOT_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_CPUS		64
#define ACPI_MAX_IOAPICS	8
/* Tables declaring a larger length are rejected before being mapped. */
#define ACPI_MAX_TABLE_LEN	(16u << 20)
/* Root-table entries beyond this many are ignored (with a warning). */
#define ACPI_MAX_ROOT_ENTRIES	256

/* acpi_parse() return values. */
#define ACPI_E_ARG		(-1)	/* NULL map or out */
#define ACPI_E_RSDP		(-2)	/* RSDP unmapped or invalid */
#define ACPI_E_ROOT		(-3)	/* neither XSDT nor RSDT usable */

/*
 * Return a pointer to @len readable bytes at physical address @phys, or NULL
 * when that range is not mapped or not allowed.  acpi_parse() never reads
 * outside a returned range, and every pointer returned must stay valid until
 * acpi_parse() returns (an identity map satisfies both).
 */
typedef const void *(*acpi_map_fn)(void *ctx, uint64_t phys, size_t len);

struct acpi_cpu {
	uint32_t apic_id;
	uint32_t uid;			/* ACPI processor UID */
	bool x2apic_entry;		/* listed by a type-9 (x2APIC) MADT entry */
};

struct acpi_ioapic {
	uint8_t id;
	uint32_t addr;
	uint32_t gsi_base;
};

struct acpi_info {
	uint8_t revision;		/* RSDP revision: 0 = ACPI 1.0, 2+ = XSDT era */
	char oem_id[7];			/* RSDP OEM ID, printable, NUL-terminated */

	/* MADT.  The BSP is not identified here: it reads its own APIC ID. */
	uint32_t ncpus;			/* enabled CPUs, unique APIC IDs, MADT order */
	struct acpi_cpu cpus[ACPI_MAX_CPUS];
	/* Both count MADT entries: they are not deduplicated by APIC ID. */
	uint32_t cpus_disabled;		/* entries without the enabled flag */
	uint32_t cpus_dropped;		/* enabled entries beyond ACPI_MAX_CPUS */
	uint64_t lapic_addr;		/* MADT value, or the type-5 override */
	uint32_t nioapics;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];

	/* FADT.  The PM blocks are I/O ports; 0 when absent. */
	bool have_fadt;
	uint32_t pm1a_cnt, pm1b_cnt;
	uint32_t pm_tmr_blk;
	bool pm_tmr_32bit;		/* TMR_VAL_EXT: 32-bit counter, else 24 */
	bool reset_valid;
	uint8_t reset_space;		/* 0 memory, 1 I/O */
	uint64_t reset_addr;
	uint8_t reset_value;
	uint64_t dsdt;			/* physical address, 0 when unknown */

	/* \_S5_ of the DSDT: the SLP_TYPa/b values to write for soft-off. */
	bool s5_valid;
	uint8_t s5_typ_a, s5_typ_b;

	char warnings[256];		/* "; "-separated notes, "..." if cut */
};

/*
 * Parse the ACPI tables reachable from the RSDP at @rsdp_phys into @out
 * (always fully initialised, even on failure).  Returns 0 on success, or
 * ACPI_E_* with a one-line reason in @err (may be NULL or @errlen 0).
 *
 * Fatal: an RSDP that is unmapped or has a bad signature, checksum or (for
 * revision >= 2) length or extended checksum; no usable root table.  An XSDT
 * that is unmapped or damaged falls back to the RSDT with a warning.  Any
 * other table that is unmapped, has a length outside [36, 16 MiB] or a bad
 * checksum is skipped with a note in out->warnings; a missing MADT leaves
 * ncpus 0, a missing FADT leaves have_fadt false.  Only the first valid
 * MADT and FADT are used.
 */
int acpi_parse(uint64_t rsdp_phys, acpi_map_fn map, void *ctx,
	       struct acpi_info *out, char *err, size_t errlen);

#endif
