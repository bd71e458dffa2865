/* SPDX-License-Identifier: MIT */
/*
 * The guest's local APIC: xAPIC registers through the MMIO page (EPT
 * violations decoded by hv/mmio.c) and x2APIC through MSR exits, one
 * register model behind both.  The timer (one-shot, periodic, TSC-deadline)
 * is a host-TSC deadline that hv/vcpu.c folds into the VMX preemption timer;
 * it counts at GUEST_CRYSTAL_HZ, which CPUID leaf 0x15 reports.
 */
#include "hv/guest_boot.h"
#include "hv/lapic.h"
#include "hv/string.h"
#include "hv/vm.h"
#include "hv/x86.h"
#include "smp/atomic.h"
#include "smp/time.h"

#define APIC_ID		0x20
#define APIC_VER	0x30
#define APIC_TPR	0x80
#define APIC_APR	0x90
#define APIC_PPR	0xa0
#define APIC_EOI	0xb0
#define APIC_LDR	0xd0
#define APIC_DFR	0xe0
#define APIC_SVR	0xf0
#define APIC_ISR	0x100
#define APIC_TMR	0x180
#define APIC_IRR	0x200
#define APIC_ESR	0x280
#define APIC_LVT_CMCI	0x2f0
#define APIC_ICR	0x300
#define APIC_ICR2	0x310
#define APIC_LVTT	0x320
#define APIC_LVTERR	0x370
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define APIC_TDCR	0x3e0
#define APIC_SELF_IPI	0x3f0

#define APIC_BASE_BSP	(1ULL << 8)
#define APIC_BASE_EXTD	(1ULL << 10)
#define APIC_BASE_EN	(1ULL << 11)

#define SVR_ENABLE	(1u << 8)
#define LVT_MASKED	(1u << 16)
#define LVT_TIMER_MODE(l) (((l) >> 17) & 3)
#define TIMER_ONESHOT	0
#define TIMER_PERIODIC	1
#define TIMER_TSCDL	2

#define ICR_MODE(lo)	((lo) & 0x700)
#define ICR_FIXED	0x000
#define ICR_LOWEST	0x100
#define ICR_NMI		0x400
#define ICR_INIT	0x500
#define ICR_SIPI	0x600
#define ICR_LOGICAL	(1u << 11)
#define ICR_ASSERT	(1u << 14)
#define ICR_LEVEL	(1u << 15)

/* 7 LVTs: CMCI at 0x2f0, then timer .. error at 0x320 .. 0x370; writable bits of each. */
static const uint32_t lvt_mask[LAPIC_LVT_NUM] = {
	0x107ff, 0x700ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff,
};

static int lvt_index(uint32_t off)
{
	if (off == APIC_LVT_CMCI)
		return 0;
	if (off >= APIC_LVTT && off <= APIC_LVTERR)
		return 1 + (int)((off - APIC_LVTT) >> 4);
	return -1;
}

static bool x2apic_mode(const struct vlapic *l)
{
	return l->apic_base & APIC_BASE_EXTD;
}

static bool sw_enabled(const struct vlapic *l)
{
	return (l->apic_base & APIC_BASE_EN) && (l->svr & SVR_ENABLE);
}

static int highest_bit(const uint32_t *regs, bool atomic)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w = atomic ? READ_ONCE(regs[i]) : regs[i];

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

static void set_bit32(uint32_t *regs, unsigned int v)
{
	__atomic_fetch_or(&regs[v / 32], 1u << (v % 32), __ATOMIC_SEQ_CST);
}

static void clear_bit32(uint32_t *regs, unsigned int v)
{
	__atomic_fetch_and(&regs[v / 32], ~(1u << (v % 32)), __ATOMIC_SEQ_CST);
}

static uint32_t ppr(const struct vlapic *l)
{
	int isrv = highest_bit(l->isr, false);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;

	return (l->tpr & 0xf0) >= isr_class ? l->tpr & 0xff : isr_class;
}

