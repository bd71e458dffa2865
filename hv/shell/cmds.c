/* SPDX-License-Identifier: MIT */
/* Shell commands: one short function each, in the table at the end. */
#include "hv/cpu/console.h"
#include "hv/cpu/hv.h"
#include "hv/cpu/page_alloc.h"
#include "hv/cpu/power.h"
#include "hv/cpu/vmx_caps.h"
#include "hv/lib/parse.h"
#include "hv/lib/x86.h"
#include "hv/shell/shell.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "smp/percpu.h"
#include "smp/smp.h"
#include "smp/time.h"

static const char *const cpu_states[] = {
	[CPU_ABSENT] = "absent", [CPU_STARTING] = "starting", [CPU_ONLINE] = "online",
	[CPU_NO_ANSWER] = "no answer", [CPU_HALTED] = "halted",
};
static const char *const vmx_states[] = {
	[VMX_UNKNOWN] = "unknown", [VMX_ABSENT] = "absent", [VMX_LOCKED_OFF] = "disabled",
	[VMX_FAILED] = "failed", [VMX_OK] = "ok",
};
static const char *const level_names[] = { "err", "warn", "info", "debug" };

static int usage(const char *name)
{
	const struct shell_cmd *c = shell_find(shell_cmds, shell_ncmds, name);

	pr_info("usage: %s %s\n", name, c && c->args ? c->args : "");
	return -1;
}

static int cmd_help(int argc, char **argv)
{
	if (argc > 2)
		return usage("help");
	if (argc == 2) {
		const struct shell_cmd *c = shell_find(shell_cmds, shell_ncmds, argv[1]);

		if (!c) {
			pr_info("error: unknown command '%s'\n", argv[1]);
			return -1;
		}
		pr_info("%s %s\n  %s\n", c->name, c->args ? c->args : "", c->help);
		return 0;
	}
	for (unsigned int i = 0; i < shell_ncmds; i++)
		pr_info("  %-10s %-22s %s\n", shell_cmds[i].name,
			shell_cmds[i].args ? shell_cmds[i].args : "", shell_cmds[i].help);
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return usage("version");
	pr_info("%s (built %s %s), loader %s, booted from %s\n", HV_VERSION, __DATE__, __TIME__,
		boot_info->loader_version, boot_info->source[0] ? boot_info->source : "unknown");
	return 0;
}

static int cmd_cpus(int argc, char **argv)
{
	unsigned int online = 0;

	(void)argv;
	if (argc != 1)
		return usage("cpus");
	pr_info("CPU  APIC  state      faults  VT-x\n");
	for (unsigned int i = 0; i < smp_ncpus; i++) {
		struct percpu *p = per_cpu(i);
		int st = READ_ONCE(p->state), vmx = READ_ONCE(p->vmx);

		online += st == CPU_ONLINE;
		pr_info("%3u  %4u  %-9s  %6llu  %s: %s\n", i, p->apic_id, cpu_states[st],
			(unsigned long long)p->faults, vmx_states[vmx],
			p->vmx_msg[0] ? p->vmx_msg : "-");
	}
	pr_info("%u of %u CPUs online\n", online, smp_ncpus);
	return 0;
}

static int cmd_mem(int argc, char **argv)
{
	struct page_alloc_stats st;
	uint64_t by_type[4] = { 0 };

	(void)argv;
	if (argc != 1)
		return usage("mem");
	page_alloc_stats(&st);
	for (uint32_t i = 0; i < boot_info->nranges; i++)
		if (boot_info->ranges[i].type < 4)
			by_type[boot_info->ranges[i].type] += boot_info->ranges[i].npages;
	pr_info("firmware map: %llu KiB usable, %llu KiB reserved, %llu KiB ACPI\n",
		(unsigned long long)by_type[BOOT_MEM_FREE] * 4,
		(unsigned long long)by_type[BOOT_MEM_RESERVED] * 4,
		(unsigned long long)by_type[BOOT_MEM_ACPI] * 4);
	pr_info("total %llu KiB, free %llu KiB (%llu pages), per-CPU caches %llu pages\n",
		(unsigned long long)st.total_pages * 4, (unsigned long long)st.free_pages * 4,
		(unsigned long long)st.free_pages, (unsigned long long)st.pcp_pages);
	pr_info("allocations %llu, frees %llu, failures %llu\n",
		(unsigned long long)st.allocs, (unsigned long long)st.frees,
		(unsigned long long)st.failures);
	for (unsigned int o = 0; o <= PAGE_MAX_ORDER; o++)
		pr_info("  order %2u (%5u KiB): %llu free blocks\n", o, 4u << o,
			(unsigned long long)st.free_blocks[o]);
	shell_mem_reclaim_report();
	return 0;
}

static int cmd_vmx(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return usage("vmx");
	for (unsigned int i = 0; i < smp_ncpus; i++)
		pr_info("CPU %u: VT-x %s: %s\n", i, vmx_states[per_cpu(i)->vmx], per_cpu(i)->vmx_msg);
	vmx_print_caps(&vmx_caps);
	return 0;
}

