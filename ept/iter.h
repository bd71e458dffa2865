/* SPDX-License-Identifier: MIT */
/*
 * Walking a root over a gfn range, in the style of KVM's tdp_iter: a pre-order
 * walk that visits every entry overlapping [start, end), parents before
 * children, in ascending gfn order.  Present non-leaf entries are descended
 * into down to min_level; it.old_spte is the value read when the entry was
 * visited.  After the walker yields mmu_lock it sets it.yielded and the next
 * step restarts from the root at the first gfn not yet done, since the tables
 * may have changed meanwhile.
 *
 * The iterator reads entries only; whoever changes one must hold what the
 * loop macro asserts (mmu_lock for read with cmpxchg, for write with xchg),
 * or be a lockless walker inside a grace read section, which may only clear
 * the accessed bit with cmpxchg.
 */
#ifndef EPT_ITER_H
#define EPT_ITER_H

#include <stdbool.h>
#include <stdint.h>

#include "ept/spte.h"
#include "lib/check.h"
#include "smp/grace.h"
#include "smp/lockdep.h"
#include "smp/rwlock.h"

struct ept_iter {
	/* The table at each level on the way down; pt_path[EPT_ROOT_LEVEL] is the root. */
	ept_spte_t *pt_path[EPT_ROOT_LEVEL + 1];
	ept_spte_t *sptep;
	ept_spte_t old_spte;
	uint64_t gfn;			/* first gfn the current entry covers */
	uint64_t next_last_level_gfn;	/* where a restart resumes */
	uint64_t yielded_gfn;		/* next_last_level_gfn at the last (re)start */
	int level;
	int min_level;
	bool valid;
	bool yielded;
};

/** ept_iter_start - position @it on the root-level entry covering @start. */
void ept_iter_start(struct ept_iter *it, uint64_t root_pa, int min_level, uint64_t start);
/** ept_iter_next - the next entry in pre-order; it->valid turns false past the end of the root. */
void ept_iter_next(struct ept_iter *it);
/** ept_iter_restart - walk down again from the root to it->next_last_level_gfn. */
void ept_iter_restart(struct ept_iter *it);

#define __for_each_ept_pte(it, root_pa, min_level, start, end)			\
	for (ept_iter_start(&(it), (root_pa), (min_level), (start));		\
	     (it).valid && (it).gfn < (end); ept_iter_next(&(it)))

/* Every entry over [start, end) of @root; mmu_lock held for read (or write). */
#define for_each_ept_pte(it, vm, root, start, end)				\
	for (lockdep_assert_held(&(vm)->mmu_lock),				\
	     ept_iter_start(&(it), (root)->table_pa, 1, (start));		\
	     (it).valid && (it).gfn < (end); ept_iter_next(&(it)))

/* The same for structural changes: mmu_lock held for write. */
#define for_each_ept_pte_write(it, vm, root, start, end)			\
	for (lockdep_assert_held_write(&(vm)->mmu_lock),			\
	     ept_iter_start(&(it), (root)->table_pa, 1, (start));		\
	     (it).valid && (it).gfn < (end); ept_iter_next(&(it)))

/* Lockless walkers (aging, guest-access checks): inside a grace read section. */
#define for_each_ept_pte_lockless(it, root, start, end)			\
	for ((void)({ ASSERT(grace_read_held()); 0; }),			\
	     ept_iter_start(&(it), (root)->table_pa, 1, (start));		\
	     (it).valid && (it).gfn < (end); ept_iter_next(&(it)))

/* Only the present leaves (4 KiB or large) overlapping [start, end). */
#define for_each_ept_leaf_in_range(it, vm, root, start, end)			\
	for_each_ept_pte(it, vm, root, start, end)				\
		if (!ept_spte_is_leaf((it).old_spte, (it).level)) {} else

#endif
