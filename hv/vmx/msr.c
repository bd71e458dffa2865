/* SPDX-License-Identifier: MIT */
/*
 * Guest MSRs.  Every RDMSR/WRMSR exits (the MSR bitmap is all ones); the
 * ones below are emulated, anything else raises #GP in the guest.  MSRs a
 * stock kernel reads without a safe accessor (microcode revision, platform
 * ID, MTRR capabilities) read as plausible constants.
 */
#include "hv/core/request.h"
#include "hv/core/vm.h"
#include "hv/lib/x86.h"
#include "hv/vdev/lapic.h"
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"

#define VEC_GP	13

#define MSR_TSC			0x10
#define MSR_PLATFORM_ID		0x17
#define MSR_TSC_ADJUST		0x3b
#define MSR_BIOS_UPDT_TRIG	0x79
#define MSR_BIOS_SIGN_ID	0x8b
#define MSR_MTRRCAP		0xfe
#define MSR_SYSENTER_CS		0x174
#define MSR_SYSENTER_ESP	0x175
#define MSR_SYSENTER_EIP	0x176
#define MSR_DEBUGCTL		0x1d9
#define MSR_MISC_ENABLE		0x1a0
#define MSR_PAT			0x277
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_FMASK		0xc0000084
#define MSR_FS_BASE		0xc0000100
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_TSC_AUX		0xc0000103


static bool canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static bool valid_pat(uint64_t pat)
{
	for (int i = 0; i < 8; i++) {
		uint8_t t = (pat >> (i * 8)) & 0xff;

		if (t != 0 && t != 1 && t != 4 && t != 5 && t != 6 && t != 7)
			return false;
	}
	return true;
}

/* The syscall MSRs live in hardware while the guest runs (hv/guest/sched.c swaps them). */
static uint64_t *syscall_msr(struct vcpu *v, uint32_t msr)
{
	switch (msr) {
	case MSR_STAR: return &v->msr_star;
	case MSR_LSTAR: return &v->msr_lstar;
	case MSR_CSTAR: return &v->msr_cstar;
	case MSR_FMASK: return &v->msr_fmask;
	case MSR_KERNEL_GS_BASE: return &v->msr_kernel_gs;
	case MSR_TSC_AUX: return &v->tsc_aux;
	default: return NULL;
	}
}

static bool read_msr(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	uint64_t *s = syscall_msr(v, msr);

	if (s) {
		/* SWAPGS changes KERNEL_GS_BASE behind our back: the hardware has it. */
		*val = msr == MSR_KERNEL_GS_BASE ? rdmsr(msr) : *s;
		return true;
	}
	if (lapic_rdmsr(v, msr, val))
		return true;
	switch (msr) {
	case MSR_TSC: *val = rdtsc() + vmread(TSC_OFFSET); return true;
	case MSR_TSC_ADJUST: *val = v->tsc_adjust; return true;
	case MSR_FEATURE_CONTROL: *val = 1; return true;	/* locked, VMX off */
	case MSR_PLATFORM_ID: case MSR_BIOS_SIGN_ID: case MSR_MTRRCAP: *val = 0; return true;
	case MSR_MISC_ENABLE: *val = v->misc_enable; return true;
	case MSR_MTRR_DEF_TYPE: *val = v->mtrr_def_type; return true;
	case MSR_DEBUGCTL: *val = vmread(GUEST_IA32_DEBUGCTL); return true;
	case MSR_SYSENTER_CS: *val = vmread(GUEST_SYSENTER_CS); return true;
	case MSR_SYSENTER_ESP: *val = vmread(GUEST_SYSENTER_ESP); return true;
	case MSR_SYSENTER_EIP: *val = vmread(GUEST_SYSENTER_EIP); return true;
	case MSR_PAT: *val = vmread(GUEST_IA32_PAT); return true;
	case MSR_EFER: *val = vmread(GUEST_IA32_EFER); return true;
	case MSR_FS_BASE: *val = vmread(GUEST_FS_BASE); return true;
	case MSR_GS_BASE: *val = vmread(GUEST_GS_BASE); return true;
	default: return false;
	}
}

