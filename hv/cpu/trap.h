/* SPDX-License-Identifier: MIT */
/* Exceptions and interrupts: descriptor tables, dispatch, fault dumps. */
#ifndef HV_TRAP_H
#define HV_TRAP_H

#include <stdint.h>

/* Pushed by hv/isr.asm; the order matches its pushes, lowest address first. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

#define VEC_NMI		2
#define VEC_DF		8
#define VEC_MC		18
#define VEC_CALL	0xf0	/* smp_call_on_cpus() */
#define VEC_KICK	0xf1	/* sched_kick(), shootdowns: the VM exit is the point */
#define VEC_TIMER	0xf2	/* apic_timer_arm(): wakes an idle CPU for a guest's timer */
#define VEC_SPURIOUS	0xff

typedef void (*irq_handler_t)(struct trap_frame *tf);

/* Load this CPU's GDT and TSS and the shared IDT. */
void trap_init_cpu(void);
void trap_set_handler(unsigned int vector, irq_handler_t fn);
void trap_dispatch(struct trap_frame *tf);
void trap_dump(const struct trap_frame *tf);
void backtrace_from(uint64_t rbp);
/* Make a fault on this CPU resume at the caller's hv_setjmp() point. */
#define trap_set_recovery()						\
	({ int __r = hv_setjmp(&this_cpu()->recover);			\
	   this_cpu()->recover_valid = true; __r; })

#endif
