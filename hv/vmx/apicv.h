/* SPDX-License-Identifier: MIT */
/*
 * APIC virtualization (SDM vol. 3, chapter 29): the TPR shadow, virtualized
 * APIC accesses, APIC-register virtualization and virtual-interrupt
 * delivery, where the CPU has all four.  The guest then reads most xAPIC
 * registers, writes its TPR and EOIs without exits, and takes interrupts
 * the hypervisor queued in the virtual-APIC page (the local APIC's register
 * page, hv/vdev/lapic.h) without injection; the writes that need the model
 * arrive as trap-like APIC-write exits, already decoded.
 */
#ifndef HV_VMX_APICV_H
#define HV_VMX_APICV_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/* Does the CPU have all four controls? */
bool apicv_supported(void);
/* At VMCS set-up on v's CPU: turn the controls on in @proc/@proc2 when the guest wants them. */
void apicv_setup(struct vcpu *v, uint32_t *proc, uint32_t *proc2);
/*
 * Before an entry (the slow path): posted interrupts into IRR; with
 * virtual-interrupt delivery RVI/SVI and the EOI-exit bitmap from the page,
 * without it the TPR threshold; virtualized accesses only while the xAPIC
 * page answers.
 */
void apicv_before_entry(struct vcpu *v);
/* Is the xAPIC page at @gpa to be mapped (to the APIC-access page) rather than emulated? */
bool apicv_maps_apic_page(struct vcpu *v, uint64_t gpa);
/* Map it, on an EPT violation there; 1: the guest was stopped. */
int apicv_fault_apic_page(struct vcpu *v, uint64_t gpa, uint64_t qual);

/* Exits 43 (TPR below threshold), 44 (APIC access), 45 (virtualized EOI), 56 (APIC write). */
int apicv_handle_tpr_below(struct vcpu *v);
int apicv_handle_access(struct vcpu *v);
int apicv_handle_eoi(struct vcpu *v);
int apicv_handle_write(struct vcpu *v);

#endif
