/* SPDX-License-Identifier: MIT */
/*
 * The guest's local APIC: xAPIC registers through the MMIO page (EPT
 * violations emulated by hv/vmx/mmio.c) and x2APIC through MSR exits, one
 * register model behind both; IRR/ISR/TPR/PPR and EOI.  The timer is in
 * hv/vdev/lapic_timer.c, IPIs and INIT/SIPI in hv/vdev/lapic_ipi.c.
 */
#include "hv/core/guest_boot.h"
#include "hv/core/request.h"
#include "hv/core/unit.h"
#include "hv/core/vm.h"
#include "hv/lib/x86.h"
#include "hv/vdev/ioapic.h"
#include "hv/vdev/lapic_regs.h"
#include "lib/string.h"

/* Each vCPU's, pointed to by v->lapic from vm_create() on. */
static struct vlapic lapics[VM_MAX][VCPU_MAX];

/* ICR bits that read back: all but delivery status (always idle here) and reserved. */
#define ICR_READBACK	0x000ccfffu

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

static uint32_t ppr(const struct vlapic *l)
{
	int isrv = highest_bit(l->isr, false);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;

	return (l->tpr & 0xf0) >= isr_class ? l->tpr & 0xff : isr_class;
}

/* Reset to the power-on state; id is the vCPU index, bsp for vCPU 0. */
static void lapic_reset(struct vcpu *v, bool bsp)
{
	struct vlapic *l = v->lapic;

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
void lapic_init_reset(struct vcpu *v)
{
	uint64_t base = v->lapic->apic_base;

	lapic_reset(v, false);
	v->lapic->apic_base = base;
}

/* The MMIO page answers while the APIC is enabled in xAPIC mode. */
static bool lapic_xapic_mmio(struct vcpu *v)
{
	const struct vlapic *l = v->lapic;

	return (l->apic_base & APIC_BASE_EN) && !x2apic_mode(l);
}

/* ---- interrupts ---- */

void lapic_set_irq(struct vcpu *v, uint8_t vector, bool level)
{
	struct vlapic *l = v->lapic;

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
	vcpu_kick(v);
}

int lapic_pending_vector(struct vcpu *v)
{
	struct vlapic *l = v->lapic;
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
	clear_bit32(v->lapic->irr, (unsigned int)vector);
	v->lapic->isr[vector / 32] |= 1u << (vector % 32);
}

bool lapic_has_wakeup(struct vcpu *v)
{
	struct vlapic *l = v->lapic;

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
	struct vlapic *l = v->lapic;
	int vec = highest_bit(l->isr, false);

	if (vec < 0)
		return;
	l->isr[vec / 32] &= ~(1u << (vec % 32));
	if (READ_ONCE(l->tmr[vec / 32]) & (1u << (vec % 32)))
		ioapic_eoi(v->vm, (uint8_t)vec);
}

/* ---- the register file ---- */

static bool reg_read(struct vcpu *v, uint32_t off, uint32_t *val)
{
	struct vlapic *l = v->lapic;
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
	case APIC_ICR: *val = l->icr_lo; return true;	/* delivery status: idle, always */
	case APIC_ICR2: *val = l->icr_hi; return !x2apic_mode(l);
	case APIC_TMICT: *val = l->tmict; return true;
	case APIC_TMCCT: *val = lapic_timer_current(l); return true;
	case APIC_TDCR: *val = l->tdcr; return true;
	default:
		return false;
	}
}

static bool reg_write(struct vcpu *v, uint32_t off, uint32_t val, uint32_t hi)
{
	struct vlapic *l = v->lapic;
	int lvt = lvt_index(off);

	if (lvt >= 0) {
		val &= lvt_mask[lvt];
		if (!(l->svr & SVR_ENABLE))
			val |= LVT_MASKED;
		if (lvt == 1)
			lapic_timer_write_lvt(l, val);
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
		l->icr_lo = val & ICR_READBACK;
		lapic_send_ipi(v, val, x2apic_mode(l) ? hi : l->icr_hi >> 24);
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
		lapic_timer_start(l);
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

static uint64_t lapic_mmio_read(struct vcpu *v, uint64_t off, unsigned int size)
{
	uint32_t val = 0;

	(void)size;
	off &= 0xff0;
	if (!reg_read(v, (uint32_t)off, &val) || off == APIC_SELF_IPI)
		return 0;
	return val;
}

static void lapic_mmio_write(struct vcpu *v, uint64_t off, unsigned int size, uint64_t val)
{
	(void)size;
	if (!reg_write(v, (uint32_t)off & 0xff0, (uint32_t)val, 0))
		__atomic_fetch_or(&v->lapic->esr_pending, 1u << 7, __ATOMIC_RELAXED);	/* illegal register */
}

static const struct mmio_ops lapic_mmio = {
	.live = lapic_xapic_mmio,
	.read = lapic_mmio_read,
	.write = lapic_mmio_write,
};

static void set_apic_base(struct vcpu *v, uint64_t val)
{
	struct vlapic *l = v->lapic;

	l->apic_base = (val & (APIC_BASE_EN | APIC_BASE_EXTD)) | GUEST_LAPIC_BASE |
		       (l->apic_base & APIC_BASE_BSP);
	if (x2apic_mode(l))
		WRITE_ONCE(l->ldr, ((l->id >> 4) << 16) | (1u << (l->id & 0xf)));
}

bool lapic_rdmsr(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	struct vlapic *l = v->lapic;
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
	*val = lo;		/* the x2APIC ICR reads back without its destination */
	return true;
}

bool lapic_wrmsr(struct vcpu *v, uint32_t msr, uint64_t val)
{
	struct vlapic *l = v->lapic;

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
		lapic_timer_write_deadline(v, val);
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

static int lapic_attach(struct vm *vm)
{
	for (unsigned int i = 0; i < VCPU_MAX; i++)
		vm->vcpus[i].lapic = &lapics[vm->id][i];
	return vm_register_mmio(vm, GUEST_LAPIC_BASE, 0x1000, &lapic_mmio);
}

static void lapic_vcpu_reset(struct vcpu *v)
{
	lapic_reset(v, v->id == 0);
}

DEFINE_VDEV_UNIT(lapic, .vm_create = lapic_attach, .vcpu_reset = lapic_vcpu_reset);
