/* SPDX-License-Identifier: MIT */
/*
 * store/zstore.c from 4 threads at once: puts, gets and drops of contents the
 * threads share (so dedup entries are pinned by gets while others drop
 * them), each get checked bit for bit, nothing left at the end.  Small on
 * purpose: its TSan twin checks the locking rule.
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "store/zstore.h"
#include "smp/cpu.h"
#include "tests/host/test.h"
#include "tests/store/zpages.h"

struct pool {
	long live;
};

/* Called under zs.lock, so the count needs no atomics of its own. */
static void *pool_alloc(void *ctx)
{
	struct pool *p = ctx;

	p->live++;
	return aligned_alloc(ZSTORE_PAGE_SIZE, ZSTORE_PAGE_SIZE);
}

static void pool_free(void *ctx, void *pg)
{
	struct pool *p = ctx;

	p->live--;
	free(pg);
}

static const struct zstore_ops pool_ops = { pool_alloc, pool_free };

static struct zstore zs;

enum { THREADS = 4, MAX_OPS = 4000, MIN_OPS = 200, SLOTS = 32 };
#define BUDGET_S	2.0

static double deadline;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * 4 threads on a 2-core host make a ticket lock convoy (a waiter that is not
 * running holds everyone up), badly so under TSan: a time budget bounds the
 * run, a minimum keeps it meaningful.
 */
static bool keep_going(int done)
{
	return done < MAX_OPS && (done < MIN_OPS || now() < deadline);
}

/* Queue behind at most one waiter, as tests/smp/test_spinlock.c does. */
static void wait_short_queue(void)
{
	for (int n = 0; n < 1000; n++) {
		uint32_t next = __atomic_load_n(&zs.lock.next, __ATOMIC_RELAXED);
		uint32_t owner = __atomic_load_n(&zs.lock.owner, __ATOMIC_RELAXED);

		if (next - owner <= 1)
			return;
		sched_yield();
	}
}

struct worker {
	pthread_t tid;
	unsigned int id;
	struct zstore_scratch scratch;
	bool failed;
};

/* Shared contents come from a small seed space so threads dedup each other. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t h[SLOTS], seed[SLOTS], s = w->id + 1;
	enum zp_kind kind[SLOTS];
	uint8_t p[ZP_SIZE], got[ZP_SIZE];
	bool live[SLOTS] = { false };

	hosted_cpu_id = w->id;
	for (int op = 0; keep_going(op); op++) {
		unsigned int i = zp_rand(&s) % SLOTS;

		wait_short_queue();

		if (!live[i]) {
			kind[i] = zp_rand(&s) % ZP_NR_KINDS;
			seed[i] = zp_rand(&s) % 16;
			zp_fill(p, kind[i], seed[i]);
			if (zstore_put(&zs, p, &w->scratch, &h[i]))
				w->failed = true;
			live[i] = true;
		} else if (zp_rand(&s) % 3) {
			zp_fill(p, kind[i], seed[i]);
			if (zstore_get(&zs, h[i], got, &w->scratch) || memcmp(p, got, ZP_SIZE))
				w->failed = true;
		} else {
			if (zstore_drop(&zs, h[i]))
				w->failed = true;
			live[i] = false;
		}
	}
	for (int i = 0; i < SLOTS; i++)
		if (live[i] && zstore_drop(&zs, h[i]))
			w->failed = true;
	return NULL;
}

TEST(zstore_four_threads_put_get_drop)
{
	static struct worker w[THREADS];
	struct pool pool = { 0 };
	struct zstore_stats st;

	zstore_init(&zs, &pool_ops, &pool);
	deadline = now() + BUDGET_S;
	for (unsigned int i = 0; i < THREADS; i++) {
		w[i].id = i;
		w[i].failed = false;
		CHECK_EQ(pthread_create(&w[i].tid, NULL, worker_main, &w[i]), 0);
	}
	for (unsigned int i = 0; i < THREADS; i++) {
		pthread_join(w[i].tid, NULL);
		CHECK(!w[i].failed);
	}
	zstore_get_stats(&zs, &st);
	CHECK_EQ(st.handles, 0);
	CHECK_EQ(st.entries, 0);
	CHECK_EQ(st.data_pages, 0);
	CHECK(st.dedup_hits > 0);
	zstore_destroy(&zs);
	CHECK_EQ(pool.live, 0);
}
