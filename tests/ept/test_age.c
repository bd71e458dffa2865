/* SPDX-License-Identifier: MIT */
/*
 * Lockless aging over a root (ept/age.c): young leaves reported in gfn order
 * and only their accessed bit cleared, non-present and frozen entries left
 * alone, a large leaf aged as one unit, ranges that start or end inside a
 * table, and a cmpxchg lost to a racing change counted as young without
 * losing that change (TSan twin).
 */
#include <sched.h>
#include <unistd.h>

#include "ept/age.h"
#include "tests/ept/ept_env.h"
#include "tests/host/test.h"

__attribute__((constructor)) static void watchdog(void)
{
	alarm(60);
}

/* The leaf entry of @gfn in @root (4 KiB or large), or NULL; under grace. */
static ept_spte_t *leaf_of(struct ept_root *root, uint64_t gfn)
{
	ept_spte_t *table = ept_pa_to_va(root->table_pa), s;

	for (int level = EPT_ROOT_LEVEL; level >= 1; level--) {
		ept_spte_t *p = &table[ept_index(gfn, level)];

		s = ept_spte_read(p);
		if (!ept_spte_present(s))
			return NULL;
		if (ept_spte_is_leaf(s, level))
			return p;
		table = ept_pa_to_va(ept_spte_addr(s));
	}
	return NULL;
}

static void set_accessed(struct ept_root *root, uint64_t gfn)
{
	__atomic_fetch_or(leaf_of(root, gfn), EPT_ACCESSED, __ATOMIC_RELAXED);
}

static bool bit(const uint64_t *bm, uint64_t i)
{
	return bm[i / 64] >> (i % 64) & 1;
}

static struct ept_vm vm;
static struct ept_root *root;

/*
 * A VM of @npages (<= 1024) gfns, [0, @mapped) faulted in through one root
 * with leaves up to @max_level, every accessed bit cleared; returns inside a
 * grace read section, or false if a fault failed.
 */
static bool setup(uint64_t npages, uint64_t mapped, int max_level)
{
	uint64_t bm[16];

	env_setup(&vm, npages);
	env.max_level = max_level;
	root = ept_root_load_for_vcpu(&vm);
	for (uint64_t g = 0; g < mapped; g++)
		if (ept_fault(&vm, root, g << 12, EPT_R) != EPT_FIXED &&
		    !env_mapped(&vm, root, g, NULL, NULL))
			return false;
	grace_read_lock();
	ept_test_clear_young(root, 0, npages, bm);
	return true;
}

static bool teardown(void)
{
	grace_read_unlock();
	ept_root_put(&vm, root);
	return env_teardown(&vm);
}

TEST(young_leaves_in_gfn_order_lose_only_their_accessed_bit)
{
	static const uint64_t young[] = { 0, 63, 64, 511, 512, 700 };
	uint64_t bm[16] = { 0 }, before[1024];

	CHECK(setup(1024, 800, 1));
	for (size_t i = 0; i < sizeof(young) / sizeof(young[0]); i++)
		set_accessed(root, young[i]);
	for (uint64_t g = 0; g < 800; g++)
		before[g] = *leaf_of(root, g);
	CHECK_EQ(ept_test_clear_young(root, 0, 1024, bm), 6);
	for (uint64_t g = 0; g < 1024; g++) {
		bool y = false;

		for (size_t i = 0; i < sizeof(young) / sizeof(young[0]); i++)
			y |= young[i] == g;
		CHECK_EQ(bit(bm, g), y);
		if (g < 800)
			CHECK_EQ(*leaf_of(root, g), before[g] & ~EPT_ACCESSED);
		else
			CHECK(!leaf_of(root, g));
	}
	/* Nothing young is left; a range inside one table counts from its start. */
	memset(bm, 0, sizeof(bm));
	CHECK_EQ(ept_test_clear_young(root, 0, 1024, bm), 0);
	set_accessed(root, 300);
	set_accessed(root, 520);
	CHECK_EQ(ept_test_clear_young(root, 301, 520, bm), 0);
	CHECK_EQ(ept_test_clear_young(root, 290, 530, bm), 2);
	CHECK(bit(bm, 10) && bit(bm, 230));
	CHECK(teardown());
}

