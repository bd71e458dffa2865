/* SPDX-License-Identifier: MIT */
/*
 * rmap/memslot.c behind a real EPT MMU (tests/rmap/ms_env.h): set-up and
 * tear-down without leaks, first-touch population, the hypervisor's own
 * accesses, the leaf hooks and rmap counts, aging into generations, eviction
 * (min_gen, batches, one invalidation per run of gfns, second chance, zero,
 * duplicate and incompressible pages, a full store), bit-exact refaults,
 * direct reclaim and out-of-memory; the slot word protocol of
 * tests/models/gfn_state.pml step by step (young pages moved by one change,
 * folds, the aging walk, a fault racing an eviction, a refault waiting for
 * a claimed handle, a populate finding the slot taken, pins, the clock
 * hand); and two threaded races for TSan.
 */
#define _GNU_SOURCE
#include "tests/host/test.h"
#include "tests/store/zpages.h"
#include "tests/rmap/ms_env.h"
#include "ept/age.h"

static struct zstore zs;
static struct tvm t;
static struct ept_root *root;

/* A VM of @nr_pages gfns on CPU 0, its guest pages limited to @limit (< 0: none). */
static bool setup(uint64_t nr_pages, long limit)
{
	env_world_begin(&zs, limit < 0 ? (long)nr_pages + 64 : limit, limit);
	if (tvm_init(&t, &zs, nr_pages))
		return false;
	root = ept_root_load_for_vcpu(&t.ept);
	return root != NULL;
}

/* Tear down; true if every page, handle, table, descriptor and byte came back. */
static bool teardown(void)
{
	struct zstore_stats st;
	bool ok;

	if (root)
		ept_root_put(&t.ept, root);
	root = NULL;
	tvm_destroy(&t);
	grace_barrier();
	st = store_stats(&zs);
	ok = st.handles == 0 && st.entries == 0 && st.data_pages == 0;
	return env_world_end(&zs) && ok;
}

static struct memslot_stats stats(size_t hist[GEN_NR])
{
	struct memslot_stats st;

	memslot_stats(&t.ms, &st, hist);
	return st;
}

static struct memslot_page_info info(uint64_t gfn)
{
	struct memslot_page_info pi;

	memslot_page_info(&t.ms, gfn, &pi);
	return pi;
}

/* Aging passes with nothing touched: every tracked page ends in the oldest generation. */
static void age_to_oldest(void)
{
	for (int i = 0; i < GEN_NR; i++)
		memslot_age(&t.ms);
}

/* Evict batches until one frees nothing; the pages freed. */
static size_t evict_all(unsigned int min_gen)
{
	size_t n, total = 0;

	while ((n = memslot_evict_oldest(&t.ms, MEMSLOT_EVICT_BATCH, min_gen)))
		total += n;
	return total;
}

static void fill(uint8_t *p, uint64_t gfn, enum zp_kind kind)
{
	zp_fill(p, kind, gfn + 1);
	if (kind != ZP_ZERO)
		memcpy(p, &gfn, sizeof(gfn));
}

TEST(init_and_destroy_give_everything_back)
{
	uint8_t buf[4096];
	struct memslot ms2;

	struct memslot_stats st;
	long reserved;

	CHECK(setup(1000, -1));
	/* Only the bitmap (its two chunks, its one page of 2 MiB rmap heads): address space. */
	CHECK_EQ(meta_live, 2 * sizeof(uint64_t));
	for (uint64_t g = 0; g < 40; g++) {
		fill(buf, g, g % 2 ? ZP_TEXT : ZP_ZERO);
		CHECK(!memslot_access(&t.ms, g << 12, buf, sizeof(buf), true));
		CHECK(tvm_touch(&t, &root, g + 100));
	}
	/*
	 * gfns 0-139: the first chunk, 4 KiB of slot words and 4 KiB of rmap
	 * heads, and the page of 2 MiB rmap heads.
	 */
	CHECK_EQ(meta_live, 2 * sizeof(uint64_t) + MEMSLOT_META_CHUNK * 16 + 4096);
	memslot_stats(&t.ms, &st, NULL);
	CHECK_EQ(st.meta_bytes, meta_live);
	CHECK_EQ(pool_live(), 80);
	age_to_oldest();
	CHECK_EQ(memslot_evict_oldest(&t.ms, 30, GEN_OLDEST), 30);
	CHECK_EQ(store_stats(&zs).handles, 30);
	/* Resident, evicted (zero and not) and mapped pages all go back. */
	CHECK(teardown());

	/* No metadata: -1, and what was had is given back. */
	CHECK(setup(16, -1));
	reserved = meta_reserved;
	for (long fail_after = 0; fail_after < 2; fail_after++) {
		meta_fail_after = fail_after;
		CHECK_EQ(memslot_init(&ms2, &t.ept, &env_ms_ops, &zs, 1 << 20, NULL), -1);
		CHECK_EQ(meta_live, 2 * sizeof(uint64_t));
		CHECK_EQ(meta_reserved, reserved);
	}
	meta_fail_after = -1;
	CHECK(teardown());
}

TEST(resolve_populates_a_zeroed_page_once)
{
	uint64_t hpa, hpa2, gfn;
	struct memslot_page_info pi;

	CHECK(setup(64, -1));
	/* The pool hands out poisoned pages: the memslot must zero them. */
	CHECK(memslot_resolve(&t.ms, 7, &hpa));
	CHECK(page_is(ept_pa_to_va(hpa), 0));
	CHECK(memslot_resolve(&t.ms, 7, &hpa2));
	CHECK_EQ(hpa2, hpa);
	CHECK_EQ(stats(NULL).populated, 1);
	CHECK_EQ(stats(NULL).resident, 1);
	CHECK_EQ(pool_live(), 1);
	pi = info(7);
	CHECK_EQ(pi.state, MS_PAGE_RESIDENT);
	CHECK_EQ(pi.hpa, hpa);
	CHECK(pi.tracked);
	CHECK_EQ(pi.gen, GEN_YOUNGEST);
	CHECK_EQ(pi.mappings, 0);
	CHECK_EQ(info(8).state, MS_PAGE_EMPTY);
	CHECK(!info(8).tracked);
	CHECK(memslot_gfn_of_hpa(&t.ms, hpa + 123, &gfn));
	CHECK_EQ(gfn, 7);
	CHECK(!memslot_gfn_of_hpa(&t.ms, hpa + 4096, &gfn));
	/* Outside the memslot. */
	CHECK(!memslot_resolve(&t.ms, 64, &hpa));
	CHECK(!memslot_page_info(&t.ms, 64, &pi));
	CHECK_EQ(stats(NULL).populated, 1);
	CHECK(teardown());
}

TEST(access_spans_pages_and_refuses_out_of_range)
{
	static uint8_t in[3 * 4096 + 100], out[sizeof(in)];
	const uint64_t size = 16 << 12, gpa = 2 * 4096 - 50;

	CHECK(setup(16, -1));
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	CHECK_EQ(memslot_access(&t.ms, gpa, in, sizeof(in), true), 0);
	memset(out, 0, sizeof(out));
	CHECK_EQ(memslot_access(&t.ms, gpa, out, sizeof(out), false), 0);
	CHECK(!memcmp(in, out, sizeof(in)));
	/* gfns 1..5 populated, the rest not. */
	for (uint64_t g = 0; g < 16; g++)
		CHECK_EQ(info(g).state, g >= 1 && g <= 5 ? MS_PAGE_RESIDENT : MS_PAGE_EMPTY);
	/* The bytes before the written range are still zero. */
	memset(out, 0xff, 4096);
	CHECK_EQ(memslot_access(&t.ms, 4096, out, 4046, false), 0);
	memset(out + 4046, 0, 50);
	CHECK(page_is(out, 0));
	/* Reading a never-populated page gives zeros. */
	memset(out, 0xff, 4096);
	CHECK_EQ(memslot_access(&t.ms, 9 << 12, out, 4096, false), 0);
	CHECK(page_is(out, 0));
	/* Up to the last byte is fine, one past it or wrapping around is not. */
	CHECK_EQ(memslot_access(&t.ms, size - 10, out, 10, false), 0);
	CHECK_EQ(memslot_access(&t.ms, size - 10, out, 11, false), -1);
	CHECK_EQ(memslot_access(&t.ms, size, out, 1, true), -1);
	CHECK_EQ(memslot_access(&t.ms, ~0ull - 5, out, 10, false), -1);
	CHECK_EQ(memslot_access(&t.ms, 0, out, 0, false), 0);
	/* Evicted pages are read (and written) back through the store. */
	age_to_oldest();
	CHECK_EQ(evict_all(0), 7);
	memset(out, 0, sizeof(out));
	CHECK_EQ(memslot_access(&t.ms, gpa, out, sizeof(out), false), 0);
	CHECK(!memcmp(in, out, sizeof(in)));
	CHECK_EQ(stats(NULL).refaults, 5);
	CHECK(teardown());
}

