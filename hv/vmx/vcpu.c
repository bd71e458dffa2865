/* SPDX-License-Identifier: MIT */
/*
 * vCPUs: VMX root operation per CPU, the VMCS built from the capability
 * MSRs, and one time slice of guest execution.  Controls are computed from
 * the (true) capability MSRs; features we rely on are checked once and a
 * guest is refused with the list of what the CPU lacks.
 */
#include "hv/core/request.h"
#include "hv/core/vm.h"
#include "hv/cpu/page_alloc.h"
#include "hv/cpu/trap.h"
#include "hv/cpu/vmx_caps.h"
#include "hv/lib/format.h"
#include "hv/lib/x86.h"
#include "hv/mm/gmem.h"
#include "hv/mm/tlb.h"
#include "hv/vdev/lapic.h"
#include "hv/vmx/apicv.h"
#include "hv/vmx/debug.h"
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "smp/grace.h"
#include "smp/percpu.h"
#include "smp/time.h"

#define MSR_PAT			0x277
#define SLICE_US		10000

extern void vmx_exit_entry(void);
extern int vmx_enter(struct guest_regs *regs, int launched);

/* Shared by every guest: all ports and all MSRs exit (handled in hv/vmx/exit.c). */
static uint64_t io_bitmap_a, io_bitmap_b, msr_bitmap;

struct controls {
	uint32_t pin, proc, proc2, exit, entry;
};
static struct controls ctls;
static bool ctls_ready;
static char ctls_error[160];

static const struct { uint32_t bit; const char *name; } required[] = {
	{ PIN_EXT_INTR_EXITING, "external-interrupt exiting" },
	{ PIN_NMI_EXITING, "NMI exiting" },
	{ PIN_VIRTUAL_NMIS, "virtual NMIs" },
	{ PIN_PREEMPTION_TIMER, "VMX preemption timer" },
};

/* want must be allowed-1; the allowed-0 (must-be-one) bits are added. */
static bool adjust(uint64_t cap, uint32_t want, uint32_t *out)
{
	uint32_t must1 = (uint32_t)cap, may1 = (uint32_t)(cap >> 32);

	*out = (want | must1) & may1;
	return !(want & ~may1);
}

static void missing(char *buf, const char *what)
{
	size_t n = strlen(buf);

	hv_snprintf(buf + n, sizeof(ctls_error) - n, "%s%s", n ? ", " : "", what);
}

/* Compute the controls once; an empty ctls_error means every feature is there. */
static bool compute_controls(void)
{
	const struct vmx_caps *c = &vmx_caps;
	char miss[160] = "";

	if (ctls_ready)
		return !ctls_error[0];
	for (unsigned int i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!((c->pin >> 32) & required[i].bit))
			missing(miss, required[i].name);
	/*
	 * Virtual NMIs: the guest's NMI blocking is its own, ended by its IRET,
	 * and NMI-window exiting tells us when it ends (SDM 24.6.1, 24.6.2).
	 */
	adjust(c->pin, PIN_EXT_INTR_EXITING | PIN_NMI_EXITING | PIN_VIRTUAL_NMIS |
	       PIN_PREEMPTION_TIMER, &ctls.pin);
	if (!((c->proc >> 32) & CPU_NMI_WINDOW_EXITING))
		missing(miss, "NMI-window exiting");
	/* CR8 exits: the TPR is the virtual APIC's, never the physical one. */
	if (!adjust(c->proc, CPU_HLT_EXITING | CPU_USE_IO_BITMAPS | CPU_USE_MSR_BITMAPS |
		    CPU_SECONDARY_CONTROLS | CPU_CR8_LOAD_EXITING | CPU_CR8_STORE_EXITING |
		    CPU_USE_TSC_OFFSETTING,
		    &ctls.proc))
		missing(miss, "HLT exiting, I/O or MSR bitmaps, or secondary controls");
	if (!adjust(c->proc2, SEC_ENABLE_EPT, &ctls.proc2))
		missing(miss, "EPT");
	if (!((c->proc2 >> 32) & SEC_ENABLE_VPID))
		missing(miss, "VPID");
	if (!((c->proc2 >> 32) & SEC_UNRESTRICTED_GUEST))
		missing(miss, "unrestricted guest");
	/* Optional: instructions a guest may use that would otherwise #UD. */
	adjust(c->proc2, SEC_ENABLE_EPT | SEC_ENABLE_VPID | SEC_UNRESTRICTED_GUEST |
	       (uint32_t)(c->proc2 >> 32 & (SEC_RDTSCP | SEC_INVPCID | SEC_XSAVES)), &ctls.proc2);
	/*
	 * DR7 and IA32_DEBUGCTL are the guest's: an exit sets DR7 to 0x400
	 * (SDM 27.5.1), so without these the guest's breakpoints vanish.
	 */
	if (!adjust(c->exit, EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_DEBUG_CONTROLS |
		    EXIT_SAVE_IA32_EFER | EXIT_LOAD_IA32_EFER | EXIT_SAVE_IA32_PAT |
		    EXIT_LOAD_IA32_PAT, &ctls.exit))
		missing(miss, "save debug controls, EFER and PAT on exit");
	if (!adjust(c->entry, ENTRY_LOAD_DEBUG_CONTROLS | ENTRY_LOAD_IA32_EFER | ENTRY_LOAD_IA32_PAT,
		    &ctls.entry))
		missing(miss, "load debug controls, EFER and PAT on entry");
	if (!(c->ept_vpid & (1ULL << 6)) || !(c->ept_vpid & (1ULL << 14)))
		missing(miss, "4-level EPT with write-back memory");
	if (miss[0])
		hv_snprintf(ctls_error, sizeof(ctls_error), "VT-x lacks: %s", miss);
	ctls_ready = true;
	return !ctls_error[0];
}

