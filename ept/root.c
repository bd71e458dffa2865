/* SPDX-License-Identifier: MIT */
/* Root lifecycle: the rules are in ept/root.h; the model is tests/models/root.pml. */
#include <stddef.h>

#include "ept/root.h"
#include "smp/lockdep.h"

#include "ept/iter.h"
#include "ept/vm.h"
#include "ept/zap.h"
#include "lib/check.h"
#include "lib/string.h"
#include "smp/atomic.h"

BUILD_BUG_ON(sizeof(struct ept_root) > EPT_PAGE_SIZE);

bool ept_root_tryget(struct ept_root *root)
{
	int c = READ_ONCE(root->refcount);

	do {
		/* Zero is final: the root is on its way to being freed. */
		if (!c)
			return false;
	} while (!atomic_try_cmpxchg(&root->refcount, &c, c + 1));
	return true;
}

bool ept_root_get(struct ept_root *root)
{
	lockdep_assert_held(&root->vm->mmu_lock);
	if (READ_ONCE(root->invalid))
		return false;
	return ept_root_tryget(root);
}

static void free_subtree(struct ept_vm *vm, ept_spte_t *table, int level)
{
	for (unsigned int i = 0; level > 1 && i < EPT_PTES; i++) {
		ept_spte_t s = ept_spte_read(&table[i]);

		if (ept_spte_present(s) && !ept_spte_is_leaf(s, level))
			free_subtree(vm, ept_pa_to_va(ept_spte_addr(s)), level - 1);
	}
	ept_free_table(vm, table);
}

/* After the grace period: no walker can reach the root's tables any more. */
static void root_free_cb(struct grace_head *h)
{
	struct ept_root *root = container_of(h, struct ept_root, grace);
	struct ept_vm *vm = root->vm;

	/* Its table pages get reused: no CPU may keep translations through them. */
	ept_flush(vm, root);
	free_subtree(vm, ept_pa_to_va(root->table_pa), EPT_ROOT_LEVEL);
	__atomic_fetch_sub(&vm->roots_alive, 1, __ATOMIC_RELAXED);
	vm->ops->free_table(vm, root);
}

void ept_root_put(struct ept_vm *vm, struct ept_root *root)
{
	int c = atomic_dec_return(&root->refcount);

	BUG_ON(c < 0);
	if (c)
		return;
	/* Only an invalid root reaches zero: the MMU holds a reference until then. */
	WARN_ONCE(!READ_ONCE(root->invalid), "ept: valid root %p lost its last reference", root);
	spin_lock(&vm->roots_lock);
	*root->pprev = root->next;
	if (root->next)
		root->next->pprev = root->pprev;
	spin_unlock(&vm->roots_lock);
	grace_call(&root->grace, root_free_cb);
}

/* A new root with the MMU's reference and the caller's; not yet listed. */
static struct ept_root *root_alloc(struct ept_vm *vm)
{
	struct ept_root *root = vm->ops->alloc_table(vm);
	void *table;

	if (!root)
		return NULL;
	table = ept_alloc_table(vm);
	if (!table) {
		vm->ops->free_table(vm, root);
		return NULL;
	}
	memset(root, 0, sizeof(*root));
	root->vm = vm;
	root->table_pa = ept_va_to_pa(table);
	root->refcount = 2;
	__atomic_fetch_add(&vm->roots_alive, 1, __ATOMIC_RELAXED);
	return root;
}

/* A listed valid root with a new reference; roots_lock and mmu_lock (read) held. */
static struct ept_root *find_valid_root(struct ept_vm *vm)
{
	for (struct ept_root *r = vm->roots; r; r = r->next)
		if (ept_root_get(r))
			return r;
	return NULL;
}

struct ept_root *ept_root_load_for_vcpu(struct ept_vm *vm)
{
	struct ept_root *root, *fresh = NULL;

