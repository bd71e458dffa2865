/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1, loaded the way QEMU -kernel does: the header's address
 * fields (flag 16) or else the image's ELF32 segments, modules page-aligned
 * after the kernel, the info structure in low memory, and vCPU 0 in flat
 * 32-bit protected mode with EAX = 0x2BADB002, EBX = the info.  Portable
 * (host-tested): hv/load/guest_load.c writes the plan into the guest.
 */
#ifndef HV_MULTIBOOT_H
#define HV_MULTIBOOT_H

#include <stdint.h>

#include "hv/core/guest_boot.h"

#define MB_HEADER_MAGIC		0x1badb002
#define MB_BOOT_MAGIC		0x2badb002
#define MB_SEARCH_LEN		8192		/* the header lies in the first 8 KiB */

/* Header flags: 0-15 must be understood, 16-31 may be ignored. */
#define MB_FLAG_PAGE_ALIGN	(1u << 0)
#define MB_FLAG_MEMORY_INFO	(1u << 1)
#define MB_FLAG_VIDEO_MODE	(1u << 2)
#define MB_FLAG_ADDRESSES	(1u << 16)

/* Info flags this loader sets. */
#define MB_INFO_MEMORY		(1u << 0)
#define MB_INFO_CMDLINE		(1u << 2)
#define MB_INFO_MODS		(1u << 3)
#define MB_INFO_MMAP		(1u << 6)
#define MB_INFO_LOADER_NAME	(1u << 9)

/*
 * The loader's area, where hv/load/layout.h finds room (the lowest free pages
 * from 0x1000, else the top of RAM): the GDT at its start, the initial stack
 * below +0x1000, then the info.  The mmap reports it reserved, so a kernel
 * that builds its allocator from the map before it reads its command line
 * and modules does not overwrite them.  The image may lie anywhere in RAM.
 */
#define MB_AREA_GDT		0x0000ULL	/* 0x10: flat data, 0x18: 32-bit code */
#define MB_AREA_STACK		0x1000ULL	/* initial ESP */
#define MB_AREA_INFO		0x1000ULL	/* info, mmap, module list, strings */
#define MB_INFO_SIZE		0x2000ULL
#define MB_AREA_SIZE		(MB_AREA_INFO + MB_INFO_SIZE)
#define MB_MAX_SEGS		16
#define MB_MAX_MODS		8

/* A module the caller loads: the file's name, its arguments and size. */
struct mb_module {
	const char *file, *args;
	uint64_t size;
};

/* Image bytes [off, off + filesz) at gpa, zeros up to memsz. */
struct mb_segment {
	uint64_t gpa, off, filesz, memsz;
};

struct multiboot_plan {
	struct guest_boot boot;
	unsigned int nsegs;
	struct mb_segment segs[MB_MAX_SEGS];
	uint64_t mod_gpa[MB_MAX_MODS];		/* where each module's bytes go */
	uint64_t area;				/* the loader's area, MB_AREA_SIZE bytes */
	uint64_t gdt[4];			/* at area + MB_AREA_GDT */
	uint32_t info_len;
	uint8_t info[MB_INFO_SIZE];		/* at area + MB_AREA_INFO */
};

/* Offset of a valid header (magic, checksum) in the first 8 KiB; -1 if none. */
long multiboot_find_header(const void *img, uint64_t size);
/*
 * Validate and lay out a guest of @memory bytes; @image names the kernel in
 * its command line ("IMAGE CMDLINE").  0, or -1 with the reason in err.
 */
int multiboot_plan(const void *img, uint64_t size, const char *image, const char *cmdline,
		   const struct mb_module *mods, unsigned int nmods, uint64_t memory,
		   struct multiboot_plan *p, char *err, unsigned int n);

#endif
