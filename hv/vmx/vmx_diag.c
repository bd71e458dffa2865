/* SPDX-License-Identifier: MIT */
/*
 * Naming VMX events for people: exit reasons, VM-instruction errors, and
 * which guest-state check a failed VM entry tripped.  The CPU reports only
 * "invalid guest state"; we re-check the rules a hypervisor most often
 * breaks (SDM vol. 3, 27.3.1) and name the first one that fails.
 */
#include "hv/core/request.h"
#include "hv/core/vm.h"
#include "hv/cpu/vmx_caps.h"
#include "hv/lib/x86.h"
#include "hv/vdev/lapic.h"
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"
#include "lib/printk.h"

static const char *const exit_names[] = {
	[0] = "exception or NMI", [1] = "external interrupt", [2] = "triple fault",
	[3] = "INIT", [4] = "SIPI", [7] = "interrupt window", [8] = "NMI window",
	[9] = "task switch", [10] = "CPUID", [11] = "GETSEC", [12] = "HLT", [13] = "INVD",
	[14] = "INVLPG", [15] = "RDPMC", [16] = "RDTSC", [17] = "RSM", [18] = "VMCALL",
	[19] = "VMCLEAR", [20] = "VMLAUNCH", [21] = "VMPTRLD", [22] = "VMPTRST",
	[23] = "VMREAD", [24] = "VMRESUME", [25] = "VMWRITE", [26] = "VMXOFF",
	[27] = "VMXON", [28] = "CR access", [29] = "MOV DR", [30] = "I/O instruction",
	[31] = "RDMSR", [32] = "WRMSR", [33] = "invalid guest state", [34] = "MSR loading",
	[36] = "MWAIT", [37] = "monitor trap flag", [39] = "MONITOR", [40] = "PAUSE",
	[41] = "machine check during entry", [43] = "TPR below threshold",
	[44] = "APIC access", [45] = "virtualized EOI", [46] = "GDTR/IDTR access",
	[47] = "LDTR/TR access", [48] = "EPT violation", [49] = "EPT misconfiguration",
	[50] = "INVEPT", [51] = "RDTSCP", [52] = "preemption timer", [53] = "INVVPID",
	[54] = "WBINVD", [55] = "XSETBV", [56] = "APIC write", [57] = "RDRAND",
	[58] = "INVPCID", [59] = "VMFUNC", [61] = "RDSEED", [62] = "PML full",
	[63] = "XSAVES", [64] = "XRSTORS",
};

static const char *const insn_errors[] = {
	[1] = "VMCALL in VMX root operation", [2] = "VMCLEAR with invalid address",
	[3] = "VMCLEAR with VMXON pointer", [4] = "VMLAUNCH with non-clear VMCS",
	[5] = "VMRESUME with non-launched VMCS", [6] = "VMRESUME after VMXOFF",
	[7] = "VM entry with invalid control fields",
	[8] = "VM entry with invalid host-state fields",
	[9] = "VMPTRLD with invalid address", [10] = "VMPTRLD with VMXON pointer",
	[11] = "VMPTRLD with incorrect VMCS revision",
	[12] = "VMREAD/VMWRITE of unsupported component",
	[13] = "VMWRITE to read-only component", [15] = "VMXON in VMX root operation",
	[16] = "VM entry with invalid executive-VMCS pointer",
	[17] = "VM entry with non-launched executive VMCS",
	[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
	[26] = "VM entry with events blocked by MOV SS",
	[28] = "invalid operand to INVEPT/INVVPID",
};

const char *vmx_exit_name(uint32_t reason)
{
	reason &= 0xffff;
	if (reason < sizeof(exit_names) / sizeof(exit_names[0]) && exit_names[reason])
		return exit_names[reason];
	return "unknown";
}

const char *vmx_insn_error_name(uint32_t err)
{
	if (err < sizeof(insn_errors) / sizeof(insn_errors[0]) && insn_errors[err])
		return insn_errors[err];
	return "unknown";
}

/* The first guest-state rule the current VMCS breaks, or NULL. */
static const char *check_guest_state(void)
{
	const struct vmx_caps *c = &vmx_caps;
	uint64_t cr0 = vmread(GUEST_CR0), cr4 = vmread(GUEST_CR4);
	uint64_t efer = vmread(GUEST_IA32_EFER), entry = vmread(VM_ENTRY_CONTROLS);
	uint64_t proc2 = vmread(SECONDARY_VM_EXEC_CONTROL), rflags = vmread(GUEST_RFLAGS);
	uint64_t cs_ar = vmread(GUEST_CS_AR_BYTES), tr_ar = vmread(GUEST_TR_AR_BYTES);
	uint64_t fixed0 = c->cr0_fixed0;
	bool ia32e = entry & ENTRY_IA32E_MODE;

	if (proc2 & SEC_UNRESTRICTED_GUEST)
		fixed0 &= ~(CR0_PE | CR0_PG);
	if ((cr0 & fixed0) != fixed0 || (cr0 & ~c->cr0_fixed1))
		return "CR0 breaks the IA32_VMX_CR0_FIXED0/1 bits";
	if ((cr4 & c->cr4_fixed0) != c->cr4_fixed0 || (cr4 & ~c->cr4_fixed1))
		return "CR4 breaks the IA32_VMX_CR4_FIXED0/1 bits";
	if ((cr0 & CR0_PG) && !(cr0 & CR0_PE))
		return "CR0.PG set without CR0.PE";
	if (ia32e && (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE)))
		return "IA-32e mode guest without CR0.PG and CR4.PAE";
	if (!!(efer & (1 << 10)) != ia32e)
		return "EFER.LMA differs from the IA-32e mode guest entry control";
	if ((cr0 & CR0_PG) && !!(efer & (1 << 8)) != !!(efer & (1 << 10)))
		return "EFER.LME differs from EFER.LMA with paging on";
	if (!(rflags & 2) || (rflags & 0xffffffffffc08028ULL))
		return "RFLAGS reserved bits (bit 1 must be 1, 3/5/15/22-63 must be 0)";
	if (ia32e && (cs_ar & (1 << 13)) && (cs_ar & (1 << 14)))
		return "CS.L and CS.D both set in IA-32e mode";
	if (cs_ar & 0x10000)
		return "CS is unusable";
	if (!(cs_ar & (1 << 7)))
		return "CS not present";
	if ((tr_ar & 0x10000) || ((tr_ar & 0xf) != 11 && (ia32e || (tr_ar & 0xf) != 3)))
		return "TR is not a busy TSS of the right width";
	if (vmread(GUEST_ACTIVITY_STATE) > 3)
		return "activity state out of range";
	if (vmread(VMCS_LINK_POINTER) != ~0ULL)
		return "VMCS link pointer is not all ones";
	return NULL;
}

