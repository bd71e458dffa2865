/* SPDX-License-Identifier: MIT */
/*
 * The runtime's C half: the 16550 console, a small printf, the check
 * lines, the trap dispatcher crt0 calls, timing from CPUID and the
 * command line the Multiboot info carries.
 */
#include "tests/guests/c/mb.h"
#include "tests/guests/c/rt.h"

#define COM1		0x3f8
#define DEBUG_EXIT	0xf4
#define LAPIC_EOI	((volatile uint32_t *)(LAPIC_BASE + 0xb0))

#ifdef RT_REAL
uintptr_t rt_lapic_base = 0xfee00000, rt_ioapic_base = 0xfec00000;
#endif
struct rt_entry rt_entry;
unsigned int rt_failures;
volatile unsigned int rt_irq_count[256];
volatile unsigned int rt_irq_log[16], rt_irq_nlog;
bool (*volatile rt_irq_hook)(unsigned int vector);

/* ---- libc ---- */

void *memcpy(void *d, const void *s, size_t n)
{
	char *dp = d;
	const char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memset(void *d, int c, size_t n)
{
	char *dp = d;

	while (n--)
		*dp++ = (char)c;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++)
		if (*a != *b || !*a)
			return (unsigned char)*a - (unsigned char)*b;
	return 0;
}

#ifndef __x86_64__
/* What libgcc would give 16- and 32-bit code for 64-bit division. */
uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem)
{
	uint64_t q = 0, r = 0;

	for (int i = 63; i >= 0; i--) {
		r = r << 1 | ((n >> i) & 1);
		if (r >= d) {
			r -= d;
			q |= 1ULL << i;
		}
	}
	if (rem)
		*rem = r;
	return q;
}

uint64_t __udivdi3(uint64_t n, uint64_t d)
{
	return __udivmoddi4(n, d, NULL);
}

uint64_t __umoddi3(uint64_t n, uint64_t d)
{
	uint64_t r;

	__udivmoddi4(n, d, &r);
	return r;
}

int64_t __divdi3(int64_t n, int64_t d)
{
	uint64_t q = __udivdi3(n < 0 ? -(uint64_t)n : (uint64_t)n,
			       d < 0 ? -(uint64_t)d : (uint64_t)d);

	return (n < 0) != (d < 0) ? -(int64_t)q : (int64_t)q;
}

int64_t __moddi3(int64_t n, int64_t d)
{
	uint64_t r = __umoddi3(n < 0 ? -(uint64_t)n : (uint64_t)n,
			       d < 0 ? -(uint64_t)d : (uint64_t)d);

	return n < 0 ? -(int64_t)r : (int64_t)r;
}
#endif

/* ---- console ---- */

void rt_putc(char c)
{
	while (!(inb(COM1 + 5) & 0x20))		/* LSR.THRE */
		;
	outb(COM1, (uint8_t)c);
}

struct out {
	char *buf;
	size_t n, len;
};

static void emit(struct out *o, char c)
{
	if (o->len + 1 < o->n)
		o->buf[o->len] = c;
	o->len++;
}

