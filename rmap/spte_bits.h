/* SPDX-License-Identifier: MIT */
/* The EPT entry bits the rmap and aging code need, taken from ept/spte.h. */
#ifndef RMAP_SPTE_BITS_H
#define RMAP_SPTE_BITS_H

#include "ept/spte.h"

#include <stdbool.h>
#include <stdint.h>

/* An entry is present if any of R, W, X is set. */
#define RMAP_SPTE_PRESENT_MASK	EPT_RWX
/* Set by the CPU on any guest access through the entry. */
#define RMAP_SPTE_ACCESSED	EPT_ACCESSED

static inline bool rmap_spte_present(uint64_t spte)
{
	return spte & RMAP_SPTE_PRESENT_MASK;
}

static inline bool rmap_spte_young(uint64_t spte)
{
	return rmap_spte_present(spte) && (spte & RMAP_SPTE_ACCESSED);
}

#endif