void lapic_reset(struct vcpu *v, bool bsp)
{
	struct vlapic *l = &v->lapic;

	memset(l, 0, sizeof(*l));
	l->id = v->id;
	l->apic_base = GUEST_LAPIC_BASE | APIC_BASE_EN | (bsp ? APIC_BASE_BSP : 0);
	l->dfr = 0xffffffff;
	l->svr = 0xff;
	for (int i = 0; i < LAPIC_LVT_NUM; i++)
		l->lvt[i] = LVT_MASKED;
	l->sipi_vector = -1;
}

/* INIT: everything but the ID and IA32_APIC_BASE (SDM 10.4.7.3). */
static void lapic_init_reset(struct vcpu *v)
{
	uint64_t base = v->lapic.apic_base;

	lapic_reset(v, false);
	v->lapic.apic_base = base;
}

bool lapic_xapic_mmio(const struct vcpu *v)
{
	const struct vlapic *l = &v->lapic;

	return (l->apic_base & APIC_BASE_EN) && !x2apic_mode(l);
}

/* ---- timer ---- */

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

static void timer_start(struct vlapic *l)
{
	l->timer_start = rdtsc();
	l->timer_deadline = l->tmict ? l->timer_start + timer_period(l) : 0;
}

static uint32_t timer_current(const struct vlapic *l)
{
	uint64_t now = rdtsc(), left;

	if (LVT_TIMER_MODE(l->lvt[1]) == TIMER_TSCDL || !l->timer_deadline ||
	    now >= l->timer_deadline)
		return 0;
	left = (l->timer_deadline - now) * (GUEST_CRYSTAL_HZ / 1000) / tsc_khz / timer_divide(l);
	return left > l->tmict ? l->tmict : (uint32_t)left;
}

void lapic_timer_update(struct vcpu *v)
{
	struct vlapic *l = &v->lapic;
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
	return v->lapic.timer_deadline;
}

static void write_lvt_timer(struct vlapic *l, uint32_t val)
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

/* ---- interrupts ---- */

void lapic_set_irq(struct vcpu *v, uint8_t vector, bool level)
{
	struct vlapic *l = &v->lapic;

	if (vector < 16) {
		__atomic_fetch_or(&l->esr_pending, 1u << 6, __ATOMIC_RELAXED);	/* received illegal */
		return;
	}
	if (level)
		set_bit32(l->tmr, vector);
	else
		clear_bit32(l->tmr, vector);
	set_bit32(l->irr, vector);
	/* The IRR write is ordered before the kick's ICR write (seq-cst RMW above). */
	sched_kick(v->cpu);
}

int lapic_pending_vector(struct vcpu *v)
{
	struct vlapic *l = &v->lapic;
	int vec;

	if (!sw_enabled(l))
		return -1;
	vec = highest_bit(l->irr, true);
	if (vec < 0 || ((uint32_t)vec & 0xf0) <= (ppr(l) & 0xf0))
		return -1;
	return vec;
}

void lapic_accept(struct vcpu *v, int vector)
{
	clear_bit32(v->lapic.irr, (unsigned int)vector);
	v->lapic.isr[vector / 32] |= 1u << (vector % 32);
}

bool lapic_has_wakeup(struct vcpu *v)
{
	struct vlapic *l = &v->lapic;

	if (READ_ONCE(l->init_pending) || READ_ONCE(v->nmi_pending))
		return true;
	if (!v->halt_if)
		return false;
	if (l->timer_deadline && rdtsc() >= l->timer_deadline)
		return true;
	return lapic_pending_vector(v) >= 0;
}

static void lapic_eoi(struct vcpu *v)
{
	struct vlapic *l = &v->lapic;
	int vec = highest_bit(l->isr, false);

	if (vec < 0)
		return;
	l->isr[vec / 32] &= ~(1u << (vec % 32));
	if (READ_ONCE(l->tmr[vec / 32]) & (1u << (vec % 32)))
		ioapic_eoi(v->vm, (uint8_t)vec);
}

