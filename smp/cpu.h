/* SPDX-License-Identifier: MIT */
/*
 * Which CPU am I.  The hypervisor keeps the CPU number in its per-CPU area
 * (GS base, see smp/percpu.h); the hosted build gives each test thread a
 * number of its own.
 */
#ifndef SMP_CPU_H
#define SMP_CPU_H

#define SMP_MAX_CPUS	64

#ifdef HOSTED
extern __thread unsigned int hosted_cpu_id;
static inline unsigned int smp_processor_id(void)
{
	return hosted_cpu_id;
}
#else
/* Offset 8 of struct percpu, checked there with a static assert. */
static inline unsigned int smp_processor_id(void)
{
	unsigned int id;

	__asm__ __volatile__("movl %%gs:8, %0" : "=r"(id));
	return id;
}
#endif

#endif
