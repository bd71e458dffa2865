/* SPDX-License-Identifier: MIT */
/*
 * rmap/gen.c: pages touched between passes go back to the youngest
 * generation, untouched ones grow one older up to the oldest, the histogram
 * follows, and picks come from the oldest non-empty generation, oldest
 * arrival first, skipping pages touched since the last pass.
 */
#include "rmap/gen.h"
#include "tests/host/test.h"

#define NPAGES		16
#define MAPS		3	/* entries per page: the rmaps hold descriptors */

static uint64_t sptes[NPAGES][MAPS];
static struct gen_page pages[NPAGES];
static struct gen_lru lru;
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

/* NPAGES pages, page i mapped MAPS times unless @unmapped says otherwise. */
static void setup(int unmapped)
{
	gen_lru_init(&lru);
	write_lock(&mmu_lock);
	for (int i = 0; i < NPAGES; i++) {
		struct rmap_iter it;
		uint64_t *sptep;

		while ((sptep = rmap_iter_first(&it, pages[i].rmap.val)))
			rmap_remove(&ops, &mmu_lock, &pages[i].rmap, sptep);
		gen_page_init(&pages[i]);
		for (int m = 0; m < MAPS && i != unmapped; m++) {
			sptes[i][m] = RMAP_SPTE_PRESENT_MASK | ((uint64_t)i << 12);
			rmap_add(&ops, &mmu_lock, &pages[i].rmap, &sptes[i][m]);
		}
		gen_track(&lru, &pages[i]);
	}
	write_unlock(&mmu_lock);
}

/* The guest touches page @i through its mapping @m. */
static void touch(int i, int m)
{
	__atomic_fetch_or(&sptes[i][m], RMAP_SPTE_ACCESSED, __ATOMIC_RELAXED);
}

static bool hist_is(size_t g0, size_t g1, size_t g2, size_t g3)
{
	size_t h[GEN_NR], n[GEN_NR] = { 0 };

	gen_histogram(&lru, h);
	if (h[0] != g0 || h[1] != g1 || h[2] != g2 || h[3] != g3)
		return false;
	/* The histogram agrees with the pages' own generations. */
	for (int i = 0; i < NPAGES; i++) {
		if (!pages[i].tracked)
			continue;
		if (pages[i].gen >= GEN_NR)
			return false;
		n[pages[i].gen]++;
	}
	return !memcmp(h, n, sizeof(h));
}

BUILD_BUG_ON(GEN_NR != 4);

TEST(new_pages_are_youngest)
{
	setup(-1);
	CHECK(hist_is(NPAGES, 0, 0, 0));
}

TEST(untouched_pages_grow_older_up_to_the_oldest)
{
	setup(-1);
	CHECK_EQ(gen_age_pass(&lru), 0);
	CHECK(hist_is(0, NPAGES, 0, 0));
	CHECK_EQ(gen_age_pass(&lru), 0);
	CHECK(hist_is(0, 0, NPAGES, 0));
	CHECK_EQ(gen_age_pass(&lru), 0);
	CHECK(hist_is(0, 0, 0, NPAGES));
	CHECK_EQ(gen_age_pass(&lru), 0);
	CHECK(hist_is(0, 0, 0, NPAGES));
	CHECK_EQ(lru.passes, 4);
}

TEST(touched_pages_go_back_to_the_youngest)
{
	setup(-1);
	touch(0, 0);
	touch(1, 2);		/* any mapping makes the page young */
	CHECK_EQ(gen_age_pass(&lru), 2);
	CHECK(hist_is(2, NPAGES - 2, 0, 0));
	CHECK_EQ(pages[0].gen, 0);
	CHECK_EQ(pages[1].gen, 0);
	CHECK_EQ(pages[2].gen, 1);
	/* The pass cleared the bits: nothing is young without new touches. */
	for (int i = 0; i < NPAGES; i++)
		for (int m = 0; m < MAPS; m++)
			CHECK(!(sptes[i][m] & RMAP_SPTE_ACCESSED));
	CHECK_EQ(gen_age_pass(&lru), 0);
	CHECK(hist_is(0, 2, NPAGES - 2, 0));
	CHECK_EQ(gen_age_pass(&lru), 0);
	CHECK_EQ(gen_age_pass(&lru), 0);
	CHECK(hist_is(0, 0, 0, NPAGES));
	touch(5, 1);
	CHECK_EQ(gen_age_pass(&lru), 1);
	CHECK(hist_is(1, 0, 0, NPAGES - 1));
	CHECK_EQ(pages[5].gen, 0);
	/* Touched every other pass: never older than generation 1. */
	for (int k = 0; k < 6; k++) {
		if (k % 2)
			touch(5, 0);
		gen_age_pass(&lru);
		CHECK(pages[5].gen <= 1);
	}
}

TEST(unmapped_pages_age_too)
{
	setup(3);
	CHECK_EQ(pages[3].rmap.val, 0);
	for (int k = 0; k < 3; k++)
		gen_age_pass(&lru);
	CHECK_EQ(pages[3].gen, GEN_OLDEST);
}

