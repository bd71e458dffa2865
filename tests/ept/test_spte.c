/* SPDX-License-Identifier: MIT */
/* EPT entry bits, predicates and constructors (ept/spte.h) against the SDM layout. */
#include "ept/spte.h"
#include "tests/host/test.h"

TEST(bits_sit_where_the_sdm_puts_them)
{
	CHECK_EQ(EPT_R, 1);
	CHECK_EQ(EPT_W, 2);
	CHECK_EQ(EPT_X, 4);
	CHECK_EQ(EPT_MT_WB, 6 << 3);
	CHECK_EQ(EPT_IPAT, 1 << 6);
	CHECK_EQ(EPT_LARGE, 1 << 7);
	CHECK_EQ(EPT_ACCESSED, 1 << 8);
	CHECK_EQ(EPT_DIRTY, 1 << 9);
	CHECK_EQ(EPT_ADDR_MASK, 0x000ffffffffff000ull);
}

TEST(present_means_any_of_rwx)
{
	CHECK(!ept_spte_present(0));
	CHECK(ept_spte_present(EPT_R));
	CHECK(ept_spte_present(EPT_W));
	CHECK(ept_spte_present(EPT_X));
	CHECK(!ept_spte_present(EPT_ACCESSED | EPT_DIRTY | EPT_LARGE | 0x1000));
}

TEST(frozen_is_not_present_and_recognised)
{
	CHECK(!ept_spte_present(EPT_FROZEN_SPTE));
	CHECK(ept_spte_frozen(EPT_FROZEN_SPTE));
	CHECK(!ept_spte_frozen(0));
	CHECK(!ept_spte_is_leaf(EPT_FROZEN_SPTE, 2));
	CHECK(!ept_spte_is_large(EPT_FROZEN_SPTE, 2));
	CHECK(EPT_FROZEN_SPTE & EPT_SW_FROZEN);
	/* No address bits: it can never be mistaken for a table. */
	CHECK_EQ(ept_spte_addr(EPT_FROZEN_SPTE) & ~0xfffull, 0);
}

TEST(leaf_constructor_and_predicates)
{
	ept_spte_t l1 = ept_make_leaf(0x123456000ull, 1, EPT_RWX);
	ept_spte_t l2 = ept_make_leaf(0x40200000ull, 2, EPT_R);

	CHECK_EQ(ept_spte_addr(l1), 0x123456000ull);
	CHECK_EQ(l1 & EPT_RWX, EPT_RWX);
	CHECK_EQ(l1 & EPT_MT_MASK, EPT_MT_WB);
	CHECK(!(l1 & EPT_LARGE));
	CHECK(ept_spte_is_leaf(l1, 1));
	CHECK(!ept_spte_is_large(l1, 1));
	CHECK(ept_spte_is_leaf(l2, 2));
	CHECK(ept_spte_is_large(l2, 2));
	CHECK_EQ(l2 & EPT_RWX, EPT_R);
	CHECK_EQ(ept_spte_addr(l2), 0x40200000ull);
	/* Address bits above 51 and below 12 never leak in. */
	CHECK_EQ(ept_spte_addr(ept_make_leaf(0xfff0000000001fffull, 1, EPT_R)), 0x0000000000001000ull);
}

TEST(nonleaf_constructor)
{
	ept_spte_t t = ept_make_nonleaf(0x7f0000001000ull);

	CHECK(ept_spte_present(t));
	CHECK(!ept_spte_is_leaf(t, 2));
	CHECK(!ept_spte_is_leaf(t, 4));
	CHECK(ept_spte_is_leaf(t, 1));	/* at level 1 every present entry maps */
	CHECK_EQ(ept_spte_addr(t), 0x7f0000001000ull);
}

TEST(levels_and_indices)
{
	CHECK_EQ(ept_level_pages(1), 1);
	CHECK_EQ(ept_level_pages(2), 512);
	CHECK_EQ(ept_level_pages(4), 512ull * 512 * 512);
	CHECK_EQ(ept_index(0x12345, 1), 0x12345 & 511);
	CHECK_EQ(ept_index(0x12345, 2), (0x12345 >> 9) & 511);
	CHECK_EQ(ept_index(EPT_GFN_LIMIT - 1, 4), 511);
}

TEST(cmpxchg_and_xchg)
{
	ept_spte_t e = 0, old = 0;

	CHECK(ept_spte_try_cmpxchg(&e, &old, EPT_R));
	old = 0;
	CHECK(!ept_spte_try_cmpxchg(&e, &old, EPT_W));
	CHECK_EQ(old, EPT_R);
	CHECK_EQ(ept_spte_xchg(&e, 0), EPT_R);
	CHECK_EQ(ept_spte_read(&e), 0);
}
