/* SPDX-License-Identifier: MIT */
/*
 * The machine under hv/mm/tlb.c for host tests.  Each test thread is a CPU
 * (hosted_cpu_id), and CPU c's local APIC ID is c.  Per CPU:
 *
 *  - an EPT TLB: translations tagged by EPTP, kept until INVEPT on that CPU
 *    drops them.  invept_single() and invept_all() (hv/cpu/vmx_insn.h's
 *    hosted branch) act on the calling CPU's TLB, as the instructions do;
 *    only the CPU itself touches its TLB.
 *  - a pending IPI.  apic_send_fixed() posts it; a thread playing a CPU in
 *    guest mode polls hw_kicked() and leaves guest mode once it sees it, as
 *    external-interrupt exiting makes a real CPU exit, and takes it with
 *    hw_take_interrupts() after its exit (the vCPU loop's sti).  An IPI
 *    posted after that stays pending: the next guest-mode stay ends at once.
 *
 * Also the per-CPU areas tlb.c and gmem.c read (the APIC IDs, smp_ncpus).
 */
#ifndef TESTS_HV_MM_TLB_ENV_H
#define TESTS_HV_MM_TLB_ENV_H

#include <stdint.h>
#include <string.h>

#include "hv/cpu/vmx_insn.h"
#include "smp/apic.h"
#include "smp/percpu.h"

#define HW_TLB_ENTRIES	64	/* direct-mapped by key */

struct hw_tlb_entry {
	uint64_t eptp;		/* 0: empty */
	uint64_t key, val;
};

struct hw_cpu {
	/* The CPU's own. */
	struct hw_tlb_entry tlb[HW_TLB_ENTRIES];
	long invept_single, invept_all;
	/* Posted by any CPU (atomics). */
	int ipi;
	long ipis;
	int vector;
} __attribute__((aligned(64)));

struct percpu percpu_area[SMP_MAX_CPUS];
unsigned int smp_ncpus;

static struct hw_cpu hw_cpus[SMP_MAX_CPUS];
/* Optional, for staged tests: runs on the sender once an IPI to @cpu is posted. */
static void (*hw_ipi_hook)(unsigned int cpu);

/* @ncpus CPUs, every TLB empty, no IPI pending. */
static inline void hw_init(unsigned int ncpus)
{
	memset(hw_cpus, 0, sizeof(hw_cpus));
	hw_ipi_hook = NULL;
	smp_ncpus = ncpus;
	for (unsigned int c = 0; c < SMP_MAX_CPUS; c++) {
		percpu_area[c].cpu_id = c;
		percpu_area[c].apic_id = c;
	}
}

static inline struct hw_cpu *hw_this(void)
{
	return &hw_cpus[smp_processor_id()];
}

/* This CPU's cached translation of @key through @eptp. */
static inline bool hw_tlb_lookup(uint64_t eptp, uint64_t key, uint64_t *val)
{
	const struct hw_tlb_entry *e = &hw_this()->tlb[key % HW_TLB_ENTRIES];

	if (e->eptp != eptp || e->key != key)
		return false;
	*val = e->val;
	return true;
}

static inline void hw_tlb_fill(uint64_t eptp, uint64_t key, uint64_t val)
{
	hw_this()->tlb[key % HW_TLB_ENTRIES] = (struct hw_tlb_entry){ eptp, key, val };
}

/* Entries of @cpu tagged @eptp (0: any); with nothing running on @cpu. */
static inline int hw_tlb_cached(unsigned int cpu, uint64_t eptp)
{
	int n = 0;

	for (int i = 0; i < HW_TLB_ENTRIES; i++)
		n += hw_cpus[cpu].tlb[i].eptp && (!eptp || hw_cpus[cpu].tlb[i].eptp == eptp);
	return n;
}

void invept_single(uint64_t eptp)
{
	struct hw_cpu *h = hw_this();

	for (int i = 0; i < HW_TLB_ENTRIES; i++)
		if (h->tlb[i].eptp == eptp)
			h->tlb[i].eptp = 0;
	h->invept_single++;
}

void invept_all(void)
{
	struct hw_cpu *h = hw_this();

	for (int i = 0; i < HW_TLB_ENTRIES; i++)
		h->tlb[i].eptp = 0;
	h->invept_all++;
}

void apic_send_fixed(uint32_t dest, uint8_t vector)
{
	struct hw_cpu *h = &hw_cpus[dest];

	__atomic_store_n(&h->vector, vector, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->ipis, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&h->ipi, 1, __ATOMIC_RELEASE);
	if (hw_ipi_hook)
		hw_ipi_hook(dest);
}

/* In guest mode: has an IPI arrived (time to exit)? */
static inline bool hw_kicked(void)
{
	return __atomic_load_n(&hw_this()->ipi, __ATOMIC_ACQUIRE);
}

/* After the exit, interrupts on: take what is pending; whether anything was. */
static inline bool hw_take_interrupts(void)
{
	return __atomic_exchange_n(&hw_this()->ipi, 0, __ATOMIC_ACQ_REL);
}

#endif
