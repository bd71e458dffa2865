/* SPDX-License-Identifier: MIT */
/*
 * The Multiboot v1 information structure, as the Multiboot Specification
 * 0.6.96 (section 3.3, "Boot information format") lays it out.
 */
#ifndef CGUEST_MB_H
#define CGUEST_MB_H

#include <stdint.h>

#include "tests/guests/c/rt.h"

#define MB_BOOT_MAGIC		0x2badb002

#define MB_INFO_MEMORY		(1u << 0)
#define MB_INFO_BOOTDEV		(1u << 1)
#define MB_INFO_CMDLINE		(1u << 2)
#define MB_INFO_MODS		(1u << 3)
#define MB_INFO_AOUT_SYMS	(1u << 4)
#define MB_INFO_ELF_SHDR	(1u << 5)
#define MB_INFO_MMAP		(1u << 6)
#define MB_INFO_DRIVES		(1u << 7)
#define MB_INFO_CONFIG		(1u << 8)
#define MB_INFO_LOADER_NAME	(1u << 9)
#define MB_INFO_APM		(1u << 10)
#define MB_INFO_VBE		(1u << 11)

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;		/* KiB: below 640 KiB, from 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
} __attribute__((packed));

struct mb_module {
	uint32_t mod_start, mod_end;		/* mod_end: one past the last byte */
	uint32_t string;
	uint32_t reserved;
} __attribute__((packed));

/* One mmap entry; `size` does not count itself, so the next is at +size+4. */
struct mb_mmap {
	uint32_t size;
	uint64_t base_addr, length;
	uint32_t type;				/* 1: available RAM */
} __attribute__((packed));

/* The info structure EBX pointed to at entry, or NULL when the magic was wrong. */
static inline const struct mb_info *mb_info(void)
{
	return rt_entry.eax == MB_BOOT_MAGIC ? (const struct mb_info *)(uintptr_t)rt_entry.ebx
					     : (const struct mb_info *)0;
}

#endif
