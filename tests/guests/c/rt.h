/* SPDX-License-Identifier: MIT */
/*
 * The C test guests' runtime: a Multiboot v1 kernel built for real,
 * protected or long mode (crt0_*.S), printing through the 16550 at 0x3F8
 * and ending through the isa-debug-exit port 0xF4, as a guest of QEMU
 * would.  Nothing here uses the hypervisor's own interfaces.
 *
 * Each check prints one line: "PASS name", "FAIL name: detail" or
 * "SKIP name: why" (tests/boot/test_bochs_cguests.py reads them); the guest
 * exits with the number of failures.
 */
#ifndef CGUEST_RT_H
#define CGUEST_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__)
#define RT_MODE		"long"
#elif defined(RT_REAL)
#define RT_MODE		"real"
#else
#define RT_MODE		"protected"
#endif

/*
 * Where the APICs are.  gcc -m16 output is assembled as .code16gcc, where
 * GNU as encodes an absolute address (a constant pointer folded into an
 * instruction, or a moffs) with 16 bits and silently drops the rest: the
 * real-mode build reaches the APICs through pointers that the compiler
 * keeps in registers, under a 0x67 prefix, as real-mode test kernels do
 * (kvm-unit-tests' g_apic).  The other builds use constant pointers, which
 * the compiler folds into absolute and moffs forms.  String instructions in
 * real mode need the 0x67 prefix too (ADDR32): else they use SI, DI and CX.
 */
#ifdef RT_REAL
extern uintptr_t rt_lapic_base, rt_ioapic_base;
#define LAPIC_BASE	rt_lapic_base
#define IOAPIC_BASE	rt_ioapic_base
#define ADDR32		"addr32 "
#else
#define LAPIC_BASE	0xfee00000UL
#define IOAPIC_BASE	0xfec00000UL
#define ADDR32		""
#endif

/* What crt0 saw at the Multiboot entry, before it changed anything. */
struct rt_entry {
	uint32_t eax, ebx, eflags, cr0;
	uint16_t cs, ds, es, fs, gs, ss;
	/* The local APIC version register read through each data segment. */
	uint32_t ver_ds, ver_es, ver_fs, ver_gs, ver_ss;
};
extern struct rt_entry rt_entry;

/* Linker symbols: the image from its first byte to the end of its bss. */
extern char _image_start[], _image_end[];

/* ---- output and checks ---- */
void rt_putc(char c);
int rt_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int rt_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int rt_snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

extern unsigned int rt_failures;
/* PASS or FAIL with the detail; returns cond. */
bool rt_check(const char *name, bool cond, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* PASS when got == want, else FAIL with both in hex. */
bool rt_check_eq(const char *name, uint64_t got, uint64_t want);
void rt_skip(const char *name, const char *why);
/* The guest ends with @status (isa-debug-exit). */
void rt_exit(unsigned int status) __attribute__((noreturn));

#define CHECK(name, cond, ...)	rt_check(name, cond, __VA_ARGS__)
#define CHECK_EQ(name, got, want) rt_check_eq(name, (uint64_t)(got), (uint64_t)(want))

/* ---- interrupts and exceptions (crt0 routes every vector to rt_trap) ---- */
extern volatile unsigned int rt_irq_count[256];
extern volatile unsigned int rt_irq_log[16], rt_irq_nlog;
/*
 * Called for every vector >= 32 before the default action (EOI to the local
 * APIC, but not for the spurious vector); returns true when it did the EOI.
 */
extern bool (*volatile rt_irq_hook)(unsigned int vector);
void rt_trap(unsigned long vector, unsigned long error);
void rt_irq_reset(void);

/* ---- the machine ---- */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ __volatile__("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			     : "a"(leaf), "c"(sub));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | (uint64_t)hi << 32;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | (uint64_t)hi << 32;
}

static inline void sti(void)
{
	__asm__ __volatile__("sti" : : : "memory");
}

static inline void cli(void)
{
	__asm__ __volatile__("cli" : : : "memory");
}

/* STI's shadow covers HLT: an interrupt that is pending wakes it. */
static inline void sti_hlt(void)
{
	__asm__ __volatile__("sti; hlt" : : : "memory");
}

static inline void barrier(void)
{
	__asm__ __volatile__("" : : : "memory");
}

/*
 * Time is counted in TSC ticks, not seconds: under an emulator the TSC runs
 * with the instructions executed, and one VM exit costs thousands of them.
 * RT_PERIOD is a timer period long against an exit there and short on
 * hardware (a fraction of a millisecond).
 */
#define RT_PERIOD	500000ULL
/* APIC timer counts (divide by 1) in @tsc ticks, from CPUID 0x15's TSC/crystal ratio. */
uint64_t rt_apic_counts(uint64_t tsc);
/* Spin with interrupts enabled until *count differs from @old or @tsc ticks pass; true if it did. */
bool rt_wait_change(volatile unsigned int *count, unsigned int old, uint64_t tsc);
void rt_delay(uint64_t tsc);

/* ---- the boot information ---- */
/* Is @word (up to a blank) on the kernel's command line? */
bool rt_cmdline_has(const char *word);
/* The number after "KEY=" on the command line, or @def. */
uint64_t rt_cmdline_num(const char *key, uint64_t def);

/* The suites (mb.c, apic.c, ioapic.c); each prints its checks. */
void test_multiboot(void);
void test_memory(void);
void test_bigmem(void);
void test_lapic(void);
void test_ioapic(void);

/* libc bits the compiler may call on its own. */
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

#endif