TEST(leaf_hooks_keep_the_rmap_in_step)
{
	struct ept_root *old;
	uint64_t fake[2] = { 0 };
	long w0;

	CHECK(setup(64, -1));
	CHECK(tvm_touch(&t, &root, 3));
	CHECK_EQ(info(3).mappings, 1);
	/* A second root while the first is invalid but not yet zapped: two mappings. */
	spin_lock(&t.ept.inval_all_lock);
	write_lock(&t.ept.mmu_lock);
	ept_roots_mark_invalid(&t.ept);
	write_unlock(&t.ept.mmu_lock);
	CHECK_EQ(t.kicks, 1);
	old = root;
	root = ept_root_load_for_vcpu(&t.ept);
	CHECK(root && root != old);
	CHECK(tvm_touch(&t, &root, 3));
	CHECK_EQ(info(3).mappings, 2);
	CHECK_EQ(desc_live, 1);
	CHECK(hw_mapped(old, 3));
	ept_roots_zap_invalid(&t.ept);
	spin_unlock(&t.ept.inval_all_lock);
	CHECK(!hw_mapped(old, 3));
	CHECK_EQ(info(3).mappings, 1);
	ept_root_put(&t.ept, old);
	/* An invalidation over the gfn clears the last one. */
	ept_invalidate_end(&t.ept, 0, 64, ept_invalidate_begin(&t.ept, 0, 64));
	CHECK_EQ(info(3).mappings, 0);
	CHECK(!hw_mapped(root, 3));

	/* The hooks themselves: 4 KiB leaves inside the memslot only. */
	read_lock(&t.ept.mmu_lock);
	memslot_leaf_set(&t.ms, 9, 1, &fake[0]);
	memslot_leaf_set(&t.ms, 9, 1, &fake[1]);
	read_unlock(&t.ept.mmu_lock);
	CHECK_EQ(info(9).mappings, 2);
	w0 = test_warnings();
	test_allow_warnings(1);
	read_lock(&t.ept.mmu_lock);
	memslot_leaf_set(&t.ms, 10, 2, &fake[0]);
	memslot_leaf_set(&t.ms, 64, 1, &fake[0]);
	memslot_leaf_clear(&t.ms, 9, 2, &fake[0]);
	memslot_leaf_clear(&t.ms, 64, 1, &fake[0]);
	read_unlock(&t.ept.mmu_lock);
	CHECK_EQ(test_warnings(), w0 + 1);	/* one WARN_ONCE() site for both bad sets */
	CHECK_EQ(info(10).mappings, 0);
	CHECK_EQ(info(9).mappings, 2);
	read_lock(&t.ept.mmu_lock);
	memslot_leaf_clear(&t.ms, 9, 1, &fake[0]);
	read_unlock(&t.ept.mmu_lock);
	CHECK_EQ(info(9).mappings, 1);
	read_lock(&t.ept.mmu_lock);
	memslot_leaf_clear(&t.ms, 9, 1, &fake[1]);
	read_unlock(&t.ept.mmu_lock);
	CHECK_EQ(info(9).mappings, 0);
	CHECK(teardown());
}

/* The accessed bit of @gfn's leaf in the current root. */
static bool accessed(uint64_t gfn)
{
	ept_spte_t *sptep;
	bool a;

	grace_read_lock();
	sptep = hw_sptep(root, gfn);
	a = sptep && (ept_spte_read(sptep) & EPT_ACCESSED);
	grace_read_unlock();
	return a;
}

static unsigned int min_gen(unsigned int g)
{
	return g < GEN_OLDEST ? g : GEN_OLDEST;
}

/* Generations and histogram as expected after pass @pass: 0..7 hot, 8..15 cold, 16 never mapped. */
static bool gens_are(unsigned int pass)
{
	size_t hist[GEN_NR], want[GEN_NR] = { 0 };

	for (uint64_t g = 0; g <= 16; g++) {
		unsigned int gen = g < 8 ? GEN_YOUNGEST : min_gen(pass - 1 + (g == 16));

		if (info(g).gen != gen || !info(g).tracked)
			return false;
		want[gen]++;
	}
	stats(hist);
	return !memcmp(hist, want, sizeof(hist));
}

static bool check_aging(size_t (*age)(struct memslot *ms))
{
	uint64_t hpa;

	for (uint64_t g = 0; g < 16; g++)
		if (!tvm_touch(&t, &root, g))
			return false;
	if (!memslot_resolve(&t.ms, 16, &hpa))
		return false;
	/* The first pass finds every mapped page young and clears the bits. */
	if (!accessed(0) || age(&t.ms) != 16 || accessed(0) || accessed(15) || !gens_are(1))
		return false;
	for (unsigned int pass = 2; pass <= GEN_NR + 2; pass++) {
		for (uint64_t g = 0; g < 8; g++)
			tvm_touch(&t, &root, g);
		if (age(&t.ms) != 8 || !gens_are(pass))
			return false;
	}
	/* A cold page touched again comes back to generation 0. */
	tvm_touch(&t, &root, 12);
	age(&t.ms);
	return info(12).gen == GEN_YOUNGEST && info(13).gen == GEN_OLDEST;
}

TEST(aging_sorts_pages_into_generations)
{
	CHECK(setup(64, -1));
	CHECK(check_aging(memslot_age));
	CHECK(teardown());
	/* The mmu_lock-held baseline is the same pass. */
	CHECK(setup(64, -1));
	CHECK(check_aging(memslot_age_locked));
	CHECK(teardown());
}

TEST(evict_oldest_respects_min_gen_and_batch)
{
	uint64_t hpa;

	CHECK(setup(200, -1));
	for (uint64_t g = 0; g < 200; g++)
		CHECK(memslot_resolve(&t.ms, g, &hpa));
	memslot_age(&t.ms);
	/* Generation 1 is not old enough for min_gen 2. */
	CHECK_EQ(memslot_evict_oldest(&t.ms, 10, 2), 0);
	CHECK_EQ(stats(NULL).resident, 200);
	memslot_age(&t.ms);
	CHECK_EQ(memslot_evict_oldest(&t.ms, 10, 2), 10);
	/* Oldest arrival first: the first ten populated. */
	for (uint64_t g = 0; g < 12; g++)
		CHECK_EQ(info(g).state, g < 10 ? MS_PAGE_ZERO : MS_PAGE_RESIDENT);
	/* At most a batch per call. */
	CHECK_EQ(memslot_evict_oldest(&t.ms, 1000, 0), MEMSLOT_EVICT_BATCH);
	CHECK_EQ(stats(NULL).resident, 200 - 10 - MEMSLOT_EVICT_BATCH);
	CHECK_EQ(stats(NULL).evicted, 10 + MEMSLOT_EVICT_BATCH);
	CHECK_EQ(pool_live(), 200 - 10 - MEMSLOT_EVICT_BATCH);
	/* min_gen 0 takes the youngest when nothing older is left. */
	for (uint64_t g = 0; g < 10; g++)
		CHECK(memslot_resolve(&t.ms, g, &hpa));
	CHECK_EQ(evict_all(0), 200 - MEMSLOT_EVICT_BATCH);
	CHECK_EQ(stats(NULL).resident, 0);
	CHECK_EQ(memslot_evict_oldest(&t.ms, 10, 0), 0);
	CHECK(teardown());
}

