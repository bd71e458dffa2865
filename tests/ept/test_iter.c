/* SPDX-License-Identifier: MIT */
/* The pre-order walk (ept/iter.c) and its loop macros over a root built by faults. */
#include "tests/ept/ept_env.h"
#include "tests/host/test.h"

static struct ept_vm vm;
static struct ept_root *root;

/* gfns 1, 2, 511, 512, 513, 1 GiB + 7 mapped 4 KiB; [2 MiB * 8, + 2 MiB) mapped large. */
static void build(void)
{
	static const uint64_t g4k[] = { 1, 2, 511, 512, 513, (1ull << 18) + 7 };
	struct ept_region r = { 0, 1ull << 20 };

	env_setup(&vm, 0);
	ept_set_regions(&vm, &r, 1);
	root = ept_root_load_for_vcpu(&vm);
	for (unsigned int i = 0; i < sizeof(g4k) / sizeof(g4k[0]); i++)
		ept_fault(&vm, root, g4k[i] << 12, EPT_R);
	env.max_level = 2;
	ept_fault(&vm, root, (8ull * 512 + 5) << 12, EPT_R);
	env.max_level = 1;
}

static bool done(void)
{
	ept_root_put(&vm, root);
	return env_teardown(&vm);
}

TEST(leaves_come_in_ascending_order_with_levels)
{
	uint64_t want[] = { 1, 2, 511, 512, 513, 8 * 512, (1ull << 18) + 7 };
	int want_level[] = { 1, 1, 1, 1, 1, 2, 1 };
	struct ept_iter it;
	unsigned int n = 0;

	build();
	read_lock(&vm.mmu_lock);
	for_each_ept_leaf_in_range(it, &vm, root, 0, EPT_GFN_LIMIT) {
		CHECK(n < 7);
		CHECK_EQ(it.gfn, want[n]);
		CHECK_EQ(it.level, want_level[n]);
		CHECK(ept_spte_is_leaf(ept_spte_read(it.sptep), it.level));
		n++;
	}
	read_unlock(&vm.mmu_lock);
	CHECK_EQ(n, 7);
	CHECK(done());
}

TEST(range_bounds_are_respected_and_large_leaf_seen_once)
{
	struct ept_iter it;
	unsigned int n = 0, large = 0;

	build();
	read_lock(&vm.mmu_lock);
	/* [2, 513): 2 and 511 and 512; not 1, not 513. */
	for_each_ept_leaf_in_range(it, &vm, root, 2, 513)
		n++;
	CHECK_EQ(n, 3);
	/* A range inside the 2 MiB leaf: the leaf once, at its base gfn. */
	for_each_ept_leaf_in_range(it, &vm, root, 8 * 512 + 100, 8 * 512 + 101) {
		large++;
		CHECK_EQ(it.gfn, 8 * 512);
	}
	CHECK_EQ(large, 1);
	n = 0;
	for_each_ept_leaf_in_range(it, &vm, root, 514, 8 * 512)
		n++;
	CHECK_EQ(n, 0);
	read_unlock(&vm.mmu_lock);
	CHECK(done());
}

TEST(every_entry_visited_parents_first)
{
	struct ept_iter it;
	int last_level = EPT_ROOT_LEVEL + 1;
	unsigned int nonleaf = 0;

	build();
	read_lock(&vm.mmu_lock);
	for_each_ept_pte(it, &vm, root, 0, 1024) {
		/* Going down one level at a time, never skipping a parent. */
		CHECK(it.level >= last_level - 1);
		last_level = it.level;
		if (ept_spte_present(it.old_spte) && !ept_spte_is_leaf(it.old_spte, it.level))
			nonleaf++;
	}
	read_unlock(&vm.mmu_lock);
	/* PML4[0], PDPT[0], PD[0] and PD[1] point to tables. */
	CHECK_EQ(nonleaf, 4);
	CHECK(done());
}

TEST(restart_after_yield_revisits_the_current_entry_then_goes_on)
{
	struct ept_iter it;
	uint64_t seen[8], yielded_at = ~0ull;
	unsigned int n = 0;

	build();
	write_lock(&vm.mmu_lock);
	for_each_ept_pte_write(it, &vm, root, 0, 1024) {
		if (!ept_spte_is_leaf(it.old_spte, it.level))
			continue;
		/* Yield before handling each leaf, as a zap does: it comes back. */
		if (it.gfn != yielded_at) {
			yielded_at = it.gfn;
			it.yielded = true;
			continue;
		}
		CHECK(n < 8);
		seen[n++] = it.gfn;
	}
	write_unlock(&vm.mmu_lock);
	CHECK_EQ(n, 5);
	CHECK(seen[0] == 1 && seen[1] == 2 && seen[2] == 511 && seen[3] == 512 && seen[4] == 513);
	CHECK(done());
}

TEST(lockless_walk_under_grace)
{
	struct ept_iter it;
	unsigned int n = 0;

	build();
	grace_read_lock();
	for_each_ept_pte_lockless(it, root, 0, EPT_GFN_LIMIT)
		if (ept_spte_is_leaf(it.old_spte, it.level))
			n++;
	grace_read_unlock();
	CHECK_EQ(n, 7);
	CHECK(done());
}

TEST(walk_of_empty_root_ends)
{
	struct ept_iter it;
	unsigned int n = 0;

	env_setup(&vm, 16);
	root = ept_root_load_for_vcpu(&vm);
	read_lock(&vm.mmu_lock);
	for_each_ept_pte(it, &vm, root, 0, EPT_GFN_LIMIT)
		n++;
	read_unlock(&vm.mmu_lock);
	CHECK_EQ(n, EPT_PTES);	/* the root's 512 empty entries */
	CHECK(done());
}
