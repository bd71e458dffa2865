/* SPDX-License-Identifier: MIT */
/* Exceptions and interrupts: descriptor tables, dispatch, fault dumps. */
#ifndef HV_TRAP_H
#define HV_TRAP_H

#include <stdint.h>

#include "smp/vectors.h"

/* Pushed by hv/cpu/isr.asm; the order matches its pushes, lowest address first. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};


typedef void (*irq_handler_t)(struct trap_frame *tf);

/* Load this CPU's GDT and TSS and the shared IDT. */
void trap_init_cpu(void);
void trap_set_handler(unsigned int vector, irq_handler_t fn);
void trap_dispatch(struct trap_frame *tf);
void trap_dump(const struct trap_frame *tf);
void backtrace_from(uint64_t rbp);
/* Halt this CPU for good, interrupts off (after a panic elsewhere, a fatal fault). */
void cpu_halt_forever(void) __attribute__((noreturn));
/* Make a fault on this CPU resume at the caller's hv_setjmp() point. */
#define trap_set_recovery()						\
	({ int __r = hv_setjmp(&this_cpu()->recover);			\
	   this_cpu()->recover_valid = true; __r; })

#endif