static uint64_t alloc_filled(uint8_t fill)
{
	uint64_t pa = page_alloc(0);

	if (pa)
		memset((void *)(uintptr_t)pa, fill, PAGE_SIZE);
	return pa;
}

/* Shared bitmaps, built once on CPU 0 before any guest starts. */
int vmx_global_init(char *err, unsigned int n)
{
	if (!vmx_caps.valid) {
		hv_snprintf(err, n, "VT-x is not available");
		return -1;
	}
	if (!compute_controls()) {
		hv_snprintf(err, n, "%s", ctls_error);
		return -1;
	}
	if (!io_bitmap_a) {
		cpuid_init();
		io_bitmap_a = alloc_filled(0xff);
		io_bitmap_b = alloc_filled(0xff);
		msr_bitmap = alloc_filled(0xff);
		if (!io_bitmap_a || !io_bitmap_b || !msr_bitmap) {
			hv_snprintf(err, n, "out of memory for the VMX bitmaps");
			return -1;
		}
	}
	return 0;
}

/* VMX root operation on this CPU, kept on while it runs guests. */
static bool cpu_vmx_on(void)
{
	struct percpu *p = this_cpu();
	const struct vmx_caps *c = &vmx_caps;

	if (p->vmx_on)
		return true;
	if (p->vmx != VMX_OK)
		return false;
	if (!p->vmxon_pa && !(p->vmxon_pa = alloc_filled(0)))
		return false;
	*(uint32_t *)(uintptr_t)p->vmxon_pa = (uint32_t)c->basic & 0x7fffffff;
	write_cr0((read_cr0() | c->cr0_fixed0) & c->cr0_fixed1);
	/* FXSAVE/FXRSTOR of guest state needs OSFXSR. */
	write_cr4((read_cr4() | c->cr4_fixed0 | CR4_VMXE | (1ULL << 9) | (1ULL << 10)) &
		  c->cr4_fixed1);
	if (!vmxon(p->vmxon_pa))
		return false;
	p->vmx_on = true;
	return true;
}

struct seg {
	uint16_t sel;
	uint64_t base;
	uint32_t limit, ar;
};

static void write_seg(int idx, struct seg s)
{
	/* ES, CS, SS, DS, FS, GS, LDTR, TR: the encodings step by 2. */
	vmwrite(GUEST_ES_SELECTOR + 2 * idx, s.sel);
	vmwrite(GUEST_ES_BASE + 2 * idx, s.base);
	vmwrite(GUEST_ES_LIMIT + 2 * idx, s.limit);
	vmwrite(GUEST_ES_AR_BYTES + 2 * idx, s.ar);
}

