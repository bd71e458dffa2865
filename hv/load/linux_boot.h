/* SPDX-License-Identifier: MIT */
/*
 * The x86 Linux boot protocol (Documentation/arch/x86/boot.rst), 64-bit
 * entry: validate a bzImage's setup header, place the kernel, initrd,
 * command line and boot_params ("zero page"), and say how vCPU 0 starts.
 * Portable (host-tested): hv/load/guest_load.c writes the plan into the guest.
 */
#ifndef HV_LINUX_BOOT_H
#define HV_LINUX_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/core/guest_boot.h"
#include "hv/load/layout.h"

/*
 * The loader's area (hv/load/layout.h places it; with the kernel at 1 MiB or
 * above it starts at 0x1000): offsets of what it holds.  The e820 map leaves
 * it RAM: the kernel copies boot_params and the command line before it
 * allocates, builds its own page tables and GDT, and keeps the first 1 MiB.
 */
#define LINUX_AREA_PAGE_TABLES	0x0000ULL	/* CR3: the identity map (guest_load.c) */
#define LINUX_AREA_GDT		LAYOUT_PAGE_TABLES_SIZE	/* 0x10: __BOOT_CS, 0x18: __BOOT_DS */
#define LINUX_AREA_BOOT_PARAMS	(LINUX_AREA_GDT + 0x1000)	/* RSP starts below it */
#define LINUX_AREA_CMDLINE	(LINUX_AREA_BOOT_PARAMS + 0x1000)	/* up to 4 KiB */
#define LINUX_AREA_SIZE		(LINUX_AREA_CMDLINE + 0x1000)
#define LINUX_MIN_MEMORY	(32ULL << 20)
#define LINUX_RELOC_MIN		(16ULL << 20)	/* lowest address a relocated kernel gets */

/* What the setup header says, once validated. */
struct linux_image {
	uint16_t version;		/* 0x020f: 2.15 */
	uint64_t kernel_off, kernel_size;	/* the protected-mode kernel in the file */
	uint64_t pref_address;
	uint32_t kernel_alignment, init_size, initrd_addr_max, cmdline_size;
	bool relocatable;
};

/* Everything hv/load/guest_load.c writes, and vCPU 0's start. */
struct linux_plan {
	struct guest_boot boot;
	uint64_t kernel;		/* where img + kernel_off, kernel_size bytes go */
	uint64_t kernel_off, kernel_size;
	uint64_t initrd, initrd_size;	/* initrd_size 0: none */
	uint64_t area;			/* the loader's area, LINUX_AREA_SIZE bytes */
	uint64_t cmdline_len;		/* with the NUL, at area + LINUX_AREA_CMDLINE */
	uint64_t gdt[4];		/* at area + LINUX_AREA_GDT */
	uint8_t boot_params[4096];	/* at area + LINUX_AREA_BOOT_PARAMS */
};

/* 0xAA55 at 0x1FE and "HdrS" at 0x202. */
bool linux_is_bzimage(const void *img, uint64_t size);
/* Check the setup header; 0, or -1 with the reason in err. */
int linux_parse(const void *img, uint64_t size, struct linux_image *li, char *err, unsigned int n);
/*
 * Validate and lay out a guest of @memory bytes: kernel, initrd, the loader's
 * area (zero page with the image's setup header, command line, GDT, page
 * tables) and vCPU 0's state.  0, or -1 with the reason in err.
 */
int linux_plan(const void *img, uint64_t size, uint64_t initrd_size, const char *cmdline,
	       uint64_t memory, struct linux_plan *p, char *err, unsigned int n);

#endif
