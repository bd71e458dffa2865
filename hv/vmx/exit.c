/* SPDX-License-Identifier: MIT */
/*
 * VM-exit dispatch: a table by basic exit reason.  A handler returns 0 to
 * re-enter the guest, 1 to end the time slice.  Anything unexpected stops
 * the guest with a dump (guest_fail), never the hypervisor.
 */
#include "hv/core/io.h"
#include "hv/core/request.h"
#include "hv/core/vm.h"
#include "hv/cpu/trap.h"
#include "hv/cpu/vmx_caps.h"
#include "hv/lib/x86.h"
#include "hv/mm/gmem.h"
#include "hv/vdev/lapic.h"
#include "hv/vmx/apicv.h"
#include "hv/vmx/debug.h"
#include "hv/vmx/gva.h"
#include "hv/vmx/hypercall.h"
#include "hv/vmx/mmio.h"
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "smp/smp.h"
#include "smp/time.h"

#define EXIT_EXCEPTION_NMI	0
#define EXIT_EXT_INTR		1
#define EXIT_TRIPLE_FAULT	2
#define EXIT_INTR_WINDOW	7
#define EXIT_NMI_WINDOW		8
#define EXIT_CPUID		10
#define EXIT_HLT		12
#define EXIT_VMCALL		18
#define EXIT_CR_ACCESS		28
#define EXIT_DR_ACCESS		29
#define EXIT_IO			30
#define EXIT_RDMSR		31
#define EXIT_WRMSR		32
#define EXIT_INVALID_STATE	33
#define EXIT_MTF		37
#define EXIT_TPR_BELOW		43
#define EXIT_APIC_ACCESS	44
#define EXIT_VIRTUALIZED_EOI	45
#define EXIT_EPT_VIOLATION	48
#define EXIT_EPT_MISCONFIG	49
#define EXIT_PREEMPT_TIMER	52
#define EXIT_XSETBV		55
#define EXIT_APIC_WRITE		56

#define MSR_TSC_DEADLINE	0x6e0

#define VEC_UD	6
#define VEC_GP	13
#define VEC_PF	14

typedef int (*exit_handler_t)(struct vcpu *v);

/* The fault-class exceptions (SDM 6.15): #DE, #BR, #UD, #NM, #TS, #NP, #SS, #GP, #PF, #MF, #AC, #XM, #VE, #CP. */
#define FAULT_VECTORS	((1u << 0) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 10) | \
			 (1u << 11) | (1u << 12) | (1u << 13) | (1u << 14) | (1u << 16) | \
			 (1u << 17) | (1u << 19) | (1u << 20) | (1u << 21))

void vcpu_inject_exception(struct vcpu *v, unsigned int vector, bool has_code, uint32_t code)
{
	(void)v;
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector |
		(has_code ? INTR_INFO_DELIVER_CODE : 0));
	if (has_code)
		vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, code);
	/*
	 * A fault pushes RF = 1 (SDM 17.3.1.1: all but an instruction
	 * breakpoint); an injected event pushes RFLAGS as the VMCS holds it
	 * (SDM 26.5.1.1), so the RF goes there.
	 */
	if (vector < 32 && (FAULT_VECTORS & (1u << vector)))
		vmwrite(GUEST_RFLAGS, vmread(GUEST_RFLAGS) | RFLAGS_RF);
}

static int inject_ud(struct vcpu *v)
{
	vcpu_inject_exception(v, VEC_UD, false, 0);
	return 0;
}

static int handle_ext_intr(struct vcpu *v)
{
	(void)v;
	return 0;	/* taken by the host when vcpu_run_slice() opens interrupts */
}

static int handle_nmi(struct vcpu *v)
{
	if (vmx_debug_exception(v) == 0)	/* #BP or #DB while a debugger is attached */
		return 0;
	if (READ_ONCE(panic_in_progress))
		cpu_halt_forever();
	return 0;
}

static int handle_triple_fault(struct vcpu *v)
{
	guest_fail(v, "triple fault");
	return 1;
}

