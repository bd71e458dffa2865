/* SPDX-License-Identifier: MIT */
/*
 * store/zstore.c: bit-exact restore of thousands of mixed pages, zero handles
 * that cost nothing, deduplication with refcounts, every size class, refused
 * handles, allocation failures at every point, no leaked page (the page
 * callbacks count).  The threaded test is
 * tests/store/test_zstore_threads.c.
 */
#include <pthread.h>

#include "store/zstore.h"
#include "tests/host/test.h"
#include "tests/store/zpages.h"

/* The page callbacks: counted, poisoned, and able to fail after a budget. */
struct pool {
	long live;		/* pages out now */
	long allocs;
	long budget;		/* allocations left before failing; < 0: no limit */
};

static void *pool_alloc(void *ctx)
{
	struct pool *p = ctx;
	void *pg;

	if (p->budget == 0)
		return NULL;
	if (p->budget > 0)
		p->budget--;
	pg = aligned_alloc(ZSTORE_PAGE_SIZE, ZSTORE_PAGE_SIZE);
	memset(pg, 0xa5, ZSTORE_PAGE_SIZE);
	__atomic_fetch_add(&p->live, 1, __ATOMIC_RELAXED);
	p->allocs++;
	return pg;
}

static void pool_free(void *ctx, void *pg)
{
	struct pool *p = ctx;

	memset(pg, 0x5a, ZSTORE_PAGE_SIZE);
	free(pg);
	__atomic_fetch_sub(&p->live, 1, __ATOMIC_RELAXED);
}

static const struct zstore_ops pool_ops = { pool_alloc, pool_free };

static struct zstore zs;
static struct zstore_scratch scratch;

static void setup(struct pool *p)
{
	*p = (struct pool){ .budget = -1 };
	zstore_init(&zs, &pool_ops, p);
}

static struct zstore_stats stats(void)
{
	struct zstore_stats st;

	zstore_get_stats(&zs, &st);
	return st;
}

/* Does @h restore to what zp_fill(@kind, @seed) makes? */
static bool restores(uint64_t h, enum zp_kind kind, uint64_t seed)
{
	uint8_t want[ZP_SIZE], got[ZP_SIZE];

	zp_fill(want, kind, seed);
	memset(got, 0xcc, sizeof(got));
	return zstore_get(&zs, h, got, &scratch) == 0 && memcmp(want, got, ZP_SIZE) == 0;
}

static int put_kind(enum zp_kind kind, uint64_t seed, uint64_t *h)
{
	uint8_t p[ZP_SIZE];

	zp_fill(p, kind, seed);
	return zstore_put(&zs, p, &scratch, h);
}

TEST(zstore_zero_page_takes_no_memory)
{
	struct pool pool;
	uint64_t h[3];

	setup(&pool);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(put_kind(ZP_ZERO, i, &h[i]), 0);
		CHECK(zstore_handle_is_zero(h[i]));
	}
	CHECK_EQ(pool.allocs, 0);
	CHECK(restores(h[0], ZP_ZERO, 0));
	CHECK_EQ(stats().zero_handles, 3);
	CHECK_EQ(stats().entries, 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(zstore_drop(&zs, h[i]), 0);
	CHECK_EQ(zstore_drop(&zs, h[0]), ZSTORE_ERR_HANDLE);
	CHECK_EQ(stats().handles, 0);
	zstore_destroy(&zs);
	CHECK_EQ(pool.live, 0);
}

