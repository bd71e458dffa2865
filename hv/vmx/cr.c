/* SPDX-License-Identifier: MIT */
/*
 * Control-register exits: MOV to and from CR0, CR3 (when it exits), CR4 and
 * CR8, CLTS and LMSW.  The guest owns CR0 and CR4 but for the bits of their
 * guest/host masks: CR0.NE, which VMX keeps set, and in CR4 VMXE and the
 * bits of every feature the guest's CPUID hides.  A MOV that would change
 * one of those exits here, and is checked as the CPU checks it (SDM vol. 2,
 * MOV CR; 2.5): the VM exit comes before those checks (SDM 25.1.1).
 */
#include "hv/core/request.h"
#include "hv/core/vm.h"
#include "hv/cpu/vmx_caps.h"
#include "hv/lib/x86.h"
#include "hv/vdev/lapic.h"
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"

#define VEC_GP		13
/* CR0 bits 6-15, 17, 19-28: reserved, writes ignore them (SDM 2.5). */
#define CR0_IGNORED	0x1ffaffc0ULL
#define CS_AR_L		(1u << 13)

enum { EAX, EBX, ECX, EDX };

/* A CR4 bit and the CPUID feature that lets it be set (SDM 2.5). */
static const struct { uint8_t cr4, leaf, reg, bit; } cr4_features[] = {
	{ 0, 1, EDX, 1 },	/* VME */
	{ 1, 1, EDX, 1 },	/* PVI: VME */
	{ 2, 1, EDX, 4 },	/* TSD: TSC */
	{ 3, 1, EDX, 2 },	/* DE */
	{ 4, 1, EDX, 3 },	/* PSE */
	{ 5, 1, EDX, 6 },	/* PAE */
	{ 6, 1, EDX, 7 },	/* MCE */
	{ 7, 1, EDX, 13 },	/* PGE */
	{ 9, 1, EDX, 24 },	/* OSFXSR: FXSR */
	{ 10, 1, EDX, 25 },	/* OSXMMEXCPT: SSE */
	{ 11, 7, ECX, 2 },	/* UMIP */
	{ 12, 7, ECX, 16 },	/* LA57 */
	{ 13, 1, ECX, 5 },	/* VMXE: VMX */
	{ 14, 1, ECX, 6 },	/* SMXE: SMX */
	{ 16, 7, EBX, 0 },	/* FSGSBASE */
	{ 17, 1, ECX, 17 },	/* PCIDE: PCID */
	{ 18, 1, ECX, 26 },	/* OSXSAVE: XSAVE */
	{ 19, 7, ECX, 23 },	/* KL */
	{ 20, 7, EBX, 7 },	/* SMEP */
	{ 21, 7, EBX, 20 },	/* SMAP */
	{ 22, 7, ECX, 3 },	/* PKE: PKU */
	{ 23, 7, ECX, 7 },	/* CET: CET_SS */
	{ 24, 7, ECX, 31 },	/* PKS */
	{ 25, 7, EDX, 5 },	/* UINTR */
};

uint64_t vmx_cr4_host_owned(struct vcpu *v)
{
	uint64_t allowed = CR4_PCE;	/* RDPMC at CPL 3: no feature of its own */
	struct cpuid_regs r[8];

	cpuid_guest(v, 1, 0, &r[1]);
	cpuid_guest(v, 7, 0, &r[7]);
	for (unsigned int i = 0; i < sizeof(cr4_features) / sizeof(cr4_features[0]); i++) {
		const uint32_t *regs = &r[cr4_features[i].leaf].eax;

		if (regs[cr4_features[i].reg] & (1u << cr4_features[i].bit))
			allowed |= 1ULL << cr4_features[i].cr4;
	}
	/* What VMX operation lets be 1; VMXE is ours whatever the CPUID says. */
	allowed &= vmx_caps.cr4_fixed1 & ~CR4_VMXE;
	return ~allowed;
}

static bool in_64bit_code(void)
{
	return (vmread(GUEST_IA32_EFER) & EFER_LMA) && (vmread(GUEST_CS_AR_BYTES) & CS_AR_L);
}

/* May MOV to CR0 load @val?  The checks of MOV CR0 (SDM vol. 2) and 2.5. */
static bool cr0_valid(uint64_t val)
{
	uint64_t efer = vmread(GUEST_IA32_EFER), cr4 = vcpu_guest_cr4();

	if ((val >> 32) || ((val & CR0_NW) && !(val & CR0_CD)) ||
	    ((val & CR0_PG) && !(val & CR0_PE)))
		return false;
	if ((val & CR0_PG) && (efer & EFER_LME) && !(cr4 & CR4_PAE))
		return false;
	if (!(val & CR0_PG) && in_64bit_code())
		return false;
	return (val & CR0_WP) || !(cr4 & CR4_CET);
}