static int handle_cpuid(struct vcpu *v)
{
	struct cpuid_regs r;

	cpuid_guest(v, (uint32_t)v->regs.rax, (uint32_t)v->regs.rcx, &r);
	v->regs.rax = r.eax;
	v->regs.rbx = r.ebx;
	v->regs.rcx = r.ecx;
	v->regs.rdx = r.edx;
	vcpu_skip_instruction();
	return 0;
}

static int handle_hlt(struct vcpu *v)
{
	vcpu_skip_instruction();
	v->halt_if = vmread(GUEST_RFLAGS) & RFLAGS_IF;
	/*
	 * With IF=0 only an NMI or INIT ends HLT (SDM vol. 2, HLT), and only
	 * another vCPU sends them: a guest's only vCPU is done for good.
	 */
	if (!v->halt_if && v->vm->cfg.vcpus == 1 && !READ_ONCE(v->nmi_queued) &&
	    !v->nmi_pending && !READ_ONCE(v->lapic->init_pending)) {
		pr_info("[%s] vCPU %u halted with interrupts off\n", v->vm->cfg.name, v->id);
		WRITE_ONCE(v->state, VCPU_DONE);
		return 1;
	}
	/* vcpu_run_slice() and the scheduler resume it when lapic_has_wakeup() says so. */
	v->halted = true;
	return 0;
}

/* Interrupt or NMI window: vcpu_run_slice() injects, and turns the exiting off, before the entry. */
static int handle_window(struct vcpu *v)
{
	(void)v;
	return 0;
}

static int guest_cpl(void)
{
	return (vmread(GUEST_SS_AR_BYTES) >> 5) & 3;
}

static int64_t hc_console_write(struct vcpu *v, uint64_t gpa, uint64_t len)
{
	char buf[256];

	if (len > 4096)
		return HC_EINVAL;
	if (len && !guest_range_is_ram(v->vm->cfg.memory, gpa, len))
		return HC_EFAULT;
	for (uint64_t done = 0; done < len;) {
		uint64_t n = len - done > sizeof(buf) ? sizeof(buf) : len - done;

		if (gmem_read(v->vm, gpa + done, buf, n))
			return HC_EFAULT;
		/* As if the guest wrote each byte to its console, COM1's data port. */
		for (uint64_t i = 0; i < n; i++) {
			uint32_t c = (uint8_t)buf[i];

			vm_port_access(v, 0x3f8, false, 1, &c);
		}
		done += n;
	}
	return (int64_t)len;
}

static int handle_vmcall(struct vcpu *v)
{
	uint64_t nr = v->regs.rax, a0 = v->regs.rdi, a1 = v->regs.rsi;
	int64_t ret = 0;
	int end_slice = 0;

	vcpu_skip_instruction();
	if (guest_cpl() != 0) {
		v->regs.rax = (uint64_t)(int64_t)HC_EPERM;
		return 0;
	}
	switch (nr) {
	case HC_VERSION:
		ret = HC_ABI_VERSION;
		break;
	case HC_CONSOLE_WRITE:
		ret = hc_console_write(v, a0, a1);
		break;
	case HC_EXIT:
		guest_exit(v, (int)a0);
		return 1;
	case HC_YIELD:
		end_slice = 1;
		break;
	case HC_INFO: {
		struct hv_info info = { HC_ABI_VERSION, v->id, v->vm->cfg.vcpus, 0,
					v->vm->cfg.memory, tsc_khz };

		if (!guest_range_is_ram(v->vm->cfg.memory, a0, sizeof(info)) ||
		    gmem_write(v->vm, a0, &info, sizeof(info)))
			ret = HC_EFAULT;
		break;
	}
	case HC_REPORT:
		if (a0 >= 4) {
			ret = HC_EINVAL;
			break;
		}
		v->vm->bench_result[a0] = a1;
		pr_info("[%s] report %llu = %llu\n", v->vm->cfg.name, (unsigned long long)a0,
			(unsigned long long)a1);
		break;
	default:
		ret = HC_ENOSYS;
	}
	v->regs.rax = (uint64_t)ret;
	return end_slice;
}

