/* SPDX-License-Identifier: MIT */
/*
 * EPT TLB shootdowns, after KVM's vcpu->mode and request protocol.  A flush
 * of an EPTP on a set of CPUs queues an INVEPT single-context request on
 * each (batched: several EPTPs per CPU, all-context when they overflow) and
 * waits only for the CPUs that are in guest mode to leave it: a CPU outside
 * guest mode cannot use EPT translations, and it performs its queued INVEPTs
 * before its next VM entry.  So a flusher never waits for a CPU to take an
 * interrupt, and a CPU may spin on mmu_lock with interrupts off while
 * another holds it and flushes.
 */
#ifndef HV_TLB_H
#define HV_TLB_H

#include <stdint.h>

/** tlb_guest_enter - interrupts off, just before VM entry: enter guest mode, run queued INVEPTs. */
void tlb_guest_enter(void);
/** tlb_guest_exit - just after the VM exit (or a failed entry): leave guest mode. */
void tlb_guest_exit(void);
/**
 * tlb_flush_ept - INVEPT single-context of @eptp on every CPU of @cpu_mask:
 * returns once none of them can use a translation cached before the call.
 */
void tlb_flush_ept(uint64_t cpu_mask, uint64_t eptp);

struct tlb_stats {
	uint64_t flushes;	/* tlb_flush_ept() calls */
	uint64_t ipis;		/* CPUs kicked out of guest mode */
	uint64_t invept;	/* INVEPTs executed */
};
void tlb_get_stats(struct tlb_stats *st);

#endif
