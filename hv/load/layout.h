/* SPDX-License-Identifier: MIT */
/*
 * The guest-physical layout the loaders share: the memory map a guest is
 * told (e820 for Linux, the Multiboot mmap), and where the loader's own
 * structures (page tables, GDT, boot_params, the Multiboot info) go: in
 * RAM the image, its bss and its modules leave free.  Portable and pure
 * (host-tested); docs/guest-images.md has the placement rules.
 */
#ifndef HV_LOAD_LAYOUT_H
#define HV_LOAD_LAYOUT_H

#include <stdint.h>

#include "hv/core/guest_boot.h"

/* One entry of the guest's memory map, as boot_params and Multiboot carry it. */
struct e820_entry {
	uint64_t addr, size;
	uint32_t type;			/* E820_RAM, E820_RESERVED, E820_ACPI */
} __attribute__((packed));

#define E820_RAM	1
#define E820_RESERVED	2
#define E820_ACPI	3
#define E820_MAX	8		/* the platform's five, one RAM entry cut in three, RAM above 4 GiB */

/* [start, end) of guest-physical memory; empty when start == end. */
struct layout_range {
	uint64_t start, end;
};

/*
 * The loader's area never starts below this page: page 0 holds the real-mode
 * IVT and BDA a guest may use.  Low memory above it is tried first; only when
 * the image leaves no room there does the area go to the top of RAM.
 */
#define LAYOUT_AREA_MIN		0x1000ULL
/* Identity page tables for a 64-bit entry: PML4, PDPT, four PDs (4 GiB of 2 MiB pages). */
#define LAYOUT_PAGE_TABLES_SIZE	0x6000ULL

/*
 * The lowest @align-aligned address at or above @from where @size bytes of
 * guest RAM (below @memory, outside the hole 0x9f000-1 MiB) miss every range
 * in @taken and end at or below @limit.  0 with *at set, -1 if none.
 */
int layout_lowest(const struct layout_range *taken, unsigned int n, uint64_t size,
		  uint64_t align, uint64_t from, uint64_t limit, uint64_t memory, uint64_t *at);
/* The same, the highest such address at or above @from. */
int layout_highest(const struct layout_range *taken, unsigned int n, uint64_t size,
		   uint64_t align, uint64_t from, uint64_t limit, uint64_t memory, uint64_t *at);
/*
 * Where the loader's area of @size bytes (a multiple of 4 KiB) goes: the
 * lowest free pages of low memory at or above LAYOUT_AREA_MIN, else the
 * highest free pages of RAM.  0 with *at set, -1 if no RAM is left for it.
 */
int layout_boot_area(const struct layout_range *taken, unsigned int n, uint64_t size,
		     uint64_t memory, uint64_t *at);
/*
 * The memory map of a guest of @memory bytes: RAM, the legacy hole, the
 * ACPI tables, with @reserved (if not empty; inside RAM below 3 GiB) cut out
 * of RAM as E820_RESERVED, and RAM above 4 GiB for a guest of more than 3 GiB.  Entries in address order; returns their number.
 */
unsigned int layout_e820(struct e820_entry map[E820_MAX], uint64_t memory,
			 struct layout_range reserved);

#endif