TEST(eviction_zaps_mappings_one_invalidation_per_run)
{
	static const uint64_t gfns[] = { 20, 0, 1, 2, 3, 4, 5, 6, 7, 22, 24 };
	unsigned long seq;
	long flushes;
	void *page;

	CHECK(setup(64, -1));
	for (size_t i = 0; i < sizeof(gfns) / sizeof(gfns[0]); i++)
		CHECK(tvm_touch(&t, &root, gfns[i]));
	age_to_oldest();
	seq = t.ept.inval_seq;
	flushes = t.flushes;
	CHECK_EQ(memslot_evict_oldest(&t.ms, 64, GEN_OLDEST), 11);
	/* Runs 0-7, 20, 22, 24. */
	CHECK_EQ(t.ept.inval_seq - seq, 4);
	CHECK(t.flushes > flushes);
	for (size_t i = 0; i < sizeof(gfns) / sizeof(gfns[0]); i++) {
		CHECK(!hw_mapped(root, gfns[i]));
		CHECK_EQ(info(gfns[i]).mappings, 0);
		CHECK_EQ(info(gfns[i]).state, MS_PAGE_ZERO);
		CHECK(!info(gfns[i]).tracked);
	}
	CHECK_EQ(pool_live(), 0);
	CHECK_EQ(desc_live, 0);
	/* A guest access refaults it. */
	page = tvm_touch(&t, &root, 3);
	CHECK(page && page_is(page, 0));
	CHECK_EQ(stats(NULL).refaults, 1);
	CHECK_EQ(info(3).mappings, 1);
	CHECK(teardown());
}

TEST(pages_touched_since_the_pass_get_a_second_chance)
{
	CHECK(setup(64, -1));
	for (uint64_t g = 0; g < 8; g++)
		CHECK(tvm_touch(&t, &root, g));
	age_to_oldest();
	CHECK(tvm_touch(&t, &root, 5));
	CHECK_EQ(memslot_evict_oldest(&t.ms, 64, 1), 7);
	CHECK_EQ(info(5).state, MS_PAGE_RESIDENT);
	CHECK_EQ(info(5).gen, GEN_YOUNGEST);
	CHECK(info(5).tracked);
	CHECK(hw_mapped(root, 5));
	CHECK(teardown());
}

TEST(zero_pages_cost_nothing_in_the_store)
{
	struct zstore_stats zst;
	uint64_t hpa;

	CHECK(setup(64, -1));
	for (uint64_t g = 0; g < 50; g++)
		CHECK(g % 2 ? memslot_resolve(&t.ms, g, &hpa) != 0 : tvm_touch(&t, &root, g) != 0);
	CHECK_EQ(evict_all(0), 50);
	zst = store_stats(&zs);
	CHECK_EQ(zst.handles, 50);
	CHECK_EQ(zst.zero_handles, 50);
	CHECK_EQ(zst.entries, 0);
	CHECK_EQ(zst.data_pages, 0);
	CHECK_EQ(stats(NULL).zero_evictions, 50);
	CHECK_EQ(stats(NULL).evictions, 50);
	CHECK_EQ(info(0).state, MS_PAGE_ZERO);
	CHECK_EQ(info(0).handle, ZSTORE_HANDLE_ZERO);
	CHECK_EQ(pool_live(), 0);
	for (uint64_t g = 0; g < 50; g++) {
		CHECK(memslot_resolve(&t.ms, g, &hpa));
		CHECK(page_is(ept_pa_to_va(hpa), 0));
	}
	CHECK_EQ(store_stats(&zs).handles, 0);
	CHECK_EQ(stats(NULL).evicted, 0);
	CHECK_EQ(stats(NULL).refaults, 50);
	CHECK(teardown());
}

TEST(duplicate_pages_share_one_copy)
{
	uint8_t buf[4096], got[4096];
	struct zstore_stats zst;

	CHECK(setup(64, -1));
	zp_fill(buf, ZP_TEXT, 42);
	for (uint64_t g = 0; g < 20; g++)
		CHECK(!memslot_access(&t.ms, g << 12, buf, sizeof(buf), true));
	CHECK_EQ(evict_all(0), 20);
	zst = store_stats(&zs);
	CHECK_EQ(zst.handles, 20);
	CHECK_EQ(zst.entries, 1);
	CHECK_EQ(zst.dedup_hits, 19);
	CHECK_EQ(stats(NULL).zero_evictions, 0);
	CHECK_EQ(info(3).state, MS_PAGE_EVICTED);
	for (uint64_t g = 0; g < 20; g++) {
		CHECK(!memslot_access(&t.ms, g << 12, got, sizeof(got), false));
		CHECK(!memcmp(buf, got, sizeof(buf)));
		CHECK_EQ(store_stats(&zs).entries, g < 19);
	}
	CHECK_EQ(store_stats(&zs).handles, 0);
	CHECK(teardown());
}

TEST(refaults_are_bit_exact)
{
	static const enum zp_kind kinds[] = { ZP_TEXT, ZP_RANDOM, ZP_REPEAT, ZP_SPARSE, ZP_HALF };
	const uint64_t n = 5 * 40;
	uint8_t want[4096], got[4096], *page;
	struct zstore_stats zst;

	CHECK(setup(n, -1));
	for (uint64_t g = 0; g < n; g++) {
		page = tvm_touch(&t, &root, g);
		CHECK(page);
		fill(page, g, kinds[g % 5]);	/* written by the guest */
	}
	age_to_oldest();
	CHECK_EQ(evict_all(GEN_OLDEST), n);
	zst = store_stats(&zs);
	CHECK_EQ(zst.handles, n);
	CHECK_EQ(zst.entries, n);
	CHECK(zst.raw_entries >= 40);	/* the random pages at least */
	CHECK(zst.data_pages < n);
	for (uint64_t g = 0; g < n; g++) {
		fill(want, g, kinds[g % 5]);
		if (g % 2) {
			page = tvm_touch(&t, &root, g);
			CHECK(page && !memcmp(page, want, 4096));
		} else {
			CHECK(!memslot_access(&t.ms, g << 12, got, sizeof(got), false));
			CHECK(!memcmp(got, want, 4096));
		}
	}
	CHECK_EQ(stats(NULL).refaults, n);
	CHECK_EQ(stats(NULL).evicted, 0);
	zst = store_stats(&zs);
	CHECK_EQ(zst.handles, 0);
	CHECK_EQ(zst.entries, 0);
	CHECK_EQ(zst.data_pages, 0);
	/* Round two: a page evicted twice comes back twice. */
	age_to_oldest();
	CHECK_EQ(evict_all(GEN_OLDEST), n);
	fill(want, 77, kinds[77 % 5]);
	page = tvm_touch(&t, &root, 77);
	CHECK(page && !memcmp(page, want, 4096));
	/* What is still stored goes at destroy. */
	CHECK_EQ(store_stats(&zs).handles, n - 1);
	CHECK(teardown());
}

TEST(a_full_store_keeps_the_page)
{
	uint8_t buf[4096], got[4096];

	CHECK(setup(8, -1));
	zp_fill(buf, ZP_RANDOM, 1);
	CHECK(!memslot_access(&t.ms, 0, buf, sizeof(buf), true));
	age_to_oldest();
	store_budget = 0;
	CHECK_EQ(memslot_evict_oldest(&t.ms, 8, 0), 0);
	CHECK_EQ(info(0).state, MS_PAGE_RESIDENT);
	CHECK(info(0).tracked);
	CHECK_EQ(info(0).gen, GEN_YOUNGEST);
	CHECK_EQ(store_stats(&zs).nomem, 1);
	store_budget = -1;
	CHECK_EQ(memslot_evict_oldest(&t.ms, 8, 0), 1);
	CHECK(!memslot_access(&t.ms, 0, got, sizeof(got), false));
	CHECK(!memcmp(buf, got, sizeof(buf)));
	CHECK(teardown());
}

