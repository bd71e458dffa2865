/* SPDX-License-Identifier: MIT */
/* Hosted implementations of the hypervisor's panic/warn/printk for host tests. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/check.h"
#include "lib/printk.h"

void hv_panic(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "PANIC at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void hv_warn(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "WARNING at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int vprintk(int level, const char *fmt, va_list ap)
{
	(void)level;
	return vprintf(fmt, ap);
}

int printk(int level, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintk(level, fmt, ap);
	va_end(ap);
	return n;
}

#include "smp/cpu.h"

__thread unsigned int hosted_cpu_id;
__thread uint64_t hosted_locks_held;
