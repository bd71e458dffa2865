/* SPDX-License-Identifier: MIT */
/*
 * The monolith's BSP entry: take the machine over from the loader's state,
 * build our own memory management, start the other CPUs, probe VT-x on all
 * of them, and give the console to the shell.
 */
#include "hv/cpu/bootinfo.h"
#include "lib/check.h"
#include "hv/cpu/hv.h"
#include "hv/cpu/page_alloc.h"
#include "hv/cpu/paging.h"
#include "hv/cpu/power.h"
#include "hv/cpu/printk.h"
#include "hv/cpu/serial.h"
#include "hv/shell/shell.h"
#include "hv/cpu/trap.h"
#include "hv/core/vm.h"
#include "hv/cpu/vmx_caps.h"
#include "hv/lib/x86.h"
#include "smp/apic.h"
#include "smp/grace.h"
#include "smp/percpu.h"
#include "smp/smp.h"
#include "smp/time.h"

#define LOW_MEMORY_END	0x100000ULL	/* below 1 MiB stays with firmware and the trampoline */

const struct boot_info *boot_info;
extern char hv_boot_stack[], hv_boot_stack_top[];

static void mem_init(const struct boot_info *bi)
{
	uint64_t max_pfn = 0, meta_pa = 0, meta_pages;
	size_t meta_size;

	for (uint32_t i = 0; i < bi->nranges; i++) {
		const struct boot_mem_range *r = &bi->ranges[i];

		if (r->type == BOOT_MEM_FREE && (r->base >> 12) + r->npages > max_pfn)
			max_pfn = (r->base >> 12) + r->npages;
	}
	meta_size = page_alloc_meta_size(0, max_pfn);
	meta_pages = (meta_size + 4095) / 4096;
	for (uint32_t i = 0; i < bi->nranges && !meta_pa; i++) {
		const struct boot_mem_range *r = &bi->ranges[i];

		if (r->type == BOOT_MEM_FREE && r->base >= LOW_MEMORY_END && r->npages >= meta_pages)
			meta_pa = r->base;
	}
	if (!meta_pa)
		panic("no free range can hold %zu bytes of page metadata", meta_size);
	page_alloc_init((void *)(uintptr_t)meta_pa, 0, max_pfn);

	for (uint32_t i = 0; i < bi->nranges; i++) {
		const struct boot_mem_range *r = &bi->ranges[i];
		uint64_t start = r->base, end = r->base + r->npages * 4096;

		if (r->type != BOOT_MEM_FREE)
			continue;
		if (start < LOW_MEMORY_END)
			start = LOW_MEMORY_END;
		if (start == meta_pa)
			start += meta_pages * 4096;
		if (start < end)
			page_alloc_add_free(start >> 12, (end - start) >> 12);
	}
}

static void cpus_init(const struct boot_info *bi)
{
	unsigned int n = 1;

	/* The BSP is CPU 0; the others follow in MADT order. */
	for (uint32_t i = 0; i < bi->acpi.ncpus && n < SMP_MAX_CPUS; i++)
		if (bi->acpi.cpus[i].apic_id != per_cpu(0)->apic_id)
			per_cpu(n++)->apic_id = bi->acpi.cpus[i].apic_id;
	smp_ncpus = n;
}

void hv_main(struct boot_info *bi)
{
	struct percpu *bsp = per_cpu(0);

	serial_init();
	percpu_init(0, bi->bsp_apic_id);
	bsp->stack_lo = (uint64_t)(uintptr_t)hv_boot_stack;
	bsp->stack_hi = (uint64_t)(uintptr_t)hv_boot_stack_top;
	trap_init_cpu();
	pr_info("\n%s starting on CPU 0 (APIC ID %u)\n", HV_VERSION, bi->bsp_apic_id);
	if (bi->magic != BOOTINFO_MAGIC || bi->version != BOOTINFO_VERSION)
		panic("boot info magic %llx version %u: loader and monolith do not match",
		      (unsigned long long)bi->magic, bi->version);
	boot_info = bi;
	time_init(bi->tsc_khz);
	mem_init(bi);
	paging_init(bi);
	power_init(bi);
	apic_init_cpu();
	apic_timer_calibrate();
	bsp->apic_id = apic_id();
	smp_call_init();
	sched_init();
	smp_idle_fn = sched_cpu_loop;
	if (bi->acpi_error[0])
		pr_warn("ACPI: %s\n", bi->acpi_error);
	pr_info("cpus: %u listed by %s\n", bi->acpi.ncpus, bi->cpu_source);
	cpus_init(bi);
	vmx_probe_cpu();
	bsp->state = CPU_ONLINE;
	grace_cpu_online(0);
	smp_boot_aps(bi);
	hv_report_boot();
	guests_boot();
	shell_run();
}