TEST(incompressible_pages_stay_resident)
{
	uint8_t rnd_page[4096], text[4096], got[4096];

	CHECK(setup(8, -1));
	zp_fill(rnd_page, ZP_RANDOM, 7);
	zp_fill(text, ZP_TEXT, 7);
	/* Stored raw while the store takes anything. */
	CHECK(!memslot_access(&t.ms, 2 << 12, rnd_page, sizeof(rnd_page), true));
	CHECK_EQ(evict_all(0), 1);
	zs.reject_incompressible = true;
	CHECK(!memslot_access(&t.ms, 0, rnd_page, sizeof(rnd_page), true));
	CHECK(!memslot_access(&t.ms, 1 << 12, text, sizeof(text), true));
	zp_fill(rnd_page, ZP_RANDOM, 8);
	CHECK(!memslot_access(&t.ms, 3 << 12, rnd_page, sizeof(rnd_page), true));
	age_to_oldest();
	/* gfn 0 matches the stored copy, gfn 1 compresses, gfn 3 does neither. */
	CHECK_EQ(memslot_evict_oldest(&t.ms, 8, GEN_OLDEST), 2);
	CHECK_EQ(info(0).state, MS_PAGE_EVICTED);
	CHECK_EQ(info(1).state, MS_PAGE_EVICTED);
	CHECK_EQ(info(3).state, MS_PAGE_RESIDENT);
	CHECK(info(3).tracked);
	CHECK_EQ(info(3).gen, GEN_YOUNGEST);
	CHECK_EQ(stats(NULL).incompressible, 1);
	CHECK_EQ(store_stats(&zs).rejected, 1);
	CHECK_EQ(store_stats(&zs).dedup_hits, 1);
	CHECK(!memslot_access(&t.ms, 3 << 12, got, sizeof(got), false));
	CHECK(!memcmp(got, rnd_page, sizeof(got)));
	CHECK(teardown());
}

TEST(failed_allocations_reclaim_then_report_nomem)
{
	struct reclaim rc;
	struct reclaim_stats rst;
	uint8_t buf[4096];
	uint64_t hpa;

	CHECK(setup(256, 32));
	reclaim_init(&rc, now_ns);
	reclaim_register(&rc, &t.ms);
	for (uint64_t g = 0; g < 32; g++) {
		fill(buf, g, ZP_TEXT);
		CHECK(!memslot_access(&t.ms, g << 12, buf, sizeof(buf), true));
	}
	CHECK_EQ(pool_live(), 32);
	reclaim_get_stats(&rc, &rst);
	CHECK_EQ(rst.runs, 0);
	/* Over the limit: the allocation fails and direct reclaim makes room. */
	CHECK(memslot_resolve(&t.ms, 100, &hpa));
	CHECK(tvm_touch(&t, &root, 101));
	reclaim_get_stats(&rc, &rst);
	CHECK(rst.direct_runs >= 1);
	CHECK(rst.freed >= 1);
	CHECK(rst.ns > 0);
	CHECK(stats(NULL).evictions >= 1);
	CHECK_EQ(stats(NULL).nomem, 0);
	CHECK(pool_live() <= 32);
	for (uint64_t g = 0; g < 32; g++) {
		uint8_t got[4096];

		fill(buf, g, ZP_TEXT);
		CHECK(!memslot_access(&t.ms, g << 12, got, sizeof(got), false));
		CHECK(!memcmp(buf, got, sizeof(buf)));
	}
	/* No page at all: reclaim evicts everything, the resolve still fails. */
	pool_set_limit(0);
	CHECK(!memslot_resolve(&t.ms, 200, &hpa));
	CHECK_EQ(stats(NULL).nomem, 1);
	CHECK_EQ(stats(NULL).resident, 0);
	CHECK_EQ(info(200).state, MS_PAGE_EMPTY);
	CHECK_EQ(ept_fault(&t.ept, root, 201ull << 12, EPT_R), EPT_NOMEM);
	CHECK_EQ(stats(NULL).nomem, 2);
	CHECK_EQ(memslot_access(&t.ms, 5 << 12, buf, 1, false), -1);
	CHECK_EQ(stats(NULL).nomem, 3);
	pool_set_limit(32);
	reclaim_unregister(&rc, &t.ms);
	CHECK(teardown());
}

TEST(failed_allocation_without_reclaim_is_nomem)
{
	uint64_t hpa;

	CHECK(setup(16, 2));
	CHECK(memslot_resolve(&t.ms, 0, &hpa));
	CHECK(memslot_resolve(&t.ms, 1, &hpa));
	CHECK(!memslot_resolve(&t.ms, 2, &hpa));
	CHECK_EQ(stats(NULL).nomem, 1);
	CHECK_EQ(stats(NULL).resident, 2);
	CHECK(teardown());
}

/* ---- the slot word protocol (tests/models/gfn_state.pml) ---- */

static uint64_t slot(uint64_t gfn)
{
	return __atomic_load_n(&t.ms.slots[gfn], __ATOMIC_ACQUIRE);
}

static bool hist_is(size_t a, size_t b, size_t c, size_t d)
{
	size_t h[GEN_NR];

	stats(h);
	return h[0] == a && h[1] == b && h[2] == c && h[3] == d;
}

static void set_slot(uint64_t gfn, uint64_t v)
{
	__atomic_store_n(&t.ms.slots[gfn], v, __ATOMIC_RELEASE);
}

TEST(young_page_moves_by_one_slot_change_and_counts_follow)
{
	uint64_t before[8];
	size_t hist[GEN_NR];

	CHECK(setup(8, -1));
	for (uint64_t g = 0; g < 8; g++)
		CHECK(tvm_touch(&t, &root, g) != NULL);
	age_to_oldest();
	CHECK(hist_is(0, 0, 0, 8));
	for (uint64_t g = 0; g < 8; g++)
		before[g] = slot(g);
	grace_read_lock();
	for (uint64_t g = 0; g < 3; g++)
		hw_access(root, g);
	grace_read_unlock();
	CHECK_EQ(memslot_age(&t.ms), 3);
	stats(hist);
	CHECK(hist[0] == 3 && hist[1] == 0 && hist[2] == 0 && hist[3] == 5);
	for (uint64_t g = 0; g < 8; g++) {
		uint64_t v = slot(g);

		/* Only the generation of the young ones changed; the old ones were not written. */
		CHECK_EQ(v & ~MS_GEN_MASK, before[g] & ~MS_GEN_MASK);
		if (g < 3)
			CHECK_EQ(ms_slot_gen_idx(v), gen_seq_idx(gen_max_seq(&t.ms.gens)));
		else
			CHECK_EQ(v, before[g]);
		/* The accessed bits were cleared: no page is young for the next pass. */
		CHECK(!(*hw_sptep(root, g) & EPT_ACCESSED));
	}
	CHECK(teardown());
}

TEST(cold_pages_fold_before_their_numbers_wrap)
{
	long nr[GEN_SEQ_NR] = { 0 };

	CHECK(setup(4, -1));
	for (uint64_t g = 0; g < 4; g++)
		CHECK(tvm_touch(&t, &root, g) != NULL);
	for (unsigned int pass = 0; pass < 3 * GEN_SEQ_NR + 5; pass++) {
		CHECK_EQ(memslot_age(&t.ms), pass == 0 ? 4 : 0);
		for (uint64_t g = 0; g < 4; g++) {
			unsigned int age = gen_age(gen_max_seq(&t.ms.gens), ms_slot_gen_idx(slot(g)));

			if (age >= GEN_FOLD_AGE + GEN_FOLD_EVERY || (pass >= GEN_OLDEST && age < GEN_OLDEST))
				CHECK(!"a cold page's number wrapped or turned young");
		}
	}
	CHECK(hist_is(0, 0, 0, 4));
	for (uint64_t g = 0; g < 4; g++)
		nr[ms_slot_gen_idx(slot(g))]++;
	for (unsigned int i = 0; i < GEN_SEQ_NR; i++)
		CHECK_EQ(t.ms.gens.nr[i], nr[i]);
	CHECK(teardown());
}

