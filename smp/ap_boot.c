/* SPDX-License-Identifier: MIT */
/*
 * Application processors: INIT-SIPI-SIPI through the real-mode trampoline
 * (smp/ap_start.asm), then each AP runs the per-CPU set-up it was given.
 */
#include "hv/lib/x86.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "smp/apic.h"
#include "smp/grace.h"
#include "smp/percpu.h"
#include "smp/smp.h"
#include "smp/time.h"

#define AP_ANSWER_US	200000

extern const uint8_t ap_tramp_start[], ap_tramp_end[], tr_long[], tr_gdt[];
extern uint32_t tr_gdtr_base, tr_ljmp_off, tr_cr3_low, tr_efer;
extern uint64_t tr_cr3, tr_stack, tr_cpu, tr_entry;

#define TR_OFF(sym)	((uintptr_t)&(sym) - (uintptr_t)ap_tramp_start)

/* Set by smp_boot_aps() before the first AP starts; read by every AP. */
static const struct smp_boot_ops *boot_ops;

uint64_t smp_online_mask(void)
{
	uint64_t m = 0;

	for (unsigned int i = 0; i < smp_ncpus; i++)
		if (READ_ONCE(per_cpu(i)->state) == CPU_ONLINE)
			m |= 1ULL << i;
	return m;
}

void ap_main(void *arg)
{
	struct percpu *p = arg;
	uint64_t sp;

	percpu_init(p->cpu_id, p->apic_id);
	__asm__ __volatile__("mov %%rsp, %0" : "=r"(sp));
	p->stack_hi = (sp + CPU_STACK_SIZE - 1) & ~(uint64_t)(CPU_STACK_SIZE - 1);
	p->stack_lo = p->stack_hi - CPU_STACK_SIZE;
	boot_ops->cpu_init();
	apic_init_cpu();
	/* Pairs with the acquire in wait_online(): everything above is visible first. */
	store_release(&p->state, CPU_ONLINE);
	grace_cpu_online(smp_processor_id());
	boot_ops->idle();
}

static void build_temp_tables(uint64_t tpa)
{
	uint64_t *pml4 = (uint64_t *)(uintptr_t)(tpa + 0x1000);
	uint64_t *pdpt = (uint64_t *)(uintptr_t)(tpa + 0x2000);
	uint64_t *pd = (uint64_t *)(uintptr_t)(tpa + 0x3000);

	memset(pml4, 0, 3 * 4096);
	pml4[0] = (tpa + 0x2000) | 3;
	pdpt[0] = (tpa + 0x3000) | 3;
	for (int i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;
}

static bool wait_online(struct percpu *p, uint64_t us)
{
	uint64_t d = deadline_us(us);

	while (!deadline_passed(d)) {
		if (load_acquire(&p->state) == CPU_ONLINE)
			return true;
		cpu_relax();
	}
	return false;
}

static void patch(uint64_t tpa, uintptr_t off, uint64_t v, int size)
{
	if (size == 4)
		*(uint32_t *)(uintptr_t)(tpa + off) = (uint32_t)v;
	else
		*(uint64_t *)(uintptr_t)(tpa + off) = v;
}

void smp_boot_aps(const struct boot_info *bi, const struct smp_boot_ops *ops)
{
	uint64_t tpa = bi->trampoline_pa;
	bool nx = cpuid(0x80000001, 0).edx & (1u << 20);

	if (bi->acpi.ncpus <= 1)
		return;
	if (!tpa) {
		pr_err("smp: no trampoline page below 1 MiB; running on the BSP only\n");
		return;
	}
	boot_ops = ops;
	memcpy((void *)(uintptr_t)tpa, ap_tramp_start, ap_tramp_end - ap_tramp_start);
	build_temp_tables(tpa);
	patch(tpa, TR_OFF(tr_gdtr_base), tpa + ((uintptr_t)tr_gdt - (uintptr_t)ap_tramp_start), 4);
	patch(tpa, TR_OFF(tr_ljmp_off), tpa + ((uintptr_t)tr_long - (uintptr_t)ap_tramp_start), 4);
	patch(tpa, TR_OFF(tr_cr3_low), tpa + 0x1000, 4);
	patch(tpa, TR_OFF(tr_efer), (1u << 8) | (nx ? EFER_NXE : 0), 4);
	patch(tpa, TR_OFF(tr_cr3), read_cr3(), 8);
	patch(tpa, TR_OFF(tr_entry), (uint64_t)(uintptr_t)ap_main, 8);

	for (unsigned int i = 1; i < smp_ncpus; i++) {
		struct percpu *p = per_cpu(i);
		uint64_t stack = ops->alloc_stack();

		if (!stack) {
			pr_err("smp: no memory for CPU %u's stack\n", i);
			p->state = CPU_NO_ANSWER;
			continue;
		}
		p->cpu_id = i;
		p->state = CPU_STARTING;
		patch(tpa, TR_OFF(tr_stack), stack + CPU_STACK_SIZE - 16, 8);
		patch(tpa, TR_OFF(tr_cpu), (uint64_t)(uintptr_t)p, 8);

		apic_send_init(p->apic_id);
		udelay(10000);
		apic_send_sipi(p->apic_id, tpa >> 12);
		if (!wait_online(p, 1000)) {
			apic_send_sipi(p->apic_id, tpa >> 12);
			wait_online(p, AP_ANSWER_US);
		}
		if (READ_ONCE(p->state) != CPU_ONLINE) {
			pr_err("smp: CPU %u (APIC ID %u) did not answer; skipping it\n", i, p->apic_id);
			p->state = CPU_NO_ANSWER;
			apic_send_init(p->apic_id);	/* park it, should it wake late */
		}
	}
}