TEST(zstore_thousands_of_mixed_pages_restore_bit_exact)
{
	enum { N = 6000 };
	static uint64_t h[N];
	struct pool pool;
	struct zstore_stats st;
	uint64_t s = 1;

	setup(&pool);
	for (int i = 0; i < N; i++)
		CHECK_EQ(put_kind(i % ZP_NR_KINDS, i, &h[i]), 0);
	for (int i = 0; i < N; i++)
		CHECK(restores(h[i], i % ZP_NR_KINDS, i));
	st = stats();
	CHECK_EQ(st.handles, N);
	CHECK_EQ(st.zero_handles, N / ZP_NR_KINDS);
	CHECK_EQ(st.raw_entries, N / ZP_NR_KINDS);
	CHECK_EQ(st.entries + st.zero_handles + st.dedup_hits, N);
	CHECK_EQ(pool.live, (long)(st.data_pages + st.meta_pages));
	/* Less memory than the pages took, metadata included. */
	CHECK(st.data_pages + st.meta_pages < N * 6 / 10);
	/* Drop half in a shuffled order, check the rest, then drop all. */
	for (int i = N - 1; i > 0; i--) {
		int j = zp_rand(&s) % (i + 1);
		uint64_t t = h[i];

		h[i] = h[j];
		h[j] = t;
	}
	for (int i = 0; i < N; i++)
		CHECK_EQ(zstore_drop(&zs, h[i]), 0);
	st = stats();
	CHECK_EQ(st.handles, 0);
	CHECK_EQ(st.entries, 0);
	CHECK_EQ(st.data_pages, 0);
	CHECK_EQ(st.compressed_bytes, 0);
	CHECK_EQ(pool.live, (long)st.meta_pages);
	zstore_destroy(&zs);
	CHECK_EQ(pool.live, 0);
}

TEST(zstore_equal_pages_share_one_refcounted_copy)
{
	struct pool pool;
	uint64_t a[3], b, r[2];
	uint8_t p[ZP_SIZE], got[ZP_SIZE];

	setup(&pool);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(put_kind(ZP_TEXT, 42, &a[i]), 0);
	CHECK(a[0] == a[1] && a[1] == a[2]);
	CHECK_EQ(stats().entries, 1);
	CHECK_EQ(stats().dedup_hits, 2);
	/* One bit away is another page. */
	zp_fill(p, ZP_TEXT, 42);
	p[4095] ^= 1;
	CHECK_EQ(zstore_put(&zs, p, &scratch, &b), 0);
	CHECK(b != a[0]);
	CHECK_EQ(zstore_get(&zs, b, got, &scratch), 0);
	CHECK(!memcmp(p, got, ZP_SIZE));
	/* Raw pages deduplicate too. */
	CHECK_EQ(put_kind(ZP_RANDOM, 1, &r[0]), 0);
	CHECK_EQ(put_kind(ZP_RANDOM, 1, &r[1]), 0);
	CHECK_EQ(r[0], r[1]);
	CHECK_EQ(stats().raw_entries, 1);

	CHECK_EQ(zstore_drop(&zs, a[0]), 0);
	CHECK_EQ(zstore_drop(&zs, a[1]), 0);
	CHECK(restores(a[2], ZP_TEXT, 42));
	CHECK_EQ(zstore_drop(&zs, a[2]), 0);
	CHECK_EQ(zstore_get(&zs, a[2], got, &scratch), ZSTORE_ERR_HANDLE);
	CHECK_EQ(zstore_drop(&zs, a[2]), ZSTORE_ERR_HANDLE);
	CHECK_EQ(zstore_drop(&zs, b), 0);
	CHECK_EQ(zstore_drop(&zs, r[0]), 0);
	CHECK(restores(r[1], ZP_RANDOM, 1));
	CHECK_EQ(zstore_drop(&zs, r[1]), 0);
	CHECK_EQ(stats().entries, 0);
	CHECK_EQ(stats().data_pages, 0);
	zstore_destroy(&zs);
	CHECK_EQ(pool.live, 0);
}

/* A page that compresses to about @n bytes: @n random bytes, then zeros. */
static void sized_page(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t s = seed;

	memset(p, 0, ZP_SIZE);
	zp_random_bytes(p, n, &s);
}