TEST(aging_walk_clears_only_the_accessed_bit_in_gfn_order)
{
	static const uint64_t young[] = { 1, 511, 512, 599 };
	uint64_t bm[10] = { 0 }, saved;
	ept_spte_t *frozen;

	CHECK(setup(1024, -1));
	for (uint64_t g = 0; g < 600; g++)
		CHECK(tvm_touch(&t, &root, g) != NULL);
	grace_read_lock();
	CHECK_EQ(ept_test_clear_young(root, 0, 1024, bm), 600);	/* first touches */
	memset(bm, 0, sizeof(bm));
	for (size_t i = 0; i < sizeof(young) / sizeof(young[0]); i++)
		hw_access(root, young[i]);
	/* A frozen entry has bit 8 set but is not present: never young, never written. */
	frozen = hw_sptep(root, 7);
	saved = *frozen;
	__atomic_store_n(frozen, EPT_FROZEN_SPTE, __ATOMIC_RELAXED);
	CHECK_EQ(ept_test_clear_young(root, 0, 600, bm), 4);
	CHECK_EQ(*frozen, EPT_FROZEN_SPTE);
	__atomic_store_n(frozen, saved, __ATOMIC_RELAXED);
	CHECK_EQ(bm[0], 1ull << 1);
	CHECK_EQ(bm[7], 1ull << 63);
	CHECK_EQ(bm[8], 1ull);
	CHECK_EQ(bm[9], 1ull << (599 - 576));
	for (uint64_t g = 0; g < 600; g++) {
		ept_spte_t s = *hw_sptep(root, g);

		CHECK(ept_spte_present(s) && !(s & EPT_ACCESSED));
	}
	/* A range starting inside a leaf table: bits count from its start. */
	hw_access(root, 512);
	memset(bm, 0, sizeof(bm));
	CHECK_EQ(ept_test_clear_young(root, 500, 520, bm), 1);
	CHECK_EQ(bm[0], 1ull << 12);
	grace_read_unlock();
	CHECK(teardown());
}

TEST(fault_on_a_page_being_evicted_retries_through_the_invalidation)
{
	uint64_t v, hpa;
	bool opened;

	CHECK(setup(16, -1));
	CHECK(tvm_touch(&t, &root, 5) != NULL);
	v = slot(5);
	/* An ager that read the accessed bit before a claim must not undo the claim. */
	grace_read_lock();
	hw_access(root, 5);
	grace_read_unlock();
	set_slot(5, (v & ~MS_STATE_MASK) | MS_EVICTING);
	t.ms.gens.max_seq++;		/* so that young would mean a new number */
	CHECK_EQ(memslot_age(&t.ms), 1);
	CHECK_EQ(slot(5), (v & ~MS_STATE_MASK) | MS_EVICTING);
	set_slot(5, v);
	t.ms.gens.max_seq -= 2;
	/* Reclaim's steps by hand: open the invalidation, then claim the slot inside it. */
	opened = ept_invalidate_begin(&t.ept, 5, 6);
	CHECK(!hw_mapped(root, 5));
	set_slot(5, (v & ~MS_STATE_MASK) | MS_EVICTING);
	/* The resolver hands out the claimed page; the fault must not install it. */
	CHECK(memslot_resolve(&t.ms, 5, &hpa));
	CHECK_EQ(hpa, v & MS_ADDR_MASK);
	CHECK_EQ(ept_fault(&t.ept, root, 5 << EPT_PAGE_SHIFT, EPT_RWX), EPT_RETRY);
	CHECK(!hw_mapped(root, 5));
	/* Aging and page info leave the claim alone. */
	memslot_age(&t.ms);
	CHECK_EQ(slot(5), (v & ~MS_STATE_MASK) | MS_EVICTING);
	CHECK(!info(5).tracked);
	/* The store refused it: back to resident, the invalidation ends, the fault maps it. */
	set_slot(5, v);
	ept_invalidate_end(&t.ept, 5, 6, opened);
	CHECK_EQ(ept_fault(&t.ept, root, 5 << EPT_PAGE_SHIFT, EPT_RWX), EPT_FIXED);
	CHECK(hw_mapped(root, 5));
	CHECK(teardown());
}

struct waiter {
	pthread_t tid;
	uint64_t gfn, hpa;
	int done;
	bool ok;
};

static void *resolve_one(void *arg)
{
	struct waiter *w = arg;

	hosted_cpu_id = 1;
	grace_cpu_online(1);
	w->ok = memslot_resolve(&t.ms, w->gfn, &w->hpa);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	grace_cpu_offline(1);
	return NULL;
}

TEST(refault_waits_while_another_claims_the_handle)
{
	struct waiter w = { .gfn = 3 };
	uint8_t in[4096], out[4096];
	uint64_t v;

	CHECK(setup(16, -1));
	zp_fill(in, ZP_TEXT, 3);
	CHECK(!memslot_access(&t.ms, 3 << 12, in, sizeof(in), true));
	age_to_oldest();
	CHECK_EQ(evict_all(GEN_OLDEST), 1);
	v = slot(3);
	CHECK_EQ(ms_slot_state(v), MS_EVICTED);
	/* Another refault holds the claim: nobody else may read or drop the handle. */
	set_slot(3, (v & ~MS_STATE_MASK) | MS_LOADING);
	pthread_create(&w.tid, NULL, resolve_one, &w);
	usleep(20000);
	CHECK(!__atomic_load_n(&w.done, __ATOMIC_ACQUIRE));
	CHECK_EQ(store_stats(&zs).handles, 1);
	/* The claimer gave up: the waiter claims it and restores the page. */
	set_slot(3, v);
	pthread_join(w.tid, NULL);
	CHECK(w.ok);
	CHECK_EQ(ms_slot_state(slot(3)), MS_RESIDENT);
	CHECK_EQ(slot(3) & MS_ADDR_MASK, w.hpa);
	CHECK_EQ(store_stats(&zs).handles, 0);
	CHECK(!memslot_access(&t.ms, 3 << 12, out, sizeof(out), false));
	CHECK(!memcmp(in, out, sizeof(in)));
	CHECK_EQ(stats(NULL).refaults, 1);
	CHECK(teardown());
}

TEST(populate_that_finds_the_slot_taken_frees_its_page)
{
	struct waiter w = { .gfn = 9 };
	void *mine;

	CHECK(setup(16, -1));
	mine = env_alloc_page(&t.ms);
	memset(mine, 0x5a, 4096);
	/* The waiter allocates while we hold the pool, then finds the slot ours. */
	pthread_mutex_lock(&pool.lock);
	pthread_create(&w.tid, NULL, resolve_one, &w);
	usleep(20000);
	gen_count(&t.ms.gens, gen_seq_idx(gen_max_seq(&t.ms.gens)), 1);
	__atomic_fetch_add(&t.ms.st.resident, 1, __ATOMIC_RELAXED);
	set_slot(9, ept_va_to_pa(mine) | MS_RESIDENT);
	pthread_mutex_unlock(&pool.lock);
	pthread_join(w.tid, NULL);
	CHECK(w.ok);
	CHECK_EQ(w.hpa, ept_va_to_pa(mine));
	CHECK_EQ(pool_live(), 1);
	CHECK_EQ(stats(NULL).populated, 0);
	CHECK(page_is(mine, 0x5a));
	CHECK(teardown());
}

TEST(pinned_page_is_not_claimed_by_eviction)
{
	uint64_t v;

	CHECK(setup(16, -1));
	CHECK(tvm_touch(&t, &root, 2) != NULL);
	age_to_oldest();
	v = slot(2);
	set_slot(2, v + MS_PIN_ONE);	/* memslot_access() copying */
	CHECK_EQ(memslot_evict_oldest(&t.ms, 8, GEN_OLDEST), 0);
	CHECK_EQ(ms_slot_state(slot(2)), MS_RESIDENT);
	set_slot(2, v);
	CHECK_EQ(memslot_evict_oldest(&t.ms, 8, GEN_OLDEST), 1);
	CHECK_EQ(ms_slot_state(slot(2)), MS_EVICTED);
	CHECK(teardown());
}

TEST(reclaim_scan_goes_on_from_its_clock_hand)
{
	CHECK(setup(16, -1));
	for (uint64_t g = 0; g < 16; g++)
		CHECK(tvm_touch(&t, &root, g) != NULL);
	age_to_oldest();
	CHECK_EQ(memslot_evict_oldest(&t.ms, 4, GEN_OLDEST), 4);
	CHECK_EQ(memslot_evict_oldest(&t.ms, 4, GEN_OLDEST), 4);
	for (uint64_t g = 0; g < 16; g++)
		CHECK_EQ(ms_slot_state(slot(g)), g < 8 ? MS_EVICTED : MS_RESIDENT);
	/* Round the end and back to the start: the run 14, 15, 0 is sorted into two. */
	CHECK(tvm_touch(&t, &root, 0) != NULL);
	age_to_oldest();
	t.ms.clock = 14;
	CHECK_EQ(memslot_evict_oldest(&t.ms, 3, GEN_OLDEST), 3);
	CHECK(ms_slot_state(slot(14)) == MS_EVICTED && ms_slot_state(slot(15)) == MS_EVICTED &&
	      ms_slot_state(slot(0)) == MS_EVICTED && ms_slot_state(slot(8)) == MS_RESIDENT);
	CHECK(teardown());
}

