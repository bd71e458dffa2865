/* SPDX-License-Identifier: MIT */
/*
 * store/zdisk.c: a disk image in the page store reads back bit for bit;
 * zero blocks and the padding of a short last block cost nothing, equal
 * blocks share one copy (also between two disks on one store), random ones
 * are kept; writes replace a block and free the old copy, a failed write
 * leaves the block as it was, discard makes it zero, and destroying the disk
 * gives every page back.
 */
#include "store/zdisk.h"
#include "tests/host/test.h"
#include "tests/store/zpages.h"

#define NBLK	64

static long live, budget = -1;

static void *pg_alloc(void *ctx)
{
	(void)ctx;
	if (budget == 0)
		return NULL;
	if (budget > 0)
		budget--;
	live++;
	return aligned_alloc(ZSTORE_PAGE_SIZE, ZSTORE_PAGE_SIZE);
}

static void pg_free(void *ctx, void *pg)
{
	(void)ctx;
	live--;
	free(pg);
}

static const struct zstore_ops ops = { pg_alloc, pg_free };
static struct zstore zs;
static struct zstore_scratch scratch;
static uint8_t bounce[ZDISK_BLOCK], image[NBLK * ZDISK_BLOCK], page[ZDISK_BLOCK];
static uint32_t handles[NBLK], handles2[NBLK];

/* Block b: zero when b % 4 == 0, text otherwise, the same text for b % 8 == 1, random for b == 7. */
static enum zp_kind kind_of(unsigned int b)
{
	return b % 4 == 0 ? ZP_ZERO : b == 7 ? ZP_RANDOM : ZP_TEXT;
}

static uint64_t seed_of(unsigned int b)
{
	return b % 8 == 1 ? 1 : b;
}

static void make_image(void)
{
	for (unsigned int b = 0; b < NBLK; b++)
		zp_fill(image + b * ZDISK_BLOCK, kind_of(b), seed_of(b));
}

static struct zstore_stats stats(void)
{
	struct zstore_stats st;

	zstore_get_stats(&zs, &st);
	return st;
}

static bool block_is(struct zdisk *d, unsigned int b, const uint8_t *want)
{
	return zdisk_read(d, b, page) == 0 && !memcmp(page, want, ZDISK_BLOCK);
}

TEST(image_reads_back_with_zeros_and_duplicates_free)
{
	struct zdisk d;
	struct zdisk_stats ds;
	struct zstore_stats st;

	zstore_init(&zs, &ops, NULL);
	make_image();
	/* The image ends 100 bytes into block 61: the rest, and blocks 62-63, are zeros. */
	CHECK_EQ(zdisk_init(&d, &zs, &scratch, bounce, handles, NBLK, image,
			    61 * ZDISK_BLOCK + 100), 0);
	for (unsigned int b = 0; b < 61; b++)
		CHECK(block_is(&d, b, image + b * ZDISK_BLOCK));
	memcpy(bounce, image + 61 * ZDISK_BLOCK, 100);
	memset(bounce + 100, 0, ZDISK_BLOCK - 100);
	CHECK(block_is(&d, 61, bounce));
	memset(bounce, 0, sizeof(bounce));
	for (unsigned int b = 62; b < NBLK; b++)
		CHECK(block_is(&d, b, bounce));
	zdisk_stats(&d, &ds);
	CHECK_EQ(ds.blocks, NBLK);
	CHECK_EQ(ds.zero_blocks, 16 + 2);		/* 0, 4, ... 60, and 62-63 */
	st = stats();
	CHECK_EQ(st.zero_handles, 0);			/* zeros are not in the store at all */
	CHECK_EQ(st.handles, 62 - 16);
	/* Blocks 1, 9, 17, ... 57 share one copy; every other text block its own; 7 random. */
	CHECK_EQ(st.entries, st.handles - 7);
	CHECK(zdisk_read(&d, NBLK, page) != 0);		/* past the end */
	zdisk_destroy(&d);
	st = stats();
	CHECK_EQ(st.handles, 0);
	CHECK_EQ(st.data_pages, 0);
	zstore_destroy(&zs);
	CHECK_EQ(live, 0);
}