/* One port access; 1: the guest is ending (a device asked), its vCPU must stop. */
static int port_access(struct vcpu *v, uint16_t port, bool in, unsigned int size, uint32_t *val)
{
	vm_port_access(v, port, in, size, val);
	return vm_stopping(v->vm);
}

#define STRING_IO_BATCH	1024	/* elements per exit; REP resumes where it stopped */

/* An element of INS/OUTS: @size bytes at guest linear @gva, perhaps across a page. */
struct string_elem {
	uint64_t gpa[2];
	unsigned int first;		/* bytes in the first page */
};

/*
 * Translate the element's pages before any side effect, as the CPU checks
 * them.  0 done; 1 a #PF was injected; -1 the guest was stopped.
 */
static int string_elem_translate(struct vcpu *v, uint64_t gva, unsigned int size, bool in,
				 struct string_elem *e)
{
	unsigned int left = 4096 - (unsigned int)(gva & 0xfff);
	uint32_t err;

	e->first = left < size ? left : size;
	for (unsigned int part = 0; part < (e->first < size ? 2u : 1u); part++) {
		uint64_t la = part ? gva + e->first : gva;
		int rc = mmio_gva_to_gpa(v, la, in ? GVA_WRITE : 0, &e->gpa[part], &err);

		if (rc > 0) {
			v->regs.cr2 = la;
			vcpu_inject_exception(v, VEC_PF, true, err);
			return 1;
		}
		if (rc < 0) {
			guest_fail(v, "%s at %llx: the guest's page tables are outside its memory",
				   in ? "INS" : "OUTS", (unsigned long long)gva);
			return -1;
		}
	}
	return 0;
}

/* Copy the element between guest memory and *val; -1 (the guest stopped) if not RAM. */
static int string_elem_copy(struct vcpu *v, const struct string_elem *e, unsigned int size,
			    bool in, uint32_t *val)
{
	uint8_t *b = (uint8_t *)val;
	int bad;

	if (in)
		bad = gmem_write(v->vm, e->gpa[0], b, e->first) ||
		      (e->first < size && gmem_write(v->vm, e->gpa[1], b + e->first, size - e->first));
	else
		bad = gmem_read(v->vm, e->gpa[0], b, e->first) ||
		      (e->first < size && gmem_read(v->vm, e->gpa[1], b + e->first, size - e->first));
	if (bad)
		guest_fail(v, "string I/O at GPA %llx outside guest memory",
			   (unsigned long long)e->gpa[0]);
	return bad ? -1 : 0;
}

/* INS/OUTS, REP or not, element by element through the guest's page tables. */
static int string_io(struct vcpu *v, uint64_t q, uint16_t port, unsigned int size, bool in)
{
	uint64_t cs_ar = vmread(GUEST_CS_AR_BYTES), info = vmread(VMX_INSTRUCTION_INFO);
	bool rep = q & 32, down = vmread(GUEST_RFLAGS) & (1u << 10);
	unsigned int asz = (vmx_caps.basic >> 54) & 1 ? 16u << ((info >> 7) & 7) :
			   (cs_ar >> 13) & 1 ? 64 : (cs_ar >> 14) & 1 ? 32 : 16;
	uint64_t amask = asz == 64 ? ~0ULL : (1ULL << asz) - 1;
	uint64_t *idx = in ? &v->regs.rdi : &v->regs.rsi;
	unsigned int seg = in ? 0 : ((vmx_caps.basic >> 54) & 1 ? (info >> 15) & 7 : 3);
	uint64_t base = (cs_ar >> 13) & 1 && seg < 4 ? 0 : vmread(GUEST_ES_BASE + 2 * seg);
	uint64_t n = rep ? v->regs.rcx & amask : 1, done;

	for (done = 0; done < n && done < STRING_IO_BATCH; done++) {
		struct string_elem e;
		uint32_t val = 0;

		if (string_elem_translate(v, base + (*idx & amask), size, in, &e) ||
		    (!in && string_elem_copy(v, &e, size, false, &val)))
			break;
		if (port_access(v, port, in, size, &val))
			return 1;
		if (in && string_elem_copy(v, &e, size, true, &val))
			break;
		*idx = (*idx & ~amask) | ((down ? *idx - size : *idx + size) & amask);
	}
	if (rep)
		v->regs.rcx = (v->regs.rcx & ~amask) | ((n - done) & amask);
	if (done == n)
		vcpu_skip_instruction();
	return vm_stopping(v->vm);
}

