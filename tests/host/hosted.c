/* SPDX-License-Identifier: MIT */
/* Hosted implementations of the hypervisor's panic/warn/printk for host tests. */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * Every hv_warn() (a WARN_ONCE() that fired) of the process, and the text of
 * the latest one: tests/host/test.h fails the case that printed a warning it
 * did not allow.  Both under warn_lock: warnings may come from any thread.
 */
static pthread_mutex_t warn_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long warn_count;
static char warn_last[256];

void hv_warn(const char *file, int line, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	msg[strcspn(msg, "\n")] = 0;
	pthread_mutex_lock(&warn_lock);
	warn_count++;
	snprintf(warn_last, sizeof(warn_last), "%s:%d: %s", file, line, msg);
	pthread_mutex_unlock(&warn_lock);
	fprintf(stderr, "WARNING at %s:%d: %s\n", file, line, msg);
}

unsigned long hosted_warnings(char *last, size_t size)
{
	unsigned long n;

	pthread_mutex_lock(&warn_lock);
	n = warn_count;
	if (last && size)
		snprintf(last, size, "%s", warn_last);
	pthread_mutex_unlock(&warn_lock);
	return n;
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
