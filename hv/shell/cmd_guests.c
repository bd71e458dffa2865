/* SPDX-License-Identifier: MIT */
/* Shell commands for guests: guests, guest, vcpu, vmcs, exits, console, bench. */
#include "hv/core/vm.h"
#include "hv/gdb/session.h"
#include "hv/gdb/vmem.h"
#include "hv/mm/gmem.h"
#include "hv/guest/guest.h"
#include "hv/lib/format.h"
#include "hv/lib/parse.h"
#include "hv/lib/x86.h"
#include "hv/shell/shell.h"
#include "hv/vdev/lapic.h"
#include "hv/vdev/uart.h"
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "smp/percpu.h"
#include "smp/smp.h"
#include "smp/time.h"

extern struct vm *console_vm;

static struct vm *find_or_complain(const char *name)
{
	struct vm *vm = vm_find(name);

	if (!vm)
		pr_info("error: no guest named '%s' (see 'guests')\n", name);
	return vm;
}

int cmd_guests(int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		pr_info("usage: guests\n");
		return -1;
	}
	pr_info("name             state    vCPUs  CPUs  memory   mode       pages  detail\n");
	for (int i = 0; i < VM_MAX; i++) {
		struct vm *vm = &vms[i];
		const char *dbg = gdb_session_state(vm);
		char cpus[32] = "";
		size_t n = 0;

		if (vm->state == VM_EMPTY)
			continue;
		for (unsigned int c = 0; c < vm->cfg.vcpus && n < sizeof(cpus) - 4; c++)
			n += hv_snprintf(cpus + n, sizeof(cpus) - n, "%s%u", c ? "," : "",
					 vm->vcpus[c].cpu);
		pr_info("%-16s %-8s %5u  %-5s %4llu MiB %-10s %5llu  %s\n", vm->cfg.name,
			vm_state_name(vm->state), vm->cfg.vcpus, vm->state == VM_RUNNING ? cpus : "-",
			(unsigned long long)(vm->cfg.memory >> 20), config_mode_name(vm->cfg.mode),
			(unsigned long long)(vm->mem_ready ? READ_ONCE(vm->mem.st.resident) : 0),
			vm->state == VM_FAILED ? vm->fail_reason :
			vm->state == VM_EXITED ? "exit status" : dbg ? dbg : "");
		if (vm->state == VM_EXITED)
			pr_info("%-16s exit status %d\n", "", vm->exit_status);
	}
	return 0;
}

static int guest_action(const char *action, struct vm *vm)
{
	if (!strcmp(action, "start"))
		return vm_start(vm);
	if (vm_stop(vm, "by the shell"))
		return -1;
	return action[0] == 'r' ? vm_start(vm) : 0;
}

/* Several names: all are checked first, then acted on back to back. */
int cmd_guest(int argc, char **argv)
{
	struct vm *vm[CFG_MAX_GUESTS];
	int rc = 0;

	if (argc < 3 || argc - 2 > CFG_MAX_GUESTS ||
	    (strcmp(argv[1], "start") && strcmp(argv[1], "stop") && strcmp(argv[1], "restart"))) {
		pr_info("usage: guest start|stop|restart NAME...\n");
		return -1;
	}
	for (int i = 2; i < argc; i++)
		if (!(vm[i - 2] = find_or_complain(argv[i])))
			return -1;
	for (int i = 2; i < argc; i++)
		rc |= guest_action(argv[1], vm[i - 2]);
	return rc;
}

struct vcpu_snapshot {
	struct vcpu *v;
	uint64_t rip, rsp, rflags, cr0, cr3, cr4, efer;
	uint32_t block, activity, entry_event, proc;
	uint16_t intr_status;
	bool ok;
};

static void snapshot_vcpu(void *arg)
{
	struct vcpu_snapshot *s = arg;

	if (this_cpu()->loaded_vcpu != s->v || !s->v->loaded)
		return;
	s->rip = vmread(GUEST_RIP);
	s->rsp = vmread(GUEST_RSP);
	s->rflags = vmread(GUEST_RFLAGS);
	s->cr0 = vcpu_guest_cr0();
	s->cr3 = vmread(GUEST_CR3);
	s->cr4 = vcpu_guest_cr4();
	s->efer = vmread(GUEST_IA32_EFER);
	s->block = (uint32_t)vmread(GUEST_INTERRUPTIBILITY_INFO);
	s->activity = (uint32_t)vmread(GUEST_ACTIVITY_STATE);
	s->entry_event = (uint32_t)vmread(VM_ENTRY_INTR_INFO_FIELD);
	s->proc = (uint32_t)vmread(CPU_BASED_VM_EXEC_CONTROL);
	if (s->v->apicv_vid)
		s->intr_status = (uint16_t)vmread(GUEST_INTR_STATUS);
	s->ok = true;
}

