/* SPDX-License-Identifier: MIT */
/*
 * vCPUs on physical CPUs: each CPU but CPU 0 (the shell's) runs the vCPUs
 * pinned to it round-robin, a time slice each, and halts when none is
 * runnable (hv/guest/sched.c).
 */
#ifndef HV_GUEST_SCHED_H
#define HV_GUEST_SCHED_H

struct vcpu;

void sched_init(void);
/* Queue a started vCPU on its CPU (from the shell). */
void sched_add(struct vcpu *v);
/* What an AP runs once online; never returns. */
void sched_cpu_loop(void) __attribute__((noreturn));

#endif