static bool write_msr(struct vcpu *v, uint32_t msr, uint64_t val)
{
	uint64_t *s = syscall_msr(v, msr);

	if (s) {
		if ((msr == MSR_LSTAR || msr == MSR_CSTAR || msr == MSR_KERNEL_GS_BASE) &&
		    !canonical(val))
			return false;
		*s = val;
		wrmsr(msr, val);
		return true;
	}
	if (msr == MSR_APIC_BASE || msr == 0x6e0 || (msr >= 0x800 && msr <= 0x8ff))
		return lapic_wrmsr(v, msr, val);
	switch (msr) {
	case MSR_EFER: {
		uint64_t old = vmread(GUEST_IA32_EFER);

		if (val & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
			return false;
		/* LMA is the CPU's to set; LME cannot change while paging is on. */
		val = (val & ~EFER_LMA) | (old & EFER_LMA);
		if ((vcpu_guest_cr0() & CR0_PG) && ((val ^ old) & EFER_LME))
			return false;
		vmwrite(GUEST_IA32_EFER, val);
		return true;
	}
	case MSR_TSC: {
		/* The guest's TSC moves, and TSC_ADJUST by as much (SDM 17.17.3). */
		uint64_t off = val - rdtsc();

		v->tsc_adjust += off - v->tsc_offset;
		v->tsc_offset = off;
		vmwrite(TSC_OFFSET, off);
		return true;
	}
	case MSR_TSC_ADJUST:
		/* Its TSC-deadline timer follows the offset (hv/vdev/lapic.c). */
		v->tsc_offset += val - v->tsc_adjust;
		v->tsc_adjust = val;
		vmwrite(TSC_OFFSET, v->tsc_offset);
		return true;
	case MSR_PAT:
		if (!valid_pat(val))
			return false;
		vmwrite(GUEST_IA32_PAT, val);
		return true;
	case MSR_SYSENTER_CS: vmwrite(GUEST_SYSENTER_CS, val); return true;
	case MSR_SYSENTER_ESP:
	case MSR_SYSENTER_EIP:
		if (!canonical(val))
			return false;	/* refused before the VMCS sees it: the entry would fail */
		vmwrite(msr == MSR_SYSENTER_ESP ? GUEST_SYSENTER_ESP : GUEST_SYSENTER_EIP, val);
		return true;
	case MSR_FS_BASE:
		if (!canonical(val))
			return false;
		vmwrite(GUEST_FS_BASE, val);
		return true;
	case MSR_GS_BASE:
		if (!canonical(val))
			return false;
		vmwrite(GUEST_GS_BASE, val);
		return true;
	case MSR_MISC_ENABLE:
		/* Fast strings, the rest fixed; "limit CPUID" (bit 22) may only clear. */
		if ((val ^ v->misc_enable) & ~((1ULL << 0) | (1ULL << 22)))
			return false;
		v->misc_enable = val & ~(1ULL << 22);
		return true;
	case MSR_MTRR_DEF_TYPE:
		/* Type (UC, WC, WT, WP, WB), FE and E; MTRRs do nothing under EPT WB. */
		if ((val & ~0xcffULL) || !valid_pat(val & 0xff) || (val & 0xff) == 7)
			return false;
		v->mtrr_def_type = val;
		return true;
	case MSR_DEBUGCTL:
		/* LBR, BTF and friends are not virtualised: only 0 is taken. */
		if (val)
			return false;
		vmwrite(GUEST_IA32_DEBUGCTL, 0);
		return true;
	case MSR_BIOS_UPDT_TRIG: case MSR_BIOS_SIGN_ID:
		return true;	/* a microcode update "succeeds" and changes nothing */
	default:
		return false;
	}
}

int exit_rdmsr(struct vcpu *v)
{
	uint64_t val;

	if (!read_msr(v, (uint32_t)v->regs.rcx, &val)) {
		v->vm->unknown_msrs++;
		vcpu_inject_exception(v, VEC_GP, true, 0);
		return 0;
	}
	v->regs.rax = (uint32_t)val;
	v->regs.rdx = val >> 32;
	vcpu_skip_instruction();
	return 0;
}

int exit_wrmsr(struct vcpu *v)
{
	uint64_t val = (v->regs.rdx << 32) | (uint32_t)v->regs.rax;

	if (!write_msr(v, (uint32_t)v->regs.rcx, val)) {
		v->vm->unknown_msrs++;
		vcpu_inject_exception(v, VEC_GP, true, 0);
		return 0;
	}
	vcpu_skip_instruction();
	return 0;
}