static int cmd_uptime(int argc, char **argv)
{
	uint64_t us = time_us();

	(void)argv;
	if (argc != 1)
		return usage("uptime");
	pr_info("up %llu.%03llu s (TSC %llu kHz)\n", (unsigned long long)(us / 1000000),
		(unsigned long long)(us / 1000 % 1000), (unsigned long long)tsc_khz);
	return 0;
}

static int cmd_log(int argc, char **argv)
{
	if (argc == 1) {
		console_dump_log(LOG_DEBUG);
		return 0;
	}
	if (argc != 2)
		return usage("log");
	for (int l = 0; l < 4; l++) {
		if (!strcmp(argv[1], level_names[l]) || (argv[1][0] == '0' + l && !argv[1][1])) {
			console_level = l;
			pr_info("console log level: %s\n", level_names[l]);
			return 0;
		}
	}
	pr_info("error: unknown log level '%s' (err, warn, info, debug or 0-3)\n", argv[1]);
	return -1;
}

static int cmd_reboot(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return usage("reboot");
	power_reboot();
}

static int cmd_poweroff(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return usage("poweroff");
	power_off();
}

static void do_fault(void *arg)
{
	const char *kind = arg;
	volatile uint64_t zero = 0;

	if (!strcmp(kind, "ud"))
		__asm__ __volatile__("ud2");
	else if (!strcmp(kind, "gp"))
		(void)*(volatile uint64_t *)0x8000000000000000ULL;	/* non-canonical */
	else if (!strcmp(kind, "pf"))
		(void)*(volatile uint64_t *)0xffff900000000000ULL;
	else if (!strcmp(kind, "de"))
		(void)(1 / zero);
	else if (!strcmp(kind, "bp"))
		__asm__ __volatile__("int3");
	else if (!strcmp(kind, "wp"))
		*(volatile uint8_t *)(uintptr_t)do_fault = 0xcc;	/* write to text */
}

static int cmd_fault(int argc, char **argv)
{
	static const char *const kinds[] = { "ud", "gp", "pf", "de", "bp", "wp" };
	uint64_t cpu = 0;
	const char *kind = NULL;

	if (argc < 2 || argc > 3)
		return usage("fault");
	for (unsigned int i = 0; i < 6; i++)
		if (!strcmp(argv[1], kinds[i]))
			kind = kinds[i];
	if (!kind) {
		pr_info("error: unknown fault '%s' (ud, gp, pf, de, bp, wp)\n", argv[1]);
		return -1;
	}
	if (argc == 3 && (!parse_u64(argv[2], &cpu) || cpu >= smp_ncpus ||
			  !(smp_online_mask() & (1ULL << cpu)))) {
		pr_info("error: '%s' is not an online CPU\n", argv[2]);
		return -1;
	}
	pr_info("raising %s on CPU %llu\n", kind, (unsigned long long)cpu);
	if (cpu == smp_processor_id()) {
		do_fault((void *)kind);
		pr_info("no fault happened\n");
		return 0;
	}
	if (!(smp_call_on_cpus(1ULL << cpu, do_fault, (void *)kind, 500000) & (1ULL << cpu)))
		pr_info("CPU %llu did not complete the call (it faulted)\n", (unsigned long long)cpu);
	return 0;
}

static int cmd_cfg(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return usage("cfg");
	if (!boot_info->nmodules || strcmp(boot_info->modules[0].name, "hv.cfg")) {
		pr_info("no hv.cfg was read\n");
	} else {
		const char *s = (const char *)(uintptr_t)boot_info->modules[0].pa;
		uint64_t n = boot_info->modules[0].size;

		pr_info("hv.cfg (%llu bytes, from %s):\n", (unsigned long long)n, boot_info->source);
		for (uint64_t i = 0; i < n;) {
			uint64_t j = i;

			while (j < n && s[j] != '\n')
				j++;
			pr_info("  | %.*s\n", (int)(j - i), s + i);
			i = j + 1;
		}
	}
	for (uint32_t i = 1; i < boot_info->nmodules; i++)
		pr_info("file %s: %llu bytes at %llx\n", boot_info->modules[i].name,
			(unsigned long long)boot_info->modules[i].size,
			(unsigned long long)boot_info->modules[i].pa);
	if (boot_info->module_errors[0])
		pr_info("files that could not be read: %s\n", boot_info->module_errors);
	return 0;
}

