/* SPDX-License-Identifier: MIT */
/*
 * Virtually contiguous, sparsely backed memory for large per-guest arrays
 * (the per-gfn metadata of a guest of up to 1 TiB): a range of the
 * hypervisor's address space is reserved without memory, and pages are
 * mapped into it only where its owner asks, so an untouched part costs
 * nothing but address space.  The area is one PML4 slot (512 GiB) shared by
 * every CPU's page tables.
 */
#ifndef HV_CPU_VMAP_H
#define HV_CPU_VMAP_H

#include <stdbool.h>
#include <stdint.h>

/* Reserve @bytes of address space (rounded up to 2 MiB), nothing mapped; NULL if none is left. */
void *vmap_reserve(uint64_t bytes);
/*
 * Back [@va, @va + @bytes) with zeroed pages where it is not backed yet.
 * 0, or -1 when memory ran out (what was mapped stays mapped).
 */
int vmap_populate(void *va, uint64_t bytes);
/* Is the page holding @va backed? */
bool vmap_backed(const void *va);
/*
 * Unmap and free what backs the reservation at @va, flush every CPU, free the
 * range.  Nothing may touch the range from the call on.
 */
void vmap_release(void *va);

struct vmap_stats {
	uint64_t reserved_bytes;	/* address space handed out */
	uint64_t backed_pages;		/* pages mapped into it */
	uint64_t table_pages;		/* page-table pages under the area */
};
void vmap_get_stats(struct vmap_stats *st);

#endif
