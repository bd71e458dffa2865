/* SPDX-License-Identifier: MIT */
#include <stddef.h>

#include "hv/lib/symbols.h"

/*
 * The table comes from a second link: the first link's `nm -n` output is
 * turned into build/symtab.c.  The weak empty default serves the first link;
 * the table lives in .rodata, after .text, so text addresses do not move.
 */
__attribute__((weak)) const struct ksym hv_symtab[1];
__attribute__((weak)) const unsigned int hv_nsyms;
extern char __text_start[], __text_end[];

const char *symbol_lookup(uint64_t addr, uint64_t *offset)
{
	unsigned int lo = 0, hi = hv_nsyms;

	if (addr < (uint64_t)(uintptr_t)__text_start || addr >= (uint64_t)(uintptr_t)__text_end)
		return NULL;
	while (hi - lo > 1) {
		unsigned int mid = (lo + hi) / 2;

		if (hv_symtab[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (!hv_nsyms || hv_symtab[lo].addr > addr)
		return NULL;
	*offset = addr - hv_symtab[lo].addr;
	return hv_symtab[lo].name;
}
