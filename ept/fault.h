/* SPDX-License-Identifier: MIT */
/* The EPT-violation fault path (docs/mmu-contract.md, rules 2 and 4). */
#ifndef EPT_FAULT_H
#define EPT_FAULT_H

#include <stdint.h>

#include "ept/vm.h"

enum ept_fault_result {
	EPT_FIXED,		/* a leaf was installed: re-enter the guest */
	EPT_RETRY,		/* raced with an invalidation (or root invalid): re-enter, fault again */
	EPT_SPURIOUS,		/* gpa was mapped already (another vCPU won) */
	EPT_NO_MEMSLOT,		/* gpa is outside every memory region: stop the guest */
	EPT_NOMEM,		/* no page for a table or for the backing */
};

/**
 * ept_fault - map @gpa in @root (which the calling vCPU holds a reference
 * on) for an access with @access (EPT_R/W/X bits).  Resolves the backing page
 * through ops->resolve() without mmu_lock, then installs under mmu_lock
 * (read) with cmpxchg, unless an invalidation raced with it.  Maps 2 MiB when
 * the resolver allows it and the block lies in one region.
 */
enum ept_fault_result ept_fault(struct ept_vm *vm, struct ept_root *root, uint64_t gpa,
				uint64_t access);

#endif