static bool dest_match(struct vcpu *t, uint32_t dest, bool logical)
{
	const struct vlapic *l = &t->lapic;
	bool x2 = x2apic_mode(l);
	uint32_t ldr = READ_ONCE(l->ldr);

	if (!logical)
		return dest == (x2 ? 0xffffffffu : 0xffu) || dest == l->id;
	if (x2)
		return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff);
	dest &= 0xff;
	if (dest == 0xff)
		return true;
	if ((READ_ONCE(l->dfr) >> 28) == 0xf)	/* flat */
		return (ldr >> 24) & dest;
	return (dest >> 4) == (ldr >> 28) && (dest & (ldr >> 24) & 0xf);	/* cluster */
}

static void deliver_one(struct vcpu *t, uint32_t mode, uint8_t vector, bool level, bool assert)
{
	switch (mode) {
	case ICR_FIXED:
	case ICR_LOWEST:
		lapic_set_irq(t, vector, level);
		break;
	case ICR_NMI:
		WRITE_ONCE(t->nmi_pending, true);
		sched_kick(t->cpu);
		break;
	case ICR_INIT:
		if (!assert && level)
			break;		/* INIT level de-assert: nothing on modern CPUs */
		store_release(&t->lapic.init_pending, true);
		sched_kick(t->cpu);
		break;
	case ICR_SIPI:
		/* Only a CPU waiting for SIPI takes it; the second SIPI of the pair is dropped. */
		if ((READ_ONCE(t->wait_sipi) || load_acquire(&t->lapic.init_pending)) &&
		    READ_ONCE(t->lapic.sipi_vector) < 0) {
			store_release(&t->lapic.sipi_vector, (int)vector);
			sched_kick(t->cpu);
		}
		break;
	default:
		break;		/* SMI and the rest: no such thing here */
	}
}

void lapic_deliver(struct vm *vm, uint32_t dest, bool logical, uint32_t mode, uint8_t vector,
		   bool level)
{
	for (unsigned int i = 0; i < vm->cfg.vcpus; i++) {
		struct vcpu *t = &vm->vcpus[i];

		if (!dest_match(t, dest, logical))
			continue;
		deliver_one(t, mode, vector, level, true);
		if (mode == ICR_LOWEST)
			break;		/* lowest priority: the first match will do */
	}
}

static void send_ipi(struct vcpu *v, uint32_t lo, uint32_t dest)
{
	struct vm *vm = v->vm;
	uint32_t mode = ICR_MODE(lo), shorthand = (lo >> 18) & 3;
	uint8_t vector = lo & 0xff;
	bool level = lo & ICR_LEVEL, assert = lo & ICR_ASSERT;

	if (mode == ICR_INIT && !assert)
		return;
	if ((mode == ICR_FIXED || mode == ICR_LOWEST) && vector < 16)
		__atomic_fetch_or(&v->lapic.esr_pending, 1u << 5, __ATOMIC_RELAXED);	/* send illegal */
	switch (shorthand) {
	case 0:
		if (mode == ICR_INIT || mode == ICR_SIPI || mode == ICR_NMI) {
			/* Physical or logical, these go to exactly the named targets. */
			for (unsigned int i = 0; i < vm->cfg.vcpus; i++)
				if (dest_match(&vm->vcpus[i], dest, lo & ICR_LOGICAL))
					deliver_one(&vm->vcpus[i], mode, vector, level, assert);
		} else {
			lapic_deliver(vm, dest, lo & ICR_LOGICAL, mode, vector, level);
		}
		break;
	case 1:
		deliver_one(v, mode, vector, level, assert);
		break;
	default:
		for (unsigned int i = 0; i < vm->cfg.vcpus; i++)
			if (shorthand == 2 || &vm->vcpus[i] != v)
				deliver_one(&vm->vcpus[i], mode, vector, level, assert);
	}
}

/* ---- the register file ---- */

