/* SPDX-License-Identifier: MIT */
/*
 * Pinning test threads.  Two threads that must race are pinned to different
 * CPUs: they overlap whenever both run, where the scheduler of a busy host
 * would often put them on one CPU and take turns.
 */
#ifndef TESTS_HOST_AFFINITY_H
#define TESTS_HOST_AFFINITY_H

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before any include: sched_getaffinity(), pthread_setaffinity_np()"
#endif

#include <pthread.h>
#include <sched.h>

/* Run the calling thread on the @n-th CPU it may use (modulo their number); no-op on one CPU. */
static inline void test_pin_thread(unsigned int n)
{
	cpu_set_t allowed, one;
	int count;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) || (count = CPU_COUNT(&allowed)) < 2)
		return;
	n %= (unsigned int)count;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &allowed) && !n--) {
			CPU_ZERO(&one);
			CPU_SET(cpu, &one);
			pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
			return;
		}
	}
}

#endif
