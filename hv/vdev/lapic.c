/* SPDX-License-Identifier: MIT */
/*
 * The guest's local APIC: xAPIC registers through the MMIO page (APIC
 * virtualization where the CPU has it, else EPT violations emulated by
 * hv/vmx/mmio.c) and x2APIC through MSR exits, one register page behind all
 * of them (hv/vdev/lapic.h); IRR/ISR/TPR/PPR and EOI.  The timer is in
 * hv/vdev/lapic_timer.c, IPIs and INIT/SIPI in hv/vdev/lapic_ipi.c.
 */
#include "hv/core/guest_boot.h"
#include "hv/core/request.h"
#include "hv/core/unit.h"
#include "hv/core/vm.h"
#include "hv/cpu/page_alloc.h"
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
	int isrv = highest_vec(l, APIC_ISR);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0, tpr = reg_get(l, APIC_TPR);

	return (tpr & 0xf0) >= isr_class ? tpr & 0xff : isr_class;
}

/* The ID register: the ID in bits 31:24 in xAPIC mode, all 32 bits in x2APIC mode. */
static void set_id_reg(struct vlapic *l)
{
	reg_set(l, APIC_ID, x2apic_mode(l) ? l->id : l->id << 24);
}

/* Reset to the power-on state; id is the vCPU index, bsp for vCPU 0. */
static void lapic_reset(struct vcpu *v, bool bsp)
{
	struct vlapic *l = v->lapic;
	uint32_t *regs = l->regs;
	uint64_t regs_pa = l->regs_pa;

	memset(l, 0, sizeof(*l));
	memset(regs, 0, PAGE_SIZE);
	l->regs = regs;
	l->regs_pa = regs_pa;
	l->id = v->id;
	l->apic_base = GUEST_LAPIC_BASE | APIC_BASE_EN | (bsp ? APIC_BASE_BSP : 0);
	set_id_reg(l);
	reg_set(l, APIC_VER, 0x14 | ((LAPIC_LVT_NUM - 1) << 16));
	reg_set(l, APIC_DFR, 0xffffffff);
	reg_set(l, APIC_SVR, 0xff);
	for (unsigned int i = 0; i < LAPIC_LVT_NUM; i++)
		lvt_set(l, i, LVT_MASKED);
	l->sipi_vector = -1;
}

/* INIT: everything but the ID and IA32_APIC_BASE (SDM 10.4.7.3). */
void lapic_init_reset(struct vcpu *v)
{
	uint64_t base = v->lapic->apic_base;

	lapic_reset(v, false);
	v->lapic->apic_base = base;
	set_id_reg(v->lapic);
}

bool lapic_xapic_mmio(struct vcpu *v)
{
	const struct vlapic *l = v->lapic;

	return (l->apic_base & APIC_BASE_EN) && !x2apic_mode(l);
}

bool lapic_sw_enabled(struct vcpu *v)
{
	return sw_enabled(v->lapic);
}

int lapic_highest_irr(const struct vlapic *l)
{
	return highest_vec(l, APIC_IRR);
}

int lapic_highest_isr(const struct vlapic *l)
{
	return highest_vec(l, APIC_ISR);
}

void lapic_get_tmr(const struct vlapic *l, uint64_t tmr[4])
{
	for (unsigned int i = 0; i < 4; i++)
		tmr[i] = *vec_word(l, APIC_TMR, 2 * i) | (uint64_t)*vec_word(l, APIC_TMR, 2 * i + 1) << 32;
}

uint32_t lapic_get_cr8(struct vcpu *v)
{
	return (reg_get(v->lapic, APIC_TPR) >> 4) & 0xf;
}

void lapic_set_cr8(struct vcpu *v, uint32_t val)
{
	reg_set(v->lapic, APIC_TPR, val << 4);
}

/* Where IA32_APIC_BASE puts it (SDM 10.4.5). */
static uint64_t lapic_mmio_base(struct vcpu *v)
{
	return v->lapic->apic_base & ~0xfffULL;
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
		set_bit32(l->posted_level, vector);
	else
		clear_bit32(l->posted_level, vector);
	set_bit32(l->posted, vector);
	/* The post is ordered before the kick's ICR write (seq-cst RMW above). */
	vcpu_kick(v);
}

