/* SPDX-License-Identifier: MIT */
/*
 * Is VT-x usable on this CPU, and does VMXON work?  QEMU's TCG has no VMX
 * and hangs on a write of CR4.VMXE, so CPUID.1:ECX.VMX is checked before
 * CR4 is touched.  OVMF under Bochs leaves IA32_FEATURE_CONTROL unlocked at
 * 0: then we enable VMX outside SMX and lock it ourselves.
 */
#include "hv/cpu/page_alloc.h"
#include "hv/cpu/vmx_caps.h"
#include "hv/cpu/vmx_insn.h"
#include "hv/lib/x86.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "smp/percpu.h"

struct vmx_caps vmx_caps;

static void read_caps(struct vmx_caps *c)
{
	c->basic = rdmsr(MSR_VMX_BASIC);
	bool true_ctls = c->basic & (1ULL << 55);

	c->pin = rdmsr(true_ctls ? MSR_VMX_TRUE_PINBASED : MSR_VMX_PINBASED);
	c->proc = rdmsr(true_ctls ? MSR_VMX_TRUE_PROCBASED : MSR_VMX_PROCBASED);
	c->exit = rdmsr(true_ctls ? MSR_VMX_TRUE_EXIT : MSR_VMX_EXIT);
	c->entry = rdmsr(true_ctls ? MSR_VMX_TRUE_ENTRY : MSR_VMX_ENTRY);
	c->misc = rdmsr(MSR_VMX_MISC);
	c->cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
	c->cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
	c->cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
	c->cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
	c->proc2 = (c->proc >> 32) & (1u << 31) ? rdmsr(MSR_VMX_PROCBASED2) : 0;
	/* EPT (bit 1) or VPID (bit 5) allowed: the EPT/VPID capability MSR exists. */
	c->ept_vpid = (c->proc2 >> 32) & ((1u << 1) | (1u << 5)) ? rdmsr(MSR_VMX_EPT_VPID_CAP) : 0;
	c->vmfunc = (c->proc2 >> 32) & (1u << 13) ? rdmsr(MSR_VMX_VMFUNC) : 0;
	c->valid = true;
}

static void set_msg(struct percpu *p, int state, const char *msg)
{
	p->vmx = state;
	strncpy(p->vmx_msg, msg, sizeof(p->vmx_msg) - 1);
}

static bool vmxon_selftest(struct percpu *p, const struct vmx_caps *c)
{
	uint64_t pa = page_alloc(0);
	uint64_t cr0 = read_cr0(), cr4 = read_cr4();
	bool on;

	if (!pa) {
		set_msg(p, VMX_FAILED, "no memory for the VMXON region");
		return false;
	}
	memset((void *)(uintptr_t)pa, 0, 4096);
	*(uint32_t *)(uintptr_t)pa = (uint32_t)c->basic & 0x7fffffff;

	write_cr0((cr0 | c->cr0_fixed0) & c->cr0_fixed1);
	write_cr4((cr4 | c->cr4_fixed0 | CR4_VMXE) & c->cr4_fixed1);
	on = vmxon(pa);
	if (on)
		__asm__ __volatile__("vmxoff" ::: "cc", "memory");
	write_cr4(cr4);
	write_cr0(cr0);
	page_free(pa, 0);

	if (!on) {
		set_msg(p, VMX_FAILED, "VMXON failed");
		return false;
	}
	set_msg(p, VMX_OK, "VMXON/VMXOFF ok");
	return true;
}

void vmx_probe_cpu(void)
{
	struct percpu *p = this_cpu();
	struct vmx_caps local, *c = p->cpu_id == 0 ? &vmx_caps : &local;
	uint64_t fc;

	if (!(cpuid(1, 0).ecx & (1u << 5))) {
		set_msg(p, VMX_ABSENT, "VT-x not available on this CPU: CPUID.1:ECX.VMX=0");
		return;
	}
	fc = rdmsr(MSR_FEATURE_CONTROL);
	if (!(fc & FEATURE_CONTROL_LOCK)) {
		fc |= FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
		wrmsr(MSR_FEATURE_CONTROL, fc);
	}
	if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
		set_msg(p, VMX_LOCKED_OFF,
			"VT-x disabled by firmware: IA32_FEATURE_CONTROL locked without VMX");
		return;
	}
	read_caps(c);
	vmxon_selftest(p, c);
}