static int handle_io(struct vcpu *v)
{
	uint64_t q = vmread(EXIT_QUALIFICATION);
	unsigned int size = (q & 7) + 1;
	bool in = q & 8;
	uint16_t port = (uint16_t)(q >> 16);
	uint32_t mask = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	uint32_t val = in ? 0 : (uint32_t)v->regs.rax & mask;

	if (q & 16)
		return string_io(v, q, port, size, in);
	if (port_access(v, port, in, size, &val)) {
		vcpu_skip_instruction();
		return 1;
	}
	if (in)
		v->regs.rax = (v->regs.rax & ~(uint64_t)mask) | (val & mask);
	vcpu_skip_instruction();
	return 0;
}

/* EPT-violation qualification: a guest-linear address is valid, and it was not a page walk's. */
#define EPT_QUAL_GLA_VALID	(1ULL << 7)
#define EPT_QUAL_GLA_ACCESS	(1ULL << 8)

/*
 * A fault-like exit whose instruction runs again: it has raised no debug
 * trap yet, and one from the instruction before it was delivered before it
 * began, unless MOV SS blocked it (SDM 27.3.4: the CPU saves zero then).
 * Bochs 2.7 saves the single step it scheduled for the faulting
 * instruction; kept, it would be delivered before the instruction and again
 * after it.
 */
static void drop_pending_dbg_of_refault(void)
{
	if (!(vmread(GUEST_INTERRUPTIBILITY_INFO) & BLOCK_MOV_SS))
		vmwrite(GUEST_PENDING_DBG_EXCEPTIONS, 0);
}

static int handle_ept_violation(struct vcpu *v)
{
	uint64_t gpa = vmread(GUEST_PHYSICAL_ADDRESS), q = vmread(EXIT_QUALIFICATION);
	const struct mmio_range *dev = NULL;

	/* The xAPIC page under APIC virtualization: map the APIC-access page there, once. */
	if (!guest_gpa_is_ram(v->vm->cfg.memory, gpa) && apicv_maps_apic_page(v, gpa)) {
		drop_pending_dbg_of_refault();
		return apicv_fault_apic_page(v, gpa, q);
	}
	if (!guest_gpa_is_ram(v->vm->cfg.memory, gpa)) {
		dev = vm_find_mmio(v, gpa);
		/*
		 * Neither RAM nor a device: on a PC the access ends in a master
		 * abort (reads all ones, writes dropped).  An instruction's own
		 * access only: a page walk there cannot be given all ones.
		 */
		if (!dev && v->vm->cfg.unassigned == UNASSIGNED_IGNORE &&
		    (q & (EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_ACCESS)) ==
		    (EPT_QUAL_GLA_VALID | EPT_QUAL_GLA_ACCESS))
			dev = &vm_unassigned_mmio;
	}
	if (dev)
		return mmio_emulate(v, dev, gpa);
	drop_pending_dbg_of_refault();
	return gmem_fault(v, gpa, q) ? 1 : 0;
}

static int handle_ept_misconfig(struct vcpu *v)
{
	guest_fail(v, "EPT misconfiguration at GPA %llx (a hypervisor bug)",
		   (unsigned long long)vmread(GUEST_PHYSICAL_ADDRESS));
	return 1;
}