TEST(two_disks_of_one_image_share_the_store)
{
	struct zdisk a, b;
	uint64_t entries;

	zstore_init(&zs, &ops, NULL);
	make_image();
	CHECK_EQ(zdisk_init(&a, &zs, &scratch, bounce, handles, NBLK, image, sizeof(image)), 0);
	entries = stats().entries;
	CHECK_EQ(zdisk_init(&b, &zs, &scratch, bounce, handles2, NBLK, image, sizeof(image)), 0);
	CHECK_EQ(stats().entries, entries);
	CHECK_EQ(stats().handles, 2 * (NBLK - 16));
	/* A write to one is not seen by the other. */
	zp_fill(bounce, ZP_TEXT, 999);
	CHECK_EQ(zdisk_write(&a, 2, bounce), 0);
	CHECK(block_is(&a, 2, bounce));
	CHECK(block_is(&b, 2, image + 2 * ZDISK_BLOCK));
	zdisk_destroy(&a);
	zdisk_destroy(&b);
	CHECK_EQ(stats().handles, 0);
	zstore_destroy(&zs);
	CHECK_EQ(live, 0);
}

TEST(writes_replace_discards_zero_and_failures_keep_the_block)
{
	struct zdisk d;
	uint64_t before;

	zstore_init(&zs, &ops, NULL);
	make_image();
	CHECK_EQ(zdisk_init(&d, &zs, &scratch, bounce, handles, NBLK, image, sizeof(image)), 0);
	before = stats().handles;
	/* Text over text: one handle replaced; over a zero block: one more. */
	zp_fill(bounce, ZP_REPEAT, 3);
	CHECK_EQ(zdisk_write(&d, 2, bounce), 0);
	CHECK(block_is(&d, 2, bounce));
	CHECK_EQ(stats().handles, before);
	CHECK_EQ(zdisk_write(&d, 4, bounce), 0);
	CHECK_EQ(stats().handles, before + 1);
	CHECK_EQ(stats().dedup_hits > 0, 1);
	/* Writing zeros frees the copy. */
	memset(bounce, 0, sizeof(bounce));
	CHECK_EQ(zdisk_write(&d, 4, bounce), 0);
	CHECK_EQ(stats().handles, before);
	CHECK(block_is(&d, 4, bounce));
	/* Discard: zeros, nothing kept; twice is fine; past the end is ignored. */
	zdisk_discard(&d, 7);
	zdisk_discard(&d, 7);
	zdisk_discard(&d, NBLK + 5);
	CHECK(block_is(&d, 7, bounce));
	CHECK_EQ(stats().handles, before - 1);
	CHECK_EQ(stats().raw_entries, 0);		/* the random block is gone */
	/* No memory for a new copy: the write fails and the block keeps its old content. */
	budget = 0;
	zp_fill(bounce, ZP_RANDOM, 77);
	CHECK(zdisk_write(&d, 3, bounce) == ZSTORE_ERR_NOMEM);
	budget = -1;
	CHECK(block_is(&d, 3, image + 3 * ZDISK_BLOCK));
	CHECK_EQ(d.write_nomem, 1);
	CHECK(zdisk_write(&d, NBLK, bounce) != 0);
	zdisk_destroy(&d);
	CHECK_EQ(stats().handles, 0);
	zstore_destroy(&zs);
	CHECK_EQ(live, 0);
}

TEST(no_memory_at_load_keeps_nothing)
{
	struct zdisk d;

	zstore_init(&zs, &ops, NULL);
	make_image();
	budget = 3;
	CHECK_EQ(zdisk_init(&d, &zs, &scratch, bounce, handles, NBLK, image, sizeof(image)),
		 ZSTORE_ERR_NOMEM);
	budget = -1;
	CHECK_EQ(stats().handles, 0);
	zstore_destroy(&zs);
	CHECK_EQ(live, 0);
}
