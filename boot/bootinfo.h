/* SPDX-License-Identifier: MIT */
/*
 * The hand-off from the UEFI loader (boot/) to the hypervisor monolith.
 * Everything here is physical and identity-mapped at hand-off; after it the
 * hypervisor never calls UEFI again.  Versioned: the monolith refuses a
 * structure it does not understand.
 */
#ifndef HV_BOOTINFO_H
#define HV_BOOTINFO_H

#include <stdint.h>

#include "boot/acpi.h"

#define BOOTINFO_MAGIC		0x544f4f425648ULL	/* "HVBOOT" */
#define BOOTINFO_VERSION	1
#define BOOTINFO_MAX_RANGES	256
#define BOOTINFO_MAX_MODULES	48

/* Kernel virtual base; linker.ld links the monolith here (top 2 GiB). */
#define HV_IMAGE_VA		0xffffffff80000000ULL

enum boot_mem_type {
	BOOT_MEM_FREE = 1,	/* ours once UEFI is gone: conventional + boot services */
	BOOT_MEM_RESERVED,	/* firmware, runtime services, MMIO, the loader's allocations */
	BOOT_MEM_ACPI,		/* ACPI reclaim/NVS: keep, the tables live here */
};

struct boot_mem_range {
	uint64_t base;
	uint64_t npages;
	uint32_t type;
	uint32_t efi_type;
};

/* A file the loader read for the hypervisor: hv.cfg, guest images. */
struct boot_module {
	char name[64];
	uint64_t pa;
	uint64_t size;
};

struct boot_info {
	uint64_t magic;
	uint32_t version;
	uint32_t bsp_apic_id;

	char source[16];		/* "disk" or "pxe": where hv.cfg came from */
	char loader_version[32];

	uint64_t tsc_khz;		/* calibrated against UEFI Stall() */
	uint64_t rsdp;
	struct acpi_info acpi;
	char acpi_error[128];		/* non-empty when ACPI parsing failed */
	char cpu_source[24];		/* "ACPI MADT" or "UEFI MP services" */

	uint64_t image_pa;		/* the monolith, mapped at HV_IMAGE_VA */
	uint64_t image_size;
	uint64_t trampoline_pa;		/* 4 pages below 1 MiB for AP start-up */

	uint32_t nranges;
	uint32_t nmodules;
	struct boot_mem_range ranges[BOOTINFO_MAX_RANGES];
	struct boot_module modules[BOOTINFO_MAX_MODULES];	/* modules[0] is hv.cfg when present */
	char module_errors[256];	/* files hv.cfg names that could not be read */
};

#endif
