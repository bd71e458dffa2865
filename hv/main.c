/* SPDX-License-Identifier: MIT */
/*
 * The monolith's BSP entry: take the machine over from the loader's state,
 * build our own memory management, start the other CPUs, probe VT-x on all
 * of them, and give the console to the shell.
 */
#include "boot/bootinfo.h"
#include "hv/cpu/hv.h"
#include "hv/cpu/page_alloc.h"
#include "hv/cpu/paging.h"
#include "hv/cpu/power.h"
#include "hv/cpu/serial.h"
#include "hv/cpu/trap.h"
#include "hv/cpu/vmx_caps.h"
#include "hv/guest/guest.h"
#include "hv/guest/sched.h"
#include "hv/lib/x86.h"
#include "hv/shell/shell.h"
#include "lib/check.h"
#include "lib/printk.h"
#include "smp/apic.h"
#include "smp/grace.h"
#include "smp/percpu.h"
#include "smp/smp.h"
#include "smp/time.h"

#define LOW_MEMORY_END	0x100000ULL	/* below 1 MiB stays with firmware and the trampoline */

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

/* Print the boot summary: CPUs online, VT-x per CPU, memory. */
static void report_boot(void)
{
	unsigned int online = 0, vmx_ok = 0;
	struct page_alloc_stats st;

	for (unsigned int i = 0; i < smp_ncpus; i++) {
		online += per_cpu(i)->state == CPU_ONLINE;
		vmx_ok += per_cpu(i)->vmx == VMX_OK;
	}
	page_alloc_stats(&st);
	pr_info("smp: %u of %u CPUs online\n", online, smp_ncpus);
	if (per_cpu(0)->vmx == VMX_ABSENT)
		pr_info("%s\n", per_cpu(0)->vmx_msg);
	else
		pr_info("vmx: VMXON/VMXOFF succeeded on %u of %u CPUs\n", vmx_ok, smp_ncpus);
	pr_info("mem: %llu MiB free of %llu MiB\n", (unsigned long long)st.free_pages >> 8,
		(unsigned long long)st.total_pages >> 8);
	pr_info("hv ready; type 'help'\n");
}

static void call_interrupt(struct trap_frame *tf)
{
	(void)tf;
	smp_call_interrupt();
}

/* ---- what AP start-up (smp/) is given ---- */

static uint64_t ap_alloc_stack(void)
{
	BUILD_BUG_ON(CPU_STACK_SIZE != PAGE_SIZE << 3);
	return page_alloc(3);		/* naturally aligned, as ap_main() assumes */
}

static void ap_cpu_init(void)
{
	trap_init_cpu();
	cpu_setup_control_regs();
	vmx_probe_cpu();
}

/* An online AP runs the vCPU scheduler; a fault in it resumes here, the CPU still online. */
__attribute__((noreturn)) static void ap_idle(void)
{
	if (trap_set_recovery())
		this_cpu()->state = CPU_ONLINE;
	sched_cpu_loop();
}

static const struct smp_boot_ops ap_ops = {
	.alloc_stack = ap_alloc_stack,
	.cpu_init = ap_cpu_init,
	.idle = ap_idle,
};

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
	trap_set_handler(VEC_CALL, call_interrupt);
	sched_init();
	if (bi->acpi_error[0])
		pr_warn("ACPI: %s\n", bi->acpi_error);
	pr_info("cpus: %u listed by %s\n", bi->acpi.ncpus, bi->cpu_source);
	cpus_init(bi);
	vmx_probe_cpu();
	bsp->state = CPU_ONLINE;
	grace_cpu_online(0);
	smp_boot_aps(bi, &ap_ops);
	report_boot();
	guests_boot();
	shell_run();
}
