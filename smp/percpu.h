/* SPDX-License-Identifier: MIT */
/*
 * Per-CPU areas.  GS base points at the CPU's own struct percpu; the first
 * fields are read with %gs-relative loads (smp/cpu.h, smp/lock_order.h), so keep
 * them first.
 */
#ifndef SMP_PERCPU_H
#define SMP_PERCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/lib/setjmp.h"
#include "smp/atomic.h"
#include "smp/cpu.h"

#define IST_STACK_SIZE	4096
#define CPU_STACK_SIZE	(32 * 1024)

enum cpu_state { CPU_ABSENT = 0, CPU_STARTING, CPU_ONLINE, CPU_NO_ANSWER, CPU_HALTED };
enum vmx_state { VMX_UNKNOWN = 0, VMX_ABSENT, VMX_LOCKED_OFF, VMX_FAILED, VMX_OK };

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct percpu {
	struct percpu *self;		/* offset 0 */
	uint32_t cpu_id;		/* offset 8: smp_processor_id() */
	uint32_t apic_id;
	uint64_t locks_held;		/* offset 16: smp/lock_order.h's mask of held orders */

	/* Written by the CPU itself, read by others (cpus, the start-up wait). */
	int state;
	int vmx;
	char vmx_msg[96];

	uint64_t stack_lo, stack_hi;	/* the CPU's main stack, for backtraces */
	uint64_t gdt[5];
	struct tss64 tss;

	/* Fault recovery: where a fault on this CPU resumes (shell loop or idle loop). */
	struct jmp_buf recover;
	bool recover_valid;
	int irq_depth;			/* nested interrupt handlers, each owes an EOI */
	uint64_t faults;

	/* VMX root operation on this CPU (hv/vmx/vcpu.c); only this CPU writes these. */
	bool vmx_on;
	uint64_t vmxon_pa;
	void *loaded_vcpu;		/* whose VMCS is current here */
	void *run_queue;		/* hv/guest/sched.c's per-CPU list */

	uint8_t ist_stacks[3][IST_STACK_SIZE] __attribute__((aligned(16)));
};

_Static_assert(offsetof(struct percpu, cpu_id) == 8, "smp_processor_id() reads %gs:8");
_Static_assert(offsetof(struct percpu, locks_held) == 16, "locks_held() reads %gs:16");

extern struct percpu percpu_area[SMP_MAX_CPUS];
extern unsigned int smp_ncpus;		/* CPUs found in the MADT, BSP first */

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;

	__asm__ __volatile__("movq %%gs:0, %0" : "=r"(p));
	return p;
}

static inline struct percpu *per_cpu(unsigned int cpu)
{
	return &percpu_area[cpu];
}

/* Point GS at cpu's area and fill its identity. */
void percpu_init(unsigned int cpu, uint32_t apic_id);

#endif
