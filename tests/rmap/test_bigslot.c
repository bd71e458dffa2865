/* SPDX-License-Identifier: MIT */
/*
 * rmap/memslot.c with a guest of 1 TiB (2^28 gfns) behind a real EPT MMU
 * (tests/rmap/ms_env.h): its per-gfn metadata is address space until a gfn
 * of a chunk is first resolved, so the memslot costs the chunks touched and
 * its bitmap.  Populate, evict, refault, discard and age sparsely across the
 * whole range; scans step over unbacked chunks (touching one would fault:
 * the environment reserves them PROT_NONE); two threads backing the same
 * chunks back each once; out of memory while backing fails the resolve
 * cleanly and a later one succeeds.
 */
#define _GNU_SOURCE
#include "tests/host/test.h"
#include "tests/rmap/ms_env.h"

#define BIG_PAGES	(1ULL << 28)		/* 1 TiB of guest memory */
#define NR_CHUNKS	(BIG_PAGES / MEMSLOT_META_CHUNK)
/* A bit per chunk, and a bit per page of 2 MiB rmap heads (one page per 512 chunks: 1 GiB). */
#define BITMAP_BYTES	((NR_CHUNKS / 64 + NR_CHUNKS / 512 / 64) * 8)
#define RMAP_2M_PAGE	4096
/*
 * A chunk's slot words and rmap heads, and the page of 2 MiB rmap heads of
 * its GiB: every chunk these tests touch lies in a GiB of its own.
 */
#define CHUNK_META	(MEMSLOT_META_CHUNK * (sizeof(uint64_t) + sizeof(struct rmap_head)) + \
			 RMAP_2M_PAGE)
#define NR_SPARSE	64

static struct zstore zs;
static struct tvm t;
static struct ept_root *root;

static bool setup(long frames)
{
	env_world_begin(&zs, frames, -1);
	if (tvm_init(&t, &zs, BIG_PAGES))
		return false;
	root = ept_root_load_for_vcpu(&t.ept);
	return root != NULL;
}

static bool teardown(void)
{
	if (root)
		ept_root_put(&t.ept, root);
	root = NULL;
	tvm_destroy(&t);
	return env_world_end(&zs);
}

static struct memslot_stats stats(void)
{
	struct memslot_stats st;

	memslot_stats(&t.ms, &st, NULL);
	return st;
}

/* gfn i of the sparse set: the first, the last, and the range between, each in its own chunk. */
static uint64_t sparse(unsigned int i)
{
	if (i == NR_SPARSE - 1)
		return BIG_PAGES - 1;
	return i * (BIG_PAGES / (NR_SPARSE - 1)) + i * 7;
}

static bool page_holds(const void *p, uint64_t word)
{
	const uint64_t *w = p;

	for (unsigned int i = 0; i < 512; i++)
		if (w[i] != (i ? 0 : word))
			return false;
	return true;
}

TEST(a_terabyte_guest_costs_its_bitmap_until_touched)
{
	CHECK(setup(64));
	CHECK_EQ(t.ms.nr_pages, BIG_PAGES);
	CHECK_EQ(stats().meta_bytes, BITMAP_BYTES);
	CHECK_EQ(meta_live, BITMAP_BYTES);
	/* 16 B a gfn, and the 2 MiB rmap heads: 8 B a 2 MiB block. */
	CHECK_EQ(meta_reserved, BIG_PAGES * 16 + NR_CHUNKS * 8);
	CHECK_EQ(memslot_meta_bytes(BIG_PAGES), NR_CHUNKS * (CHUNK_META - RMAP_2M_PAGE) +
					       NR_CHUNKS / 512 * RMAP_2M_PAGE + BITMAP_BYTES);
	/* Scans over nothing: aging, eviction, discard, lookups, all without a fault. */
	CHECK_EQ(memslot_age(&t.ms), 0);
	CHECK_EQ(memslot_evict_oldest(&t.ms, 8, 0), 0);
	CHECK_EQ(memslot_discard(&t.ms, 0, BIG_PAGES), 0);
	{
		struct memslot_page_info pi;
		uint64_t g;

		CHECK(memslot_page_info(&t.ms, BIG_PAGES / 2, &pi) && pi.state == MS_PAGE_EMPTY);
		CHECK(!memslot_gfn_of_hpa(&t.ms, 0x1000, &g));
	}
	CHECK_EQ(meta_live, BITMAP_BYTES);
	CHECK(teardown());
}

