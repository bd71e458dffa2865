/* SPDX-License-Identifier: MIT */
/*
 * VT-x for guests: a vCPU's VMCS, its time slices, and the exit handlers
 * (hv/vmx/).  Everything taking a vCPU runs on that vCPU's own CPU with its
 * VMCS current, unless it says otherwise.
 */
#ifndef HV_VMX_VMX_H
#define HV_VMX_VMX_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/lib/x86.h"

struct vcpu;

/* Once, on CPU 0 before the first guest: controls from the capability MSRs, bitmaps. */
int vmx_global_init(char *err, unsigned int n);
/* Build v's VMCS on the calling CPU (v's own); -1 with @err. */
int vcpu_setup(struct vcpu *v, char *err, unsigned int errlen);
/* Run v until its slice ends, it halts, or it stops; interrupts off. */
void vcpu_run_slice(struct vcpu *v);
/* Print v's registers and last exit (a failing guest's dump). */
void vcpu_dump(struct vcpu *v);
/* CR0 and CR4 of the current VMCS as the guest reads them. */
uint64_t vcpu_guest_cr0(void);
uint64_t vcpu_guest_cr4(void);
const char *vmx_exit_name(uint32_t reason);

/* ---- within hv/vmx ---- */

int vmx_exit_dispatch(struct vcpu *v, uint32_t reason);

enum vmx_fastpath {
	FASTPATH_NONE,		/* not handled: the slow path dispatches it */
	FASTPATH_REENTER,	/* handled; the guest may go back in at once */
	FASTPATH_REENTER_TIMER,	/* handled, and the guest's timer deadline moved */
};
/* Right after the exit, before the slow path's bookkeeping (KVM's handle_fastpath_*). */
enum vmx_fastpath vmx_exit_fastpath(struct vcpu *v, uint32_t reason);
/*
 * The instruction at RIP completed (the hypervisor emulated it): RIP moves to
 * @next_rip, the STI/MOV-SS shadow it sat in ends, RF clears, and a single
 * step (TF) leaves its #DB pending for the next entry.
 */
void vcpu_complete_insn(uint64_t next_rip);
/* The same, @len bytes on. */
void vcpu_skip(uint64_t len);
/* Skip the instruction that exited (its length from the VMCS). */
void vcpu_skip_instruction(void);
uint64_t vcpu_gpr(struct vcpu *v, unsigned int n);
void vcpu_set_gpr(struct vcpu *v, unsigned int n, uint64_t val);
void vcpu_inject_exception(struct vcpu *v, unsigned int vector, bool has_code, uint32_t code);
void vmx_explain_entry_failure(struct vcpu *v, uint32_t basic);
const char *vmx_insn_error_name(uint32_t err);
int exit_rdmsr(struct vcpu *v);
int exit_wrmsr(struct vcpu *v);
int exit_cr_access(struct vcpu *v);
/* The CR4 bits the hypervisor owns (the CR4 guest/host mask): VMXE and those of hidden features. */
uint64_t vmx_cr4_host_owned(struct vcpu *v);
void cpuid_init(void);
void cpuid_guest(struct vcpu *v, uint32_t leaf, uint32_t sub, struct cpuid_regs *r);
bool vcpu_has_rdtscp(void);
bool vcpu_has_invpcid(void);
/* Set v's registers for a start at a SIPI vector (real mode, CS = vector << 8). */
void vcpu_reset_sipi(struct vcpu *v, int vector);

#endif