static void emit_num(struct out *o, uint64_t v, unsigned int base, int width, char pad)
{
	char tmp[24];
	int i = 0;

	do {
		tmp[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (width-- > i)
		emit(o, pad);
	while (i)
		emit(o, tmp[--i]);
}

int rt_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	struct out o = { buf, n, 0 };

	for (; *fmt; fmt++) {
		int width = 0, lng = 0;
		char pad = ' ';
		uint64_t v;

		if (*fmt != '%') {
			emit(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + *fmt++ - '0';
		while (*fmt == 'l')
			lng++, fmt++;
		if (*fmt == 'z')
			lng = sizeof(size_t) == 8 ? 2 : 1, fmt++;
		switch (*fmt) {
		case 's':
			for (const char *s = va_arg(ap, const char *); *s; s++)
				emit(&o, *s);
			break;
		case 'c':
			emit(&o, (char)va_arg(ap, int));
			break;
		case 'd':
		case 'u':
		case 'x':
			if (lng >= 2)
				v = va_arg(ap, unsigned long long);
			else if (lng == 1)
				v = va_arg(ap, unsigned long);
			else
				v = va_arg(ap, unsigned int);
			if (*fmt == 'd' && (lng >= 2 ? (int64_t)v < 0 :
					    lng == 1 ? (long)v < 0 : (int)v < 0)) {
				emit(&o, '-');
				v = lng >= 2 ? -v : lng == 1 ? (unsigned long)-(long)v :
				    (unsigned int)-(int)v;
			}
			emit_num(&o, v, *fmt == 'x' ? 16 : 10, width, pad);
			break;
		case 'p':
			emit(&o, '0');
			emit(&o, 'x');
			emit_num(&o, (uintptr_t)va_arg(ap, void *), 16, 0, ' ');
			break;
		default:
			emit(&o, '%');
			emit(&o, *fmt);
		}
	}
	if (n)
		buf[o.len < n ? o.len : n - 1] = 0;
	return (int)o.len;
}

int rt_snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = rt_vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}

int rt_printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = rt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (char *p = buf; *p; p++)
		rt_putc(*p);
	return r;
}

/* ---- checks ---- */

bool rt_check(const char *name, bool cond, const char *fmt, ...)
{
	char detail[200];
	va_list ap;

	if (cond) {
		rt_printf("PASS %s\n", name);
		return true;
	}
	va_start(ap, fmt);
	rt_vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	rt_failures++;
	rt_printf("FAIL %s: %s\n", name, detail);
	return false;
}

bool rt_check_eq(const char *name, uint64_t got, uint64_t want)
{
	return rt_check(name, got == want, "got 0x%llx, want 0x%llx", (unsigned long long)got,
			(unsigned long long)want);
}

void rt_skip(const char *name, const char *why)
{
	rt_printf("SKIP %s: %s\n", name, why);
}

void rt_exit(unsigned int status)
{
	rt_printf("%u failed checks (%s mode)\n", status, RT_MODE);
	for (;;) {
		outb(DEBUG_EXIT, (uint8_t)(status > 255 ? 255 : status));
		cli();
		__asm__ __volatile__("hlt");
	}
}

/* ---- interrupts ---- */

void rt_irq_reset(void)
{
	for (int i = 0; i < 256; i++)
		rt_irq_count[i] = 0;
	rt_irq_nlog = 0;
	rt_irq_hook = NULL;
}

void rt_trap(unsigned long vector, unsigned long error)
{
	if (vector < 32) {
		rt_failures++;
		rt_printf("FAIL unexpected_exception: vector %lu, error code 0x%lx\n", vector,
			  error);
		rt_exit(rt_failures);
	}
	rt_irq_count[vector]++;
	if (rt_irq_nlog < 16)
		rt_irq_log[rt_irq_nlog++] = (unsigned int)vector;
	if (rt_irq_hook && rt_irq_hook((unsigned int)vector))
		return;
	if (vector != 0xff)		/* the spurious vector takes no EOI */
		*LAPIC_EOI = 0;
}

/* ---- time ---- */

uint64_t rt_apic_counts(uint64_t tsc)
{
	static uint32_t num, den;
	uint32_t r[4];

	if (!den) {
		num = den = 1;
		cpuid(0, 0, r);
		if (r[0] >= 0x15) {
			cpuid(0x15, 0, r);
			if (r[0] && r[1])
				den = r[0], num = r[1];	/* TSC = crystal * num / den */
		}
	}
	return tsc * den / num;
}

bool rt_wait_change(volatile unsigned int *count, unsigned int old, uint64_t tsc)
{
	uint64_t end = rdtsc() + tsc;

	sti();
	while (*count == old && rdtsc() < end)
		__asm__ __volatile__("pause");
	return *count != old;
}

void rt_delay(uint64_t tsc)
{
	uint64_t end = rdtsc() + tsc;

	while (rdtsc() < end)
		__asm__ __volatile__("pause");
}

/* ---- the command line ---- */

static const char *cmdline(void)
{
	const struct mb_info *mi = mb_info();

	return mi && (mi->flags & MB_INFO_CMDLINE) ? (const char *)(uintptr_t)mi->cmdline : "";
}

/* The first occurrence of @word as a whole word (ended by '=', a blank or the end). */
static const char *find_word(const char *s, const char *word)
{
	size_t n = strlen(word);

	for (; *s; s++) {
		if ((s == cmdline() || s[-1] == ' ') && !strncmp(s, word, n) &&
		    (!s[n] || s[n] == ' ' || s[n] == '='))
			return s;
	}
	return NULL;
}

bool rt_cmdline_has(const char *word)
{
	return find_word(cmdline(), word) != NULL;
}

uint64_t rt_cmdline_num(const char *key, uint64_t def)
{
	const char *s = find_word(cmdline(), key);
	uint64_t v = 0;

	if (!s || s[strlen(key)] != '=')
		return def;
	for (s += strlen(key) + 1; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	return v;
}
