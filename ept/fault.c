/* SPDX-License-Identifier: MIT */
/*
 * The fault path (docs/mmu-contract.md, rules 2 and 4, after KVM's
 * kvm_tdp_mmu_map()): resolve without the lock, then walk and install under
 * mmu_lock (read) with compare-and-exchange, racing other faults, lockless
 * agers and nothing else (zaps and invalidations hold the lock for write).
 */
#include "ept/fault.h"

#include "ept/invalidate.h"
#include "ept/iter.h"
#include "smp/atomic.h"

/* The region holding @gfn, read locklessly: the caller checks inval_seq under the lock. */
static bool region_find(struct ept_vm *vm, uint64_t gfn, struct ept_region *out)
{
	unsigned int n = READ_ONCE(vm->nr_regions);

	for (unsigned int i = 0; i < n && i < EPT_MAX_REGIONS; i++) {
		out->start_gfn = READ_ONCE(vm->regions[i].start_gfn);
		out->end_gfn = READ_ONCE(vm->regions[i].end_gfn);
		if (out->start_gfn <= gfn && gfn < out->end_gfn)
			return true;
	}
	return false;
}

/* 2 if the resolver allows it, the 2 MiB block lies in one region and is host-aligned. */
static int fault_level(uint64_t gfn, uint64_t hpa, int max_level, const struct ept_region *r)
{
	uint64_t base = gfn & ~(ept_level_pages(2) - 1);

	if (max_level < 2 || base < r->start_gfn || base + ept_level_pages(2) > r->end_gfn)
		return 1;
	if ((hpa - ((gfn - base) << EPT_PAGE_SHIFT)) & ((ept_level_pages(2) << EPT_PAGE_SHIFT) - 1))
		return 1;
	return 2;
}

/*
 * Install @new at @sptep, whose value was @old.  A present leaf for another
 * host page is never replaced in place (rule 4 of docs/mmu-contract.md): freeze it (not present,
 * and owned: other faults retry), flush, then install.  A table is never
 * replaced at all: a large leaf over it would orphan the table and the
 * leaves in it.
 */
static enum ept_fault_result install_leaf(struct ept_vm *vm, struct ept_root *root,
					  uint64_t gfn, ept_spte_t *sptep, ept_spte_t old,
					  ept_spte_t new, int level, uint64_t access)
{
	for (;;) {
		if (ept_spte_frozen(old))
			return EPT_RETRY;
		/*
		 * A failed cmpxchg below found a table: a 4 KiB fault under the
		 * slot won since map() read it empty.  Retry, as KVM does on any
		 * lost race; the next walk maps 4 KiB beside that fault's leaf.
		 */
		if (ept_spte_present(old) && !ept_spte_is_leaf(old, level))
			return EPT_RETRY;
		if (!ept_spte_present(old)) {
			if (!ept_spte_try_cmpxchg(sptep, &old, new))
				continue;
			ept_leaf_set(vm, gfn, level, sptep);
			return EPT_FIXED;
		}
		if (ept_spte_is_leaf(old, level) && ept_spte_addr(old) == ept_spte_addr(new) &&
		    (old & access) == access)
			return EPT_SPURIOUS;
		if (!ept_spte_try_cmpxchg(sptep, &old, EPT_FROZEN_SPTE))
			continue;
		ept_leaf_clear(vm, gfn, level, sptep, old);
		ept_flush(vm, root);
		ept_spte_write(sptep, new);
		ept_leaf_set(vm, gfn, level, sptep);
		return EPT_FIXED;
	}
}

/*
 * The level to map at, mmu_lock held for read and gfn's own retry checked:
 * a large leaf also maps gfns an open invalidation may be taking away, and
 * its block then goes 4 KiB instead.
 */
static int fault_level_locked(struct ept_vm *vm, uint64_t gfn, int level, unsigned long seq)
{
	uint64_t base = gfn & ~(ept_level_pages(level) - 1);

	if (level > 1 && ept_inval_retry(vm, base, base + ept_level_pages(level), seq))
		return 1;
	return level;
}