/* Guest RAM for the stack dump: the page walk's tables and the words. */
static int stack_read_phys(void *opaque, uint64_t gpa, void *buf, unsigned int len)
{
	struct vm *vm = opaque;

	return guest_range_is_ram(vm->cfg.memory, gpa, len ? len : 1) ? gmem_read(vm, gpa, buf, len) : -1;
}

static int stack_phys(void *opaque, uint64_t gpa, void *buf, size_t n, bool write)
{
	return write ? -1 : stack_read_phys(opaque, gpa, buf, (unsigned int)n);
}

/* @words quadwords from guest-virtual @at (its RSP, say), through its own page tables. */
static void dump_stack(struct vm *vm, const struct vcpu_snapshot *s, uint64_t at,
		       unsigned int words)
{
	struct gdb_vmem m = {
		.mmu = { .cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer,
			 .rflags = s->rflags, .read_phys = stack_read_phys, .opaque = vm },
		.phys = stack_phys,
		.opaque = vm,
	};
	uint64_t w[4];

	for (unsigned int i = 0; i < words; i += 4) {
		size_t got = gdb_vmem_access(&m, at + 8ull * i, w, sizeof(w), false);

		if (got < sizeof(w)) {
			pr_info("%016llx: not mapped\n", (unsigned long long)(at + 8ull * i));
			return;
		}
		pr_info("%016llx: %016llx %016llx %016llx %016llx\n",
			(unsigned long long)(at + 8ull * i), (unsigned long long)w[0],
			(unsigned long long)w[1], (unsigned long long)w[2], (unsigned long long)w[3]);
	}
}

int cmd_vcpu(int argc, char **argv)
{
	struct vcpu_snapshot s = { 0 };
	struct vm *vm;
	uint64_t n, words = 0, at = 0;
	const struct guest_regs *r;

	if (argc < 3 || argc > 5 || (argc >= 4 && (!parse_u64(argv[3], &words) || words > 512)) ||
	    (argc == 5 && !parse_u64(argv[4], &at))) {
		pr_info("usage: vcpu NAME N [WORDS [GVA]]  (WORDS <= 512 quadwords from RSP or GVA)\n");
		return -1;
	}
	if (!(vm = find_or_complain(argv[1])))
		return -1;
	if (!parse_u64(argv[2], &n) || n >= vm->cfg.vcpus) {
		pr_info("error: guest %s has no vCPU '%s'\n", vm->cfg.name, argv[2]);
		return -1;
	}
	s.v = &vm->vcpus[n];
	smp_call_on_cpus(1ULL << s.v->cpu, snapshot_vcpu, &s, 200000);
	r = &s.v->regs;
	pr_info("%s vCPU %llu on CPU %u: %s, %llu exits, last exit %u (%s)\n", vm->cfg.name,
		(unsigned long long)n, s.v->cpu,
		s.v->state == VCPU_RUNNABLE ? "runnable" : s.v->state == VCPU_DONE ? "done" : "idle",
		(unsigned long long)s.v->exits, s.v->last_exit_reason & 0xffff,
		vmx_exit_name(s.v->last_exit_reason));
	{
		const struct vlapic *l = s.v->lapic;

		pr_info("APIC %u %s, TPR %02x, highest IRR %d ISR %d, timer %s, %llu timer "
			"interrupts%s%s\n", l->id, (l->apic_base & (1 << 10)) ? "x2APIC" : "xAPIC",
			READ_ONCE(l->regs[0x80 / 4]), lapic_highest_irr(l), lapic_highest_isr(l),
			l->timer_deadline ? "armed" : "idle",
			(unsigned long long)l->timer_fired, s.v->halted ? ", halted" : "",
			READ_ONCE(s.v->wait_sipi) ? ", waiting for SIPI" : "");
	}
	if (!s.ok) {
		pr_info("(its VMCS is not loaded on CPU %u: registers as of the last exit)\n",
			s.v->cpu);
	} else {
		pr_info("RIP %016llx RSP %016llx RFLAGS %016llx\nCR0 %016llx CR3 %016llx "
			"CR4 %016llx EFER %llx\n", (unsigned long long)s.rip,
			(unsigned long long)s.rsp, (unsigned long long)s.rflags,
			(unsigned long long)s.cr0, (unsigned long long)s.cr3,
			(unsigned long long)s.cr4, (unsigned long long)s.efer);
		pr_info("interruptibility %x, activity %u, entry event %08x, windows: %s%s%s\n",
			s.block, s.activity, s.entry_event,
			(s.proc & CPU_INTR_WINDOW_EXITING) ? "interrupt " : "",
			(s.proc & CPU_NMI_WINDOW_EXITING) ? "NMI " : "",
			(s.proc & (CPU_INTR_WINDOW_EXITING | CPU_NMI_WINDOW_EXITING)) ? "" : "none");
		if (s.v->apicv)
			pr_info("APICv: virtual-interrupt delivery %s, RVI %02x SVI %02x, TPR threshold %u\n",
				s.v->apicv_vid ? "on" : "off", s.intr_status & 0xff,
				s.intr_status >> 8, s.v->tpr_threshold);
	}
	pr_info("RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n",
		(unsigned long long)r->rax, (unsigned long long)r->rbx,
		(unsigned long long)r->rcx, (unsigned long long)r->rdx);
	pr_info("RSI %016llx RDI %016llx RBP %016llx R8  %016llx\n",
		(unsigned long long)r->rsi, (unsigned long long)r->rdi,
		(unsigned long long)r->rbp, (unsigned long long)r->r8);
	pr_info("R9  %016llx R10 %016llx R11 %016llx R12 %016llx\n",
		(unsigned long long)r->r9, (unsigned long long)r->r10,
		(unsigned long long)r->r11, (unsigned long long)r->r12);
	pr_info("R13 %016llx R14 %016llx R15 %016llx\n", (unsigned long long)r->r13,
		(unsigned long long)r->r14, (unsigned long long)r->r15);
	if (words && s.ok && READ_ONCE(vm->mem_ready))
		dump_stack(vm, &s, argc == 5 ? at : s.rsp, (unsigned int)words);
	return 0;
}

