/* SPDX-License-Identifier: MIT */
/*
 * The local APIC timer: one-shot, periodic and TSC-deadline.  It counts at
 * GUEST_CRYSTAL_HZ (CPUID leaf 0x15) divided by TDCR; its deadline is a host
 * TSC value that vcpu_run_slice() folds into the VMX preemption timer and the
 * scheduler into the host's APIC timer while the vCPU halts.  The owner's
 * CPU only.
 */
#include "hv/core/guest_boot.h"
#include "hv/core/vm.h"
#include "hv/lib/x86.h"
#include "hv/vdev/lapic_regs.h"
#include "smp/time.h"

static uint32_t timer_divide(const struct vlapic *l)
{
	uint32_t d = (l->tdcr & 3) | ((l->tdcr & 8) >> 1);

	return d == 7 ? 1 : 2u << d;
}

/* Crystal ticks to host TSC ticks: n * tsc_khz / (crystal in kHz); n < 2^40. */
static uint64_t ticks_to_tsc(uint64_t n)
{
	return n * tsc_khz / (GUEST_CRYSTAL_HZ / 1000);
}

static uint64_t timer_period(const struct vlapic *l)
{
	uint64_t p = ticks_to_tsc((uint64_t)l->tmict * timer_divide(l));

	return p ? p : 1;
}

void lapic_timer_start(struct vlapic *l)
{
	l->timer_start = rdtsc();
	l->timer_deadline = l->tmict ? l->timer_start + timer_period(l) : 0;
}

uint32_t lapic_timer_current(const struct vlapic *l)
{
	uint64_t now = rdtsc(), left;

	if (LVT_TIMER_MODE(l->lvt[1]) == TIMER_TSCDL || !l->timer_deadline)
		return 0;
	if (now < l->timer_deadline)
		left = l->timer_deadline - now;
	else if (LVT_TIMER_MODE(l->lvt[1]) == TIMER_PERIODIC)
		/* Expired, not yet seen by lapic_timer_update(): the count has reloaded. */
		left = timer_period(l) - (now - l->timer_deadline) % timer_period(l);
	else
		return 0;
	left = left * (GUEST_CRYSTAL_HZ / 1000) / tsc_khz / timer_divide(l);
	return left > l->tmict ? l->tmict : (uint32_t)left;
}

void lapic_timer_update(struct vcpu *v)
{
	struct vlapic *l = v->lapic;
	uint32_t lvt = l->lvt[1];
	uint64_t now;

	if (!l->timer_deadline || (now = rdtsc()) < l->timer_deadline)
		return;
	if (!(lvt & LVT_MASKED) && sw_enabled(l))
		set_bit32(l->irr, lvt & 0xff);
	l->timer_fired++;
	switch (LVT_TIMER_MODE(lvt)) {
	case TIMER_PERIODIC: {
		uint64_t p = timer_period(l);

		/* Missed periods coalesce into the one interrupt, as on hardware. */
		l->timer_deadline += ((now - l->timer_deadline) / p + 1) * p;
		break;
	}
	case TIMER_TSCDL:
		l->tsc_deadline = 0;
		l->timer_deadline = 0;
		break;
	default:
		l->timer_deadline = 0;
	}
}

uint64_t lapic_next_deadline(const struct vcpu *v)
{
	return v->lapic->timer_deadline;
}

void lapic_timer_write_lvt(struct vlapic *l, uint32_t val)
{
	uint32_t old = l->lvt[1];

	l->lvt[1] = val;
	if (LVT_TIMER_MODE(old) != LVT_TIMER_MODE(val)) {
		/* A mode switch disarms the timer (SDM 10.5.4.1). */
		l->timer_deadline = 0;
		l->tsc_deadline = 0;
		l->tmict = 0;
	}
}

/* IA32_TSC_DEADLINE: in guest TSC, which runs TSC_OFFSET ahead of the host's. */
void lapic_timer_write_deadline(struct vcpu *v, uint64_t val)
{
	struct vlapic *l = v->lapic;

	if (LVT_TIMER_MODE(l->lvt[1]) != TIMER_TSCDL)
		return;		/* ignored outside TSC-deadline mode (SDM 10.5.4.1) */
	l->tsc_deadline = val;
	/* A deadline already behind fires at once; 0 disarms. */
	l->timer_deadline = !val ? 0 : val - v->tsc_offset ? val - v->tsc_offset : 1;
}
