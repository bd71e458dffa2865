/* SPDX-License-Identifier: MIT */
/* panic() and the warn-once tier, hypervisor side. */
#include <stdarg.h>

#include "hv/cpu/console.h"
#include "hv/cpu/trap.h"
#include "hv/lib/format.h"
#include "hv/lib/x86.h"
#include "lib/check.h"
#include "lib/printk.h"
#include "smp/cpu.h"
#include "smp/smp.h"


static void report(const char *what, const char *file, int line, const char *fmt, va_list ap)
{
	char msg[256];
	uint64_t rbp;

	hv_vsnprintf(msg, sizeof(msg), fmt, ap);
	pr_err("%s on CPU %u at %s:%d: %s\n", what, smp_processor_id(), file, line, msg);
	__asm__ __volatile__("mov %%rbp, %0" : "=r"(rbp));
	backtrace_from(rbp);
}

void hv_panic(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	irq_disable();
	smp_stop_others();
	console_force_unlock();
	va_start(ap, fmt);
	report("PANIC", file, line, fmt, ap);
	va_end(ap);
	pr_err("hypervisor halted\n");
	cpu_halt_forever();
}

void hv_warn(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("WARNING", file, line, fmt, ap);
	va_end(ap);
}
