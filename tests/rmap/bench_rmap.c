/* SPDX-License-Identifier: MIT */
/*
 * `make bench-rmap`: aging scan rate through the rmap, in entries per second.
 * Rows: a plain read of the same sptes (the memory bound); the lockless
 * rmap_test_clear_young(); the same code under mmu_lock held for write, once
 * per pass and once per page; then two threads on disjoint halves, lockless
 * and under the write lock per page.  Columns: every entry old (aging only
 * reads) and every entry young (one cmpxchg per entry).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rmap/age.h"

#define NPAGES		8192
#define MAPS		4		/* entries per page: chains with a descriptor */
#define NSPTES		(NPAGES * MAPS)
#define MIN_S		0.3

static uint64_t *sptes;
static struct rmap_head *heads;
static rwlock_t mmu_lock = RWLOCK_INIT;
static volatile uint64_t sink;

static struct rmap_desc *bench_alloc(void *priv)
{
	(void)priv;
	return aligned_alloc(64, sizeof(struct rmap_desc));
}

static void bench_free(void *priv, struct rmap_desc *d)
{
	(void)priv;
	free(d);
}

static const struct rmap_ops ops = { bench_alloc, bench_free, NULL };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Page p maps entries spread over the array, as guests' pages would be. */
static void setup(void)
{
	sptes = aligned_alloc(64, NSPTES * sizeof(*sptes));
	heads = calloc(NPAGES, sizeof(*heads));
	write_lock(&mmu_lock);
	for (int p = 0; p < NPAGES; p++) {
		for (int m = 0; m < MAPS; m++) {
			uint64_t *sp = &sptes[m * NPAGES + p];

			*sp = RMAP_SPTE_PRESENT_MASK | ((uint64_t)p << 12);
			rmap_add(&ops, &mmu_lock, &heads[p], sp);
		}
	}
	write_unlock(&mmu_lock);
}

static void set_young(bool young)
{
	for (int i = 0; i < NSPTES; i++)
		sptes[i] = young ? sptes[i] | RMAP_SPTE_ACCESSED : sptes[i] & ~RMAP_SPTE_ACCESSED;
}

enum mode { PLAIN, LOCKLESS, LOCKED_PASS, LOCKED_PAGE };

struct range {
	enum mode mode;
	int from, to;
	bool young;
	long entries;
	double secs;
};

static void pass(const struct range *r)
{
	uint64_t sum = 0;

	switch (r->mode) {
	case PLAIN:
		for (int m = 0; m < MAPS; m++)
			for (int p = r->from; p < r->to; p++)
				sum += __atomic_load_n(&sptes[m * NPAGES + p], __ATOMIC_RELAXED);
		sink = sum;
		break;
	case LOCKLESS:
		for (int p = r->from; p < r->to; p++)
			rmap_test_clear_young(&heads[p]);
		break;
	case LOCKED_PASS:
		write_lock(&mmu_lock);
		for (int p = r->from; p < r->to; p++)
			rmap_test_clear_young(&heads[p]);
		write_unlock(&mmu_lock);
		break;
	case LOCKED_PAGE:
		for (int p = r->from; p < r->to; p++) {
			write_lock(&mmu_lock);
			rmap_test_clear_young(&heads[p]);
			write_unlock(&mmu_lock);
		}
		break;
	}
}

/* Passes over [from, to) until MIN_S has gone by; young entries are re-made young
 * between passes, outside the timing. */
static void *run(void *arg)
{
	struct range *r = arg;
	double spent = 0;

	hosted_cpu_id = (unsigned int)(r->from / (NPAGES / 2)) + 1;
	while (spent < MIN_S) {
		double t0;

		if (r->young)
			for (int m = 0; m < MAPS; m++)
				for (int p = r->from; p < r->to; p++)
					__atomic_fetch_or(&sptes[m * NPAGES + p], RMAP_SPTE_ACCESSED,
							  __ATOMIC_RELAXED);
		t0 = now();
		pass(r);
		spent += now() - t0;
		r->entries += (long)(r->to - r->from) * MAPS;
	}
	r->secs = spent;
	return NULL;
}

/* Millions of entries per second over @threads threads on disjoint ranges. */
static double rate(enum mode mode, int threads, bool young)
{
	struct range r[2];
	pthread_t t[2];
	double total = 0;

	set_young(young);
	for (int i = 0; i < threads; i++) {
		r[i] = (struct range){ mode, i * NPAGES / threads, (i + 1) * NPAGES / threads,
				       young, 0, 0 };
		pthread_create(&t[i], NULL, run, &r[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		total += r[i].entries / r[i].secs;
	}
	return total / 1e6;
}

int main(void)
{
	static const struct {
		const char *name;
		enum mode mode;
		int threads;
	} rows[] = {
		{ "plain read of the sptes", PLAIN, 1 },
		{ "lockless test_clear_young", LOCKLESS, 1 },
		{ "same, mmu_lock (write) per pass", LOCKED_PASS, 1 },
		{ "same, mmu_lock (write) per page", LOCKED_PAGE, 1 },
		{ "lockless, 2 threads", LOCKLESS, 2 },
		{ "mmu_lock (write) per page, 2 threads", LOCKED_PAGE, 2 },
	};

	setup();
	printf("%d pages x %d mappings (%d entries); Mentries/s, best of 3\n",
	       NPAGES, MAPS, NSPTES);
	printf("%-40s %12s %12s\n", "", "all old", "all young");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		double best[2] = { 0, 0 };

		for (int k = 0; k < 3; k++) {
			for (int y = 0; y < 2; y++) {
				double v = rate(rows[i].mode, rows[i].threads, y);

				if (v > best[y])
					best[y] = v;
			}
		}
		if (rows[i].mode == PLAIN)
			printf("%-40s %12.0f %12s\n", rows[i].name, best[0], "-");
		else
			printf("%-40s %12.0f %12.0f\n", rows[i].name, best[0], best[1]);
	}
	return 0;
}