bool lapic_sync_posted(struct vcpu *v)
{
	struct vlapic *l = v->lapic;
	bool any = false;

	for (unsigned int i = 0; i < 8; i++) {
		uint32_t p, lvl;

		if (!READ_ONCE(l->posted[i]))
			continue;
		p = __atomic_exchange_n(&l->posted[i], 0, __ATOMIC_ACQUIRE);
		lvl = READ_ONCE(l->posted_level[i]);
		/* TMR says how the vector was last accepted (SDM 10.8.4). */
		*vec_word(l, APIC_TMR, i) = (*vec_word(l, APIC_TMR, i) & ~p) | (p & lvl);
		WRITE_ONCE(*vec_word(l, APIC_IRR, i), *vec_word(l, APIC_IRR, i) | p);
		any = true;
	}
	return any;
}

int lapic_pending_vector(struct vcpu *v)
{
	struct vlapic *l = v->lapic;
	int vec;

	lapic_sync_posted(v);
	if (!sw_enabled(l))
		return -1;
	vec = highest_vec(l, APIC_IRR);
	if (vec < 0 || ((uint32_t)vec & 0xf0) <= (ppr(l) & 0xf0))
		return -1;
	return vec;
}

void lapic_accept(struct vcpu *v, int vector)
{
	vec_clear(v->lapic, APIC_IRR, (unsigned int)vector);
	vec_set(v->lapic, APIC_ISR, (unsigned int)vector);
}

bool lapic_has_wakeup(struct vcpu *v)
{
	struct vlapic *l = v->lapic;

	if (READ_ONCE(l->init_pending) || READ_ONCE(v->nmi_queued) || v->nmi_pending)
		return true;
	if (!v->halt_if)
		return false;
	if (l->timer_deadline && rdtsc() >= l->timer_deadline)
		return true;
	return lapic_pending_vector(v) >= 0;
}

/* An EOI retires the highest vector in service; a level-triggered one also at the I/O APIC. */
static void lapic_eoi(struct vcpu *v)
{
	struct vlapic *l = v->lapic;
	int vec = highest_vec(l, APIC_ISR);

	if (vec < 0)
		return;
	vec_clear(l, APIC_ISR, (unsigned int)vec);
	if (vec_test(l, APIC_TMR, (unsigned int)vec))
		ioapic_eoi(v->vm, (uint8_t)vec);
}

/* The CPU retired @vector itself (EOI virtualization) and exits for the level ones. */
void lapic_virtual_eoi(struct vcpu *v, uint8_t vector)
{
	if (vec_test(v->lapic, APIC_TMR, vector))
		ioapic_eoi(v->vm, vector);
}

/* ---- the register file ---- */

static bool reg_read(struct vcpu *v, uint32_t off, uint32_t *val)
{
	struct vlapic *l = v->lapic;

	if (lvt_index(off) >= 0 || (off >= APIC_ISR && off < APIC_IRR + 0x80)) {
		*val = reg_get(l, off);
		return true;
	}
	switch (off) {
	case APIC_ID: case APIC_VER: case APIC_TPR: case APIC_LDR: case APIC_SVR:
	case APIC_ESR: case APIC_TMICT: case APIC_TDCR:
		*val = reg_get(l, off);
		return true;
	case APIC_APR: *val = 0; return true;
	case APIC_PPR: *val = ppr(l); return true;
	case APIC_DFR: *val = reg_get(l, off); return !x2apic_mode(l);
	case APIC_ICR: *val = reg_get(l, off) & ICR_READBACK; return true;	/* idle, always */
	case APIC_ICR2: *val = reg_get(l, off); return !x2apic_mode(l);
	case APIC_TMCCT: *val = lapic_timer_current(l); return true;
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
		if (!(reg_get(l, APIC_SVR) & SVR_ENABLE))
			val |= LVT_MASKED;
		if (lvt == 1)
			lapic_timer_write_lvt(l, val);
		else
			lvt_set(l, (unsigned int)lvt, val);
		return true;
	}
	switch (off) {
	case APIC_ID:
		if (x2apic_mode(l))
			return false;
		l->id = val >> 24;
		set_id_reg(l);
		return true;
	case APIC_TPR:
		reg_set(l, APIC_TPR, val & 0xff);
		return true;
	case APIC_EOI:
		reg_set(l, APIC_EOI, 0);
		lapic_eoi(v);
		return true;
	case APIC_LDR:
		if (x2apic_mode(l))
			return false;
		reg_set(l, APIC_LDR, val & 0xff000000);
		return true;
	case APIC_DFR:
		if (x2apic_mode(l))
			return false;
		reg_set(l, APIC_DFR, val | 0x0fffffff);
		return true;
	case APIC_SVR:
		reg_set(l, APIC_SVR, val & 0x13ff);
		if (!(val & SVR_ENABLE))
			for (unsigned int i = 0; i < LAPIC_LVT_NUM; i++)
				lvt_set(l, i, lvt_get(l, i) | LVT_MASKED);
		return true;
	case APIC_ESR:
		/* A write latches the errors since the last write; reads see the latch. */
		reg_set(l, APIC_ESR, __atomic_exchange_n(&l->esr_pending, 0, __ATOMIC_RELAXED));
		return true;
	case APIC_ICR:
		reg_set(l, APIC_ICR, val & ICR_READBACK);
		lapic_send_ipi(v, val, x2apic_mode(l) ? hi : reg_get(l, APIC_ICR2) >> 24);
		return true;
	case APIC_ICR2:
		if (x2apic_mode(l))
			return false;
		reg_set(l, APIC_ICR2, val & 0xff000000);
		return true;
	case APIC_TMICT:
		if (LVT_TIMER_MODE(lvt_get(l, 1)) == TIMER_TSCDL) {
			reg_set(l, APIC_TMICT, 0);	/* ignored in TSC-deadline mode */
			return true;
		}
		reg_set(l, APIC_TMICT, val);
		lapic_timer_start(l);
		return true;
	case APIC_TDCR:
		reg_set(l, APIC_TDCR, val & 0xb);
		return true;
	case APIC_SELF_IPI:
		if (!x2apic_mode(l))
			return false;
		lapic_set_irq(v, val & 0xff, false);
		return true;
	default:
		return off == APIC_TMCCT || off == APIC_VER || off == APIC_PPR;	/* read-only: writes vanish (xAPIC) */
	}
}