/* ---- 2 MiB leaves ---- */

/* The level of the leaf mapping @gfn in root, 0 if none. */
static int leaf_level(uint64_t gfn)
{
	int level = 0;
	ept_spte_t *p;

	grace_read_lock();
	p = hw_leafp(root, gfn, &level);
	if (!p || !ept_spte_present(ept_spte_read(p)))
		level = 0;
	grace_read_unlock();
	return level;
}

TEST(first_touch_of_an_empty_whole_block_maps_2m)
{
	uint8_t buf[4096];
	uint64_t hpa;
	struct memslot_stats st;
	uint8_t *p;

	CHECK(setup(2048 + 100, -1));
	t.ms.huge = true;
	p = tvm_touch(&t, &root, 600);
	CHECK(p && page_is(p, 0));
	CHECK_EQ(leaf_level(600), 2);
	CHECK_EQ(leaf_level(1023), 2);
	st = stats(NULL);
	CHECK_EQ(st.huge_populated, 1);
	CHECK_EQ(st.populated, 512);
	CHECK_EQ(st.resident, 512);
	CHECK_EQ(st.leaves_2m, 1);
	CHECK_EQ(st.leaves_4k, 0);
	CHECK_EQ(pool_live(), 512);
	CHECK_EQ(info(1000).state, MS_PAGE_RESIDENT);
	CHECK_EQ(info(1000).mappings_2m, 1);
	CHECK_EQ(info(1000).mappings, 0);
	/* Each gfn has its own page of the block: the leaf maps them in order. */
	CHECK_EQ(info(601).hpa, info(600).hpa + 4096);
	CHECK_EQ(info(512).hpa % (2 << 20), 0);
	/* Another gfn of the block: already mapped, nothing new. */
	CHECK(tvm_touch(&t, &root, 700));
	CHECK_EQ(stats(NULL).populated, 512);
	/* A block with one gfn populated already (4 KiB) goes 4 KiB by 4 KiB. */
	CHECK(memslot_resolve(&t.ms, 1030, &hpa));
	CHECK(tvm_touch(&t, &root, 1024));
	CHECK_EQ(leaf_level(1024), 1);
	CHECK_EQ(leaf_level(1030), 0);
	/* The last block is not whole: 4 KiB. */
	CHECK(tvm_touch(&t, &root, 2050));
	CHECK_EQ(leaf_level(2050), 1);
	st = stats(NULL);
	CHECK_EQ(st.huge_populated, 1);
	CHECK_EQ(st.leaves_4k, 2);
	CHECK_EQ(st.resident, 515);
	/* The hypervisor's write into an empty block (an image it loads) takes the whole block. */
	fill(buf, 1600, ZP_TEXT);
	CHECK(!memslot_access(&t.ms, 1600ull << 12, buf, sizeof(buf), true));
	CHECK_EQ(stats(NULL).huge_populated, 2);
	CHECK(!memcmp(tvm_touch(&t, &root, 1600), buf, sizeof(buf)));
	CHECK_EQ(leaf_level(1600), 2);
	CHECK(teardown());

	/* Off, or on with no free 2 MiB run (300 frames): 4 KiB leaves only. */
	for (int on = 0; on < 2; on++) {
		CHECK(setup(2048, on ? 300 : -1));
		t.ms.huge = on;
		CHECK(tvm_touch(&t, &root, 600));
		CHECK_EQ(leaf_level(600), 1);
		CHECK_EQ(stats(NULL).huge_populated, 0);
		CHECK_EQ(pool_live(), 1);
		CHECK(teardown());
	}
}

/* Reclaim takes part of a 2 MiB block: the leaf is split, the rest stays mapped, data comes back. */
TEST(evicting_part_of_a_2m_leaf_splits_it_and_refaults_bit_exact)
{
	uint8_t want[4096];
	size_t hist[GEN_NR];

	CHECK(setup(1024, -1));
	t.ms.huge = true;
	for (uint64_t g = 512; g < 1024; g++) {
		uint8_t *p = tvm_touch(&t, &root, g);

		CHECK(p);
		fill(p, g, g % 3 ? ZP_TEXT : ZP_ZERO);
	}
	CHECK_EQ(stats(NULL).leaves_2m, 1);
	/* A young 2 MiB leaf ages as one unit: all 512 pages young together. */
	age_to_oldest();
	CHECK(tvm_touch(&t, &root, 700));
	CHECK_EQ(memslot_age(&t.ms), 512);
	stats(hist);
	CHECK_EQ(hist[GEN_YOUNGEST], 512);
	age_to_oldest();
	CHECK_EQ(memslot_evict_oldest(&t.ms, MEMSLOT_EVICT_BATCH, GEN_OLDEST), MEMSLOT_EVICT_BATCH);
	CHECK_EQ(t.ept.splits, 1);
	CHECK_EQ(stats(NULL).leaves_2m, 0);
	CHECK_EQ(stats(NULL).leaves_4k, 512 - MEMSLOT_EVICT_BATCH);
	CHECK_EQ(pool_live(), 512 - MEMSLOT_EVICT_BATCH);
	for (uint64_t g = 512; g < 1024; g++) {
		CHECK_EQ(leaf_level(g), g < 512 + MEMSLOT_EVICT_BATCH ? 0 : 1);
		CHECK_EQ(info(g).mappings, g < 512 + MEMSLOT_EVICT_BATCH ? 0 : 1);
	}
	/* Every page reads back what was written, through the guest's mapping. */
	for (uint64_t g = 512; g < 1024; g++) {
		uint8_t *p = tvm_touch(&t, &root, g);

		fill(want, g, g % 3 ? ZP_TEXT : ZP_ZERO);
		CHECK(p && !memcmp(p, want, sizeof(want)));
	}
	CHECK_EQ(stats(NULL).refaults, MEMSLOT_EVICT_BATCH);
	CHECK_EQ(pool_live(), 512);
	/* The rest goes too, and comes back again. */
	age_to_oldest();
	CHECK_EQ(evict_all(GEN_OLDEST), 512 - stats(NULL).incompressible);
	CHECK_EQ(stats(NULL).leaves_4k + stats(NULL).leaves_2m, stats(NULL).incompressible);
	for (uint64_t g = 512; g < 1024; g++) {
		fill(want, g, g % 3 ? ZP_TEXT : ZP_ZERO);
		CHECK(!memslot_access(&t.ms, g << 12, want + 0, 0, false));
		CHECK(!memcmp(tvm_touch(&t, &root, g), want, sizeof(want)));
	}
	CHECK(teardown());
}

/* A discard of a whole 2 MiB-mapped block zaps the leaf whole and frees every page. */
TEST(discard_of_a_2m_block_takes_the_leaf_whole)
{
	CHECK(setup(1024, -1));
	t.ms.huge = true;
	CHECK(tvm_touch(&t, &root, 513));
	CHECK_EQ(stats(NULL).leaves_2m, 1);
	CHECK_EQ(memslot_discard(&t.ms, 512, 512), 512);
	CHECK_EQ(t.ept.splits, 0);
	CHECK_EQ(stats(NULL).leaves_2m, 0);
	CHECK_EQ(stats(NULL).resident, 0);
	CHECK_EQ(pool_live(), 0);
	CHECK_EQ(leaf_level(513), 0);
	/* Touched again: a fresh block, zeroed. */
	CHECK(page_is(tvm_touch(&t, &root, 900), 0));
	CHECK_EQ(leaf_level(900), 2);
	CHECK_EQ(stats(NULL).huge_populated, 2);
	CHECK(teardown());
}

/* Between the fault's resolve (which saw the block whole) and its install: a discard in the block. */
static void discard_in_block(struct tvm *tv, uint64_t gfn)
{
	(void)gfn;
	tv->resolve_hook = NULL;
	CHECK_EQ(memslot_discard(&tv->ms, 512 + 5, 1), 1);
}

