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

/* Guest physical layout: page tables and GDT sit in the loader's area (hv/load/guest_load.c). */
#define LINUX_PAGE_TABLES	0x1000ULL	/* CR3: the identity map */
#define LINUX_GDT		0x7000ULL	/* 0x10: __BOOT_CS, 0x18: __BOOT_DS */
#define LINUX_BOOT_PARAMS	0x8000ULL	/* the zero page; RSP starts below it */
#define LINUX_CMDLINE		0x9000ULL	/* up to 4 KiB */
#define LINUX_MIN_MEMORY	(32ULL << 20)
#define LINUX_RELOC_MIN		(16ULL << 20)	/* lowest address a relocated kernel gets */

/* One entry of the guest's memory map, as boot_params and Multiboot carry it. */
struct e820_entry {
	uint64_t addr, size;
	uint32_t type;			/* E820_RAM, E820_RESERVED, E820_ACPI */
} __attribute__((packed));

#define E820_RAM	1
#define E820_RESERVED	2
#define E820_ACPI	3
#define E820_NR		5

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
	uint64_t cmdline_len;		/* with the NUL, at LINUX_CMDLINE */
	uint64_t gdt[4];		/* at LINUX_GDT */
	uint8_t boot_params[4096];	/* at LINUX_BOOT_PARAMS */
};

/* 0xAA55 at 0x1FE and "HdrS" at 0x202. */
bool linux_is_bzimage(const void *img, uint64_t size);
/* Check the setup header; 0, or -1 with the reason in err. */
int linux_parse(const void *img, uint64_t size, struct linux_image *li, char *err, unsigned int n);
/*
 * Validate and lay out a guest of @memory bytes: kernel, initrd, zero page
 * (its setup header copied from the image), command line, GDT and vCPU 0's
 * state.  0, or -1 with the reason in err.
 */
int linux_plan(const void *img, uint64_t size, uint64_t initrd_size, const char *cmdline,
	       uint64_t memory, struct linux_plan *p, char *err, unsigned int n);
/* The guest's memory map (Multiboot reports the same); returns E820_NR. */
unsigned int linux_e820_map(struct e820_entry *map, uint64_t memory);

#endif
