/* SPDX-License-Identifier: MIT */
/* Bringing up the other CPUs and running functions on them. */
#ifndef SMP_SMP_H
#define SMP_SMP_H

#include <stdint.h>

#include "hv/cpu/bootinfo.h"

typedef void (*smp_call_fn)(void *arg);

/* Start every CPU the MADT lists with INIT-SIPI-SIPI; a CPU that does not
 * answer within the timeout is reported and skipped. */
void smp_boot_aps(const struct boot_info *bi);
uint64_t smp_online_mask(void);

/*
 * Run fn(arg) on every CPU in mask (the caller's own included, run inline)
 * and wait up to timeout_us for them.  Returns the mask of CPUs that
 * finished; the caller decides what a missing CPU means.
 */
uint64_t smp_call_on_cpus(uint64_t mask, smp_call_fn fn, void *arg, uint64_t timeout_us);
void smp_call_init(void);

/* Stop every other CPU with an NMI (panic). */
void smp_stop_others(void);

/* What an AP runs once online (never returns); NULL: halt until interrupted. */
extern void (*smp_idle_fn)(void);

/* The AP's C entry and idle loop. */
void ap_main(void *percpu);

#endif