static const struct { uint32_t field; const char *name; } vmcs_fields[] = {
	{ PIN_BASED_VM_EXEC_CONTROL, "pin-based controls" },
	{ CPU_BASED_VM_EXEC_CONTROL, "processor-based controls" },
	{ SECONDARY_VM_EXEC_CONTROL, "secondary controls" },
	{ VM_EXIT_CONTROLS, "exit controls" }, { VM_ENTRY_CONTROLS, "entry controls" },
	{ EXCEPTION_BITMAP, "exception bitmap" }, { EPT_POINTER, "EPT pointer" },
	{ VIRTUAL_PROCESSOR_ID, "VPID" }, { GUEST_RIP, "guest RIP" }, { GUEST_RSP, "guest RSP" },
	{ GUEST_RFLAGS, "guest RFLAGS" }, { GUEST_CR0, "guest CR0" }, { GUEST_CR3, "guest CR3" },
	{ GUEST_CR4, "guest CR4" }, { GUEST_IA32_EFER, "guest EFER" },
	{ GUEST_CS_SELECTOR, "guest CS" }, { GUEST_CS_AR_BYTES, "guest CS access rights" },
	{ GUEST_ACTIVITY_STATE, "guest activity state" },
	{ GUEST_INTERRUPTIBILITY_INFO, "guest interruptibility" },
	{ VM_EXIT_REASON, "exit reason" }, { EXIT_QUALIFICATION, "exit qualification" },
	{ GUEST_PHYSICAL_ADDRESS, "guest-physical address" },
	{ VM_INSTRUCTION_ERROR, "VM-instruction error" },
	{ HOST_CR3, "host CR3" }, { HOST_RIP, "host RIP" }, { HOST_RSP, "host RSP" },
};
#define NFIELDS (sizeof(vmcs_fields) / sizeof(vmcs_fields[0]))

struct vmcs_snapshot {
	uint64_t val[NFIELDS];
	bool ok;
	const char *owner;
};

static void snapshot_vmcs(void *arg)
{
	struct vmcs_snapshot *s = arg;
	struct vcpu *v = this_cpu()->loaded_vcpu;

	if (!this_cpu()->vmx_on || !v)
		return;
	for (unsigned int i = 0; i < NFIELDS; i++)
		s->val[i] = vmread(vmcs_fields[i].field);
	s->owner = v->vm->cfg.name;
	s->ok = true;
}

