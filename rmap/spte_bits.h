/* SPDX-License-Identifier: MIT */
/*
 * The few EPT entry bits the rmap and aging code need.  These must match
 * ept/spte.h (Intel SDM vol. 3, "EPT paging structures"); they are local so
 * that rmap/ builds without ept/, and the two are to be unified.
 */
#ifndef RMAP_SPTE_BITS_H
#define RMAP_SPTE_BITS_H

#include <stdbool.h>
#include <stdint.h>

/* Must match ept/spte.h: an entry is present if any of R (0), W (1), X (2) is set. */
#define RMAP_SPTE_PRESENT_MASK	0x7ull
/* Must match ept/spte.h: set by the CPU on any guest access through the entry. */
#define RMAP_SPTE_ACCESSED	(1ull << 8)

static inline bool rmap_spte_present(uint64_t spte)
{
	return spte & RMAP_SPTE_PRESENT_MASK;
}

static inline bool rmap_spte_young(uint64_t spte)
{
	return rmap_spte_present(spte) && (spte & RMAP_SPTE_ACCESSED);
}

#endif
