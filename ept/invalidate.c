/* SPDX-License-Identifier: MIT */
/*
 * The invalidation sequence and layout changes (see ept/invalidate.h).
 *
 * Fault side (ept/fault.c): snapshot inval_seq, smp_rmb(), read the regions
 * and resolve the backing page, then under mmu_lock (read) retry if an open
 * invalidation covers the gfn or inval_seq moved.  Either the fault takes
 * mmu_lock before an invalidation's begin, and the begin's zap removes what it
 * installed, or it sees the begin's count or the end's seq.  Spurious retries
 * are fine; a missed one maps a freed page.
 */
#include "ept/invalidate.h"
#include "smp/lockdep.h"

#include "ept/root.h"
#include "ept/zap.h"
#include "lib/check.h"
#include "smp/atomic.h"

bool ept_regions_overlap(struct ept_vm *vm, uint64_t start, uint64_t end)
{
	unsigned int n = READ_ONCE(vm->nr_regions);

	for (unsigned int i = 0; i < n && i < EPT_MAX_REGIONS; i++) {
		if (READ_ONCE(vm->regions[i].start_gfn) < end &&
		    start < READ_ONCE(vm->regions[i].end_gfn))
			return true;
	}
	return false;
}

bool ept_invalidate_begin(struct ept_vm *vm, uint64_t start, uint64_t end)
{
	bool flush;

	spin_lock(&vm->layout_lock);
	while (vm->layout_waiting) {
		spin_unlock(&vm->layout_lock);
		cpu_relax();
		spin_lock(&vm->layout_lock);
	}
	vm->active_invalidations++;
	spin_unlock(&vm->layout_lock);

	/* Nothing of the guest's: no lock, no counts (seed 001).  Layout is stable now. */
	if (!ept_regions_overlap(vm, start, end))
		return false;

	write_lock(&vm->mmu_lock);
	/* Count, widen, zap and flush in one critical section (rule 2 of docs/mmu-contract.md). */
	WRITE_ONCE(vm->inval_in_progress, vm->inval_in_progress + 1);
	if (vm->inval_in_progress == 1) {
		WRITE_ONCE(vm->inval_start, start);
		WRITE_ONCE(vm->inval_end, end);
	} else {
		if (start < vm->inval_start)
			WRITE_ONCE(vm->inval_start, start);
		if (end > vm->inval_end)
			WRITE_ONCE(vm->inval_end, end);
	}
	flush = ept_zap_range(vm, start, end);
	if (flush)
		ept_flush_all_roots(vm);
	write_unlock(&vm->mmu_lock);
	return true;
}

void ept_invalidate_end(struct ept_vm *vm, uint64_t start, uint64_t end, bool opened)
{
	if (opened) {
		write_lock(&vm->mmu_lock);
		ASSERT(vm->inval_in_progress > 0);
		ASSERT(vm->inval_start <= start && end <= vm->inval_end);
		WRITE_ONCE(vm->inval_seq, vm->inval_seq + 1);
		/*
		 * Pairs with smp_rmb() in ept_inval_retry(): seq is new before
		 * in_progress drops.  Under mmu_lock no fault looks in between;
		 * the pair matters if either side ever reads or writes a count
		 * without the lock (tests/models/inval_seq.pml, END_UNLOCKED).
		 */
		smp_wmb();
		WRITE_ONCE(vm->inval_in_progress, vm->inval_in_progress - 1);
		write_unlock(&vm->mmu_lock);
	}
	spin_lock(&vm->layout_lock);
	vm->active_invalidations--;
	spin_unlock(&vm->layout_lock);
}

bool ept_inval_retry(struct ept_vm *vm, uint64_t start, uint64_t end, unsigned long seq)
{
	lockdep_assert_held(&vm->mmu_lock);
	if (READ_ONCE(vm->inval_in_progress) && READ_ONCE(vm->inval_start) < end &&
	    start < READ_ONCE(vm->inval_end))
		return true;
	/* Pairs with smp_wmb() in ept_invalidate_end(): in_progress is read before seq. */
	smp_rmb();
	return READ_ONCE(vm->inval_seq) != seq;
}

/* Take the layout: wait for open invalidations, keeping new ones out. */
static void layout_lock(struct ept_vm *vm)
{
	spin_lock(&vm->layout_lock);
	vm->layout_waiting++;
	while (vm->active_invalidations) {
		spin_unlock(&vm->layout_lock);
		cpu_relax();
		spin_lock(&vm->layout_lock);
	}
}

static void layout_unlock(struct ept_vm *vm)
{
	vm->layout_waiting--;
	spin_unlock(&vm->layout_lock);
}

static bool regions_valid(const struct ept_region *r, unsigned int n)
{
	if (n > EPT_MAX_REGIONS)
		return false;
	for (unsigned int i = 0; i < n; i++) {
		if (r[i].start_gfn >= r[i].end_gfn || r[i].end_gfn > EPT_GFN_LIMIT)
			return false;
		for (unsigned int j = 0; j < i; j++)
			if (r[j].start_gfn < r[i].end_gfn && r[i].start_gfn < r[j].end_gfn)
				return false;
	}
	return true;
}

/* layout_lock held: install @r, invalidate every root, zap them. */
static void layout_install(struct ept_vm *vm, const struct ept_region *r, unsigned int n)
{
	spin_lock(&vm->inval_all_lock);
	write_lock(&vm->mmu_lock);
	for (unsigned int i = 0; i < n; i++) {
		WRITE_ONCE(vm->regions[i].start_gfn, r[i].start_gfn);
		WRITE_ONCE(vm->regions[i].end_gfn, r[i].end_gfn);
	}
	WRITE_ONCE(vm->nr_regions, n);
	/*
	 * Pairs with smp_rmb() in ept_fault(): a fault whose snapshot reads the
	 * new seq reads the new regions; one with an older snapshot retries.
	 */
	smp_wmb();
	WRITE_ONCE(vm->inval_seq, vm->inval_seq + 1);
	ept_roots_mark_invalid(vm);
	write_unlock(&vm->mmu_lock);
	ept_roots_zap_invalid(vm);
	spin_unlock(&vm->inval_all_lock);
}

int ept_set_regions(struct ept_vm *vm, const struct ept_region *regions, unsigned int n)
{
	if (!regions_valid(regions, n))
		return -1;
	layout_lock(vm);
	layout_install(vm, regions, n);
	layout_unlock(vm);
	return 0;
}

int ept_add_region(struct ept_vm *vm, uint64_t start, uint64_t end)
{
	struct ept_region r[EPT_MAX_REGIONS + 1];
	unsigned int n;
	int ret = -1;

	layout_lock(vm);
	n = vm->nr_regions;
	for (unsigned int i = 0; i < n; i++)
		r[i] = vm->regions[i];
	r[n] = (struct ept_region){ start, end };
	if (regions_valid(r, n + 1)) {
		layout_install(vm, r, n + 1);
		ret = 0;
	}
	layout_unlock(vm);
	return ret;
}

int ept_remove_region(struct ept_vm *vm, uint64_t start)
{
	struct ept_region r[EPT_MAX_REGIONS];
	unsigned int n = 0;
	int ret = -1;

	layout_lock(vm);
	for (unsigned int i = 0; i < vm->nr_regions; i++) {
		if (vm->regions[i].start_gfn == start)
			ret = 0;
		else
			r[n++] = vm->regions[i];
	}
	if (!ret)
		layout_install(vm, r, n);
	layout_unlock(vm);
	return ret;
}