static int cmd_acpi(int argc, char **argv)
{
	const struct acpi_info *a = &boot_info->acpi;

	(void)argv;
	if (argc != 1)
		return usage("acpi");
	if (boot_info->acpi_error[0])
		pr_info("ACPI error: %s\n", boot_info->acpi_error);
	pr_info("RSDP %llx, revision %u, OEM '%s'\n", (unsigned long long)boot_info->rsdp,
		a->revision, a->oem_id);
	pr_info("MADT: %u CPUs enabled, %u disabled, LAPIC at %llx, %u I/O APICs\n", a->ncpus,
		a->cpus_disabled, (unsigned long long)a->lapic_addr, a->nioapics);
	for (uint32_t i = 0; i < a->ncpus; i++)
		pr_info("  CPU APIC ID %u UID %u%s\n", a->cpus[i].apic_id, a->cpus[i].uid,
			a->cpus[i].x2apic_entry ? " (x2APIC entry)" : "");
	pr_info("FADT: PM1a_CNT %x PM1b_CNT %x PM timer %x, reset %s, S5 %s (SLP_TYP %u/%u)\n",
		a->pm1a_cnt, a->pm1b_cnt, a->pm_tmr_blk, a->reset_valid ? "yes" : "no",
		a->s5_valid ? "yes" : "no", a->s5_typ_a, a->s5_typ_b);
	if (a->warnings[0])
		pr_info("warnings: %s\n", a->warnings);
	return 0;
}

int cmd_guests(int argc, char **argv);
int cmd_guest(int argc, char **argv);
int cmd_vcpu(int argc, char **argv);
int cmd_vmcs(int argc, char **argv);
int cmd_exits(int argc, char **argv);
int cmd_console(int argc, char **argv);
int cmd_gdb(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_ept(int argc, char **argv);
int cmd_age(int argc, char **argv);
int cmd_reclaim(int argc, char **argv);
int cmd_rmap(int argc, char **argv);
int cmd_page(int argc, char **argv);
int cmd_pci(int argc, char **argv);
int cmd_virtio(int argc, char **argv);
int cmd_balloon(int argc, char **argv);

const struct shell_cmd shell_cmds[] = {
	{ "acpi", NULL, "show what the ACPI tables said", cmd_acpi },
	{ "age", "[NAME]", "one aging pass (EPT accessed bits), then the generations", cmd_age },
	{ "balloon", "NAME [SIZE]", "a guest's balloon and statistics, or the memory it may keep",
	  cmd_balloon },
	{ "bench", "exit", "time the CPUID exit round trip (runs guest 'bench')", cmd_bench },
	{ "cfg", NULL, "show hv.cfg and the files it named", cmd_cfg },
	{ "console", "NAME", "attach the terminal to a guest's serial line (Ctrl-] detaches)",
	  cmd_console },
	{ "cpus", NULL, "list CPUs: APIC ID, state, VT-x", cmd_cpus },
	{ "ept", "roots [NAME] | walk NAME GPA | zap NAME GPA LEN | invalidate NAME",
	  "EPT roots, a walk, a zap of a range, a new root while the guest runs", cmd_ept },
	{ "exits", "[NAME]", "VM exits per reason, per guest", cmd_exits },
	{ "fault", "ud|gp|pf|de|bp|wp [CPU]", "raise a deliberate fault (tests the dump)", cmd_fault },
	{ "gdb", "NAME [com1|com2]", "stop a guest for GDB on a serial line (COM1: until it detaches)",
	  cmd_gdb },
	{ "guest", "start|stop|restart NAME...", "start, stop or restart guests", cmd_guest },
	{ "guests", NULL, "list guests: state, vCPUs, CPUs, memory", cmd_guests },
	{ "help", "[command]", "list commands, or explain one", cmd_help },
	{ "log", "[err|warn|info|debug]", "show the message log, or set the console level", cmd_log },
	{ "mem", NULL, "physical memory, guest memory and reclaim figures", cmd_mem },
	{ "page", "NAME GPA", "where a guest page is: resident, evicted, zero", cmd_page },
	{ "pci", "NAME", "a guest's PCI devices: IDs, BARs, MSI-X, INTx", cmd_pci },
	{ "poweroff", NULL, "power the machine off (ACPI S5, else emulator exit)", cmd_poweroff },
	{ "reboot", NULL, "reset the machine", cmd_reboot },
	{ "reclaim", "N", "evict N guest pages (oldest generation first) to the store", cmd_reclaim },
	{ "rmap", "HPA", "which guest page a host page backs, and its EPT mappings", cmd_rmap },
	{ "uptime", NULL, "time since the hypervisor started", cmd_uptime },
	{ "vcpu", "NAME N [WORDS [GVA]]", "registers of a guest's vCPU; WORDS quadwords at RSP or GVA", cmd_vcpu },
	{ "version", NULL, "hypervisor and loader versions", cmd_version },
	{ "virtio", "NAME", "a guest's virtio devices: status, queues, requests, errors", cmd_virtio },
	{ "vmcs", "CPU", "decoded fields of the VMCS current on a CPU", cmd_vmcs },
	{ "vmx", NULL, "VT-x state per CPU and decoded capabilities", cmd_vmx },
};
const unsigned int shell_ncmds = sizeof(shell_cmds) / sizeof(shell_cmds[0]);