/*
 * A 2 MiB fault whose block loses a page after the fault's snapshot must
 * retry: its own gfn's invalidation check would pass, the block's does not
 * (the leaf would map the freed page).
 */
TEST(a_2m_fault_racing_a_discard_in_its_block_retries)
{
	uint64_t freed, hpa;
	int level;

	CHECK(setup(1024, -1));
	t.ms.huge = true;
	CHECK(memslot_resolve_level(&t.ms, 512, &hpa, &level));
	CHECK_EQ(level, 2);
	freed = info(512 + 5).hpa;
	CHECK(freed);
	t.resolve_hook = discard_in_block;
	CHECK_EQ(ept_fault(&t.ept, root, 600ull << 12, EPT_RWX), EPT_RETRY);
	CHECK_EQ(leaf_level(517), 0);
	/* Again: the block is not whole any more, so 4 KiB. */
	CHECK(tvm_touch(&t, &root, 600));
	CHECK_EQ(leaf_level(600), 1);
	CHECK(page_is(tvm_touch(&t, &root, 517), 0));
	CHECK(info(517).hpa != freed || leaf_level(517) == 1);
	CHECK(teardown());
}

static bool inval_opened;

/* Between the fault's resolve and its install: an invalidation of one gfn of the block opens. */
static void open_inval_in_block(struct tvm *tv, uint64_t gfn)
{
	(void)gfn;
	tv->resolve_hook = NULL;
	inval_opened = ept_invalidate_begin(&tv->ept, 512 + 5, 512 + 6);
}

/*
 * An invalidation open over another gfn of the block (an eviction claiming
 * it) when the fault takes mmu_lock: the fault's own gfn may be mapped, but
 * only by 4 KiB; a 2 MiB leaf would map the page being evicted.
 */
TEST(a_2m_fault_beside_an_open_invalidation_maps_4k)
{
	uint64_t hpa;
	int level;

	CHECK(setup(1024, -1));
	t.ms.huge = true;
	CHECK(memslot_resolve_level(&t.ms, 512, &hpa, &level));
	CHECK_EQ(level, 2);
	t.resolve_hook = open_inval_in_block;
	CHECK_EQ(ept_fault(&t.ept, root, 600ull << 12, EPT_RWX), EPT_FIXED);
	CHECK(inval_opened);
	CHECK_EQ(leaf_level(600), 1);
	CHECK_EQ(leaf_level(517), 0);
	ept_invalidate_end(&t.ept, 512 + 5, 512 + 6, inval_opened);
	CHECK(teardown());
}

/* ---- threads (the TSan twin's business) ---- */

#define RACE_PAGES	256

struct racer {
	pthread_t tid;
	unsigned int cpu;
	bool reverse;
	uint64_t lo, hi;	/* accessor: its gfns; 0, 0: all of RACE_GFNS */
	uint64_t hpa[RACE_PAGES];
	long ops, bad;
};

static void *resolver(void *arg)
{
	struct racer *r = arg;

	hosted_cpu_id = r->cpu;
	for (uint64_t i = 0; i < RACE_PAGES; i++) {
		uint64_t g = r->reverse ? RACE_PAGES - 1 - i : i;

		r->bad += !memslot_resolve(&t.ms, g, &r->hpa[g]);
	}
	return NULL;
}

