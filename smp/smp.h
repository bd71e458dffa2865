/* SPDX-License-Identifier: MIT */
/* Bringing up the other CPUs and running functions on them. */
#ifndef SMP_SMP_H
#define SMP_SMP_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/bootinfo.h"

typedef void (*smp_call_fn)(void *arg);

/*
 * What the layers above give AP start-up: smp/ knows no traps, page tables or
 * VT-x, so main.c passes them in.
 */
struct smp_boot_ops {
	/* A CPU_STACK_SIZE stack, naturally aligned; 0: none. */
	uint64_t (*alloc_stack)(void);
	/* On each AP before it counts as online: descriptors, control registers, probes. */
	void (*cpu_init)(void);
	/* What an online AP runs; never returns. */
	void (*idle)(void) __attribute__((noreturn));
};

/* Start every CPU the MADT lists with INIT-SIPI-SIPI; a CPU that does not
 * answer within the timeout is reported and skipped. */
void smp_boot_aps(const struct boot_info *bi, const struct smp_boot_ops *ops);
uint64_t smp_online_mask(void);

/*
 * Run fn(arg) on every CPU in mask (the caller's own included, run inline)
 * and wait up to timeout_us for them.  Returns the mask of CPUs that
 * finished; the caller decides what a missing CPU means.
 */
uint64_t smp_call_on_cpus(uint64_t mask, smp_call_fn fn, void *arg, uint64_t timeout_us);
/* The VEC_CALL interrupt: run this CPU's pending call (wired to the IDT by main.c). */
void smp_call_interrupt(void);

/* Stop every other CPU with an NMI (panic); sets panic_in_progress. */
void smp_stop_others(void);
extern bool panic_in_progress;

/* The AP's C entry (from smp/ap_start.asm). */
void ap_main(void *percpu);

#endif
