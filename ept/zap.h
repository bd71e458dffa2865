/* SPDX-License-Identifier: MIT */
/*
 * Zapping leaves under mmu_lock (write), yielding to waiters every
 * vm->zap_batch entries.  Only leaves are zapped: the tables stay until their
 * root is freed, after a grace period, so walkers never meet a freed table.
 */
#ifndef EPT_ZAP_H
#define EPT_ZAP_H

#include <stdbool.h>
#include <stdint.h>

#include "ept/vm.h"

/**
 * ept_zap_root_range - zap the leaves of @root in gfns [@start, @end).  A
 * large leaf partly outside the range is split into a table of smaller
 * leaves first (or, without memory for the table, zapped whole).  Caller holds mmu_lock for write and a
 * reference on @root (or the MMU's, which it owes).  If @can_yield and others
 * wait, it flushes what it zapped and lets them in every vm->zap_batch
 * entries.  Returns whether zapped entries still need a flush.
 */
bool ept_zap_root_range(struct ept_vm *vm, struct ept_root *root, uint64_t start, uint64_t end,
			bool can_yield);

/**
 * ept_zap_range - the same over every listed root, valid or not (vCPUs may
 * still run on invalid ones).  Returns whether a flush is needed
 * (ept_flush_all_roots()).  mmu_lock held for write; may yield it.
 */
bool ept_zap_range(struct ept_vm *vm, uint64_t start, uint64_t end);

#endif