TEST(pick_takes_the_oldest_generation_first_in_arrival_order)
{
	struct gen_page *out[NPAGES];

	setup(-1);
	/* Pages 0-3 untouched for three passes, 4-15 touched in the last one. */
	gen_age_pass(&lru);
	gen_age_pass(&lru);
	for (int i = 4; i < NPAGES; i++)
		touch(i, 0);
	gen_age_pass(&lru);
	CHECK(hist_is(NPAGES - 4, 0, 0, 4));
	CHECK_EQ(gen_pick_oldest(&lru, 3, out), 3);
	CHECK(out[0] == &pages[0] && out[1] == &pages[1] && out[2] == &pages[2]);
	CHECK(!out[0]->tracked);
	CHECK(hist_is(NPAGES - 4, 0, 0, 1));
	/* Only one left in the oldest generation: a short pick, not a younger page. */
	CHECK_EQ(gen_pick_oldest(&lru, 3, out), 1);
	CHECK(out[0] == &pages[3]);
	/* Give one back: it restarts as the youngest. */
	gen_track(&lru, &pages[3]);
	size_t h[GEN_NR];

	gen_histogram(&lru, h);
	CHECK_EQ(h[0], NPAGES - 3);
	CHECK_EQ(h[3], 0);
	/* Now the oldest non-empty generation is the youngest one. */
	CHECK_EQ(gen_pick_oldest(&lru, 2, out), 2);
	CHECK(out[0] == &pages[4] && out[1] == &pages[5]);
}

TEST(pick_gives_pages_touched_since_the_pass_a_second_chance)
{
	struct gen_page *out[NPAGES];
	size_t h[GEN_NR];

	setup(-1);
	for (int k = 0; k < 3; k++)
		gen_age_pass(&lru);
	touch(0, 1);
	touch(2, 2);
	CHECK_EQ(gen_pick_oldest(&lru, 3, out), 3);
	CHECK(out[0] == &pages[1] && out[1] == &pages[3] && out[2] == &pages[4]);
	CHECK(pages[0].tracked && pages[0].gen == GEN_YOUNGEST);
	CHECK(pages[2].tracked && pages[2].gen == GEN_YOUNGEST);
	gen_histogram(&lru, h);
	CHECK_EQ(h[0], 2);
	CHECK_EQ(h[3], NPAGES - 5);
}

TEST(untrack_removes_from_the_histogram)
{
	size_t h[GEN_NR];

	setup(-1);
	gen_age_pass(&lru);
	gen_untrack(&lru, &pages[7]);
	CHECK(!pages[7].tracked);
	gen_histogram(&lru, h);
	CHECK_EQ(h[1], NPAGES - 1);
	gen_age_pass(&lru);
	gen_histogram(&lru, h);
	CHECK_EQ(h[2], NPAGES - 1);
	CHECK_EQ(pages[7].gen, 1);	/* left alone by the pass */
	gen_track(&lru, &pages[7]);
}

/* Between batches the pages not yet aged are in no generation. */
static int yields;
static size_t seen_in_lists[NPAGES];

static void count_yield(void *arg)
{
	size_t h[GEN_NR], sum = 0;

	(void)arg;
	gen_histogram(&lru, h);
	for (int g = 0; g < GEN_NR; g++)
		sum += h[g];
	seen_in_lists[yields++] = sum;
}

TEST(yielding_pass_gives_the_same_result_in_batches)
{
	setup(-1);
	for (int i = 0; i < NPAGES; i += 2)
		touch(i, 0);
	yields = 0;
	CHECK_EQ(gen_age_pass_yield(&lru, 4, count_yield, NULL), NPAGES / 2);
	CHECK_EQ(yields, NPAGES / 4);
	/* After the first batch of 4 (oldest first: from generation 0 here), 4 are listed. */
	CHECK_EQ(seen_in_lists[0], 4);
	CHECK_EQ(seen_in_lists[NPAGES / 4 - 1], NPAGES);
	CHECK(hist_is(NPAGES / 2, NPAGES / 2, 0, 0));
}

/*
 * A page can stop being tracked while a yielding pass holds it on its own
 * list (memslot_discard() does, between batches): neither the pages the pass
 * already put back nor the histogram may suffer, and the pass skips it.
 */
static void untrack_in_yield(void *arg)
{
	int *step = arg;

	if ((*step)++ != 0)
		return;
	/* After the first batch (pages 0-3): one page put back, one still on the pass's list. */
	gen_untrack(&lru, &pages[1]);
	gen_untrack(&lru, &pages[9]);
}

TEST(untrack_during_a_yielding_pass)
{
	size_t h[GEN_NR];
	int step = 0;

	setup(-1);
	gen_age_pass_yield(&lru, 4, untrack_in_yield, &step);
	CHECK(!pages[1].tracked && !pages[9].tracked);
	gen_histogram(&lru, h);
	CHECK_EQ(h[0] + h[1] + h[2] + h[3], NPAGES - 2);
	CHECK(hist_is(0, NPAGES - 2, 0, 0));
	/* Tracked again and aged: everything counts once. */
	gen_track(&lru, &pages[1]);
	gen_track(&lru, &pages[9]);
	gen_age_pass(&lru);
	CHECK(hist_is(0, 2, NPAGES - 2, 0));
}
