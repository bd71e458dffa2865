/* SPDX-License-Identifier: MIT */
#include "hv/lib/x86.h"
#include "smp/percpu.h"

struct percpu percpu_area[SMP_MAX_CPUS];
unsigned int smp_ncpus = 1;

void percpu_init(unsigned int cpu, uint32_t apic_id)
{
	struct percpu *p = &percpu_area[cpu];

	p->self = p;
	p->cpu_id = cpu;
	p->apic_id = apic_id;
	wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)p);
}
