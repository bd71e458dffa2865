/* SPDX-License-Identifier: MIT */
/*
 * Range invalidations (the primary MMU takes host pages away: reclaim, page
 * migration) and guest memory layout changes.  docs/mmu-contract.md, rule 2,
 * seeds 000 and 001, tests/models/inval_seq.pml.
 */
#ifndef EPT_INVALIDATE_H
#define EPT_INVALIDATE_H

#include <stdbool.h>
#include <stdint.h>

#include "ept/vm.h"

/**
 * ept_invalidate_begin - open an invalidation of gfns [@start, @end): from
 * its return until ept_invalidate_end() no fault maps a gfn of the range, and
 * no root maps one now, so the caller may free or replace the backing pages.
 * If no memory region overlaps the range it takes no lock and counts nothing
 * (seed 001) and returns false; otherwise, in one mmu_lock write section, it
 * counts itself in, widens the open range, zaps and flushes, and returns
 * true.  Pass the result to ept_invalidate_end().  Do not nest on one CPU.
 */
bool ept_invalidate_begin(struct ept_vm *vm, uint64_t start, uint64_t end);

/** ept_invalidate_end - close what ept_invalidate_begin() opened (@opened: its result). */
void ept_invalidate_end(struct ept_vm *vm, uint64_t start, uint64_t end, bool opened);

/**
 * ept_inval_retry - the fault that snapshotted @seq must not map gfns
 * [@start, @end): an open invalidation overlaps them, or one closed since the
 * snapshot.  Called with mmu_lock held for read.
 */
bool ept_inval_retry(struct ept_vm *vm, uint64_t start, uint64_t end, unsigned long seq);

/** ept_regions_overlap - some region overlaps gfns [@start, @end). */
bool ept_regions_overlap(struct ept_vm *vm, uint64_t start, uint64_t end);

/**
 * ept_set_regions - replace the guest memory layout.  Waits for open
 * invalidations, installs the regions, invalidates every root and zaps them.
 * On return nothing outside the new regions is mapped, so the owner may
 * free the pages of removed ones.  -1 if the regions are invalid.
 */
int ept_set_regions(struct ept_vm *vm, const struct ept_region *regions, unsigned int n);
/** ept_add_region - add gfns [@start, @end); -1 if it overlaps or there is no room. */
int ept_add_region(struct ept_vm *vm, uint64_t start, uint64_t end);
/** ept_remove_region - remove the region that starts at @start; -1 if none. */
int ept_remove_region(struct ept_vm *vm, uint64_t start);

#endif
