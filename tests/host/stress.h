/* SPDX-License-Identifier: MIT */
/*
 * What the stress tests share: a count of violations that prints the first
 * few, a xorshift generator, a clock, and the world lock.  Every thread holds
 * the world lock for read around each of its operations, so that the
 * checker, taking it for write, finds nothing half done: a quiescent point.
 */
#ifndef TESTS_HOST_STRESS_H
#define TESTS_HOST_STRESS_H

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before any include: pthread_rwlockattr_setkind_np()"
#endif

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define STRESS_PRINTED	10	/* violations printed; all are counted */

static long stress_violations;
static pthread_rwlock_t stress_world;

__attribute__((format(printf, 1, 2)))
static void stress_violation(const char *fmt, ...)
{
	va_list ap;

	if (__atomic_fetch_add(&stress_violations, 1, __ATOMIC_RELAXED) >= STRESS_PRINTED)
		return;
	va_start(ap, fmt);
	printf("# VIOLATION: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

static inline long stress_violated(void)
{
	return __atomic_load_n(&stress_violations, __ATOMIC_RELAXED);
}

static inline uint64_t stress_rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static inline double stress_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Writer-preferring: a waiting checker keeps new operations out. */
static inline void stress_world_init(void)
{
	pthread_rwlockattr_t wa;

	stress_violations = 0;
	pthread_rwlockattr_init(&wa);
	pthread_rwlockattr_setkind_np(&wa, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&stress_world, &wa);
	pthread_rwlockattr_destroy(&wa);
}

/* Around each operation of a thread. */
static inline void stress_op_begin(void)
{
	pthread_rwlock_rdlock(&stress_world);
}

static inline void stress_op_end(void)
{
	pthread_rwlock_unlock(&stress_world);
}

/* The checker: every thread between two operations until stress_world_resume(). */
static inline void stress_world_stop(void)
{
	pthread_rwlock_wrlock(&stress_world);
}

static inline void stress_world_resume(void)
{
	pthread_rwlock_unlock(&stress_world);
}

/*
 * The checker's loop, while the other threads run: every @every seconds,
 * stop the world and @check it.  Ends at the first violation, or once @secs
 * have passed and @more (if given) does not ask for longer.
 */
static inline void stress_run(double secs, double every, void (*check)(void),
			      bool (*more)(double elapsed))
{
	double t0 = stress_now(), last = t0, t;

	while (!stress_violated()) {
		t = stress_now() - t0;
		if (t >= secs && !(more && more(t)))
			break;
		usleep(10000);
		if (stress_now() - last < every)
			continue;
		stress_world_stop();
		check();
		stress_world_resume();
		last = stress_now();
	}
}

#endif