TEST(zstore_every_size_class_fills_slabs_and_empties)
{
	enum { PER = 40, SIZES = 4096 / 32 };
	static uint64_t h[SIZES][PER];
	uint8_t p[ZP_SIZE], got[ZP_SIZE];
	struct pool pool;
	struct zstore_stats st;

	setup(&pool);
	for (int sz = 0; sz < SIZES; sz++)
		for (int i = 0; i < PER; i++) {
			sized_page(p, 16 + sz * 32, sz * 1000 + i);
			CHECK_EQ(zstore_put(&zs, p, &scratch, &h[sz][i]), 0);
		}
	st = stats();
	CHECK_EQ(st.entries, SIZES * PER);
	CHECK(st.raw_entries > 0 && st.raw_entries < st.entries / 10);
	/* Slots straddle pages and slabs hold several pages: little waste. */
	CHECK(st.data_pages * ZSTORE_PAGE_SIZE < st.compressed_bytes * 110 / 100 +
	      st.raw_entries * ZSTORE_PAGE_SIZE + 63 * 4 * ZSTORE_PAGE_SIZE);
	for (int sz = 0; sz < SIZES; sz++)
		for (int i = 0; i < PER; i += 2) {
			sized_page(p, 16 + sz * 32, sz * 1000 + i);
			CHECK_EQ(zstore_get(&zs, h[sz][i], got, &scratch), 0);
			CHECK(!memcmp(p, got, ZP_SIZE));
			CHECK_EQ(zstore_drop(&zs, h[sz][i]), 0);
		}
	for (int sz = 0; sz < SIZES; sz++)
		for (int i = 1; i < PER; i += 2) {
			sized_page(p, 16 + sz * 32, sz * 1000 + i);
			CHECK_EQ(zstore_get(&zs, h[sz][i], got, &scratch), 0);
			CHECK(!memcmp(p, got, ZP_SIZE));
			CHECK_EQ(zstore_drop(&zs, h[sz][i]), 0);
		}
	CHECK_EQ(stats().data_pages, 0);
	CHECK_EQ(pool.live, (long)stats().meta_pages);
	zstore_destroy(&zs);
	CHECK_EQ(pool.live, 0);
}

TEST(zstore_refuses_handles_it_did_not_give)
{
	struct pool pool;
	uint64_t h, bad[] = { ZSTORE_HANDLE_NONE, ZSTORE_HANDLE_ZERO, 2, 3, 6, 7,
			      (uint64_t)1 << 40 | 2, ~0ull };
	uint8_t got[ZP_SIZE], want[ZP_SIZE];

	setup(&pool);
	CHECK_EQ(put_kind(ZP_TEXT, 1, &h), 0);
	memset(got, 0x77, sizeof(got));
	memcpy(want, got, sizeof(got));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (bad[i] == h)
			continue;
		CHECK_EQ(zstore_get(&zs, bad[i], got, &scratch), ZSTORE_ERR_HANDLE);
		CHECK_EQ(zstore_drop(&zs, bad[i]), ZSTORE_ERR_HANDLE);
	}
	/* A free entry next to the live one. */
	CHECK_EQ(zstore_get(&zs, h + 4, got, &scratch), ZSTORE_ERR_HANDLE);
	CHECK(!memcmp(got, want, ZP_SIZE));
	CHECK(stats().bad_handles >= 10);
	CHECK(restores(h, ZP_TEXT, 1));
	CHECK_EQ(zstore_drop(&zs, h), 0);
	zstore_destroy(&zs);
	CHECK_EQ(pool.live, 0);
}

