/* SPDX-License-Identifier: MIT */
/*
 * Lockless aging of a root's leaves in gfn order (docs/mmu-contract.md, rule
 * 6, seed 003), after KVM's kvm_tdp_mmu_test_age_gfn(): no mmu_lock, only a
 * grace read section that keeps the tables alive, and a reference on the
 * root.  The walk reads each leaf table linearly, so a pass costs little more
 * than reading the entries.
 */
#ifndef EPT_AGE_H
#define EPT_AGE_H

#include <stdint.h>

#include "ept/root.h"

/**
 * ept_test_clear_young - for every present leaf of @root over [@start, @end)
 * whose accessed bit is set, clear that bit and set the bits of the gfns it
 * maps in @young (bit gfn - @start).  Only the accessed bit is written, by
 * compare-and-exchange against the value read; a failed one (a zap, a fault,
 * the CPU setting D) counts as young and is not retried.  No TLB flush: a
 * cached translation leaves the bit clear longer, so the page looks older,
 * never younger.  Caller: in a grace read section, holding a reference on
 * @root.  Returns the number of leaves found young.
 */
unsigned long ept_test_clear_young(struct ept_root *root, uint64_t start, uint64_t end,
				   uint64_t *young);

#endif
