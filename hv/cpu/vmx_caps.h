/* SPDX-License-Identifier: MIT */
/* VT-x: capability MSRs, per-CPU VMXON self-check, decoded capabilities. */
#ifndef HV_VMX_H
#define HV_VMX_H

#include <stdbool.h>
#include <stdint.h>

#define MSR_VMX_BASIC		0x480
#define MSR_VMX_PINBASED	0x481
#define MSR_VMX_PROCBASED	0x482
#define MSR_VMX_EXIT		0x483
#define MSR_VMX_ENTRY		0x484
#define MSR_VMX_MISC		0x485
#define MSR_VMX_CR0_FIXED0	0x486
#define MSR_VMX_CR0_FIXED1	0x487
#define MSR_VMX_CR4_FIXED0	0x488
#define MSR_VMX_CR4_FIXED1	0x489
#define MSR_VMX_PROCBASED2	0x48b
#define MSR_VMX_EPT_VPID_CAP	0x48c
#define MSR_VMX_TRUE_PINBASED	0x48d
#define MSR_VMX_TRUE_PROCBASED	0x48e
#define MSR_VMX_TRUE_EXIT	0x48f
#define MSR_VMX_TRUE_ENTRY	0x490
#define MSR_VMX_VMFUNC		0x491

#define FEATURE_CONTROL_LOCK		(1ULL << 0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX	(1ULL << 2)

#define EPT_CAP_AD		(1ULL << 21)

/* The capability MSRs of one CPU; ctls hold allowed-0 (low) / allowed-1 (high). */
struct vmx_caps {
	bool valid;
	uint64_t basic, pin, proc, proc2, exit, entry, misc, ept_vpid, vmfunc;
	uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

/* Filled on the BSP by vmx_probe_cpu(). */
extern struct vmx_caps vmx_caps;

/* On the calling CPU: CPUID, IA32_FEATURE_CONTROL, then VMXON/VMXOFF as a
 * self-check; the result goes to this CPU's percpu vmx state and message. */
void vmx_probe_cpu(void);
/* Print the decoded capabilities (the shell's `vmx`). */
void vmx_print_caps(const struct vmx_caps *c);

#endif