	ept_mmu_read_lock(vm);
	spin_lock(&vm->roots_lock);
	root = find_valid_root(vm);
	spin_unlock(&vm->roots_lock);
	if (!root) {
		/* Allocate outside roots_lock; another vCPU may list one meanwhile. */
		fresh = root_alloc(vm);
		spin_lock(&vm->roots_lock);
		root = find_valid_root(vm);
		if (!root && fresh) {
			root = fresh;
			fresh = NULL;
			root->next = vm->roots;
			if (root->next)
				root->next->pprev = &root->next;
			root->pprev = &vm->roots;
			vm->roots = root;
		}
		spin_unlock(&vm->roots_lock);
	}
	if (root)
		__atomic_fetch_or(&root->cpu_mask, 1ull << smp_processor_id(), __ATOMIC_SEQ_CST);
	ept_mmu_read_unlock(vm);
	if (fresh) {
		/* Never listed, never seen by anyone: free it at once. */
		__atomic_fetch_sub(&vm->roots_alive, 1, __ATOMIC_RELAXED);
		ept_free_table(vm, ept_pa_to_va(fresh->table_pa));
		vm->ops->free_table(vm, fresh);
	}
	return root;
}

struct ept_root *ept_next_root(struct ept_vm *vm, struct ept_root *prev, bool only_valid)
{
	struct ept_root *r;

	spin_lock(&vm->roots_lock);
	/* prev is still listed: we hold a reference on it. */
	for (r = prev ? prev->next : vm->roots; r; r = r->next) {
		if (only_valid && READ_ONCE(r->invalid))
			continue;
		if (ept_root_tryget(r))
			break;
	}
	spin_unlock(&vm->roots_lock);
	if (prev)
		ept_root_put(vm, prev);
	return r;
}

void ept_roots_mark_invalid(struct ept_vm *vm)
{
	bool kick = false;

	lockdep_assert_held_write(&vm->mmu_lock);
	spin_lock(&vm->roots_lock);
	for (struct ept_root *r = vm->roots; r; r = r->next) {
		/*
		 * xchg: only the invalidation that flips the flag owes the zap and
		 * the drop of the MMU's reference (seed 002).
		 */
		if (!atomic_xchg(&r->invalid, true)) {
			r->zap_pending = true;
			kick = true;
		}
	}
	spin_unlock(&vm->roots_lock);
	/* In the same write section as the flag: a vCPU that loads after us sees invalid. */
	if (kick)
		vm->ops->kick_vcpus(vm);
}

/* A root whose zap (and MMU reference) we owe; mmu_lock held for write. */
static struct ept_root *claim_zap_pending(struct ept_vm *vm)
{
	struct ept_root *r;

	spin_lock(&vm->roots_lock);
	for (r = vm->roots; r && !r->zap_pending; r = r->next)
		;
	if (r)
		r->zap_pending = false;
	spin_unlock(&vm->roots_lock);
	return r;
}

void ept_roots_zap_invalid(struct ept_vm *vm)
{
	struct ept_root *root;

	write_lock(&vm->mmu_lock);
	while ((root = claim_zap_pending(vm))) {
		/*
		 * The MMU's reference keeps the root listed (reachable) through
		 * every yield of the zap: vCPUs still running on it are kicked
		 * but may not have left yet.
		 */
		if (ept_zap_root_range(vm, root, 0, EPT_GFN_LIMIT, true))
			ept_flush(vm, root);
		/* Only now: the MMU's reference (rule 3 of docs/mmu-contract.md). */
		ept_root_put(vm, root);
	}
	write_unlock(&vm->mmu_lock);
}

void ept_invalidate_all_roots(struct ept_vm *vm)
{
	spin_lock(&vm->inval_all_lock);
	write_lock(&vm->mmu_lock);
	ept_roots_mark_invalid(vm);
	write_unlock(&vm->mmu_lock);
	ept_roots_zap_invalid(vm);
	spin_unlock(&vm->inval_all_lock);
}
