/* SPDX-License-Identifier: MIT */
/* Decoding the VMX capability MSRs for people (the shell's `vmx`). */
#include "hv/cpu/vmx_caps.h"
#include "lib/printk.h"

struct bit_name {
	int bit;
	const char *name;
};

static const struct bit_name pin_bits[] = {
	{ 0, "external-interrupt exiting" }, { 3, "NMI exiting" }, { 5, "virtual NMIs" },
	{ 6, "preemption timer" }, { 7, "posted interrupts" }, { -1, NULL },
};
static const struct bit_name proc_bits[] = {
	{ 2, "interrupt-window exiting" }, { 3, "TSC offsetting" }, { 7, "HLT exiting" },
	{ 9, "INVLPG exiting" }, { 10, "MWAIT exiting" }, { 11, "RDPMC exiting" },
	{ 12, "RDTSC exiting" }, { 15, "CR3-load exiting" }, { 16, "CR3-store exiting" },
	{ 19, "CR8-load exiting" }, { 20, "CR8-store exiting" }, { 21, "TPR shadow" },
	{ 22, "NMI-window exiting" }, { 23, "MOV-DR exiting" },
	{ 24, "unconditional I/O exiting" }, { 25, "I/O bitmaps" },
	{ 27, "monitor trap flag" }, { 28, "MSR bitmaps" }, { 29, "MONITOR exiting" },
	{ 30, "PAUSE exiting" }, { 31, "secondary controls" }, { -1, NULL },
};
static const struct bit_name proc2_bits[] = {
	{ 0, "virtualize APIC accesses" }, { 1, "EPT" }, { 2, "descriptor-table exiting" },
	{ 3, "RDTSCP" }, { 4, "virtualize x2APIC mode" }, { 5, "VPID" },
	{ 6, "WBINVD exiting" }, { 7, "unrestricted guest" }, { 8, "APIC-register virtualization" },
	{ 9, "virtual-interrupt delivery" }, { 10, "PAUSE-loop exiting" },
	{ 11, "RDRAND exiting" }, { 12, "INVPCID" }, { 13, "VM functions" },
	{ 14, "VMCS shadowing" }, { 16, "RDSEED exiting" }, { 17, "PML" },
	{ 18, "EPT-violation #VE" }, { 20, "XSAVES/XRSTORS" }, { 25, "TSC scaling" },
	{ -1, NULL },
};
static const struct bit_name exit_bits[] = {
	{ 2, "save debug controls" }, { 9, "host address-space size" },
	{ 12, "load PERF_GLOBAL_CTRL" }, { 15, "acknowledge interrupt on exit" },
	{ 18, "save PAT" }, { 19, "load PAT" }, { 20, "save EFER" }, { 21, "load EFER" },
	{ 22, "save preemption timer" }, { -1, NULL },
};
static const struct bit_name entry_bits[] = {
	{ 2, "load debug controls" }, { 9, "IA-32e mode guest" }, { 13, "load PERF_GLOBAL_CTRL" },
	{ 14, "load PAT" }, { 15, "load EFER" }, { -1, NULL },
};
static const struct bit_name ept_bits[] = {
	{ 0, "execute-only pages" }, { 6, "page-walk length 4" }, { 8, "uncacheable type" },
	{ 14, "write-back type" }, { 16, "2 MiB pages" }, { 17, "1 GiB pages" },
	{ 20, "INVEPT" }, { 21, "accessed/dirty bits" }, { 22, "advanced exit information" },
	{ 25, "INVEPT single-context" }, { 26, "INVEPT all-context" }, { 32, "INVVPID" },
	{ 40, "INVVPID individual-address" }, { 41, "INVVPID single-context" },
	{ 42, "INVVPID all-context" }, { 43, "INVVPID single-context-retaining-globals" },
	{ -1, NULL },
};

/* allowed1 shift: control MSRs keep allowed-1 settings in the high half. */
static void print_bits(const char *title, uint64_t v, int shift, const struct bit_name *b)
{
	pr_info("%s:\n", title);
	for (; b->name; b++) {
		bool yes = (v >> (b->bit + shift)) & 1;
		bool must = shift && ((v >> b->bit) & 1);

		pr_info("  %-40s %s\n", b->name, must ? "yes (required)" : yes ? "yes" : "no");
	}
}

void vmx_print_caps(const struct vmx_caps *c)
{
	if (!c->valid) {
		pr_info("VT-x: no capabilities read (VT-x absent or disabled on the BSP)\n");
		return;
	}
	pr_info("VMCS revision %llu, VMCS region %llu bytes, true controls %s, "
		"VM-exit instruction info on INS/OUTS %s\n",
		(unsigned long long)(c->basic & 0x7fffffff),
		(unsigned long long)((c->basic >> 32) & 0x1fff),
		c->basic & (1ULL << 55) ? "yes" : "no", c->basic & (1ULL << 54) ? "yes" : "no");
	pr_info("preemption timer: TSC >> %llu; CR3 targets %llu; "
		"activity states: HLT %s, shutdown %s, wait-for-SIPI %s\n",
		(unsigned long long)(c->misc & 0x1f), (unsigned long long)((c->misc >> 16) & 0x1ff),
		c->misc & (1 << 6) ? "yes" : "no", c->misc & (1 << 7) ? "yes" : "no",
		c->misc & (1 << 8) ? "yes" : "no");
	print_bits("pin-based controls", c->pin, 32, pin_bits);
	print_bits("processor-based controls", c->proc, 32, proc_bits);
	print_bits("secondary processor-based controls", c->proc2, 32, proc2_bits);
	print_bits("VM-exit controls", c->exit, 32, exit_bits);
	print_bits("VM-entry controls", c->entry, 32, entry_bits);
	print_bits("EPT/VPID capabilities", c->ept_vpid, 0, ept_bits);
	pr_info("CR0 fixed0 %016llx fixed1 %016llx; CR4 fixed0 %016llx fixed1 %016llx\n",
		(unsigned long long)c->cr0_fixed0, (unsigned long long)c->cr0_fixed1,
		(unsigned long long)c->cr4_fixed0, (unsigned long long)c->cr4_fixed1);
}