TEST(sparse_pages_across_a_terabyte_populate_evict_refault_discard_and_age)
{
	struct memslot_page_info pi;
	uint8_t buf[4096];
	uint64_t word, gfn;

	CHECK(setup(2 * NR_SPARSE));
	for (unsigned int i = 0; i < NR_SPARSE; i++) {
		uint64_t *p = tvm_touch(&t, &root, sparse(i));

		CHECK(p && page_holds(p, 0));
		p[0] = sparse(i) ^ 0x5eed;
	}
	/* One chunk each, and nothing else. */
	CHECK_EQ(stats().populated, NR_SPARSE);
	CHECK_EQ(stats().meta_bytes, BITMAP_BYTES + NR_SPARSE * CHUNK_META);
	CHECK_EQ(meta_live, BITMAP_BYTES + NR_SPARSE * CHUNK_META);
	CHECK(memslot_page_info(&t.ms, sparse(5), &pi) && pi.state == MS_PAGE_RESIDENT &&
	      pi.mappings == 1);
	CHECK(memslot_gfn_of_hpa(&t.ms, pi.hpa, &gfn) && gfn == sparse(5));
	CHECK(memslot_page_info(&t.ms, sparse(5) + 1, &pi) && pi.state == MS_PAGE_EMPTY);

	/* Untouched pages since the touches: the passes age all of them to the oldest. */
	for (int i = 0; i < GEN_NR + 1; i++)
		memslot_age(&t.ms);
	CHECK_EQ(memslot_evict_oldest(&t.ms, MEMSLOT_EVICT_BATCH, GEN_OLDEST), NR_SPARSE);
	CHECK_EQ(stats().resident, 0);
	CHECK_EQ(pool_live(), 0);
	/* Refault through the hypervisor's accesses and the guest's, bit exact. */
	for (unsigned int i = 0; i < NR_SPARSE; i++) {
		if (i % 2) {
			uint64_t *p = tvm_touch(&t, &root, sparse(i));

			CHECK(p && page_holds(p, sparse(i) ^ 0x5eed));
		} else {
			CHECK(!memslot_access(&t.ms, sparse(i) << 12, buf, sizeof(buf), false));
			CHECK(page_holds(buf, sparse(i) ^ 0x5eed));
		}
	}
	CHECK_EQ(stats().refaults, NR_SPARSE);
	/* Discard the upper half of the range at once: only the touched chunks cost work. */
	CHECK_EQ(memslot_discard(&t.ms, BIG_PAGES / 2, BIG_PAGES / 2), NR_SPARSE / 2);
	word = 1;
	CHECK(!memslot_access(&t.ms, (BIG_PAGES - 1) << 12, &word, sizeof(word), false));
	CHECK_EQ(word, 0);
	/* The chunks stay backed: metadata comes back only with the memslot. */
	CHECK_EQ(stats().meta_bytes, BITMAP_BYTES + NR_SPARSE * CHUNK_META);
	CHECK(teardown());
}

/* ---- two threads back the same chunks (the TSan twin's business) ---- */

#define RACE_CHUNKS	32

struct backer {
	pthread_t tid;
	unsigned int cpu;
	bool reverse;
	uint64_t hpa[RACE_CHUNKS];
	long bad;
};

static void *backer(void *arg)
{
	struct backer *b = arg;

	hosted_cpu_id = b->cpu;
	for (unsigned int i = 0; i < RACE_CHUNKS; i++) {
		unsigned int c = b->reverse ? RACE_CHUNKS - 1 - i : i;
		/* Both threads resolve the same gfn of each chunk, far apart in the range. */
		uint64_t g = c * (BIG_PAGES / RACE_CHUNKS) + 3;

		b->bad += !memslot_resolve(&t.ms, g, &b->hpa[c]);
	}
	return NULL;
}

TEST(two_threads_backing_the_same_chunks_back_each_once)
{
	struct backer b[2] = { { .cpu = 1 }, { .cpu = 2, .reverse = true } };

	for (int round = 0; round < 20; round++) {
		CHECK(setup(2 * RACE_CHUNKS + 8));
		for (int i = 0; i < 2; i++)
			pthread_create(&b[i].tid, NULL, backer, &b[i]);
		for (int i = 0; i < 2; i++)
			pthread_join(b[i].tid, NULL);
		CHECK_EQ(b[0].bad + b[1].bad, 0);
		CHECK(!memcmp(b[0].hpa, b[1].hpa, sizeof(b[0].hpa)));
		CHECK_EQ(stats().populated, RACE_CHUNKS);
		CHECK_EQ(stats().meta_bytes, BITMAP_BYTES + RACE_CHUNKS * CHUNK_META);
		CHECK_EQ(meta_live, BITMAP_BYTES + RACE_CHUNKS * CHUNK_META);
		CHECK(teardown());
	}
}

TEST(out_of_memory_while_backing_a_chunk_fails_the_resolve_cleanly)
{
	uint64_t hpa, hpa2;

	CHECK(setup(16));
	/* No memory for the slot words, then none for the rmap heads. */
	for (long fail_after = 0; fail_after < 2; fail_after++) {
		meta_fail_after = fail_after;
		CHECK(!memslot_resolve(&t.ms, BIG_PAGES / 3, &hpa));
		CHECK(!memslot_meta_backed(&t.ms, BIG_PAGES / 3));
		CHECK(!tvm_touch(&t, &root, BIG_PAGES / 3 + 1));
	}
	CHECK_EQ(stats().nomem, 4);
	CHECK_EQ(stats().populated, 0);
	CHECK_EQ(pool_live(), 0);
	/* The page of 2 MiB rmap heads was backed before the slot words failed: it stays. */
	CHECK_EQ(stats().meta_bytes, BITMAP_BYTES + RMAP_2M_PAGE);
	/* Memory again: the next resolve backs the rest of the chunk and populates. */
	meta_fail_after = -1;
	CHECK(memslot_resolve(&t.ms, BIG_PAGES / 3, &hpa));
	CHECK(memslot_resolve(&t.ms, BIG_PAGES / 3, &hpa2) && hpa == hpa2);
	CHECK(tvm_touch(&t, &root, BIG_PAGES / 3 + 1));
	CHECK_EQ(stats().populated, 2);
	CHECK_EQ(stats().meta_bytes, BITMAP_BYTES + CHUNK_META);
	CHECK(teardown());
}