static bool reg_read(struct vcpu *v, uint32_t off, uint32_t *val)
{
	struct vlapic *l = &v->lapic;
	int lvt = lvt_index(off);

	if (lvt >= 0) {
		*val = l->lvt[lvt];
		return true;
	}
	if (off >= APIC_ISR && off < APIC_ISR + 0x80) {
		*val = l->isr[(off - APIC_ISR) >> 4];
		return true;
	}
	if (off >= APIC_TMR && off < APIC_TMR + 0x80) {
		*val = READ_ONCE(l->tmr[(off - APIC_TMR) >> 4]);
		return true;
	}
	if (off >= APIC_IRR && off < APIC_IRR + 0x80) {
		*val = READ_ONCE(l->irr[(off - APIC_IRR) >> 4]);
		return true;
	}
	switch (off) {
	case APIC_ID: *val = x2apic_mode(l) ? l->id : l->id << 24; return true;
	case APIC_VER: *val = 0x14 | ((LAPIC_LVT_NUM - 1) << 16); return true;
	case APIC_TPR: *val = l->tpr; return true;
	case APIC_APR: *val = 0; return true;
	case APIC_PPR: *val = ppr(l); return true;
	case APIC_LDR: *val = l->ldr; return true;
	case APIC_DFR: *val = l->dfr; return !x2apic_mode(l);
	case APIC_SVR: *val = l->svr; return true;
	case APIC_ESR: *val = l->esr; return true;
	case APIC_ICR: *val = 0; return true;	/* delivery status: idle, always */
	case APIC_ICR2: *val = l->icr_hi; return !x2apic_mode(l);
	case APIC_TMICT: *val = l->tmict; return true;
	case APIC_TMCCT: *val = timer_current(l); return true;
	case APIC_TDCR: *val = l->tdcr; return true;
	default:
		return false;
	}
}

static bool reg_write(struct vcpu *v, uint32_t off, uint32_t val, uint32_t hi)
{
	struct vlapic *l = &v->lapic;
	int lvt = lvt_index(off);

	if (lvt >= 0) {
		val &= lvt_mask[lvt];
		if (!(l->svr & SVR_ENABLE))
			val |= LVT_MASKED;
		if (lvt == 1)
			write_lvt_timer(l, val);
		else
			l->lvt[lvt] = val;
		return true;
	}
	switch (off) {
	case APIC_ID:
		if (!x2apic_mode(l))
			l->id = val >> 24;
		return !x2apic_mode(l);
	case APIC_TPR:
		l->tpr = val & 0xff;
		return true;
	case APIC_EOI:
		lapic_eoi(v);
		return true;
	case APIC_LDR:
		if (x2apic_mode(l))
			return false;
		WRITE_ONCE(l->ldr, val & 0xff000000);
		return true;
	case APIC_DFR:
		if (x2apic_mode(l))
			return false;
		WRITE_ONCE(l->dfr, val | 0x0fffffff);
		return true;
	case APIC_SVR:
		l->svr = val & 0x13ff;
		if (!(val & SVR_ENABLE))
			for (int i = 0; i < LAPIC_LVT_NUM; i++)
				l->lvt[i] |= LVT_MASKED;
		return true;
	case APIC_ESR:
		/* A write latches the errors since the last write; reads see the latch. */
		l->esr = __atomic_exchange_n(&l->esr_pending, 0, __ATOMIC_RELAXED);
		return true;
	case APIC_ICR:
		send_ipi(v, val, x2apic_mode(l) ? hi : l->icr_hi >> 24);
		return true;
	case APIC_ICR2:
		if (x2apic_mode(l))
			return false;
		l->icr_hi = val & 0xff000000;
		return true;
	case APIC_TMICT:
		if (LVT_TIMER_MODE(l->lvt[1]) == TIMER_TSCDL)
			return true;	/* ignored in TSC-deadline mode */
		l->tmict = val;
		timer_start(l);
		return true;
	case APIC_TDCR:
		l->tdcr = val & 0xb;
		return true;
	case APIC_SELF_IPI:
		if (!x2apic_mode(l))
			return false;
		lapic_set_irq(v, val & 0xff, false);
		return true;
	default:
		return lvt_index(off) >= 0 || off == APIC_TMCCT || off == APIC_VER ||
		       off == APIC_PPR;	/* read-only: writes vanish (xAPIC) */
	}
}

