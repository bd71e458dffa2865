/* SPDX-License-Identifier: MIT */
/*
 * rmap/age.c: test-and-clear-young through the rmap clears only the accessed
 * bit of present entries, reports young iff some mapping was accessed, leaves
 * the head unlocked, and counts a lost compare-and-exchange as young (seed 003).
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "rmap/age.h"
#include "tests/host/test.h"

#define NSPTES		32
#define DIRTY		(1ull << 9)
#define PERMS		RMAP_SPTE_PRESENT_MASK
/* ept/spte.h's EPT_FROZEN_SPTE: a fault owns the entry; it has bit 8 set but no R/W/X. */
#define FROZEN		((1ull << 59) | 0x5a0ull)

static uint64_t sptes[NSPTES];
static rwlock_t mmu_lock = RWLOCK_INIT;

static struct rmap_desc *test_alloc(void *priv)
{
	(void)priv;
	return aligned_alloc(64, sizeof(struct rmap_desc));
}

static void test_free(void *priv, struct rmap_desc *d)
{
	(void)priv;
	free(d);
}

static const struct rmap_ops ops = { test_alloc, test_free, NULL };

static void map(struct rmap_head *h, int from, int to)
{
	write_lock(&mmu_lock);
	for (int i = from; i < to; i++)
		rmap_add(&ops, &mmu_lock, h, &sptes[i]);
	write_unlock(&mmu_lock);
}

static void unmap_all(struct rmap_head *h)
{
	struct rmap_iter it;
	uint64_t *sptep;

	write_lock(&mmu_lock);
	while ((sptep = rmap_iter_first(&it, h->val)))
		rmap_remove(&ops, &mmu_lock, h, sptep);
	write_unlock(&mmu_lock);
}

/* Entry @i: present with permissions @perms, pfn i, dirty, accessed or not. */
static uint64_t spte(int i, uint64_t perms, bool accessed)
{
	return perms | DIRTY | ((uint64_t)(0x1000 + i) << 12) | (accessed ? RMAP_SPTE_ACCESSED : 0);
}

TEST(empty_head_is_old)
{
	struct rmap_head h = { 0 };

	CHECK(!rmap_test_clear_young(&h));
	CHECK(!rmap_test_young(&h));
	CHECK_EQ(h.val, 0);
}

TEST(single_young_entry_loses_only_its_accessed_bit)
{
	struct rmap_head h = { 0 };
	unsigned long v;

	sptes[0] = spte(0, 0x5, true);	/* R and X, not W */
	map(&h, 0, 1);
	v = h.val;
	CHECK(rmap_test_young(&h));
	CHECK_EQ(sptes[0], spte(0, 0x5, true));	/* testing clears nothing */
	CHECK(rmap_test_clear_young(&h));
	CHECK_EQ(sptes[0], spte(0, 0x5, false));
	CHECK_EQ(h.val, v);				/* unlocked, unchanged */
	CHECK(!rmap_test_clear_young(&h));
	CHECK(!rmap_test_young(&h));
	CHECK_EQ(sptes[0], spte(0, 0x5, false));
	unmap_all(&h);
}

TEST(many_entries_young_if_any_is_and_all_are_cleared)
{
	struct rmap_head h = { 0 };
	unsigned long v;
	const int n = 3 * RMAP_DESC_ENTRIES + 1;

	for (int i = 0; i < n; i++)
		sptes[i] = spte(i, (uint64_t)(i % 7) + 1, i % 3 == 0);
	map(&h, 0, n);
	v = h.val;
	CHECK(v & RMAP_MANY);
	CHECK(rmap_test_clear_young(&h));
	for (int i = 0; i < n; i++)
		CHECK_EQ(sptes[i], spte(i, (uint64_t)(i % 7) + 1, false));
	CHECK_EQ(h.val, v);
	CHECK(!rmap_test_clear_young(&h));

	/* Only the last entry of the last descriptor touched. */
	sptes[n - 1] |= RMAP_SPTE_ACCESSED;
	CHECK(rmap_test_clear_young(&h));
	CHECK_EQ(sptes[n - 1], spte(n - 1, (uint64_t)((n - 1) % 7) + 1, false));
	CHECK(!rmap_test_clear_young(&h));
	unmap_all(&h);
}

TEST(non_present_entries_are_neither_young_nor_written)
{
	struct rmap_head h = { 0 };

	sptes[0] = RMAP_SPTE_ACCESSED | DIRTY;	/* zapped but for stale bits */
	sptes[1] = 0;
	sptes[2] = spte(2, PERMS, false);
	sptes[3] = FROZEN;
	map(&h, 0, 4);
	CHECK(!rmap_test_clear_young(&h));
	CHECK(!rmap_test_young(&h));
	CHECK_EQ(sptes[0], RMAP_SPTE_ACCESSED | DIRTY);
	CHECK_EQ(sptes[1], 0);
	CHECK_EQ(sptes[3], FROZEN);
	unmap_all(&h);
}

/*
 * A guest thread flips the dirty bit of a young entry as fast as it can, so
 * the aging cmpxchg keeps losing.  The accessed bit is set before every call
 * and nobody else clears it, so every call must say young: one that reports
 * only the cmpxchg's success is caught.  The flips must all survive (an ager
 * that writes the entry back with a plain store loses some), and the
 * permissions never change.  Runs until enough races were lost, or 2 s.
 */
static int stop, started;
static long flips;

static void *flipper(void *arg)
{
	uint64_t *p = arg;
	long n = 0;

	hosted_cpu_id = 1;
	__atomic_store_n(&started, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		__atomic_fetch_xor(p, DIRTY, __ATOMIC_RELAXED);
		n++;
	}
	__atomic_store_n(&flips, n, __ATOMIC_RELAXED);
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

TEST(lost_cmpxchg_counts_as_young)
{
	struct rmap_head h = { 0 };
	pthread_t t;
	long calls = 0, old_calls = 0, lost = 0, bad_perms = 0;
	double end = now() + 2.0;

	sptes[0] = spte(0, 0x3, true);		/* dirty set */
	map(&h, 0, 1);
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	pthread_create(&t, NULL, flipper, &sptes[0]);
	while (!__atomic_load_n(&started, __ATOMIC_ACQUIRE))
		sched_yield();
	while (lost < 1000 && (calls % 4096 || now() < end)) {
		uint64_t v;

		__atomic_fetch_or(&sptes[0], RMAP_SPTE_ACCESSED, __ATOMIC_RELAXED);
		old_calls += !rmap_test_clear_young(&h);
		calls++;
		v = __atomic_load_n(&sptes[0], __ATOMIC_RELAXED);
		/* Still accessed after the call: the clear lost a race. */
		lost += !!(v & RMAP_SPTE_ACCESSED);
		bad_perms += (v & PERMS) != 0x3;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	printf("# %ld of %ld clears lost a race and counted young (%ld flips)\n", lost, calls, flips);
	CHECK_EQ(old_calls, 0);
	CHECK_EQ(bad_perms, 0);
	CHECK_EQ(!!(sptes[0] & DIRTY), !(flips & 1));
	unmap_all(&h);
}
