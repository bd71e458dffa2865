/* SPDX-License-Identifier: MIT */
/*
 * The CPUID a guest sees: the host's, less what the hypervisor does not
 * virtualise (VMX, MONITOR, XSAVE and AVX, perfmon, MCE, thermal and power
 * MSRs, speculation-control MSRs, TSX, SGX, PT, LA57), plus what it emulates:
 * x2APIC and the TSC-deadline timer, ARAT, the hypervisor bit, a topology
 * of one package with one core per vCPU (leaves 1, 4, 0xB), and the TSC and
 * crystal frequencies (leaves 0x15, 0x16) so a kernel needs no calibration,
 * and IA32_TSC_ADJUST.
 */
#include "hv/core/guest_boot.h"
#include "hv/core/request.h"
#include "hv/core/vm.h"
#include "hv/lib/x86.h"
#include "hv/vdev/lapic.h"
#include "hv/vmx/hypercall.h"
#include "hv/vmx/vmx.h"
#include "lib/string.h"
#include "smp/time.h"

#define MAX_BASIC	0x16

/* Leaf 1 ECX: VMX, SMX, MONITOR, EST, TM2, FMA, PDCM, DCA, XSAVE, OSXSAVE, AVX, F16C. */
#define L1_ECX_HIDE	((1u << 3) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 8) | \
			 (1u << 12) | (1u << 15) | (1u << 18) | (1u << 26) | (1u << 27) | \
			 (1u << 28) | (1u << 29))
#define L1_ECX_X2APIC	(1u << 21)
#define L1_ECX_TSCDL	(1u << 24)
#define L1_ECX_HV	(1u << 31)
/* Leaf 1 EDX: MCE, MCA, DS, ACPI (thermal MSRs), TM, PBE. */
#define L1_EDX_HIDE	((1u << 7) | (1u << 14) | (1u << 21) | (1u << 22) | (1u << 29) | \
			 (1u << 31))
/* Leaf 7 EBX: SGX, HLE, AVX2, RTM, PQM, MPX, PQE, AVX-512*, PT. */
#define L7_EBX_HIDE	((1u << 2) | (1u << 4) | (1u << 5) | (1u << 11) | \
			 (1u << 12) | (1u << 14) | (1u << 15) | (1u << 16) | (1u << 17) | \
			 (1u << 21) | (1u << 25) | (1u << 26) | (1u << 27) | (1u << 28) | \
			 (1u << 30) | (1u << 31))
/* Leaf 7 ECX: AVX-512 VBMI, PKU, OSPKE, WAITPKG, AVX-512 VBMI2, VAES.., LA57, SGX_LC. */
#define L7_ECX_HIDE	((1u << 1) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | \
			 (1u << 9) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 14) | \
			 (1u << 16) | (1u << 30))
/* Leaf 7 EDX: keep only MD_CLEAR (VERW) and FSRM: the rest name MSRs we lack. */
#define L7_EDX_KEEP	((1u << 4) | (1u << 10))
#define L7_EBX_TSC_ADJUST (1u << 1)

/* The host's leaf 0 and 0x80000000, read once before any guest starts. */
static struct cpuid_regs host0, ext0;

void cpuid_init(void)
{
	host0 = cpuid(0, 0);
	ext0 = cpuid(0x80000000, 0);
}

static unsigned int order(unsigned int n)
{
	unsigned int s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

void cpuid_guest(struct vcpu *v, uint32_t leaf, uint32_t sub, struct cpuid_regs *r)
{
	static const char sig[12] = "hvbaremetal";
	unsigned int n = v->vm->cfg.vcpus;

	*r = (struct cpuid_regs){ 0 };
	if (leaf >= 0x40000000 && leaf <= 0x400000ff) {
		if (leaf == 0x40000000) {
			r->eax = 0x40000001;
			memcpy(&r->ebx, sig, 4);
			memcpy(&r->ecx, sig + 4, 4);
			memcpy(&r->edx, sig + 8, 4);
		} else if (leaf == 0x40000001) {
			r->eax = HC_ABI_VERSION;
		}
		return;
	}
	if (leaf >= 0x80000000) {
		if (leaf > ext0.eax)
			leaf = MAX_BASIC;	/* out of range: the highest basic leaf (SDM) */
		else {
			*r = cpuid(leaf, sub);
			if (leaf == 0x80000001 && !vcpu_has_rdtscp())
				r->edx &= ~(1u << 27);
			if (leaf == 0x80000007)
				r->edx &= 1u << 8;	/* invariant TSC only */
			return;
		}
	}
	if (leaf > MAX_BASIC)
		leaf = MAX_BASIC;
	switch (leaf) {
	case 0:
		*r = host0;
		r->eax = MAX_BASIC;
		return;
	case 1:
		*r = cpuid(1, 0);
		r->ecx = (r->ecx & ~L1_ECX_HIDE) | L1_ECX_X2APIC | L1_ECX_TSCDL | L1_ECX_HV;
		r->edx &= ~L1_EDX_HIDE;
		r->edx |= 1u << 28;	/* HTT: EBX[23:16] is meaningful */
		r->ebx = (r->ebx & 0xffff) | ((1u << order(n)) << 16) | (v->id << 24);
		return;
	case 2:
		if (host0.eax >= 2)
			*r = cpuid(2, 0);
		return;
	case 4:
		if (host0.eax < 4)
			return;
		*r = cpuid(4, sub);
		/* Cores per package and threads sharing each cache, from our topology. */
		r->eax &= 0x3ff;
		if (r->eax & 0x1f)
			r->eax |= ((1u << order(n)) - 1) << 26 |
				  (((r->eax >> 5) & 7) >= 3 ? ((1u << order(n)) - 1) << 14 : 0);
		return;
	case 6:
		r->eax = 1u << 2;	/* ARAT: the APIC timer runs in every C-state */
		return;
	case 7:
		if (host0.eax < 7 || sub != 0)
			return;
		*r = cpuid(7, 0);
		r->eax = 0;
		/* IA32_TSC_ADJUST is emulated (hv/vmx/msr.c): with an invariant TSC it
		 * lets a kernel trust the TSC without a watchdog. */
		r->ebx = (r->ebx & ~L7_EBX_HIDE) | L7_EBX_TSC_ADJUST;
		if (!vcpu_has_invpcid())
			r->ebx &= ~(1u << 10);
		r->ecx &= ~L7_ECX_HIDE;
		r->edx &= L7_EDX_KEEP;
		return;
	case 0xb:
		/* x2APIC topology: SMT level of 1, core level of n; EDX the x2APIC ID. */
		r->edx = v->id;
		r->ecx = sub & 0xff;
		if (sub == 0) {
			r->eax = 0, r->ebx = 1, r->ecx |= 1 << 8;
		} else if (sub == 1) {
			r->eax = order(n), r->ebx = n, r->ecx |= 2 << 8;
		}
		return;
	case 0x15:
		/* TSC Hz = ECX * EBX / EAX: the crystal clocks the APIC timer. */
		r->eax = (uint32_t)(GUEST_CRYSTAL_HZ / 1000);
		r->ebx = (uint32_t)tsc_khz;
		r->ecx = (uint32_t)GUEST_CRYSTAL_HZ;
		return;
	case 0x16:
		r->eax = (uint32_t)(tsc_khz / 1000);
		r->ebx = r->eax;
		r->ecx = 100;		/* bus (reference) MHz */
		return;
	default:
		/* 3, 5, 8-0xa, 0xc-0x14: serial number, MONITOR, perfmon, XSAVE, RDT, SGX, PT. */
		return;
	}
}