/* May MOV to CR4 load @val?  Owned bits are reserved to the guest. */
static bool cr4_valid(uint64_t old, uint64_t val)
{
	uint64_t efer = vmread(GUEST_IA32_EFER);

	if (val & vmread(CR4_GUEST_HOST_MASK))
		return false;
	if ((efer & EFER_LMA) && (!(val & CR4_PAE) || ((val ^ old) & CR4_LA57)))
		return false;
	if ((val & CR4_PCIDE) && !(old & CR4_PCIDE) &&
	    (!(efer & EFER_LMA) || (vmread(GUEST_CR3) & 0xfff)))
		return false;
	return !(val & CR4_CET) || (vcpu_guest_cr0() & CR0_WP);
}

static int mov_to_cr0(struct vcpu *v, uint64_t val)
{
	uint64_t efer = vmread(GUEST_IA32_EFER), entry = vmread(VM_ENTRY_CONTROLS);

	val &= ~CR0_IGNORED;
	if (!cr0_valid(val)) {
		vcpu_inject_exception(v, VEC_GP, true, 0);
		return 0;
	}
	/* Paging on with EFER.LME: the guest enters long mode. */
	if ((val & CR0_PG) && (efer & EFER_LME))
		efer |= EFER_LMA, entry |= ENTRY_IA32E_MODE;
	else if (!(val & CR0_PG))
		efer &= ~EFER_LMA, entry &= ~ENTRY_IA32E_MODE;
	vmwrite(GUEST_IA32_EFER, efer);
	vmwrite(VM_ENTRY_CONTROLS, entry);
	vmwrite(CR0_READ_SHADOW, val);
	vmwrite(GUEST_CR0, val | CR0_NE);
	vcpu_skip_instruction();
	return 0;
}

static int mov_to_cr4(struct vcpu *v, uint64_t val)
{
	if (!cr4_valid(vcpu_guest_cr4(), val)) {
		vcpu_inject_exception(v, VEC_GP, true, 0);
		return 0;
	}
	vmwrite(CR4_READ_SHADOW, val);
	vmwrite(GUEST_CR4, val | CR4_VMXE);
	/* The paging bits it may have changed: as the CPU would, drop the TLB. */
	invvpid_single(v->vpid);
	vcpu_skip_instruction();
	return 0;
}

int exit_cr_access(struct vcpu *v)
{
	uint64_t q = vmread(EXIT_QUALIFICATION);
	unsigned int cr = q & 15, type = (q >> 4) & 3, gpr = (q >> 8) & 15;
	uint64_t val;

	if (type == 2) {			/* CLTS */
		vmwrite(GUEST_CR0, vmread(GUEST_CR0) & ~(1ULL << 3));
		vmwrite(CR0_READ_SHADOW, vcpu_guest_cr0() & ~(1ULL << 3));
		vcpu_skip_instruction();
		return 0;
	}
	if (type == 3) {			/* LMSW: the low 4 bits of CR0, PE cannot clear */
		uint64_t src = (q >> 16) & 0xf, old = vcpu_guest_cr0();

		return mov_to_cr0(v, (old & ~0xeULL) | src | (old & 1));
	}
	if (type == 1) {
		if (cr != 3 && cr != 8) {
			guest_fail(v, "unexpected read of CR%u", cr);
			return 1;
		}
		/* MOV from CR3 (if it exits) or CR8 (the TPR) */
		val = cr == 3 ? vmread(GUEST_CR3) : lapic_get_cr8(v);
		vcpu_set_gpr(v, gpr, val);
		vcpu_skip_instruction();
		return 0;
	}
	val = vcpu_gpr(v, gpr);
	switch (cr) {
	case 0:
		return mov_to_cr0(v, val);
	case 4:
		return mov_to_cr4(v, val);
	case 3:
		vmwrite(GUEST_CR3, val);
		break;
	case 8:
		if (val > 15) {
			vcpu_inject_exception(v, VEC_GP, true, 0);
			return 0;
		}
		lapic_set_cr8(v, (uint32_t)val);
		break;
	default:
		guest_fail(v, "unexpected write of CR%u", cr);
		return 1;
	}
	vcpu_skip_instruction();
	return 0;
}
