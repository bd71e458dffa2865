/* SPDX-License-Identifier: MIT */
/*
 * The guest's local APIC, one per vCPU (v->lapic).
 *
 * Locking: a vlapic belongs to its vCPU's CPU, which alone touches ISR, TMR,
 * the LVTs and the timer.  Other CPUs only set IRR bits (atomic OR, then a
 * kick) and read id/ldr/dfr/x2apic for destination matching; the owner
 * clears IRR bits with an atomic AND.  INIT and SIPI from another vCPU are
 * posted the same way (init_pending, sipi_vector) and applied by the owner.
 */
#ifndef HV_VDEV_LAPIC_H
#define HV_VDEV_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct vm;

#define LAPIC_LVT_NUM	7		/* CMCI, timer, thermal, perf, LINT0, LINT1, error */

struct vlapic {
	uint32_t irr[8];		/* any CPU sets (atomic); the owner clears */
	uint32_t isr[8], tmr[8];
	uint64_t apic_base;		/* IA32_APIC_BASE: enable, x2APIC, BSP */
	uint32_t id, ldr, dfr, tpr, svr, esr, icr_lo, icr_hi;
	uint32_t esr_pending;		/* errors since the last ESR write; any CPU ORs */
	uint32_t lvt[LAPIC_LVT_NUM];
	uint32_t tdcr, tmict;
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
int lapic_pending_vector(struct vcpu *v);	/* deliverable above PPR, or -1 */
void lapic_accept(struct vcpu *v, int vector);	/* IRR -> ISR at injection */
bool lapic_has_wakeup(struct vcpu *v);	/* a halted vCPU has something to take */
/* Apply a posted INIT/SIPI; true with *vector when v must restart in real mode. */
bool lapic_take_init_sipi(struct vcpu *v, int *vector);

#endif