int cmd_vmcs(int argc, char **argv)
{
	struct vmcs_snapshot s = { 0 };
	uint64_t cpu;

	if (argc != 2 || !parse_u64(argv[1], &cpu) || cpu >= smp_ncpus ||
	    !(smp_online_mask() & (1ULL << cpu))) {
		pr_info("usage: vmcs CPU (an online CPU)\n");
		return -1;
	}
	if (!(smp_call_on_cpus(1ULL << cpu, snapshot_vmcs, &s, 200000) & (1ULL << cpu)) ||
	    !s.ok) {
		pr_info("CPU %llu has no current VMCS\n", (unsigned long long)cpu);
		return 0;
	}
	pr_info("current VMCS on CPU %llu (guest %s):\n", (unsigned long long)cpu, s.owner);
	for (unsigned int i = 0; i < NFIELDS; i++)
		pr_info("  %04x %-26s %016llx%s%s\n", vmcs_fields[i].field, vmcs_fields[i].name,
			(unsigned long long)s.val[i],
			vmcs_fields[i].field == VM_EXIT_REASON ? "  " : "",
			vmcs_fields[i].field == VM_EXIT_REASON ?
			vmx_exit_name((uint32_t)s.val[i]) : "");
	return 0;
}

int cmd_exits(int argc, char **argv)
{
	bool any = false;

	if (argc > 2) {
		pr_info("usage: exits [NAME]\n");
		return -1;
	}
	for (int i = 0; i < VM_MAX; i++) {
		struct vm *vm = &vms[i];

		if (vm->state == VM_EMPTY || (argc == 2 && strcmp(argv[1], vm->cfg.name)))
			continue;
		any = true;
		pr_info("%s: unknown ports %llu, unknown MSRs %llu, unassigned memory %llu\n",
			vm->cfg.name, (unsigned long long)vm->unknown_ports,
			(unsigned long long)vm->unknown_msrs, (unsigned long long)vm->unknown_mmio);
		for (int r = 0; r < EXIT_REASONS; r++)
			if (vm->exit_count[r])
				pr_info("  %2d %-24s %llu\n", r, vmx_exit_name(r),
					(unsigned long long)vm->exit_count[r]);
	}
	if (!any && argc == 2)
		pr_info("error: no guest named '%s'\n", argv[1]);
	return 0;
}

int cmd_console(int argc, char **argv)
{
	struct vm *vm;

	if (argc != 2) {
		pr_info("usage: console NAME (Ctrl-] detaches)\n");
		return -1;
	}
	if (!(vm = find_or_complain(argv[1])))
		return -1;
	pr_info("console attached to %s; Ctrl-] detaches\n", vm->cfg.name);
	uart_attach(vm);
	return 0;
}

/*
 * bench exit: run the guest named "bench" (tests/guests/bench_exit.asm),
 * which reports TSC ticks per iteration of a calibration loop of known
 * instruction count (report 0) and per CPUID round trip (report 1), both
 * x1000.  Under Bochs with `clock: sync=none` the TSC follows executed
 * instructions, so the figures are instruction counts.
 */
int cmd_bench(int argc, char **argv)
{
	struct vm *vm;
	uint64_t d;

	if (argc != 2 || strcmp(argv[1], "exit")) {
		pr_info("usage: bench exit\n");
		return -1;
	}
	vm = vm_find("bench");
	if (!vm) {
		pr_info("error: hv.cfg has no guest named 'bench' (image bench_exit.bin)\n");
		return -1;
	}
	if (vm_start(vm))
		return -1;
	d = deadline_us(120000000);
	while (READ_ONCE(vm->state) == VM_RUNNING && !deadline_passed(d))
		cpu_relax();
	if (vm->state != VM_EXITED || vm->exit_status != 0) {
		pr_info("error: the bench guest did not finish (%s)\n", vm_state_name(vm->state));
		return -1;
	}
	pr_info("bench exit: calibration loop %llu.%03llu TSC ticks per instruction\n",
		(unsigned long long)(vm->bench_result[0] / 1000),
		(unsigned long long)(vm->bench_result[0] % 1000));
	pr_info("bench exit: CPUID exit round trip %llu.%03llu TSC ticks\n",
		(unsigned long long)(vm->bench_result[1] / 1000),
		(unsigned long long)(vm->bench_result[1] % 1000));
	return 0;
}
