/* SPDX-License-Identifier: MIT */
/* x86 instructions and architectural constants the hypervisor core uses. */
#ifndef HV_X86_H
#define HV_X86_H

#include <stdint.h>

#define CR0_PE		(1ULL << 0)
#define CR0_MP		(1ULL << 1)
#define CR0_NE		(1ULL << 5)
#define CR0_WP		(1ULL << 16)
#define CR0_AM		(1ULL << 18)
#define CR0_NW		(1ULL << 29)
#define CR0_CD		(1ULL << 30)
#define CR0_PG		(1ULL << 31)
#define CR4_PSE		(1ULL << 4)
#define CR4_PAE		(1ULL << 5)
#define CR4_PGE		(1ULL << 7)
#define CR4_PCE		(1ULL << 8)
#define CR4_LA57	(1ULL << 12)
#define CR4_VMXE	(1ULL << 13)
#define CR4_PCIDE	(1ULL << 17)
#define CR4_SMEP	(1ULL << 20)
#define CR4_SMAP	(1ULL << 21)
#define CR4_PKE		(1ULL << 22)
#define CR4_CET		(1ULL << 23)

/* Paging-structure entries (SDM 4.3-4.5). */
#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_US		(1ULL << 2)
#define PTE_A		(1ULL << 5)
#define PTE_D		(1ULL << 6)
#define PTE_PS		(1ULL << 7)
#define PTE_XD		(1ULL << 63)

#define MSR_APIC_BASE		0x1b
#define MSR_FEATURE_CONTROL	0x3a
#define MSR_EFER		0xc0000080
#define MSR_GS_BASE		0xc0000101
#define EFER_SCE		(1ULL << 0)
#define EFER_LME		(1ULL << 8)
#define EFER_LMA		(1ULL << 10)
#define EFER_NXE		(1ULL << 11)

#define RFLAGS_TF	(1ULL << 8)
#define RFLAGS_IF	(1ULL << 9)
#define RFLAGS_RF	(1ULL << 16)
#define RFLAGS_VM	(1ULL << 17)
#define RFLAGS_AC	(1ULL << 18)

#define DR6_INIT	0xffff0ff0ULL	/* DR6 after RESET or INIT (SDM table 9-1) */

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t sub)
{
	struct cpuid_regs r;

	__asm__ __volatile__("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			     : "a"(leaf), "c"(sub));
	return r;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ __volatile__("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			     : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

#define DEFINE_CR(n)							\
static inline uint64_t read_cr##n(void)					\
{									\
	uint64_t v;							\
	__asm__ __volatile__("mov %%cr" #n ", %0" : "=r"(v));		\
	return v;							\
}									\
static inline void write_cr##n(uint64_t v)				\
{									\
	__asm__ __volatile__("mov %0, %%cr" #n : : "r"(v) : "memory");	\
}
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

/* DR0-DR3 and DR6: VMX saves and loads only DR7 (SDM 27.3.1, 26.3.2.1). */
#define DEFINE_DR(n)							\
static inline uint64_t read_dr##n(void)					\
{									\
	uint64_t v;							\
	__asm__ __volatile__("mov %%dr" #n ", %0" : "=r"(v));		\
	return v;							\
}									\
static inline void write_dr##n(uint64_t v)				\
{									\
	__asm__ __volatile__("mov %0, %%dr" #n : : "r"(v));		\
}
DEFINE_DR(0)
DEFINE_DR(1)
DEFINE_DR(2)
DEFINE_DR(3)
DEFINE_DR(6)
#undef DEFINE_DR

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ __volatile__("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ __volatile__("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	__asm__ __volatile__("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t read_rflags(void)
{
	uint64_t f;

	__asm__ __volatile__("pushfq; popq %0" : "=r"(f));
	return f;
}

static inline void irq_enable(void)
{
	__asm__ __volatile__("sti" ::: "memory");
}

static inline void irq_disable(void)
{
	__asm__ __volatile__("cli" ::: "memory");
}

static inline uint64_t irq_save(void)
{
	uint64_t f = read_rflags();

	irq_disable();
	return f;
}

static inline void irq_restore(uint64_t flags)
{
	if (flags & RFLAGS_IF)
		irq_enable();
}

static inline void halt(void)
{
	__asm__ __volatile__("hlt" ::: "memory");
}

static inline void invlpg(uint64_t va)
{
	__asm__ __volatile__("invlpg (%0)" : : "r"(va) : "memory");
}

#endif