/* mmu_lock held for read: walk down, creating tables, and install the leaf. */
static enum ept_fault_result map(struct ept_vm *vm, struct ept_root *root, uint64_t gfn,
				 uint64_t hpa, int target, uint64_t access)
{
	ept_spte_t *table = ept_pa_to_va(root->table_pa), *sptep, old, new;
	uint64_t off;

	for (int level = EPT_ROOT_LEVEL; level >= 1; level--) {
		sptep = &table[ept_index(gfn, level)];
		old = ept_spte_read(sptep);
again:
		if (ept_spte_frozen(old))
			return EPT_RETRY;
		if (level == target) {
			/* A table already sits where the large leaf would go: map 4 KiB. */
			if (level > 1 && ept_spte_present(old) && !ept_spte_is_leaf(old, level))
				target = 1;
			else {
				off = (gfn & (ept_level_pages(level) - 1)) << EPT_PAGE_SHIFT;
				new = ept_make_leaf(hpa - off, level, EPT_RWX);
				return install_leaf(vm, root, gfn & ~(ept_level_pages(level) - 1),
						    sptep, old, new, level, access);
			}
		}
		/* A large leaf above the target already maps gfn. */
		if (ept_spte_is_leaf(old, level))
			return EPT_SPURIOUS;
		if (!ept_spte_present(old)) {
			void *child = ept_alloc_table(vm);

			if (!child)
				return EPT_NOMEM;
			new = ept_make_nonleaf(ept_va_to_pa(child));
			if (!ept_spte_try_cmpxchg(sptep, &old, new)) {
				/* Lost to another fault: ours was never published. */
				ept_free_table(vm, child);
				goto again;
			}
			old = new;
		}
		table = ept_pa_to_va(ept_spte_addr(old));
	}
	return EPT_RETRY;	/* not reached: level 1 is always a target */
}

static enum ept_fault_result count(struct ept_vm *vm, enum ept_fault_result r)
{
	struct ept_cpu_stats *st = ept_this_cpu_stats(vm);

	ept_stat_inc(st->faults);
	if (r == EPT_FIXED)
		ept_stat_inc(st->fixed);
	else if (r == EPT_RETRY)
		ept_stat_inc(st->retries);
	else if (r == EPT_SPURIOUS)
		ept_stat_inc(st->spurious);
	return r;
}

enum ept_fault_result ept_fault(struct ept_vm *vm, struct ept_root *root, uint64_t gpa,
				uint64_t access)
{
	uint64_t gfn = gpa >> EPT_PAGE_SHIFT, hpa;
	enum ept_fault_result r;
	struct ept_region region;
	unsigned long seq;
	int max_level = 1;
	bool found;

	if (gfn >= EPT_GFN_LIMIT)
		return count(vm, EPT_NO_MEMSLOT);
	seq = READ_ONCE(vm->inval_seq);
	/*
	 * Pairs with smp_wmb() in ept_invalidate_end() and in the layout change:
	 * the snapshot is taken before the regions are read and the page is
	 * resolved, so whatever changes them after this point moves seq (or is
	 * seen open) by the time we hold the lock.
	 */
	smp_rmb();
	found = region_find(vm, gfn, &region);
	if (found && !vm->ops->resolve(vm, gfn, &hpa, &max_level))
		return count(vm, EPT_NOMEM);

	ept_mmu_read_lock(vm);
	if (ept_inval_retry(vm, gfn, gfn + 1, seq))
		r = EPT_RETRY;
	else if (!found)
		r = EPT_NO_MEMSLOT;	/* the layout we read was current */
	else if (READ_ONCE(root->invalid))
		r = EPT_RETRY;		/* the vCPU was kicked: it reloads */
	else
		r = map(vm, root, gfn, hpa,
			fault_level_locked(vm, gfn, fault_level(gfn, hpa, max_level, &region), seq),
			access);
	ept_mmu_read_unlock(vm);
	return count(vm, r);
}