uint32_t lapic_mmio_read(struct vcpu *v, uint32_t off)
{
	uint32_t val = 0;

	if (!reg_read(v, off & 0xff0, &val) || (off & 0xff0) == APIC_SELF_IPI)
		return 0;
	return val;
}

void lapic_mmio_write(struct vcpu *v, uint32_t off, uint32_t val)
{
	if (!reg_write(v, off & 0xff0, val, 0))
		__atomic_fetch_or(&v->lapic.esr_pending, 1u << 7, __ATOMIC_RELAXED);	/* illegal register */
}

static void set_apic_base(struct vcpu *v, uint64_t val)
{
	struct vlapic *l = &v->lapic;

	l->apic_base = (val & (APIC_BASE_EN | APIC_BASE_EXTD)) | GUEST_LAPIC_BASE |
		       (l->apic_base & APIC_BASE_BSP);
	if (x2apic_mode(l))
		WRITE_ONCE(l->ldr, ((l->id >> 4) << 16) | (1u << (l->id & 0xf)));
}

bool lapic_rdmsr(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	struct vlapic *l = &v->lapic;
	uint32_t lo;

	if (msr == MSR_APIC_BASE) {
		*val = l->apic_base;
		return true;
	}
	if (msr == 0x6e0) {
		*val = LVT_TIMER_MODE(l->lvt[1]) == TIMER_TSCDL ? l->tsc_deadline : 0;
		return true;
	}
	if (msr < 0x800 || msr > 0x8ff || !x2apic_mode(l) || msr == 0x83f)
		return false;
	if (!reg_read(v, (msr - 0x800) << 4, &lo))
		return false;
	*val = lo;		/* the x2APIC ICR reads back idle, without its destination */
	return true;
}

bool lapic_wrmsr(struct vcpu *v, uint32_t msr, uint64_t val)
{
	struct vlapic *l = &v->lapic;

	if (msr == MSR_APIC_BASE) {
		bool en = val & APIC_BASE_EN, x2 = val & APIC_BASE_EXTD;

		/* Reserved bits, another base, or x2APIC without enable: #GP. */
		if ((val & ~(APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP | 0xfffff000ULL)) ||
		    (val & 0xfffff000ULL) != GUEST_LAPIC_BASE || (x2 && !en) ||
		    (x2apic_mode(l) && en && !x2))	/* x2APIC -> xAPIC must pass disabled */
			return false;
		set_apic_base(v, val);
		return true;
	}
	if (msr == 0x6e0) {
		if (LVT_TIMER_MODE(l->lvt[1]) == TIMER_TSCDL) {
			l->tsc_deadline = val;
			/* In host TSC; a deadline already behind fires at once. */
			l->timer_deadline = !val ? 0 : val - v->tsc_offset ? val - v->tsc_offset : 1;
		}
		return true;
	}
	if (msr < 0x800 || msr > 0x8ff || !x2apic_mode(l))
		return false;
	if (msr == 0x80b && val)			/* EOI takes only zero */
		return false;
	if (msr != 0x830 && (val >> 32))
		return false;
	return reg_write(v, (msr - 0x800) << 4, (uint32_t)val, (uint32_t)(val >> 32));
}

/* The owner applies posted INIT and SIPI; true when v must (re)start in real mode. */
bool lapic_take_init_sipi(struct vcpu *v, int *vector)
{
	struct vlapic *l = &v->lapic;

	if (load_acquire(&l->init_pending)) {
		WRITE_ONCE(l->init_pending, false);
		lapic_init_reset(v);
		WRITE_ONCE(v->wait_sipi, true);
		v->halted = false;
	}
	if (READ_ONCE(v->wait_sipi) && load_acquire(&l->sipi_vector) >= 0) {
		*vector = l->sipi_vector;
		WRITE_ONCE(v->wait_sipi, false);
		WRITE_ONCE(l->sipi_vector, -1);
		return true;
	}
	return false;
}
