/* SPDX-License-Identifier: MIT */
/*
 * rmap/gen.[ch]: a page's generation is how many passes ago its sequence
 * number was current, capped at the oldest; the histogram follows the counts
 * however they are spread over the numbers, clamps transient negatives, and
 * the oldest non-empty generation is found from it; numbers wrap modulo
 * GEN_SEQ_NR without turning old pages young before GEN_FOLD_AGE.
 */
#include "rmap/gen.h"
#include "tests/host/test.h"

static struct gen_seqs gs;

static bool hist_is(size_t a, size_t b, size_t c, size_t d)
{
	size_t h[GEN_NR];

	gen_histogram(&gs, h);
	return h[0] == a && h[1] == b && h[2] == c && h[3] == d;
}

_Static_assert(GEN_NR == 4, "four generations");
_Static_assert(GEN_FOLD_AGE + GEN_FOLD_EVERY <= GEN_SEQ_NR, "folded before the numbers wrap");

TEST(age_is_passes_since_the_number_was_current)
{
	CHECK_EQ(gen_age(5, gen_seq_idx(5)), 0);
	CHECK_EQ(gen_age(5, gen_seq_idx(4)), 1);
	CHECK_EQ(gen_age(5, gen_seq_idx(0)), 5);
	/* Across the wrap of the numbers. */
	CHECK_EQ(gen_age(GEN_SEQ_NR + 1, gen_seq_idx(GEN_SEQ_NR - 1)), 2);
	CHECK_EQ(gen_age(3 * GEN_SEQ_NR, gen_seq_idx(3 * GEN_SEQ_NR - GEN_FOLD_AGE)), GEN_FOLD_AGE);
	/* A number not yet folded is still old just before the fold's latest pass. */
	CHECK_EQ(gen_of_age(gen_age(100, gen_seq_idx(100 - GEN_FOLD_AGE - GEN_FOLD_EVERY + 1))),
		 GEN_OLDEST);
}

TEST(generation_caps_at_the_oldest)
{
	CHECK_EQ(gen_of_age(0), GEN_YOUNGEST);
	CHECK_EQ(gen_of_age(1), 1);
	CHECK_EQ(gen_of_age(GEN_OLDEST), GEN_OLDEST);
	CHECK_EQ(gen_of_age(GEN_OLDEST + 7), GEN_OLDEST);
}

TEST(histogram_follows_passes_without_touching_pages)
{
	gen_seqs_init(&gs);
	gen_count(&gs, gen_seq_idx(0), 10);
	CHECK(hist_is(10, 0, 0, 0));
	CHECK_EQ(gen_oldest(&gs), GEN_YOUNGEST);
	for (unsigned int pass = 1; pass <= GEN_OLDEST + 2; pass++) {
		gs.max_seq = pass;
		CHECK_EQ(gen_oldest(&gs), gen_of_age(pass));
	}
	CHECK(hist_is(0, 0, 0, 10));
	CHECK_EQ(gen_total(&gs), 10);
}

TEST(young_pages_move_by_one_count_each)
{
	gen_seqs_init(&gs);
	gen_count(&gs, 0, 8);
	gs.max_seq = 2;
	/* Three found young in pass 2: one count moves each. */
	gen_count(&gs, 0, -3);
	gen_count(&gs, gen_seq_idx(2), 3);
	CHECK(hist_is(3, 0, 5, 0));
	CHECK_EQ(gen_oldest(&gs), 2);
	CHECK_EQ(gen_total(&gs), 8);
}

TEST(negative_counts_read_as_zero)
{
	gen_seqs_init(&gs);
	gs.max_seq = 1;
	/* An ager moved a page whose populate has not counted it yet. */
	gen_count(&gs, 0, -1);
	gen_count(&gs, 1, 1);
	CHECK(hist_is(1, 0, 0, 0));
	CHECK_EQ(gen_total(&gs), 0);
	CHECK_EQ(gen_oldest(&gs), GEN_YOUNGEST);
}

TEST(empty_memslot_has_youngest_as_oldest)
{
	gen_seqs_init(&gs);
	gs.max_seq = 40;
	CHECK(hist_is(0, 0, 0, 0));
	CHECK_EQ(gen_oldest(&gs), GEN_YOUNGEST);
}