TEST(frozen_and_non_present_entries_are_neither_young_nor_written)
{
	uint64_t bm[1] = { 0 };
	ept_spte_t *p, saved;

	CHECK(setup(64, 4, 1));
	/* The value a fault leaves while it installs: bit 8 set, no permission. */
	p = leaf_of(root, 1);
	saved = *p;
	__atomic_store_n(p, EPT_FROZEN_SPTE, __ATOMIC_RELAXED);
	CHECK_EQ(ept_test_clear_young(root, 0, 64, bm), 0);
	CHECK_EQ(bm[0], 0);
	CHECK_EQ(*p, EPT_FROZEN_SPTE);
	__atomic_store_n(p, saved, __ATOMIC_RELAXED);
	CHECK(teardown());
}

TEST(large_leaf_ages_as_one_unit)
{
	uint64_t bm[16] = { 0 };
	int level;

	CHECK(setup(1024, 1, 2));
	CHECK(env_mapped(&vm, root, 5, NULL, &level) && level == 2);
	set_accessed(root, 7);
	CHECK_EQ(ept_test_clear_young(root, 100, 700, bm), 1);
	for (uint64_t i = 0; i < 600; i++)
		CHECK_EQ(bit(bm, i), i < 412);	/* gfns 100-511 */
	CHECK(!(*leaf_of(root, 7) & EPT_ACCESSED));
	CHECK(teardown());
}

/*
 * A guest thread flips the dirty bit of a young leaf as fast as it can, so
 * the aging cmpxchg keeps losing.  The accessed bit is set before every call
 * and nobody else clears it, so every call must say young; the flips must
 * all survive and the permissions never change.
 */
static int stop, started;
static long flips;

static void *flipper(void *arg)
{
	ept_spte_t *p = arg;
	long n = 0;

	hosted_cpu_id = 1;
	__atomic_store_n(&started, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		__atomic_fetch_xor(p, EPT_DIRTY, __ATOMIC_RELAXED);
		n++;
	}
	__atomic_store_n(&flips, n, __ATOMIC_RELAXED);
	return NULL;
}

TEST(lost_cmpxchg_counts_as_young_and_keeps_the_racing_change)
{
	long calls = 0, old_calls = 0, lost = 0, bad_perms = 0;
	ept_spte_t *p, perms, d0;
	pthread_t t;
	uint64_t t0;

	CHECK(setup(64, 4, 1));
	p = leaf_of(root, 3);
	perms = *p & EPT_RWX;
	d0 = *p & EPT_DIRTY;
	pthread_create(&t, NULL, flipper, p);
	while (!__atomic_load_n(&started, __ATOMIC_ACQUIRE))
		sched_yield();
	for (t0 = env_now(); lost < 1000 && (calls % 4096 || env_now() - t0 < 2000000000ull);) {
		uint64_t bm[1] = { 0 }, v;

		__atomic_fetch_or(p, EPT_ACCESSED, __ATOMIC_RELAXED);
		old_calls += !ept_test_clear_young(root, 3, 4, bm) || bm[0] != 1;
		calls++;
		v = __atomic_load_n(p, __ATOMIC_RELAXED);
		lost += !!(v & EPT_ACCESSED);		/* the clear lost a race */
		bad_perms += (v & EPT_RWX) != perms;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	printf("# %ld of %ld clears lost a race and counted young (%ld flips)\n", lost, calls, flips);
	CHECK_EQ(old_calls, 0);
	CHECK_EQ(bad_perms, 0);
	CHECK_EQ(*p & EPT_DIRTY, (flips & 1) ? d0 ^ EPT_DIRTY : d0);
	CHECK(teardown());
}
