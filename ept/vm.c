/* SPDX-License-Identifier: MIT */
/* A VM's EPT MMU: set-up, tear-down, statistics, and the lockless walk for the shell. */
#include "ept/vm.h"
#include "smp/lockdep.h"

#include "ept/iter.h"
#include "lib/check.h"
#include "lib/string.h"
#include "smp/atomic.h"

void ept_vm_init(struct ept_vm *vm, const struct ept_ops *ops, void *priv)
{
	memset(vm, 0, sizeof(*vm));
	vm->ops = ops;
	vm->priv = priv;
	rwlock_init_order(&vm->mmu_lock, LOCK_ORDER_MMU);
	spin_lock_init_order(&vm->roots_lock, LOCK_ORDER_ROOTS);
	spin_lock_init_order(&vm->layout_lock, LOCK_ORDER_LAYOUT);
	spin_lock_init_order(&vm->inval_all_lock, LOCK_ORDER_INVAL_ALL);
	vm->zap_batch = EPT_ZAP_BATCH;
}

void ept_vm_destroy(struct ept_vm *vm)
{
	ept_invalidate_all_roots(vm);
	/* The roots' last puts queued their frees: let them run. */
	grace_barrier();
	WARN_ONCE(READ_ONCE(vm->roots) != NULL, "ept: VM %p destroyed with roots still held", vm);
}

void ept_vm_stats(struct ept_vm *vm, struct ept_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < SMP_MAX_CPUS; i++) {
		out->faults += READ_ONCE(vm->pcpu[i].faults);
		out->fixed += READ_ONCE(vm->pcpu[i].fixed);
		out->retries += READ_ONCE(vm->pcpu[i].retries);
		out->spurious += READ_ONCE(vm->pcpu[i].spurious);
	}
	out->zapped = READ_ONCE(vm->zapped);
	out->splits = READ_ONCE(vm->splits);
	out->flushes = READ_ONCE(vm->flushes);
	out->roots_alive = READ_ONCE(vm->roots_alive);
	out->table_pages = READ_ONCE(vm->table_pages);
	out->max_write_hold_ns = READ_ONCE(vm->max_write_hold_ns);
}

void *ept_alloc_table(struct ept_vm *vm)
{
	void *p = vm->ops->alloc_table(vm);

	if (p)
		atomic_add(&vm->table_pages, 1);
	return p;
}

void ept_free_table(struct ept_vm *vm, void *page)
{
	__atomic_fetch_sub(&vm->table_pages, 1, __ATOMIC_RELAXED);
	vm->ops->free_table(vm, page);
}

void ept_flush(struct ept_vm *vm, struct ept_root *root)
{
	atomic_add(&vm->flushes, 1);
	vm->ops->flush(vm, root);
}

void ept_flush_all_roots(struct ept_vm *vm)
{
	struct ept_root *root;

	lockdep_assert_held(&vm->mmu_lock);
	for_each_ept_root(vm, root)
		ept_flush(vm, root);
}

uint64_t ept_now_ns(struct ept_vm *vm)
{
	return vm->ops->now_ns ? vm->ops->now_ns() : 0;
}

bool ept_walk(struct ept_vm *vm, struct ept_root *root, uint64_t gpa, struct ept_walk *out)
{
	uint64_t gfn = gpa >> EPT_PAGE_SHIFT;
	struct ept_root *held = NULL;
	ept_spte_t *table, s;

	memset(out, 0, sizeof(*out));
	if (gfn >= EPT_GFN_LIMIT)
		return false;
	if (!root) {
		held = ept_next_root(vm, NULL, true);
		if (!held)
			return false;
		root = held;
	}
	grace_read_lock();
	table = ept_pa_to_va(root->table_pa);
	for (int level = EPT_ROOT_LEVEL; level >= 1; level--) {
		s = ept_spte_read(&table[ept_index(gfn, level)]);
		out->spte[level] = s;
		out->last_level = level;
		if (!ept_spte_present(s))
			break;
		if (ept_spte_is_leaf(s, level)) {
			out->leaf_level = level;
			out->hpa = ept_spte_addr(s) +
				   ((gfn & (ept_level_pages(level) - 1)) << EPT_PAGE_SHIFT) +
				   (gpa & (EPT_PAGE_SIZE - 1));
			break;
		}
		table = ept_pa_to_va(ept_spte_addr(s));
	}
	grace_read_unlock();
	if (held)
		ept_root_put(vm, held);
	return out->leaf_level != 0;
}