/* With @budget pages to spend, store a mix; whatever fails must leave no trace. */
static bool run_with_budget(long budget)
{
	enum { N = 300 };
	uint64_t h[N];
	bool ok[N];
	struct pool pool;
	int stored = 0;

	setup(&pool);
	pool.budget = budget;
	for (int i = 0; i < N; i++) {
		int r = put_kind(i % ZP_NR_KINDS, i % 250, &h[i]);

		ok[i] = r == 0;
		if (r != 0 && r != ZSTORE_ERR_NOMEM)
			return false;
		stored += ok[i];
	}
	if ((long)stats().handles != stored)
		return false;
	for (int i = 0; i < N; i++)
		if (ok[i] && !restores(h[i], i % ZP_NR_KINDS, i % 250))
			return false;
	for (int i = 0; i < N; i++)
		if (ok[i] && zstore_drop(&zs, h[i]) != 0)
			return false;
	if (stats().data_pages != 0 || stats().entries != 0)
		return false;
	zstore_destroy(&zs);
	return pool.live == 0;
}

TEST(zstore_allocation_failure_at_any_point_leaks_nothing)
{
	long budget;

	for (budget = 0; budget < 400; budget++)
		if (!run_with_budget(budget))
			break;
	CHECK_EQ(budget, 400);
	CHECK(run_with_budget(-1));
}

TEST(zstore_hash_grows_and_still_finds_every_page)
{
	enum { N = 20000 };
	static uint64_t h[N];
	struct pool pool;
	uint64_t again;

	setup(&pool);
	for (int i = 0; i < N; i++)
		CHECK_EQ(put_kind(ZP_SPARSE, i, &h[i]), 0);
	CHECK_EQ(stats().entries, N);
	CHECK(zs.hash_base + zs.hash_split >= N / 4);
	for (int i = 0; i < N; i++) {
		CHECK_EQ(put_kind(ZP_SPARSE, i, &again), 0);
		CHECK_EQ(again, h[i]);
	}
	CHECK_EQ(stats().dedup_hits, N);
	/* Bookkeeping stays small: under 48 bytes a page. */
	CHECK(stats().meta_pages * ZSTORE_PAGE_SIZE < N * 48);
	for (int i = 0; i < N; i++) {
		CHECK(restores(h[i], ZP_SPARSE, i));
		zstore_drop(&zs, h[i]);
		zstore_drop(&zs, h[i]);
	}
	CHECK_EQ(stats().handles, 0);
	zstore_destroy(&zs);
	CHECK_EQ(pool.live, 0);
}

TEST(zstore_destroy_returns_pages_of_live_handles)
{
	struct pool pool;
	uint64_t h;

	setup(&pool);
	for (int i = 0; i < 500; i++)
		CHECK_EQ(put_kind(i % ZP_NR_KINDS, i, &h), 0);
	CHECK(pool.live > 0);
	test_allow_warnings(1);	/* destroyed with handles live */
	zstore_destroy(&zs);
	CHECK_EQ(pool.live, 0);
	CHECK_EQ(stats().handles, 0);
}

TEST(zstore_rejects_incompressible_pages_unless_shared)
{
	struct pool pool;
	uint64_t h1, h2, h3;

	setup(&pool);
	CHECK_EQ(put_kind(ZP_RANDOM, 1, &h1), 0);	/* kept raw: no rejection asked */
	zs.reject_incompressible = true;
	long live = pool.live;
	CHECK_EQ(put_kind(ZP_RANDOM, 2, &h2), ZSTORE_ERR_INCOMPRESSIBLE);
	CHECK_EQ(pool.live, live);
	CHECK_EQ(stats().rejected, 1);
	CHECK_EQ(stats().handles, 1);
	/* The same content as a stored page is shared, raw or not. */
	CHECK_EQ(put_kind(ZP_RANDOM, 1, &h3), 0);
	CHECK_EQ(stats().dedup_hits, 1);
	CHECK(restores(h3, ZP_RANDOM, 1));
	/* Compressible and zero pages still go in. */
	CHECK_EQ(put_kind(ZP_TEXT, 3, &h2), 0);
	CHECK_EQ(put_kind(ZP_ZERO, 4, &h2), 0);
	CHECK_EQ(stats().rejected, 1);
	zstore_destroy(&zs);
	CHECK_EQ(pool.live, 0);
}
