/* SPDX-License-Identifier: MIT */
/* Zapping leaves under mmu_lock (write), yielding to waiters (see ept/zap.h). */
#include "ept/zap.h"
#include "smp/lockdep.h"

#include "ept/iter.h"
#include "smp/atomic.h"

/* The write stretch that started at *since ends now: keep the longest. */
static void note_hold(struct ept_vm *vm, uint64_t *since)
{
	uint64_t t = ept_now_ns(vm);

	if (t - *since > vm->max_write_hold_ns)
		WRITE_ONCE(vm->max_write_hold_ns, t - *since);
	*since = t;
}

/*
 * Let the waiters in, if there are any and we made progress since the last
 * time (else two yielding zappers could pass the lock back and forth forever).
 * What we zapped is flushed first: once we let go, a fault may map the gfn
 * again, and a present leaf must not replace one that CPUs may still cache
 * (rule 4 of docs/mmu-contract.md).
 */
static bool zap_cond_yield(struct ept_vm *vm, struct ept_root *root, struct ept_iter *it,
			   bool *flush, uint64_t *since)
{
	if (it->next_last_level_gfn == it->yielded_gfn || !rwlock_needbreak(&vm->mmu_lock))
		return false;
	if (*flush)
		ept_flush(vm, root);
	*flush = false;
	note_hold(vm, since);
	rwlock_cond_yield_write(&vm->mmu_lock);
	*since = ept_now_ns(vm);
	it->yielded = true;
	return true;
}

/*
 * Replace the large leaf the iterator stands on by a table of 4 KiB leaves
 * mapping the same host pages with the same bits (KVM's huge-page split), so
 * that a zap of part of its range takes only that part.  mmu_lock held for
 * write: no fault changes the entry meanwhile, but a lockless ager may clear
 * its accessed bit, so the leaf is taken with xchg and the children are
 * built from what that returned.  The caller flushes: CPUs may cache the
 * large translation until then, which maps the same pages.  False, with the
 * leaf left as it was, when no table page can be had: zap it whole.
 */
static bool split_large_leaf(struct ept_vm *vm, struct ept_iter *it)
{
	uint64_t step = ept_level_pages(it->level - 1);
	ept_spte_t *child = ept_alloc_table(vm), old;

	if (!child)
		return false;
	old = ept_spte_xchg(it->sptep, 0);
	ept_leaf_clear(vm, it->gfn, it->level, it->sptep, old);
	for (unsigned int i = 0; i < EPT_PTES; i++) {
		ept_spte_t s = ept_make_leaf(ept_spte_addr(old) + i * step * EPT_PAGE_SIZE,
					     it->level - 1, old & EPT_RWX);

		/* Accessed and dirty are the large page's: each part inherits them. */
		child[i] = s | (old & (EPT_ACCESSED | EPT_DIRTY));
	}
	/* Release: the children before the entry that publishes them. */
	ept_spte_write(it->sptep, ept_make_nonleaf(ept_va_to_pa(child)));
	for (unsigned int i = 0; i < EPT_PTES; i++)
		ept_leaf_set(vm, it->gfn + i * step, it->level - 1, &child[i]);
	atomic_add(&vm->splits, 1);
	return true;
}

bool ept_zap_root_range(struct ept_vm *vm, struct ept_root *root, uint64_t start, uint64_t end,
			bool can_yield)
{
	unsigned int batch = can_yield ? vm->zap_batch : 0, n = 0;
	uint64_t since = ept_now_ns(vm), zapped = 0;
	struct ept_iter it;
	bool flush = false;

	if (end > EPT_GFN_LIMIT)
		end = EPT_GFN_LIMIT;
	for_each_ept_pte_write(it, vm, root, start, end) {
		if (batch && ++n >= batch) {
			n = 0;
			if (zap_cond_yield(vm, root, &it, &flush, &since))
				continue;
		}
		if (!ept_spte_is_leaf(it.old_spte, it.level))
			continue;
		/* Only part of a large leaf is in range: split it; the walk goes down into it. */
		if (it.level > 1 && (it.gfn < start || it.gfn + ept_level_pages(it.level) > end) &&
		    split_large_leaf(vm, &it)) {
			flush = true;
			continue;
		}
		/* xchg: a lockless ager may clear the accessed bit meanwhile. */
		ept_leaf_clear(vm, it.gfn, it.level, it.sptep, ept_spte_xchg(it.sptep, 0));
		zapped++;
		flush = true;
	}
	note_hold(vm, &since);
	if (zapped)
		atomic_add(&vm->zapped, zapped);
	return flush;
}

bool ept_zap_range(struct ept_vm *vm, uint64_t start, uint64_t end)
{
	struct ept_root *root;
	bool flush = false;

	lockdep_assert_held_write(&vm->mmu_lock);
	/* Every root, valid or not: kicked vCPUs may still run on invalid ones. */
	for_each_ept_root(vm, root)
		flush |= ept_zap_root_range(vm, root, start, end, true);
	return flush;
}
