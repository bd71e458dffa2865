/* SPDX-License-Identifier: MIT */
/* Lockless aging walks; the rules are in rmap/age.h and rmap/rmap.h. */
#include "rmap/age.h"

/*
 * Clear the accessed bit of @sptep if it still holds @spte.  On failure the
 * entry changed under us (guest access, zap, permission change by an mmu_lock
 * holder): leave it, the caller counts the page young anyway.
 */
static void spte_clear_accessed(uint64_t *sptep, uint64_t spte)
{
	/* Relaxed: the bit is a hint; nothing else is published or read through it. */
	__atomic_compare_exchange_n(sptep, &spte, spte & ~RMAP_SPTE_ACCESSED, false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

bool rmap_test_clear_young(struct rmap_head *head)
{
	unsigned long old = rmap_lock_readonly(head);
	struct rmap_iter it;
	uint64_t *sptep, spte;
	bool young = false;

	rmap_for_each_readonly(head, old, &it, sptep, spte) {
		if (!(spte & RMAP_SPTE_ACCESSED))
			continue;
		young = true;
		spte_clear_accessed(sptep, spte);
	}
	rmap_unlock_readonly(head, old);
	return young;
}

bool rmap_test_young(struct rmap_head *head)
{
	unsigned long old = rmap_lock_readonly(head);
	struct rmap_iter it;
	uint64_t *sptep, spte;
	bool young = false;

	rmap_for_each_readonly(head, old, &it, sptep, spte) {
		if (spte & RMAP_SPTE_ACCESSED) {
			young = true;
			break;
		}
	}
	rmap_unlock_readonly(head, old);
	return young;
}