void vmx_explain_entry_failure(struct vcpu *v, uint32_t basic)
{
	uint64_t q = vmread(EXIT_QUALIFICATION);
	const char *rule = basic == 33 ? check_guest_state() : NULL;
	static const char *const quals[] = { "no detail", "?", "PDPTE load failed",
					     "NMI injection", "invalid VMCS link pointer" };

	guest_fail(v, "VM entry failed: %s (qualification %llu: %s)%s%s", vmx_exit_name(basic),
		   (unsigned long long)q, q < 5 ? quals[q] : "?", rule ? "; failed check: " : "",
		   rule ? rule : "");
}

void vcpu_dump(struct vcpu *v)
{
	const struct guest_regs *r = &v->regs;

	pr_err("[%s] vCPU %u on CPU %u: last exit %u (%s), qualification %llx\n",
	       v->vm->cfg.name, v->id, v->cpu, v->last_exit_reason & 0xffff,
	       vmx_exit_name(v->last_exit_reason), (unsigned long long)v->last_exit_qual);
	pr_err("  RIP %016llx RSP %016llx RFLAGS %016llx\n",
	       (unsigned long long)vmread(GUEST_RIP), (unsigned long long)vmread(GUEST_RSP),
	       (unsigned long long)vmread(GUEST_RFLAGS));
	pr_err("  CR0 %016llx CR3 %016llx CR4 %016llx EFER %llx\n",
	       (unsigned long long)vcpu_guest_cr0(), (unsigned long long)vmread(GUEST_CR3),
	       (unsigned long long)vcpu_guest_cr4(),
	       (unsigned long long)vmread(GUEST_IA32_EFER));
	pr_err("  CS %04llx/%llx SS %04llx/%llx GPA %llx linear %llx\n",
	       (unsigned long long)vmread(GUEST_CS_SELECTOR),
	       (unsigned long long)vmread(GUEST_CS_AR_BYTES),
	       (unsigned long long)vmread(GUEST_SS_SELECTOR),
	       (unsigned long long)vmread(GUEST_SS_AR_BYTES),
	       (unsigned long long)vmread(GUEST_PHYSICAL_ADDRESS),
	       (unsigned long long)vmread(GUEST_LINEAR_ADDRESS));
	pr_err("  RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n",
	       (unsigned long long)r->rax, (unsigned long long)r->rbx,
	       (unsigned long long)r->rcx, (unsigned long long)r->rdx);
	pr_err("  RSI %016llx RDI %016llx RBP %016llx R8  %016llx\n",
	       (unsigned long long)r->rsi, (unsigned long long)r->rdi,
	       (unsigned long long)r->rbp, (unsigned long long)r->r8);
	pr_err("  R9  %016llx R10 %016llx R11 %016llx R12 %016llx\n",
	       (unsigned long long)r->r9, (unsigned long long)r->r10,
	       (unsigned long long)r->r11, (unsigned long long)r->r12);
	pr_err("  R13 %016llx R14 %016llx R15 %016llx CR2 %016llx\n",
	       (unsigned long long)r->r13, (unsigned long long)r->r14,
	       (unsigned long long)r->r15, (unsigned long long)r->cr2);
}