TEST(concurrent_first_touches_populate_once)
{
	struct racer r[2] = { { .cpu = 1 }, { .cpu = 2, .reverse = true } };

	CHECK(setup(RACE_PAGES, -1));
	for (int i = 0; i < 2; i++)
		pthread_create(&r[i].tid, NULL, resolver, &r[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(r[i].tid, NULL);
	CHECK_EQ(r[0].bad + r[1].bad, 0);
	CHECK(!memcmp(r[0].hpa, r[1].hpa, sizeof(r[0].hpa)));
	CHECK_EQ(stats(NULL).populated, RACE_PAGES);
	CHECK_EQ(pool_live(), RACE_PAGES);
	for (uint64_t g = 0; g < RACE_PAGES; g++)
		CHECK(page_is(ept_pa_to_va(r[0].hpa[g]), 0));
	CHECK(teardown());
}

#define RACE_GFNS	128
#define RACE_LIMIT	96
/* More gfns than an aging chunk, so that a pass walks several (a discard may come in between). */
#define DISCARD_GFNS	1024
#define DISCARD_LIMIT	640

static struct reclaim race_rc;
static int race_stop;

/* The hypervisor's accesses: each gfn holds its number and a version, checked on every read. */
static void *accessor(void *arg)
{
	struct racer *r = arg;
	uint64_t ver[DISCARD_GFNS] = { 0 }, seed = 0x1234567 + r->cpu, buf[512];
	uint64_t lo = r->lo, n = r->hi ? r->hi - r->lo : RACE_GFNS;

	hosted_cpu_id = r->cpu;
	grace_cpu_online(r->cpu);
	while (!__atomic_load_n(&race_stop, __ATOMIC_RELAXED)) {
		uint64_t g = lo + rnd(&seed) % n;

		grace_quiescent();
		if (memslot_access(&t.ms, g << 12, buf, sizeof(buf), false)) {
			r->bad++;
			continue;
		}
		if (ver[g] && (buf[0] != g || buf[1] != ver[g] || buf[511] != ver[g]))
			r->bad++;
		buf[0] = g;
		buf[1] = buf[511] = ++ver[g];
		r->bad += !!memslot_access(&t.ms, g << 12, buf, sizeof(buf), true);
		r->ops++;
	}
	grace_cpu_offline(r->cpu);
	return NULL;
}

/* Small reclaims back to back: some of them hit the page being accessed. */
static void *reclaimer(void *arg)
{
	struct racer *r = arg;

	hosted_cpu_id = r->cpu;
	grace_cpu_online(r->cpu);
	while (!__atomic_load_n(&race_stop, __ATOMIC_RELAXED)) {
		r->ops += reclaim_run(&race_rc, 4);
		grace_quiescent();
	}
	grace_cpu_offline(r->cpu);
	return NULL;
}

TEST(hypervisor_accesses_race_eviction)
{
	struct racer acc = { .cpu = 1 }, rec = { .cpu = 2 };
	double t0;

	CHECK(setup(RACE_GFNS, RACE_LIMIT));
	reclaim_init(&race_rc, NULL);
	reclaim_register(&race_rc, &t.ms);
	race_stop = 0;
	pthread_create(&acc.tid, NULL, accessor, &acc);
	pthread_create(&rec.tid, NULL, reclaimer, &rec);
	for (t0 = now_s(); now_s() - t0 < 0.5;)
		usleep(10000);
	__atomic_store_n(&race_stop, 1, __ATOMIC_RELAXED);
	pthread_join(acc.tid, NULL);
	pthread_join(rec.tid, NULL);
	printf("# %ld accesses, %ld pages evicted by the reclaimer, %llu refaults\n", acc.ops,
	       rec.ops, (unsigned long long)stats(NULL).refaults);
	CHECK_EQ(acc.bad, 0);
	CHECK(acc.ops > 0 && rec.ops > 0);
	CHECK_EQ(stats(NULL).nomem, 0);
	CHECK_EQ(pool.bad_poison, 0);
	reclaim_unregister(&race_rc, &t.ms);
	CHECK(teardown());
}

TEST(discard_drops_pages_and_copies_then_reads_zero)
{
	uint8_t buf[4096], got[4096];
	struct memslot_stats st;
	unsigned long seq;

	CHECK(setup(1024, -1));
	/* 0-9 resident (mapped), 10-19 evicted (odd ones zero), 20-29 resident and kept. */
	for (uint64_t g = 0; g < 30; g++) {
		fill(buf, g, g >= 10 && g < 20 && g % 2 ? ZP_ZERO : ZP_TEXT);
		CHECK(!memslot_access(&t.ms, g << 12, buf, sizeof(buf), true));
	}
	age_to_oldest();
	for (uint64_t g = 0; g < 10; g++)
		CHECK(tvm_touch(&t, &root, g));
	for (uint64_t g = 20; g < 30; g++)
		CHECK(tvm_touch(&t, &root, g));
	CHECK_EQ(evict_all(1), 10);
	CHECK_EQ(info(11).state, MS_PAGE_ZERO);
	CHECK_EQ(info(12).state, MS_PAGE_EVICTED);
	seq = t.ept.inval_seq;
	CHECK_EQ(memslot_discard(&t.ms, 0, 20), 20);
	CHECK_EQ(t.ept.inval_seq - seq, 1);	/* one run */
	st = stats(NULL);
	CHECK_EQ(st.resident, 10);
	CHECK_EQ(st.evicted, 0);
	CHECK_EQ(st.discarded, 20);
	CHECK_EQ(pool_live(), 10);
	CHECK_EQ(store_stats(&zs).handles, 0);
	for (uint64_t g = 0; g < 20; g++) {
		CHECK_EQ(info(g).state, MS_PAGE_EMPTY);
		CHECK(!info(g).tracked);
		CHECK_EQ(info(g).mappings, 0);
		CHECK(!hw_mapped(root, g));
	}
	/* The others are untouched, bit for bit. */
	for (uint64_t g = 20; g < 30; g++) {
		fill(buf, g, ZP_TEXT);
		CHECK(!memslot_access(&t.ms, g << 12, got, sizeof(got), false));
		CHECK(!memcmp(buf, got, sizeof(buf)));
		CHECK(hw_mapped(root, g));
	}
	/* A discarded page is a fresh zero page when touched again. */
	CHECK(page_is(tvm_touch(&t, &root, 3), 0));
	CHECK_EQ(stats(NULL).populated, 31);
	CHECK(info(3).tracked);
	/* Empty runs open no invalidation; the range is cut at the end. */
	seq = t.ept.inval_seq;
	CHECK_EQ(memslot_discard(&t.ms, 100, 900), 0);
	CHECK_EQ(memslot_discard(&t.ms, 5000, 10), 0);
	CHECK_EQ(t.ept.inval_seq, seq);
	CHECK(!memslot_access(&t.ms, 1000ull << 12, buf, 8, true));
	CHECK_EQ(memslot_discard(&t.ms, 100, 5000), 1);
	CHECK_EQ(t.ept.inval_seq - seq, 1);	/* only the run holding gfn 1000 */
	CHECK_EQ(info(1000).state, MS_PAGE_EMPTY);
	CHECK(teardown());
}

/* Aging passes walk chunk by chunk without a lock towards discards: one may come in between. */
static void *ager(void *arg)
{
	struct racer *r = arg;

	hosted_cpu_id = r->cpu;
	grace_cpu_online(r->cpu);
	while (!__atomic_load_n(&race_stop, __ATOMIC_RELAXED)) {
		memslot_age(&t.ms);
		r->ops++;
		grace_quiescent();
		usleep(200);	/* periodic, as background aging is */
	}
	grace_cpu_offline(r->cpu);
	return NULL;
}

/* The balloon's side: its own gfns, written, checked, given back, read as zeros. */
static void *discarder(void *arg)
{
	struct racer *r = arg;
	uint64_t seed = 0x9e3779b9, buf[512];

	hosted_cpu_id = r->cpu;
	grace_cpu_online(r->cpu);
	while (!__atomic_load_n(&race_stop, __ATOMIC_RELAXED)) {
		uint64_t g = rnd(&seed) % 32, n = 1 + rnd(&seed) % 4;

		if (g + n > 32)
			n = 32 - g;
		for (uint64_t i = g; i < g + n; i++) {
			buf[0] = i;
			buf[511] = seed;
			r->bad += !!memslot_access(&t.ms, i << 12, buf, sizeof(buf), true);
		}
		memslot_discard(&t.ms, g, n);
		for (uint64_t i = g; i < g + n; i++) {
			r->bad += !!memslot_access(&t.ms, i << 12, buf, sizeof(buf), false);
			r->bad += buf[0] != 0 || buf[511] != 0;
		}
		r->ops++;
		grace_quiescent();
	}
	grace_cpu_offline(r->cpu);
	return NULL;
}

TEST(discard_races_reclaim_aging_and_accesses)
{
	struct racer dis = { .cpu = 1 }, rec = { .cpu = 3 }, age = { .cpu = 4 };
	struct racer acc = { .cpu = 2, .lo = 32, .hi = DISCARD_GFNS };	/* never discarded */
	double t0;

	CHECK(setup(DISCARD_GFNS, DISCARD_LIMIT));
	reclaim_init(&race_rc, NULL);
	reclaim_register(&race_rc, &t.ms);
	race_stop = 0;
	pthread_create(&dis.tid, NULL, discarder, &dis);
	pthread_create(&acc.tid, NULL, accessor, &acc);
	pthread_create(&rec.tid, NULL, reclaimer, &rec);
	pthread_create(&age.tid, NULL, ager, &age);
	for (t0 = now_s(); now_s() - t0 < 0.5;)
		usleep(10000);
	__atomic_store_n(&race_stop, 1, __ATOMIC_RELAXED);
	pthread_join(dis.tid, NULL);
	pthread_join(acc.tid, NULL);
	pthread_join(rec.tid, NULL);
	pthread_join(age.tid, NULL);
	printf("# %ld discards, %ld accesses, %ld pages evicted, %ld aging passes, %llu dropped\n",
	       dis.ops, acc.ops, rec.ops, age.ops, (unsigned long long)stats(NULL).discarded);
	CHECK_EQ(dis.bad, 0);
	CHECK_EQ(acc.bad, 0);
	CHECK(dis.ops > 0 && acc.ops > 0);
	CHECK_EQ(stats(NULL).nomem, 0);
	CHECK_EQ(pool.bad_poison, 0);
	reclaim_unregister(&race_rc, &t.ms);
	CHECK(teardown());
}

static void *discard_gfn(void *arg)
{
	struct waiter *w = arg;

	hosted_cpu_id = 1;
	grace_cpu_online(1);
	w->hpa = memslot_discard(&t.ms, w->gfn, 1);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	grace_cpu_offline(1);
	return NULL;
}

/* Start a discard of @gfn whose slot word is @claimed; it must wait until the word is @v. */
static bool discard_waits(uint64_t gfn, uint64_t claimed, uint64_t v)
{
	struct waiter w = { .gfn = gfn };
	bool waited;

	set_slot(gfn, claimed);
	pthread_create(&w.tid, NULL, discard_gfn, &w);
	usleep(20000);
	waited = !__atomic_load_n(&w.done, __ATOMIC_ACQUIRE) && slot(gfn) == claimed;
	set_slot(gfn, v);	/* the claimer is done, or the pin dropped */
	pthread_join(w.tid, NULL);
	return waited && w.hpa == 1 && slot(gfn) == MS_EMPTY;
}

TEST(discard_waits_for_pins_and_claims)
{
	uint8_t buf[4096];
	uint64_t v;

	CHECK(setup(16, -1));
	for (uint64_t g = 3; g < 6; g++) {
		fill(buf, g, ZP_TEXT);
		CHECK(!memslot_access(&t.ms, g << 12, buf, sizeof(buf), true));
	}
	/* Pinned by a copy: the discard claims it once the pin drops. */
	v = slot(3);
	CHECK(discard_waits(3, v + MS_PIN_ONE, v));
	CHECK_EQ(stats(NULL).resident, 2);
	CHECK_EQ(pool_live(), 2);
	/* Claimed by reclaim, which the store refused: back to resident, then discarded. */
	v = slot(4);
	CHECK(discard_waits(4, (v & ~MS_STATE_MASK) | MS_EVICTING, v));
	CHECK_EQ(pool_live(), 1);
	/* Evicted, its handle claimed by a refault that gave up: the discard drops it. */
	age_to_oldest();
	CHECK_EQ(evict_all(GEN_OLDEST), 1);
	v = slot(5);
	CHECK_EQ(ms_slot_state(v), MS_EVICTED);
	CHECK(discard_waits(5, (v & ~MS_STATE_MASK) | MS_LOADING, v));
	CHECK_EQ(store_stats(&zs).handles, 0);
	CHECK_EQ(stats(NULL).resident, 0);
	CHECK_EQ(stats(NULL).evicted, 0);
	CHECK_EQ(stats(NULL).discarded, 3);
	CHECK_EQ(pool_live(), 0);
	CHECK(teardown());
}
