/* SPDX-License-Identifier: MIT */
/*
 * Exception and interrupt dispatch.  A fault prints a full dump on serial and
 * then resumes the CPU at its recovery point (the shell loop on the BSP, the
 * idle loop on an AP), so the shell stays usable; a CPU without one halts.
 */
#include "hv/cpu/console.h"
#include "hv/cpu/trap.h"
#include "hv/lib/symbols.h"
#include "hv/lib/x86.h"
#include "lib/printk.h"
#include "smp/apic.h"
#include "smp/lock_order.h"
#include "smp/percpu.h"
#include "smp/smp.h"

static irq_handler_t handlers[256];
/* Set by smp_stop_others(): an NMI now means "stop this CPU". */


static const char *const exc_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD error", "#VE virtualization", "#CP control protection",
};

void trap_set_handler(unsigned int vector, irq_handler_t fn)
{
	handlers[vector & 0xff] = fn;
}

static void print_sym(const char *what, uint64_t addr)
{
	uint64_t off;
	const char *name = symbol_lookup(addr, &off);

	if (name)
		pr_err("%s %016llx <%s+0x%llx>\n", what, (unsigned long long)addr, name,
		       (unsigned long long)off);
	else
		pr_err("%s %016llx\n", what, (unsigned long long)addr);
}

void backtrace_from(uint64_t rbp)
{
	struct percpu *p = this_cpu();

	for (int depth = 0; depth < 16 && rbp; depth++) {
		uint64_t *fp = (uint64_t *)(uintptr_t)rbp;

		/* Follow frame pointers only inside this CPU's own stack. */
		if (rbp & 7 || rbp < p->stack_lo || rbp + 16 > p->stack_hi)
			break;
		if (!fp[1])
			break;
		print_sym("  at", fp[1]);
		rbp = fp[0];
	}
}

void trap_dump(const struct trap_frame *tf)
{
	unsigned int v = tf->vector;

	pr_err("=== CPU %u: exception %llu (%s), error code 0x%llx ===\n", smp_processor_id(),
	       (unsigned long long)v, v < 32 && exc_names[v] ? exc_names[v] : "interrupt",
	       (unsigned long long)tf->error);
	print_sym("RIP", tf->rip);
	pr_err("RSP %016llx RFLAGS %016llx CS %04llx SS %04llx\n",
	       (unsigned long long)tf->rsp, (unsigned long long)tf->rflags,
	       (unsigned long long)tf->cs, (unsigned long long)tf->ss);
	pr_err("CR0 %016llx CR2 %016llx CR3 %016llx CR4 %016llx\n",
	       (unsigned long long)read_cr0(), (unsigned long long)read_cr2(),
	       (unsigned long long)read_cr3(), (unsigned long long)read_cr4());
	pr_err("RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n",
	       (unsigned long long)tf->rax, (unsigned long long)tf->rbx,
	       (unsigned long long)tf->rcx, (unsigned long long)tf->rdx);
	pr_err("RSI %016llx RDI %016llx RBP %016llx R8  %016llx\n",
	       (unsigned long long)tf->rsi, (unsigned long long)tf->rdi,
	       (unsigned long long)tf->rbp, (unsigned long long)tf->r8);
	pr_err("R9  %016llx R10 %016llx R11 %016llx R12 %016llx\n",
	       (unsigned long long)tf->r9, (unsigned long long)tf->r10,
	       (unsigned long long)tf->r11, (unsigned long long)tf->r12);
	pr_err("R13 %016llx R14 %016llx R15 %016llx\n",
	       (unsigned long long)tf->r13, (unsigned long long)tf->r14,
	       (unsigned long long)tf->r15);
	pr_err("backtrace:\n");
	backtrace_from(tf->rbp);
}

static void recover_entry(void)
{
	/* Whatever the faulting code held stays held; the order check starts afresh. */
	locks_held_set(0);
	hv_longjmp(&this_cpu()->recover, 1);
}

__attribute__((noreturn)) void cpu_halt_forever(void)
{
	this_cpu()->state = CPU_HALTED;
	for (;;) {
		irq_disable();
		halt();
	}
}

static void handle_fault(struct trap_frame *tf)
{
	struct percpu *p = this_cpu();

	p->faults++;
	trap_dump(tf);
	if (!p->recover_valid || tf->vector == VEC_DF || tf->vector == VEC_MC) {
		pr_err("CPU %u: no way to recover; halting this CPU\n", p->cpu_id);
		cpu_halt_forever();
	}
	/* Interrupt handlers we abandon still owe their EOIs. */
	for (; p->irq_depth > 0; p->irq_depth--)
		apic_eoi();
	pr_err("CPU %u: recovered; back to %s\n", p->cpu_id,
	       p->cpu_id == 0 ? "the shell" : "the idle loop");
	tf->rip = (uint64_t)(uintptr_t)recover_entry;
	tf->rsp = ((p->recover.rsp - 512) & ~15ULL) - 8;
	tf->rflags = 0x2;
}

void trap_dispatch(struct trap_frame *tf)
{
	unsigned int v = tf->vector;
	struct percpu *p = this_cpu();

	if (v == VEC_NMI) {
		if (READ_ONCE(panic_in_progress)) {
			console_force_unlock();
			pr_err("CPU %u: stopped\n", p->cpu_id);
			cpu_halt_forever();
		}
		pr_warn("CPU %u: unexpected NMI at %llx\n", p->cpu_id,
			(unsigned long long)tf->rip);
		return;
	}
	if (v < 32) {
		handle_fault(tf);
		return;
	}
	if (v == VEC_SPURIOUS)
		return;
	p->irq_depth++;
	if (handlers[v])
		handlers[v](tf);
	else
		pr_warn("CPU %u: unexpected interrupt vector %u\n", p->cpu_id, v);
	p->irq_depth--;
	apic_eoi();
}
