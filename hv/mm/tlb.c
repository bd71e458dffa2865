/* SPDX-License-Identifier: MIT */
/* EPT TLB shootdowns; the protocol is in hv/mm/tlb.h. */
#include "hv/mm/tlb.h"

#include "hv/cpu/trap.h"
#include "hv/cpu/vmx_insn.h"
#include "smp/apic.h"
#include "smp/atomic.h"
#include "smp/percpu.h"
#include "smp/spinlock.h"

#define TLB_BATCH	4

struct tlb_cpu {
	/*
	 * Written by the CPU itself, read by flushers: bumped at every entry
	 * into guest mode and every exit, so odd while in guest mode.  One
	 * word: a flusher that saw the CPU in guest mode waits for the end of
	 * that stay, which it cannot mistake for another.  (With a mode and a
	 * separate exit count, an exit between the flusher's two reads made it
	 * wait for the next stay's exit: the CPU, already leaving, took the IPI
	 * outside guest mode and went back in.)
	 */
	unsigned long guest_seq;
	/*
	 * Queued INVEPTs: lock, taken by flushers and by the CPU at entry; n
	 * and all are also read without it by the CPU (WRITE_ONCE).
	 */
	spinlock_t lock;
	unsigned int n;
	bool all;
	uint64_t eptp[TLB_BATCH];
} __attribute__((aligned(64)));

static struct tlb_cpu tlb_cpus[SMP_MAX_CPUS] = {
	[0 ... SMP_MAX_CPUS - 1] = { .lock = SPINLOCK_INIT_ORDER(LOCK_ORDER_TLB) },
};
static uint64_t stat_flushes, stat_ipis, stat_invept;

static void queue(struct tlb_cpu *t, uint64_t eptp)
{
	spin_lock(&t->lock);
	for (unsigned int i = 0; i < t->n; i++)
		if (t->eptp[i] == eptp)
			goto out;
	if (t->n < TLB_BATCH) {
		t->eptp[t->n] = eptp;
		WRITE_ONCE(t->n, t->n + 1);
	} else {
		WRITE_ONCE(t->all, true);
	}
out:
	spin_unlock(&t->lock);
}

void tlb_guest_enter(void)
{
	struct tlb_cpu *t = &tlb_cpus[smp_processor_id()];
	uint64_t eptp[TLB_BATCH];
	unsigned int n;
	bool all;

	WRITE_ONCE(t->guest_seq, t->guest_seq + 1);
	/*
	 * Pairs with smp_mb() in tlb_flush_ept(): either the flusher sees us in
	 * guest mode (and waits for our exit), or we see its request here.
	 */
	smp_mb();
	if (!READ_ONCE(t->n) && !READ_ONCE(t->all))
		return;
	spin_lock(&t->lock);
	n = t->n;
	all = t->all;
	for (unsigned int i = 0; i < n; i++)
		eptp[i] = t->eptp[i];
	WRITE_ONCE(t->n, 0);
	WRITE_ONCE(t->all, false);
	spin_unlock(&t->lock);
	if (all) {
		invept_all();
		atomic_add(&stat_invept, 1);
		return;
	}
	for (unsigned int i = 0; i < n; i++)
		invept_single(eptp[i]);
	atomic_add(&stat_invept, n);
}

void tlb_guest_exit(void)
{
	struct tlb_cpu *t = &tlb_cpus[smp_processor_id()];

	/* Release: whoever sees us outside saw the end of everything we did in guest mode. */
	store_release(&t->guest_seq, t->guest_seq + 1);
}

void tlb_flush_ept(uint64_t cpu_mask, uint64_t eptp)
{
	unsigned long seen[SMP_MAX_CPUS];
	uint64_t wait = 0;

	atomic_add(&stat_flushes, 1);
	for (unsigned int c = 0; c < SMP_MAX_CPUS; c++)
		if (cpu_mask & (1ull << c))
			queue(&tlb_cpus[c], eptp);
	smp_mb();	/* the requests are visible before we look at the modes */
	for (unsigned int c = 0; c < SMP_MAX_CPUS; c++) {
		struct tlb_cpu *t = &tlb_cpus[c];

		if (!(cpu_mask & (1ull << c)))
			continue;
		seen[c] = load_acquire(&t->guest_seq);
		if (!(seen[c] & 1))
			continue;
		wait |= 1ull << c;
		/* External-interrupt exiting: any interrupt makes it leave guest mode. */
		apic_send_fixed(per_cpu(c)->apic_id, VEC_KICK);
		atomic_add(&stat_ipis, 1);
	}
	for (unsigned int c = 0; wait && c < SMP_MAX_CPUS; c++) {
		struct tlb_cpu *t = &tlb_cpus[c];

		if (!(wait & (1ull << c)))
			continue;
		while (load_acquire(&t->guest_seq) == seen[c])
			cpu_relax();
	}
}

void tlb_get_stats(struct tlb_stats *st)
{
	st->flushes = READ_ONCE(stat_flushes);
	st->ipis = READ_ONCE(stat_ipis);
	st->invept = READ_ONCE(stat_invept);
}
