/* SPDX-License-Identifier: MIT */
/*
 * hv/load/layout.c: free RAM around what an image takes (lowest and highest
 * fits, the hole below 1 MiB, alignment, nothing left), the loader's area
 * (low memory first, else the top of RAM) and the memory map with a
 * reserved range cut out of RAM.
 */
#include "hv/load/layout.h"
#include "tests/host/test.h"

#define MiB	(1ULL << 20)
#define K4	0x1000ULL

static uint64_t at;

TEST(lowest_free_from_0x1000)
{
	CHECK_EQ(layout_boot_area(NULL, 0, 0x9000, 64 * MiB, &at), 0);
	CHECK_EQ(at, 0x1000);
}

TEST(lowest_skips_taken_ranges_and_aligns)
{
	const struct layout_range t[] = { { 0x1800, 0x2000 }, { 0x3000, 0x3001 } };

	/* 0x1000-0x2000 clashes with the first; 0x2000-0x4000 with the second. */
	CHECK_EQ(layout_lowest(t, 2, 0x2000, K4, 0x1000, ~0ULL, 8 * MiB, &at), 0);
	CHECK_EQ(at, 0x4000);
	/* Unaligned request: only alignment 1, right after the end. */
	CHECK_EQ(layout_lowest(t, 2, 0x800, 1, 0x1000, ~0ULL, 8 * MiB, &at), 0);
	CHECK_EQ(at, 0x1000);
	CHECK_EQ(layout_lowest(t, 2, 0x1000, 1, 0x1000, ~0ULL, 8 * MiB, &at), 0);
	CHECK_EQ(at, 0x2000);
	/* Touching ranges do not clash: [0x2000, 0x3000) ends where the second starts. */
	CHECK_EQ(at + 0x1000, 0x3000);
}

TEST(lowest_jumps_the_hole_below_1mib)
{
	CHECK_EQ(layout_lowest(NULL, 0, 0x2000, K4, 0x9e000, ~0ULL, 8 * MiB, &at), 0);
	CHECK_EQ(at, 0x100000);
	/* Limited to low memory: no room. */
	CHECK_EQ(layout_lowest(NULL, 0, 0x2000, K4, 0x9e000, 0x9f000, 8 * MiB, &at), -1);
	/* Exactly up to the hole fits. */
	CHECK_EQ(layout_lowest(NULL, 0, 0x1000, K4, 0x9e000, 0x9f000, 8 * MiB, &at), 0);
	CHECK_EQ(at, 0x9e000);
}

TEST(lowest_fails_past_memory)
{
	const struct layout_range t[] = { { 0x100000, 8 * MiB - 0x1000 } };

	CHECK_EQ(layout_lowest(t, 1, 0x2000, K4, 0x100000, ~0ULL, 8 * MiB, &at), -1);
	CHECK_EQ(layout_lowest(t, 1, 0x1000, K4, 0x100000, ~0ULL, 8 * MiB, &at), 0);
	CHECK_EQ(at, 8 * MiB - 0x1000);
	/* A size that wraps around is no fit. */
	CHECK_EQ(layout_lowest(NULL, 0, ~0ULL - 0x100, K4, 0x1000, ~0ULL, 8 * MiB, &at), -1);
}

TEST(highest_below_taken_and_hole)
{
	const struct layout_range t[] = { { 7 * MiB, 8 * MiB } };
	const struct layout_range all[] = { { 0x100000, 8 * MiB } };
	const struct layout_range most[] = { { 0x1000, 0x9f000 }, { 0x100000, 8 * MiB } };

	CHECK_EQ(layout_highest(t, 1, 0x3000, K4, 0x1000, 8 * MiB, 8 * MiB, &at), 0);
	CHECK_EQ(at, 7 * MiB - 0x3000);
	/* Upper memory all taken: the highest fit ends at the hole. */
	CHECK_EQ(layout_highest(all, 1, 0x3000, K4, 0x1000, 8 * MiB, 8 * MiB, &at), 0);
	CHECK_EQ(at, 0x9f000 - 0x3000);
	/* Nothing at or above from. */
	CHECK_EQ(layout_highest(most, 2, 0x1000, K4, 0x1000, 8 * MiB, 8 * MiB, &at), -1);
	CHECK_EQ(layout_highest(NULL, 0, 16 * MiB, K4, 0, 8 * MiB, 8 * MiB, &at), -1);
}

TEST(area_goes_low_first_then_to_the_top)
{
	const struct layout_range low[] = { { 0x8000, 0xa86c } };
	const struct layout_range full[] = { { 0x500, 0x9f000 }, { 0x100000, 0x200000 } };
	const struct layout_range none[] = { { 0x500, 0x9f000 }, { 0x100000, 8 * MiB } };

	CHECK_EQ(layout_boot_area(low, 1, 0x3000, 8 * MiB, &at), 0);
	CHECK_EQ(at, 0x1000);
	CHECK_EQ(layout_boot_area(low, 1, 0x9000, 8 * MiB, &at), 0);
	CHECK_EQ(at, 0xb000);				/* 0x1000-0x8000 is too small */
	CHECK_EQ(layout_boot_area(full, 2, 0x9000, 8 * MiB, &at), 0);
	CHECK_EQ(at, 8 * MiB - 0x9000);
	CHECK_EQ(layout_boot_area(none, 2, 0x1000, 8 * MiB, &at), -1);
}

/* The map as (addr, size, type) triples. */
static bool map_is(const struct e820_entry *m, unsigned int nr, const uint64_t (*want)[3],
		   unsigned int nwant)
{
	if (nr != nwant)
		return false;
	for (unsigned int i = 0; i < nr; i++)
		if (m[i].addr != want[i][0] || m[i].size != want[i][1] || m[i].type != want[i][2])
			return false;
	return true;
}

TEST(e820_platform_map)
{
	static const uint64_t want[][3] = {
		{ 0, 0x9f000, 1 }, { 0x9f000, 0x1000, 2 }, { 0xe0000, 0x10000, 3 },
		{ 0xf0000, 0x10000, 2 }, { 0x100000, 15 * MiB, 1 },
	};
	struct e820_entry m[E820_MAX];

	CHECK(map_is(m, layout_e820(m, 16 * MiB, (struct layout_range){ 0, 0 }), want, 5));
}

TEST(e820_reserves_the_area_in_low_memory)
{
	static const uint64_t want[][3] = {
		{ 0, 0x1000, 1 }, { 0x1000, 0x3000, 2 }, { 0x4000, 0x9b000, 1 },
		{ 0x9f000, 0x1000, 2 }, { 0xe0000, 0x10000, 3 }, { 0xf0000, 0x10000, 2 },
		{ 0x100000, 15 * MiB, 1 },
	};
	struct e820_entry m[E820_MAX];

	CHECK(map_is(m, layout_e820(m, 16 * MiB, (struct layout_range){ 0x1000, 0x4000 }),
		     want, 7));
}

TEST(e820_reserves_the_area_at_the_top)
{
	static const uint64_t want[][3] = {
		{ 0, 0x9f000, 1 }, { 0x9f000, 0x1000, 2 }, { 0xe0000, 0x10000, 3 },
		{ 0xf0000, 0x10000, 2 }, { 0x100000, 15 * MiB - 0x3000, 1 },
		{ 16 * MiB - 0x3000, 0x3000, 2 },
	};
	struct e820_entry m[E820_MAX];
	struct layout_range r = { 16 * MiB - 0x3000, 16 * MiB };

	CHECK(map_is(m, layout_e820(m, 16 * MiB, r), want, 6));
}