static int handle_preempt_timer(struct vcpu *v)
{
	(void)v;
	return 0;	/* the slice's end or the guest's timer: vcpu_run_slice() sees which */
}

static int handle_xsetbv(struct vcpu *v)
{
	/* No XSAVE state management yet: XCR0 stays the host's. */
	vcpu_inject_exception(v, VEC_GP, true, 0);
	return 0;
}


static const exit_handler_t handlers[EXIT_REASONS] = {
	[EXIT_EXCEPTION_NMI] = handle_nmi,
	[EXIT_EXT_INTR] = handle_ext_intr,
	[EXIT_TRIPLE_FAULT] = handle_triple_fault,
	[EXIT_CPUID] = handle_cpuid,
	[EXIT_HLT] = handle_hlt,
	[EXIT_INTR_WINDOW] = handle_window,
	[EXIT_NMI_WINDOW] = handle_window,
	[EXIT_VMCALL] = handle_vmcall,
	[19] = inject_ud, [20] = inject_ud, [21] = inject_ud, [22] = inject_ud,
	[23] = inject_ud, [24] = inject_ud, [25] = inject_ud, [26] = inject_ud,
	[27] = inject_ud, [50] = inject_ud, [53] = inject_ud, [59] = inject_ud,
	[EXIT_DR_ACCESS] = vmx_debug_dr_exit,
	[EXIT_MTF] = vmx_debug_mtf_exit,
	[EXIT_CR_ACCESS] = exit_cr_access,
	[EXIT_IO] = handle_io,
	[EXIT_RDMSR] = exit_rdmsr,
	[EXIT_WRMSR] = exit_wrmsr,
	[EXIT_EPT_VIOLATION] = handle_ept_violation,
	[EXIT_TPR_BELOW] = apicv_handle_tpr_below,
	[EXIT_APIC_ACCESS] = apicv_handle_access,
	[EXIT_VIRTUALIZED_EOI] = apicv_handle_eoi,
	[EXIT_APIC_WRITE] = apicv_handle_write,
	[EXIT_EPT_MISCONFIG] = handle_ept_misconfig,
	[EXIT_PREEMPT_TIMER] = handle_preempt_timer,
	[EXIT_XSETBV] = handle_xsetbv,
};

/*
 * The commonest exits of a running guest: CPUID and writes of the TSC
 * deadline.  They need no qualification, cannot interrupt an event's
 * delivery and end no guest, so the vCPU loop re-enters at once.
 */
enum vmx_fastpath vmx_exit_fastpath(struct vcpu *v, uint32_t reason)
{
	if (reason == EXIT_CPUID) {
		handle_cpuid(v);
	} else if (reason == EXIT_WRMSR && (uint32_t)v->regs.rcx == MSR_TSC_DEADLINE) {
		if (!lapic_wrmsr(v, MSR_TSC_DEADLINE, (v->regs.rdx << 32) | (uint32_t)v->regs.rax))
			return FASTPATH_NONE;	/* #GP: the slow path injects it */
		vcpu_skip_instruction();
	} else {
		return FASTPATH_NONE;
	}
	v->last_exit_reason = reason;
	v->last_exit_qual = 0;
	v->vm->exit_count[reason]++;
	return reason == EXIT_WRMSR ? FASTPATH_REENTER_TIMER : FASTPATH_REENTER;
}

int vmx_exit_dispatch(struct vcpu *v, uint32_t reason)
{
	uint32_t basic = reason & 0xffff;

	v->last_exit_reason = reason;
	v->last_exit_qual = vmread(EXIT_QUALIFICATION);
	if (basic < EXIT_REASONS)
		v->vm->exit_count[basic]++;
	if (reason & EXIT_REASON_ENTRY_FAILURE) {
		vmx_explain_entry_failure(v, basic);
		return 1;
	}
	if (basic < EXIT_REASONS && handlers[basic])
		return handlers[basic](v);
	guest_fail(v, "unexpected VM exit %u (%s)", basic, vmx_exit_name(basic));
	return 1;
}
