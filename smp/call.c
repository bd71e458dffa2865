/* SPDX-License-Identifier: MIT */
/*
 * Cross-CPU function calls: a slot per target CPU and a fixed-vector IPI.
 * Calls are serialised by call_lock, so a slot has one writer at a time.
 */
#include "hv/lib/x86.h"
#include "smp/apic.h"
#include "smp/percpu.h"
#include "smp/smp.h"
#include "smp/spinlock.h"
#include "smp/time.h"
#include "smp/vectors.h"

struct call_slot {
	smp_call_fn fn;
	void *arg;
	/* req is bumped by the caller after fn/arg; done catches up when fn returned. */
	uint64_t req;
	uint64_t done;
} __attribute__((aligned(64)));

static struct call_slot slots[SMP_MAX_CPUS];
static spinlock_t call_lock = SPINLOCK_INIT_ORDER(LOCK_ORDER_CALL);
/* Set once by smp_stop_others(): every CPU that sees it halts (NMI handler, VM exit). */
bool panic_in_progress;

void smp_call_interrupt(void)
{
	struct call_slot *s = &slots[smp_processor_id()];
	/* Pairs with the release in smp_call_on_cpus(): fn and arg are set. */
	uint64_t req = load_acquire(&s->req);

	if (req == s->done)
		return;
	s->fn(s->arg);
	/* Pairs with the acquire in the caller's wait: fn's effects are visible. */
	store_release(&s->done, req);
}

uint64_t smp_call_on_cpus(uint64_t mask, smp_call_fn fn, void *arg, uint64_t timeout_us)
{
	unsigned int self = smp_processor_id();
	uint64_t finished = 0, d;
	uint64_t targets = mask & smp_online_mask() & ~(1ULL << self);

	spin_lock(&call_lock);
	for (unsigned int c = 0; c < smp_ncpus; c++) {
		if (!(targets & (1ULL << c)))
			continue;
		slots[c].fn = fn;
		slots[c].arg = arg;
		store_release(&slots[c].req, slots[c].req + 1);
		apic_send_fixed(per_cpu(c)->apic_id, VEC_CALL);
	}
	if (mask & (1ULL << self)) {
		fn(arg);
		finished |= 1ULL << self;
	}
	d = deadline_us(timeout_us);
	for (unsigned int c = 0; c < smp_ncpus; c++) {
		if (!(targets & (1ULL << c)))
			continue;
		while (load_acquire(&slots[c].done) != slots[c].req && !deadline_passed(d))
			cpu_relax();
		if (load_acquire(&slots[c].done) == slots[c].req)
			finished |= 1ULL << c;
		else
			/* Abandon it: the next call's req supersedes this one. */
			slots[c].done = slots[c].req;
	}
	spin_unlock(&call_lock);
	return finished;
}

void smp_stop_others(void)
{
	unsigned int self = smp_processor_id();

	WRITE_ONCE(panic_in_progress, true);
	for (unsigned int c = 0; c < smp_ncpus; c++)
		if (c != self && READ_ONCE(per_cpu(c)->state) == CPU_ONLINE)
			apic_send_nmi(per_cpu(c)->apic_id);
}
