/* SPDX-License-Identifier: MIT */
/*
 * The guest's local APIC, one per vCPU (v->lapic).
 *
 * The register file is a 4 KiB page laid out as the xAPIC page (a register
 * every 16 bytes).  With APIC virtualization (hv/vmx/apicv.c) it is the
 * VMCS's virtual-APIC page: the CPU itself reads and writes it while the
 * guest runs (TPR, ISR, IRR, PPR, EOI, and writes that end in APIC-write
 * exits), and delivers the interrupts pending in its IRR.
 *
 * Locking: the page and the timer belong to the vCPU's CPU.  Other CPUs read
 * the ID, LDR and DFR registers (destination matching, racy by design, as
 * on the bus) and post interrupts into @posted (atomic OR, then a kick); the
 * owner moves posted vectors into IRR before each entry.  INIT and SIPI from
 * another vCPU are posted the same way (init_pending, sipi_vector).
 */
#ifndef HV_VDEV_LAPIC_H
#define HV_VDEV_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct vm;

#define LAPIC_LVT_NUM	7		/* CMCI, timer, thermal, perf, LINT0, LINT1, error */

struct vlapic {
	uint32_t *regs;			/* the register page; see above */
	uint64_t regs_pa;
	/* Fixed interrupts posted by any CPU, and which of them are level-triggered. */
	uint32_t posted[8];
	uint32_t posted_level[8];
	uint64_t apic_base;		/* IA32_APIC_BASE: enable, x2APIC, BSP */
	uint32_t id;			/* the APIC ID; the ID register shows it */
	uint32_t esr_pending;		/* errors since the last ESR write; any CPU ORs */
	uint64_t timer_start;		/* host TSC at the TMICT write */
	uint64_t timer_deadline;	/* host TSC when the timer fires; 0: not armed */
	uint64_t tsc_deadline;		/* IA32_TSC_DEADLINE as the guest wrote it */
	/* Posted by other vCPUs; see the locking rule above. */
	bool init_pending;
	int sipi_vector;		/* -1: none */
	uint64_t timer_fired;		/* statistics for `vcpu` */
};

/* x2APIC MSRs 0x800-0x8ff and IA32_APIC_BASE, IA32_TSC_DEADLINE; false: #GP. */
bool lapic_rdmsr(struct vcpu *v, uint32_t msr, uint64_t *val);
bool lapic_wrmsr(struct vcpu *v, uint32_t msr, uint64_t val);

/* Post a fixed interrupt to v from any CPU. */
void lapic_set_irq(struct vcpu *v, uint8_t vector, bool level);
/* Deliver to the vCPUs a destination names (physical or logical, from any CPU). */
void lapic_deliver(struct vm *vm, uint32_t dest, bool logical, uint32_t mode, uint8_t vector,
		   bool level);

/* The owner's side, before each VM entry. */
void lapic_timer_update(struct vcpu *v);	/* fire an expired timer into IRR */
uint64_t lapic_next_deadline(const struct vcpu *v);	/* 0: none */
/* Move posted vectors into IRR; true if any came. */
bool lapic_sync_posted(struct vcpu *v);
int lapic_pending_vector(struct vcpu *v);	/* deliverable above PPR, or -1 */
void lapic_accept(struct vcpu *v, int vector);	/* IRR -> ISR at injection */
bool lapic_has_wakeup(struct vcpu *v);	/* a halted vCPU has something to take */
/* Apply a posted INIT/SIPI; true with *vector when v must restart in real mode. */
bool lapic_take_init_sipi(struct vcpu *v, int *vector);

/* The APIC takes interrupts: enabled in IA32_APIC_BASE and in SVR. */
bool lapic_sw_enabled(struct vcpu *v);
/* The MMIO page answers: the APIC is enabled, in xAPIC mode, at the default base. */
bool lapic_xapic_mmio(struct vcpu *v);
/* Highest vector set in IRR / ISR, or -1; any CPU (a snapshot). */
int lapic_highest_irr(const struct vlapic *l);
int lapic_highest_isr(const struct vlapic *l);
/* The level-triggered vectors (TMR), for the EOI-exit bitmap. */
void lapic_get_tmr(const struct vlapic *l, uint64_t tmr[4]);
/* CR8: the TPR's priority class. */
uint32_t lapic_get_cr8(struct vcpu *v);
void lapic_set_cr8(struct vcpu *v, uint32_t val);

/* APIC virtualization's exits: a trap-like APIC write at @off, a virtualized EOI. */
void lapic_apic_write(struct vcpu *v, uint32_t off);
void lapic_virtual_eoi(struct vcpu *v, uint8_t vector);

#endif
