/* SPDX-License-Identifier: MIT */
/*
 * The seam between the portable EPT MMU and its environment.  The hypervisor
 * (hv/) and the host tests each provide a struct ept_ops; nothing else in ept/
 * knows where pages come from or how CPUs are told to flush.
 *
 * Addresses: table pages are used through their virtual address and stored in
 * entries by their physical address.  Both builds map them one to one: the
 * hypervisor identity-maps the pages its allocator hands out, and the hosted
 * build uses the aligned_alloc() address itself as the "physical" address
 * (user addresses fit in bits 12-51).
 */
#ifndef EPT_ARCH_H
#define EPT_ARCH_H

#include <stdbool.h>
#include <stdint.h>

struct ept_vm;
struct ept_root;

static inline void *ept_pa_to_va(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

static inline uint64_t ept_va_to_pa(const void *va)
{
	return (uint64_t)(uintptr_t)va;
}

struct ept_ops {
	/* One zeroed, 4 KiB aligned 4 KiB page, or NULL.  May run under mmu_lock. */
	void *(*alloc_table)(struct ept_vm *vm);
	void (*free_table)(struct ept_vm *vm, void *page);
	/*
	 * INVEPT single-context for @root on every CPU in root->cpu_mask: returns
	 * once no CPU can use a translation through an entry cleared before the
	 * call.  May run under mmu_lock (read or write).
	 */
	void (*flush)(struct ept_vm *vm, struct ept_root *root);
	/* Ask every vCPU of @vm to drop its root and load a valid one before it re-enters. */
	void (*kick_vcpus)(struct ept_vm *vm);
	/*
	 * The memory-region owner: the host page backing @gfn (allocated or brought
	 * back if need be) in *hpa, and in *max_level the largest level it may be
	 * mapped at (1, or 2 if the 2 MiB block around gfn is host-contiguous).
	 * Called without mmu_lock.  False: out of memory.
	 */
	bool (*resolve)(struct ept_vm *vm, uint64_t gfn, uint64_t *hpa, int *max_level);
	/* Optional monotonic clock in ns, for the longest-write-hold statistic. */
	uint64_t (*now_ns)(void);
	/*
	 * Optional, for a reverse map.  leaf_set: a leaf for @gfn (its first
	 * gfn) was installed at @sptep, mmu_lock held (either mode), before it
	 * is dropped.  leaf_clear: the leaf that was @old at @sptep is gone
	 * (zapped, or frozen to be replaced), mmu_lock held (either mode).
	 * Neither may take mmu_lock nor allocate.
	 */
	void (*leaf_set)(struct ept_vm *vm, uint64_t gfn, int level, uint64_t *sptep);
	void (*leaf_clear)(struct ept_vm *vm, uint64_t gfn, int level, uint64_t *sptep,
			   uint64_t old);
};

#endif
