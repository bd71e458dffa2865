/* SPDX-License-Identifier: MIT */
/*
 * Descriptor tables.  Each CPU has its own GDT and TSS (the TSS carries the
 * IST stacks: #DF, NMI and #MC run on known-good stacks even when the main
 * stack is what broke); the IDT is shared and built once.
 */
#include "hv/cpu/trap.h"
#include "smp/percpu.h"

#define SEL_CODE	0x08
#define SEL_DATA	0x10
#define SEL_TSS		0x18

struct idt_entry {
	uint16_t off0;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off1;
	uint32_t off2;
	uint32_t zero;
} __attribute__((packed));

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern const uint64_t isr_stub_table[256];
static struct idt_entry idt[256] __attribute__((aligned(16)));
static bool idt_built;

static void build_idt(void)
{
	for (int v = 0; v < 256; v++) {
		uint64_t a = isr_stub_table[v];

		idt[v] = (struct idt_entry){
			.off0 = a & 0xffff, .sel = SEL_CODE, .type = 0x8e,
			.off1 = (a >> 16) & 0xffff, .off2 = a >> 32,
		};
	}
	idt[VEC_DF].ist = 1;
	idt[VEC_NMI].ist = 2;
	idt[VEC_MC].ist = 3;
	idt_built = true;
}

void trap_init_cpu(void)
{
	struct percpu *p = this_cpu();
	uint64_t tss = (uint64_t)(uintptr_t)&p->tss;
	struct desc_ptr gdtr = { sizeof(p->gdt) - 1, (uint64_t)(uintptr_t)p->gdt };
	struct desc_ptr idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };

	if (!idt_built)
		build_idt();
	for (int i = 0; i < 3; i++)
		p->tss.ist[i] = (uint64_t)(uintptr_t)p->ist_stacks[i] + IST_STACK_SIZE;
	p->tss.iomap_base = sizeof(p->tss);

	p->gdt[0] = 0;
	p->gdt[1] = 0x00af9a000000ffffULL;	/* 64-bit code */
	p->gdt[2] = 0x00cf92000000ffffULL;	/* data */
	p->gdt[3] = (sizeof(p->tss) - 1) | ((tss & 0xffffff) << 16) |
		    (0x89ULL << 40) | ((tss >> 24 & 0xff) << 56);
	p->gdt[4] = tss >> 32;

	__asm__ __volatile__(
		"lgdt %0\n\t"
		"pushq %1\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"movl %2, %%eax\n\t"
		"movl %%eax, %%ds\n\t"
		"movl %%eax, %%es\n\t"
		"movl %%eax, %%ss\n\t"
		"xorl %%eax, %%eax\n\t"
		"movl %%eax, %%fs\n\t"
		"ltr %w3\n\t"
		"lidt %4"
		: : "m"(gdtr), "i"(SEL_CODE), "i"(SEL_DATA), "r"(SEL_TSS), "m"(idtr)
		: "rax", "memory");
}
