/* SPDX-License-Identifier: MIT */
/*
 * One VM's EPT MMU: its lock, roots, invalidation state, guest memory layout
 * and statistics (docs/mmu-contract.md).
 *
 * Lock order: layout_lock -> inval_all_lock -> mmu_lock -> roots_lock, and
 * grace read sections nest inside any of them.  Never wait for a grace period
 * (grace_synchronize()) while holding one of them.
 */
#ifndef EPT_VM_H
#define EPT_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "ept/arch.h"
#include "ept/root.h"
#include "ept/spte.h"
#include "smp/cpu.h"
#include "smp/rwlock.h"
#include "smp/spinlock.h"

#define EPT_MAX_REGIONS		16
#define EPT_ZAP_BATCH		64	/* entries between checks for waiters */

/* Guest memory: gfns [start_gfn, end_gfn), mapped RWX. */
struct ept_region {
	uint64_t start_gfn;
	uint64_t end_gfn;
};

/* Counted by the CPU that does the work; summed by ept_vm_stats(). */
struct ept_cpu_stats {
	uint64_t faults;	/* ept_fault() calls */
	uint64_t fixed;		/* ... that installed a leaf */
	uint64_t retries;	/* ... told to retry (invalidation, frozen entry, invalid root) */
	uint64_t spurious;	/* ... that found the gfn mapped */
} __attribute__((aligned(64)));

struct ept_stats {
	uint64_t faults, fixed, retries, spurious;
	uint64_t zapped;		/* leaves zapped */
	uint64_t splits;		/* large leaves split to parts by a partial zap */
	uint64_t flushes;		/* ops->flush() calls */
	uint64_t roots_alive;		/* allocated and not yet freed */
	uint64_t table_pages;		/* EPT table pages allocated and not yet freed */
	uint64_t max_write_hold_ns;	/* longest mmu_lock write stretch inside a zap */
};

struct ept_vm {
	const struct ept_ops *ops;
	void *priv;			/* the environment's */

	/*
	 * Faults hold mmu_lock for read and change entries only by cmpxchg
	 * (rule 1 of docs/mmu-contract.md).  Held for write: zaps, root invalidation, the
	 * invalidation state below, the region layout.
	 */
	rwlock_t mmu_lock;

	/* vm->roots and the roots' links.  Inside mmu_lock, or alone (root put). */
	spinlock_t roots_lock;
	struct ept_root *roots;

	/*
	 * The invalidation sequence (rule 2 of docs/mmu-contract.md).  Written under mmu_lock
	 * (write); inval_seq is also read without it, by the fault's snapshot.
	 */
	unsigned long inval_seq;
	long inval_in_progress;
	uint64_t inval_start, inval_end;

	/*
	 * Layout changes against open invalidations: ept_invalidate_begin()
	 * counts itself in active_invalidations before it looks at the regions,
	 * and a layout change waits for the count to drop (turning new begins
	 * away with layout_waiting meanwhile), so the regions an invalidation
	 * saw at begin are still those at its end.  Both counts: layout_lock.
	 */
	spinlock_t layout_lock;
	int active_invalidations;
	int layout_waiting;

	/* Serialises root invalidations across their yields of mmu_lock. */
	spinlock_t inval_all_lock;

	/*
	 * Written under layout_lock and mmu_lock (write), before inval_seq moves;
	 * read by faults without a lock (then checked against inval_seq) and by
	 * invalidations while counted in active_invalidations.
	 */
	unsigned int nr_regions;
	struct ept_region regions[EPT_MAX_REGIONS];

	/* A zap checks for waiters every zap_batch entries; 0: never yields. */
	unsigned int zap_batch;

	/* Statistics: atomic adds, except max_write_hold_ns (mmu_lock write). */
	uint64_t zapped, splits, flushes, roots_alive, table_pages, max_write_hold_ns;
	struct ept_cpu_stats pcpu[SMP_MAX_CPUS];
};

/*
 * Where the fault path takes mmu_lock for read.  The benchmark's baseline
 * (EPT_BASELINE_GLOBAL_LOCK) builds the same code with a global lock instead.
 */
#ifdef EPT_BASELINE_GLOBAL_LOCK
#define ept_mmu_read_lock(vm)		write_lock(&(vm)->mmu_lock)
#define ept_mmu_read_unlock(vm)		write_unlock(&(vm)->mmu_lock)
#else
#define ept_mmu_read_lock(vm)		read_lock(&(vm)->mmu_lock)
#define ept_mmu_read_unlock(vm)		read_unlock(&(vm)->mmu_lock)
#endif

/** ept_vm_init - an empty VM MMU with no memory regions. */
void ept_vm_init(struct ept_vm *vm, const struct ept_ops *ops, void *priv);
/**
 * ept_vm_destroy - invalidate and zap every root and wait until their tables
 * are freed.  Every vCPU must have put its root first.  Not under any lock.
 */
void ept_vm_destroy(struct ept_vm *vm);
/** ept_vm_stats - a snapshot of @vm's counters. */
void ept_vm_stats(struct ept_vm *vm, struct ept_stats *out);

/* What ept_walk() saw: spte[level] for each level read, from EPT_ROOT_LEVEL down. */
struct ept_walk {
	ept_spte_t spte[EPT_ROOT_LEVEL + 1];
	int last_level;		/* the lowest level read */
	int leaf_level;		/* level of the leaf, 0 if gpa is not mapped */
	uint64_t hpa;		/* the host address gpa maps to, if leaf_level */
};

/**
 * ept_walk - lockless lookup of @gpa in @root (or, if NULL, in the first valid
 * root), under a grace read section of its own: nests in the caller's.
 * Returns whether gpa is mapped.  For the shell (`ept walk`) and tests.
 */
bool ept_walk(struct ept_vm *vm, struct ept_root *root, uint64_t gpa, struct ept_walk *out);

/* Helpers for the other ept/ files: allocation and flush with statistics. */
void *ept_alloc_table(struct ept_vm *vm);
void ept_free_table(struct ept_vm *vm, void *page);
void ept_flush(struct ept_vm *vm, struct ept_root *root);
/** ept_flush_all_roots - flush every listed root; mmu_lock held. */
void ept_flush_all_roots(struct ept_vm *vm);
uint64_t ept_now_ns(struct ept_vm *vm);

static inline void ept_leaf_set(struct ept_vm *vm, uint64_t gfn, int level, ept_spte_t *sptep)
{
	if (vm->ops->leaf_set)
		vm->ops->leaf_set(vm, gfn, level, sptep);
}

static inline void ept_leaf_clear(struct ept_vm *vm, uint64_t gfn, int level, ept_spte_t *sptep,
				  ept_spte_t old)
{
	if (vm->ops->leaf_clear)
		vm->ops->leaf_clear(vm, gfn, level, sptep, old);
}

static inline struct ept_cpu_stats *ept_this_cpu_stats(struct ept_vm *vm)
{
	return &vm->pcpu[smp_processor_id()];
}

/* Owner-CPU counter: no atomic RMW, but readable from anywhere. */
#define ept_stat_inc(field)	WRITE_ONCE(field, READ_ONCE(field) + 1)

#endif
