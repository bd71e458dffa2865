/* SPDX-License-Identifier: MIT */
#include "hv/lib/x86.h"
#include "smp/atomic.h"
#include "smp/time.h"

uint64_t tsc_khz;
static uint64_t tsc_boot;

void time_init(uint64_t khz)
{
	/* A firmware that could not calibrate: assume 1 GHz rather than divide by zero. */
	tsc_khz = khz ? khz : 1000000;
	tsc_boot = rdtsc();
}

uint64_t time_us(void)
{
	return (rdtsc() - tsc_boot) * 1000 / tsc_khz;
}

uint64_t deadline_us(uint64_t us)
{
	return rdtsc() + us * tsc_khz / 1000;
}

int deadline_passed(uint64_t deadline)
{
	return (int64_t)(rdtsc() - deadline) >= 0;
}

void udelay(uint64_t us)
{
	uint64_t d = deadline_us(us);

	while (!deadline_passed(d))
		cpu_relax();
}
