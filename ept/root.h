/* SPDX-License-Identifier: MIT */
/*
 * EPT roots (what an EPTP points to) and their lifecycle, after KVM's TDP MMU
 * roots (docs/mmu-contract.md, rule 3; seed 002; tests/models/root.pml).
 *
 * References: the MMU holds one from creation until the root has been
 * invalidated and zapped; every vCPU that loaded the root holds one; so does
 * anyone walking it across a yield of mmu_lock.  Taking one is
 * increment-if-not-zero; zero is final; only an invalid root reaches zero;
 * invalid is never undone; a reference is dropped only by whoever took it.
 * The last ept_root_put() unlinks the root and frees its tables after a grace
 * period, because lockless walkers may still be reading them.
 */
#ifndef EPT_ROOT_H
#define EPT_ROOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smp/grace.h"

struct ept_vm;

struct ept_root {
	/* Immutable while the root lives. */
	uint64_t table_pa;
	struct ept_vm *vm;
	/*
	 * Set once, by xchg under mmu_lock (write); read under mmu_lock or
	 * locklessly under grace.  A vCPU never takes a new reference on an
	 * invalid root.
	 */
	bool invalid;
	/*
	 * Set with invalid by the invalidation that now owes the zap and the
	 * drop of the MMU's reference; cleared by it under mmu_lock (write).
	 */
	bool zap_pending;
	/* See the header comment.  Atomic. */
	int refcount;
	/* CPUs that may cache translations through this root; only grows (atomic or). */
	uint64_t cpu_mask;
	/* On vm->roots while refcount > 0: links under vm->roots_lock. */
	struct ept_root *next;
	struct ept_root **pprev;
	struct grace_head grace;
};

/** ept_root_tryget - take a reference unless the count already reached zero. */
bool ept_root_tryget(struct ept_root *root);

/**
 * ept_root_get - take a reference for a vCPU to run on: refuses an invalid
 * root.  Call with mmu_lock held (invalid only changes under it for write).
 */
bool ept_root_get(struct ept_root *root);

/** ept_root_put - drop a reference you took; the last one frees the root after a grace period. */
void ept_root_put(struct ept_vm *vm, struct ept_root *root);

/**
 * ept_root_load_for_vcpu - a valid root of @vm with a reference for the
 * calling vCPU (found or created), its CPU added to the root's mask.
 * NULL when out of memory.  Takes mmu_lock for read.
 */
struct ept_root *ept_root_load_for_vcpu(struct ept_vm *vm);

/**
 * ept_next_root - the listed root after @prev (the first if NULL), with a
 * reference, skipping invalid ones if @only_valid; drops the reference on
 * @prev.  A caller leaving the loop early puts the root it holds.
 */
struct ept_root *ept_next_root(struct ept_vm *vm, struct ept_root *prev, bool only_valid);

#define for_each_ept_root(vm, root)						\
	for ((root) = ept_next_root((vm), NULL, false); (root);			\
	     (root) = ept_next_root((vm), (root), false))

#define for_each_valid_ept_root(vm, root)					\
	for ((root) = ept_next_root((vm), NULL, true); (root);			\
	     (root) = ept_next_root((vm), (root), true))

/**
 * ept_invalidate_all_roots - mark every root invalid and kick the vCPUs (one
 * mmu_lock write section), then zap each root this call invalidated, yielding
 * as it goes, while the root is still reachable, and only then drop the
 * MMU's reference.  Returns with no root mapping anything it mapped before.
 */
void ept_invalidate_all_roots(struct ept_vm *vm);

/* The two halves, for the layout change: vm->inval_all_lock held for both. */
void ept_roots_mark_invalid(struct ept_vm *vm);	/* mmu_lock held for write */
void ept_roots_zap_invalid(struct ept_vm *vm);		/* mmu_lock not held */

#endif