/* A clean FPU image for a starting vCPU: FNINIT state with default MXCSR. */
static void fpu_reset(struct vcpu *v)
{
	memset(v->fx, 0, sizeof(v->fx));
	*(uint16_t *)&v->fx[0] = 0x37f;
	*(uint32_t *)&v->fx[24] = 0x1f80;
}

/*
 * Load a start state into the current VMCS: a loader's (hv/core/guest_boot.h),
 * the default one for cfg.mode, or real mode after SIPI.  The rest of the
 * architectural state is as after RESET.
 */
static void load_start_state(struct vcpu *v, const struct guest_boot *b)
{
	uint64_t entry = ctls.entry;
	struct seg cs = { b->cs.sel, b->cs.base, b->cs.limit, b->cs.ar };
	struct seg ds = { b->ds.sel, b->ds.base, b->ds.limit, b->ds.ar };

	if (b->efer & (1ULL << 10))
		entry |= ENTRY_IA32E_MODE;
	vmwrite(VM_ENTRY_CONTROLS, entry);
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmwrite(GUEST_CR0, b->cr0 | CR0_NE);
	vmwrite(CR0_READ_SHADOW, b->cr0);
	vmwrite(GUEST_CR4, b->cr4 | CR4_VMXE);
	vmwrite(CR4_READ_SHADOW, b->cr4);
	vmwrite(GUEST_CR3, b->cr3);
	vmwrite(GUEST_IA32_EFER, b->efer);
	vmwrite(GUEST_IA32_PAT, 0x0007040600070406ULL);
	for (int i = 0; i < 6; i++)
		write_seg(i, i == 1 ? cs : ds);
	write_seg(6, (struct seg){ 0, 0, 0, 0x10000 });	/* LDTR unusable */
	write_seg(7, (struct seg){ 0, 0, 0xffff, 0x8b });	/* TR: a busy 32-bit TSS */
	vmwrite(GUEST_GDTR_BASE, b->gdt_base);
	vmwrite(GUEST_GDTR_LIMIT, b->gdt_limit);
	vmwrite(GUEST_IDTR_BASE, 0);
	vmwrite(GUEST_IDTR_LIMIT, 0xffff);
	vmwrite(GUEST_DR7, 0x400);
	vmwrite(GUEST_RIP, b->rip);
	vmwrite(GUEST_RSP, b->rsp);
	vmwrite(GUEST_RFLAGS, 0x2);
	vmwrite(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmwrite(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmwrite(GUEST_ACTIVITY_STATE, 0);
	memset(&v->regs, 0, sizeof(v->regs));
	v->regs.rax = b->rax;
	v->regs.rbx = b->rbx;
	v->regs.rdx = b->rdx;
	v->regs.rsi = b->rsi;
	v->regs.rdi = b->rdi;
	fpu_reset(v);
}

/* INIT then SIPI: real mode at vector << 12, as after RESET but for CS (SDM 9.1.4). */
void vcpu_reset_sipi(struct vcpu *v, int vector)
{
	struct guest_boot b = {
		.cr0 = 1 << 4,
		.cs = { (uint16_t)(vector << 8), (uint64_t)vector << 12, 0xffff, 0x9b },
		.ds = { 0, 0, 0xffff, 0x93 },
		.gdt_limit = 0xffff,
		.rdx = cpuid(1, 0).eax,		/* family/model/stepping, as after RESET */
	};

	load_start_state(v, &b);
	v->halted = false;
	__asm__ __volatile__("fxrstor %0" : : "m"(v->fx));	/* its CPU holds v's FPU now */
	/* And its debug registers (hv/guest/sched.c switches them); DR7 is in the VMCS. */
	write_dr0(0);
	write_dr1(0);
	write_dr2(0);
	write_dr3(0);
	write_dr6(DR6_INIT);
}

/* CR0 and CR4 as the guest sees them: its own bits, the shadow for the ones we own. */
uint64_t vcpu_guest_cr0(void)
{
	uint64_t mask = vmread(CR0_GUEST_HOST_MASK);

	return (vmread(GUEST_CR0) & ~mask) | (vmread(CR0_READ_SHADOW) & mask);
}

uint64_t vcpu_guest_cr4(void)
{
	uint64_t mask = vmread(CR4_GUEST_HOST_MASK);

	return (vmread(GUEST_CR4) & ~mask) | (vmread(CR4_READ_SHADOW) & mask);
}

/* GPR n in the VMX numbering (RAX=0 .. R15=15); RSP lives in the VMCS. */
uint64_t vcpu_gpr(struct vcpu *v, unsigned int n)
{
	return n == 4 ? vmread(GUEST_RSP) : (&v->regs.rax)[n];
}

void vcpu_set_gpr(struct vcpu *v, unsigned int n, uint64_t val)
{
	if (n == 4)
		vmwrite(GUEST_RSP, val);
	else
		(&v->regs.rax)[n] = val;
}

void vcpu_complete_insn(uint64_t next_rip)
{
	uint64_t block = vmread(GUEST_INTERRUPTIBILITY_INFO);
	uint64_t rflags = vmread(GUEST_RFLAGS);

	vmwrite(GUEST_RIP, next_rip);
	/* The shadow covered the instruction just emulated (sti; hlt): it is over. */
	if (block & (BLOCK_STI | BLOCK_MOV_SS))
		vmwrite(GUEST_INTERRUPTIBILITY_INFO, block & ~(uint64_t)(BLOCK_STI | BLOCK_MOV_SS));
	if (!(rflags & (RFLAGS_TF | RFLAGS_RF)))
		return;
	/* A completed instruction clears RF (SDM 17.3.1.1). */
	if (rflags & RFLAGS_RF)
		vmwrite(GUEST_RFLAGS, rflags & ~RFLAGS_RF);
	/*
	 * With TF set it ends in a single-step trap, which the exit cut off
	 * (IA32_DEBUGCTL.BTF is always 0 here): leave it pending, for the CPU
	 * to deliver after the entry with DR6.BS (SDM 17.3.1.4, 26.6.3).
	 */
	if (rflags & RFLAGS_TF)
		vmwrite(GUEST_PENDING_DBG_EXCEPTIONS,
			vmread(GUEST_PENDING_DBG_EXCEPTIONS) | PENDING_DBG_BS);
}

void vcpu_skip(uint64_t len)
{
	vcpu_complete_insn(vmread(GUEST_RIP) + len);
}

void vcpu_skip_instruction(void)
{
	vcpu_skip(vmread(VM_EXIT_INSTRUCTION_LEN));
}

bool vcpu_has_rdtscp(void)
{
	return ctls.proc2 & SEC_RDTSCP;
}

bool vcpu_has_invpcid(void)
{
	return ctls.proc2 & SEC_INVPCID;
}

/* The start state of a flat or ELF image in cfg.mode (docs/hypercalls.md). */
static void default_start_state(const struct vcpu *v, struct guest_boot *b)
{
	const struct guest_config *g = &v->vm->cfg;

	b->rip = g->entry;
	b->rsp = (g->memory < (4ULL << 30) ? g->memory : (4ULL << 30)) - 16 - v->id * 0x10000;
	b->rdi = v->id;
	b->rsi = g->memory;
	b->gdt_base = v->vm->boot.gdt_base;	/* the loader's tables (hv/load/guest_load.c) */
	b->gdt_limit = 31;
	if (g->mode == MODE_LONG) {
		b->cr0 = CR0_PE | (1 << 4) | CR0_PG | CR0_WP;
		b->cr3 = v->vm->boot.cr3;
		b->cr4 = CR4_PAE;
		b->efer = (1 << 8) | (1 << 10);	/* LME, LMA */
		b->cs = (struct boot_seg){ 0x08, 0, 0xffffffff, 0xa09b };
		b->ds = (struct boot_seg){ 0x10, 0, 0xffffffff, 0xc093 };
	} else if (g->mode == MODE_PROTECTED) {
		b->cr0 = CR0_PE | (1 << 4);
		b->cs = (struct boot_seg){ 0x18, 0, 0xffffffff, 0xc09b };
		b->ds = (struct boot_seg){ 0x10, 0, 0xffffffff, 0xc093 };
	} else {
		b->cr0 = 1 << 4;
		b->cs = (struct boot_seg){ (uint16_t)((b->rip >> 4) & 0xf000), b->rip & 0xf0000,
					   0xffff, 0x9b };
		b->ds = (struct boot_seg){ 0, 0, 0xffff, 0x93 };
		b->rip &= 0xffff;
		b->rsp = g->load & 0xfff0;
		b->gdt_base = 0;
		b->gdt_limit = 0xffff;
	}
}

static void setup_guest_state(struct vcpu *v)
{
	struct guest_boot def = { 0 };

	/*
	 * The guest owns CR0 but NE and CR4 but VMXE, which VMX needs set and it
	 * never sees, and the CR4 bits of features its CPUID hides (hv/vmx/cr.c).
	 */
	vmwrite(CR0_GUEST_HOST_MASK, CR0_NE);
	vmwrite(CR4_GUEST_HOST_MASK, vmx_cr4_host_owned(v));
	vmwrite(GUEST_SYSENTER_CS, 0);
	vmwrite(GUEST_SYSENTER_ESP, 0);
	vmwrite(GUEST_SYSENTER_EIP, 0);
	vmwrite(GUEST_IA32_DEBUGCTL, 0);
	vmwrite(VMCS_LINK_POINTER, ~0ULL);
	if (v->id == 0 && v->vm->boot.set) {
		load_start_state(v, &v->vm->boot);
	} else {
		default_start_state(v, &def);
		load_start_state(v, &def);
	}
}

static void setup_host_state(void)
{
	struct percpu *p = this_cpu();
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr;

	__asm__ __volatile__("sidt %0" : "=m"(idtr));
	vmwrite(HOST_CR0, read_cr0());
	vmwrite(HOST_CR3, read_cr3());
	vmwrite(HOST_CR4, read_cr4());
	vmwrite(HOST_CS_SELECTOR, 0x08);
	vmwrite(HOST_SS_SELECTOR, 0x10);
	vmwrite(HOST_DS_SELECTOR, 0x10);
	vmwrite(HOST_ES_SELECTOR, 0x10);
	vmwrite(HOST_FS_SELECTOR, 0);
	vmwrite(HOST_GS_SELECTOR, 0);
	vmwrite(HOST_TR_SELECTOR, 0x18);
	vmwrite(HOST_FS_BASE, 0);
	vmwrite(HOST_GS_BASE, (uint64_t)(uintptr_t)p);
	vmwrite(HOST_TR_BASE, (uint64_t)(uintptr_t)&p->tss);
	vmwrite(HOST_GDTR_BASE, (uint64_t)(uintptr_t)p->gdt);
	vmwrite(HOST_IDTR_BASE, idtr.base);
	vmwrite(HOST_IA32_SYSENTER_CS, 0);
	vmwrite(HOST_IA32_SYSENTER_ESP, 0);
	vmwrite(HOST_IA32_SYSENTER_EIP, 0);
	vmwrite(HOST_IA32_EFER, rdmsr(MSR_EFER));
	vmwrite(HOST_IA32_PAT, rdmsr(MSR_PAT));
	vmwrite(HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_entry);
}

/* Build v's VMCS on the calling CPU (v's own); err says why not. */
int vcpu_setup(struct vcpu *v, char *err, unsigned int n)
{
	uint32_t proc, proc2;

	if (!cpu_vmx_on()) {
		hv_snprintf(err, n, "VMXON failed on CPU %u", smp_processor_id());
		return -1;
	}
	if (!v->vmcs_pa && !(v->vmcs_pa = alloc_filled(0))) {
		hv_snprintf(err, n, "out of memory for the VMCS");
		return -1;
	}
	*(uint32_t *)(uintptr_t)v->vmcs_pa = (uint32_t)vmx_caps.basic & 0x7fffffff;
	if (!vmclear(v->vmcs_pa) || !vmptrld(v->vmcs_pa)) {
		hv_snprintf(err, n, "VMCLEAR/VMPTRLD failed");
		return -1;
	}
	this_cpu()->loaded_vcpu = v;
	proc = ctls.proc;
	proc2 = ctls.proc2;
	apicv_setup(v, &proc, &proc2);
	vmwrite(PIN_BASED_VM_EXEC_CONTROL, ctls.pin);
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, proc);
	vmwrite(SECONDARY_VM_EXEC_CONTROL, proc2);
	vmwrite(VM_EXIT_CONTROLS, ctls.exit);
	vmwrite(EXCEPTION_BITMAP, 0);
	vmwrite(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmwrite(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmwrite(CR3_TARGET_COUNT, 0);
	vmwrite(VM_EXIT_MSR_STORE_COUNT, 0);
	vmwrite(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmwrite(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmwrite(IO_BITMAP_A, io_bitmap_a);
	vmwrite(IO_BITMAP_B, io_bitmap_b);
	vmwrite(MSR_BITMAP, msr_bitmap);
	vmwrite(TSC_OFFSET, v->tsc_offset);
	vmwrite(VIRTUAL_PROCESSOR_ID, v->vpid);
	setup_host_state();
	setup_guest_state(v);
	invvpid_single(v->vpid);
	v->launched = false;
	v->loaded = true;
	v->intr_window = v->nmi_window = false;
	return 0;
}

static void vmcs_load(struct vcpu *v)
{
	struct percpu *p = this_cpu();

	if (p->loaded_vcpu != v) {
		vmptrld(v->vmcs_pa);
		p->loaded_vcpu = v;
	}
}

/*
 * After a slow-path exit, before its handler: an event whose delivery the
 * exit interrupted goes in again at the next entry (SDM 27.2.4).  An NMI
 * re-injected must not find the guest NMI-blocked (its delivery blocks
 * again; SDM 26.3.1.5).  An IRET that the exit cut short had already
 * ended NMI blocking (exit qualification bit 12): it runs again, so the
 * blocking comes back (SDM 27.2.3).
 */
static void complete_exit(uint32_t reason)
{
	uint32_t idt = (uint32_t)vmread(IDT_VECTORING_INFO_FIELD);
	uint32_t type;

	if (!(idt & INTR_INFO_VALID)) {
		if ((reason & 0xffff) == EXIT_REASON_EPT_VIOLATION &&
		    (vmread(EXIT_QUALIFICATION) & EPT_QUAL_NMI_UNBLOCKED))
			vmwrite(GUEST_INTERRUPTIBILITY_INFO,
				vmread(GUEST_INTERRUPTIBILITY_INFO) | BLOCK_NMI);
		return;
	}
	type = (idt >> 8) & 7;
	if (type == 2)
		vmwrite(GUEST_INTERRUPTIBILITY_INFO,
			vmread(GUEST_INTERRUPTIBILITY_INFO) & ~(uint64_t)BLOCK_NMI);
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, idt & 0x80000fffu);
	if (idt & INTR_INFO_DELIVER_CODE)
		vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, vmread(IDT_VECTORING_ERROR_CODE));
	if (type == 4 || type == 5 || type == 6)	/* software INTn, INT1, INT3/INTO */
		vmwrite(VM_ENTRY_INSTRUCTION_LEN, vmread(VM_EXIT_INSTRUCTION_LEN));
}

/* Interrupt- and NMI-window exiting on or off; the VMCS is written only when they change. */
static void set_windows(struct vcpu *v, bool intr, bool nmi)
{
	uint32_t proc;

	if (v->intr_window == intr && v->nmi_window == nmi)
		return;
	v->intr_window = intr;
	v->nmi_window = nmi;
	proc = (uint32_t)vmread(CPU_BASED_VM_EXEC_CONTROL) &
	       ~(CPU_INTR_WINDOW_EXITING | CPU_NMI_WINDOW_EXITING);
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, proc | (intr ? CPU_INTR_WINDOW_EXITING : 0) |
		(nmi ? CPU_NMI_WINDOW_EXITING : 0));
}

/*
 * NMIs posted since the last entry join the owner's count.  An NMI can be
 * held pending while another is blocked or going in (SDM 6.7.1), so the
 * count stops at 1 then; else at 2, the first of which goes in at once.
 */
static void take_nmis(struct vcpu *v, uint32_t block, bool injecting)
{
	uint32_t n = READ_ONCE(v->nmi_queued) ? __atomic_exchange_n(&v->nmi_queued, 0,
								      __ATOMIC_ACQUIRE) : 0;
	unsigned int limit = (block & BLOCK_NMI) || injecting ? 1 : 2;

	if (n)
		v->nmi_pending = v->nmi_pending + n > limit ? limit : v->nmi_pending + n;
}

/*
 * Before an entry: fire an expired APIC timer, then inject an NMI or the
 * highest deliverable interrupt if the guest can take it now, else ask for
 * an exit as soon as it can (NMI- or interrupt-window exiting).  An event
 * already going in (an exception, a re-injection) and a pending debug trap
 * go first.
 */
static void inject_events(struct vcpu *v)
{
	bool busy, intr_win = false, nmi_win = false;
	uint32_t block;
	int vec;

	if (vmx_debug_events_held(v)) {
		set_windows(v, false, false);
		return;
	}
	lapic_timer_update(v);
	if (v->apicv)
		apicv_before_entry(v);
	/* With virtual-interrupt delivery the CPU delivers the APIC's interrupts itself. */
	vec = v->apicv_vid ? -1 : lapic_pending_vector(v);
	if (vec < 0 && !v->nmi_pending && !READ_ONCE(v->nmi_queued)) {
		set_windows(v, false, false);	/* the common exit: nothing to deliver */
		return;
	}
	block = (uint32_t)vmread(GUEST_INTERRUPTIBILITY_INFO);
	/*
	 * A pending debug trap (a single step, a data breakpoint) is delivered
	 * after the entry unless an event is injected, which would discard it
	 * (SDM 26.6.3); it goes first anyway (SDM 6.9): wait for the window.
	 */
	busy = (vmread(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID) ||
	       (vmread(GUEST_PENDING_DBG_EXCEPTIONS) & PENDING_DBG_ANY);
	take_nmis(v, block, busy);
	if (v->nmi_pending) {
		/* STI blocking may block NMIs too (SDM 24.4.2, table 24-3): we take it so. */
		if (!busy && !(block & (BLOCK_STI | BLOCK_MOV_SS | BLOCK_NMI))) {
			v->nmi_pending--;
			vmwrite(VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID | INTR_TYPE_NMI | 2);
			busy = true;
		}
		/*
		 * Wait for the window.  Under STI blocking alone the interrupt
		 * window, which opens when the shadow ends: some CPUs would
		 * take an NMI-window exit inside the shadow, again and again.
		 */
		if (v->nmi_pending) {
			if (!busy && (block & (BLOCK_STI | BLOCK_MOV_SS | BLOCK_NMI)) == BLOCK_STI)
				intr_win = true;
			else
				nmi_win = true;
		}
	}
	if (vec >= 0) {
		if (!busy && (vmread(GUEST_RFLAGS) & RFLAGS_IF) &&
		    !(block & (BLOCK_STI | BLOCK_MOV_SS))) {
			lapic_accept(v, vec);
			vmwrite(VM_ENTRY_INTR_INFO_FIELD,
				INTR_INFO_VALID | INTR_TYPE_EXT_INTR | (uint32_t)vec);
		} else {
			intr_win = true;
		}
	}
	set_windows(v, intr_win, nmi_win);
}

/* INIT and SIPI posted by another vCPU; false: v has nothing to run (yet). */
static bool take_init_sipi(struct vcpu *v)
{
	int vector;

	if (lapic_take_init_sipi(v, &vector))
		vcpu_reset_sipi(v, vector);
	/* INIT to the BSP ends the vCPU: its guest restarts. */
	return !READ_ONCE(v->wait_sipi) && READ_ONCE(v->state) == VCPU_RUNNABLE;
}

/*
 * A root invalidated since the last entry (the vCPU was kicked): load a
 * valid one into EPT_POINTER.  -1: no memory for a root even after
 * reclaim; a guest was stopped (hv/mm/gmem.h).
 */
static int vcpu_load_root(struct vcpu *v)
{
	int rc = gmem_vcpu_load_root(v);

	if (rc <= 0)
		return rc;
	vmwrite(EPT_POINTER, v->eptp);
	/* The table page may have served an older root: drop what we cached. */
	invept_single(v->eptp);
	return 0;
}

/* Arm the preemption timer for @wake (host TSC): the slice's end or the guest's timer. */
static void arm_preemption_timer(uint64_t wake)
{
	uint64_t now = rdtsc(), ticks;

	ticks = now >= wake ? 0 : (wake - now) >> (vmx_caps.misc & 0x1f);
	vmwrite(VMX_PREEMPTION_TIMER_VALUE, ticks > 0xffffffffULL ? 0xffffffff : ticks);
}

/* Whichever comes first: the slice's end or the guest's APIC timer. */
static uint64_t next_wake(struct vcpu *v, uint64_t end)
{
	uint64_t wake = lapic_next_deadline(v);

	return wake && wake < end ? wake : end;
}

/*
 * May a fast-path exit go straight back in?  Not when the guest must stop,
 * a request waits, or its timer or slice ran out.  Interrupts posted by
 * other CPUs need no check: their kick is pending in the host's APIC and
 * makes the next entry exit at once, into the slow path.
 */
static bool fastpath_may_reenter(struct vcpu *v, uint64_t wake)
{
	return !READ_ONCE(v->requests) && !READ_ONCE(v->vm->stop_request) && rdtsc() < wake;
}

/* Run v until its slice ends, it halts, or it stops; on v's own CPU, interrupts off. */
void vcpu_run_slice(struct vcpu *v)
{
	uint64_t end = deadline_us(SLICE_US), wake;

	vmcs_load(v);
	/* The hypervisor never touches FPU/SSE state: only vCPUs sharing a CPU swap it. */
	__asm__ __volatile__("fxrstor %0" : : "m"(v->fx));
	while (READ_ONCE(v->state) == VCPU_RUNNABLE && !READ_ONCE(v->vm->stop_request)) {
		enum vmx_fastpath fast;
		uint32_t reason;
		int rc;

		if (vmx_debug_hold(v))		/* a debugger holds it: off the CPU */
			break;
		if (!take_init_sipi(v))
			break;
		if (v->halted) {
			if (!lapic_has_wakeup(v))
				break;
			v->halted = false;
		}
		if (vcpu_load_root(v))
			break;
		inject_events(v);
		wake = next_wake(v, end);
		/* The fast path: exits handled here go back in without the bookkeeping below. */
		do {
			arm_preemption_timer(wake);
			tlb_guest_enter();
			rc = vmx_enter(&v->regs, v->launched);
			tlb_guest_exit();
			if (rc)
				break;
			v->launched = true;
			v->exits++;
			reason = (uint32_t)vmread(VM_EXIT_REASON);
			fast = vmx_exit_fastpath(v, reason);
			if (fast == FASTPATH_REENTER_TIMER)
				wake = next_wake(v, end);
		} while (fast != FASTPATH_NONE && fastpath_may_reenter(v, wake));
		grace_quiescent();
		if (rc) {
			uint32_t e = (uint32_t)vmread(VM_INSTRUCTION_ERROR);

			guest_fail(v, "VM%s failed: VM-instruction error %u (%s)",
				   v->launched ? "RESUME" : "LAUNCH", rc == 2 ? e : 0,
				   rc == 2 ? vmx_insn_error_name(e) : "VMfailInvalid: no current VMCS");
			break;
		}
		if (fast == FASTPATH_NONE) {
			complete_exit(reason);
			/* Let pending host interrupts (IPIs) in; sti's shadow needs the nop. */
			__asm__ __volatile__("sti; nop; cli" ::: "memory");
			if (vmx_exit_dispatch(v, reason))
				break;
		}
		if (deadline_passed(end) && !v->halted)
			break;
	}
	/* guest_fail() on this vCPU: its state, while the VMCS is still current. */
	if (vcpu_check_request(v, VCPU_REQ_DUMP))
		vcpu_dump(v);
	__asm__ __volatile__("fxsave %0" : "=m"(v->fx));
}