/*
 * APIC-register virtualization: the guest's write already sits in the page
 * (the CPU put it there before this trap-like exit); apply it as a write of
 * that value, which puts back what the register really holds.
 */
void lapic_apic_write(struct vcpu *v, uint32_t off)
{
	off &= 0xff0;
	if (!reg_write(v, off, reg_get(v->lapic, off), 0))
		__atomic_fetch_or(&v->lapic->esr_pending, 1u << 7, __ATOMIC_RELAXED);	/* illegal register */
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
	.base = lapic_mmio_base,
	.read = lapic_mmio_read,
	.write = lapic_mmio_write,
};

static void set_apic_base(struct vcpu *v, uint64_t val)
{
	struct vlapic *l = v->lapic;

	l->apic_base = (val & ~0xfffULL) | (val & (APIC_BASE_EN | APIC_BASE_EXTD)) |
		       (l->apic_base & APIC_BASE_BSP);
	set_id_reg(l);
	if (x2apic_mode(l))
		reg_set(l, APIC_LDR, ((l->id >> 4) << 16) | (1u << (l->id & 0xf)));
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
		*val = LVT_TIMER_MODE(lvt_get(l, 1)) == TIMER_TSCDL ? l->tsc_deadline : 0;
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
		uint64_t base_bits = ((1ULL << (cpuid(0x80000008, 0).eax & 0xff)) - 1) & ~0xfffULL;

		/*
		 * Reserved bits (a base past MAXPHYADDR among them), x2APIC
		 * without enable, or x2APIC to xAPIC without passing disabled:
		 * #GP.  The base may move: the xAPIC page goes with it (SDM 10.4.5).
		 */
		if ((val & ~(APIC_BASE_EN | APIC_BASE_EXTD | APIC_BASE_BSP | base_bits)) ||
		    (x2 && !en) || (x2apic_mode(l) && en && !x2))
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
	for (unsigned int i = 0; i < VCPU_MAX; i++) {
		struct vlapic *l = &lapics[vm->id][i];

		if (!l->regs) {
			/* The register page stays with its slot: guests come and go, vCPUs reuse it. */
			uint64_t pa = page_alloc(0);

			if (!pa)
				return -1;
			l->regs = (uint32_t *)(uintptr_t)pa;
			l->regs_pa = pa;
		}
		vm->vcpus[i].lapic = l;
	}
	return vm_register_mmio(vm, GUEST_LAPIC_BASE, 0x1000, &lapic_mmio);
}

static void lapic_vcpu_reset(struct vcpu *v)
{
	lapic_reset(v, v->id == 0);
}

DEFINE_VDEV_UNIT(lapic, .vm_create = lapic_attach, .vcpu_reset = lapic_vcpu_reset);
