/* SPDX-License-Identifier: MIT */
/*
 * Zapping (ept/zap.c): leaves only, large leaves whole, every root, the flush
 * result, yielding to waiters (flushing before it lets them in) and the
 * longest-hold statistic.
 */
#include <unistd.h>

#include "tests/ept/ept_env.h"
#include "tests/host/test.h"

__attribute__((constructor)) static void watchdog(void)
{
	alarm(60);
}

TEST(zap_clears_leaves_in_range_and_keeps_tables)
{
	struct ept_vm vm;
	struct ept_root *root;
	uint64_t tables;
	bool flush;

	env_setup(&vm, 2048);
	root = ept_root_load_for_vcpu(&vm);
	for (int g = 0; g < 1024; g++)
		ept_fault(&vm, root, (uint64_t)g << 12, EPT_R);
	tables = vm.table_pages;
	write_lock(&vm.mmu_lock);
	flush = ept_zap_range(&vm, 100, 600);
	write_unlock(&vm.mmu_lock);
	CHECK(flush);
	for (int g = 0; g < 1024; g++)
		CHECK_EQ(env_mapped(&vm, root, g, NULL, NULL), g < 100 || g >= 600);
	CHECK_EQ(vm.zapped, 500);
	CHECK_EQ(vm.table_pages, tables);
	/* Nothing left there: no flush needed. */
	write_lock(&vm.mmu_lock);
	flush = ept_zap_range(&vm, 100, 600);
	write_unlock(&vm.mmu_lock);
	CHECK(!flush);
	ept_root_put(&vm, root);
	CHECK(env_teardown(&vm));
}

/* The entry for @gfn at @level in @root (the tables exist down to it). */
static ept_spte_t *entry_at(struct ept_root *root, uint64_t gfn, int level)
{
	ept_spte_t *table = ept_pa_to_va(root->table_pa);

	for (int l = EPT_ROOT_LEVEL; l > level; l--)
		table = ept_pa_to_va(ept_spte_addr(table[ept_index(gfn, l)]));
	return &table[ept_index(gfn, level)];
}

/* A VM whose gfns 1024-1535 are mapped by one 2 MiB leaf in the returned root. */
static struct ept_root *map_large_leaf(struct ept_vm *vm)
{
	struct ept_root *root;

	env_setup(vm, 4096);
	env.max_level = 2;
	root = ept_root_load_for_vcpu(vm);
	if (ept_fault(vm, root, 1024ull << 12, EPT_R) != EPT_FIXED)
		return NULL;
	return root;
}

/* A zap of part of a 2 MiB leaf splits it: only that part goes, the rest stays mapped 4 KiB. */
TEST(zap_of_part_of_a_large_leaf_splits_it)
{
	struct ept_vm vm;
	struct ept_root *root;
	uint64_t hpa, a;
	long sets;
	int level;

	root = map_large_leaf(&vm);
	CHECK(root);
	CHECK(env_mapped(&vm, root, 1500, &hpa, &level));
	CHECK_EQ(level, 2);
	/* Accessed by the "CPU": the parts inherit it. */
	*entry_at(root, 1024, 2) |= EPT_ACCESSED;
	sets = env.leaf_sets;
	write_lock(&vm.mmu_lock);
	CHECK(ept_zap_range(&vm, 1100, 1102));
	write_unlock(&vm.mmu_lock);
	CHECK_EQ(vm.splits, 1);
	CHECK_EQ(vm.zapped, 2);
	CHECK_EQ(env.leaf_sets - sets, 512);
	for (uint64_t g = 1024; g < 1536; g++) {
		bool m = env_mapped(&vm, root, g, &a, &level);

		CHECK_EQ(m, g < 1100 || g >= 1102);
		if (m) {
			CHECK_EQ(level, 1);
			CHECK_EQ(a, env.hpa_base + g * 4096);
			CHECK(*entry_at(root, g, 1) & EPT_ACCESSED);
		}
	}
	ept_root_put(&vm, root);
	CHECK(env_teardown(&vm));
}

/*
 * The large leaf taken whole, no split: by a partial zap with no page for the
 * table, and by a zap covering all of it.
 */
TEST(zap_takes_a_large_leaf_whole_without_a_table_page_or_when_covered)
{
	static const uint64_t range[2][2] = { { 1100, 1101 }, { 1000, 1600 } };
	struct ept_vm vm;
	struct ept_root *root;

	for (int i = 0; i < 2; i++) {
		root = map_large_leaf(&vm);
		CHECK(root);
		env.alloc_budget = i ? -1 : 0;
		write_lock(&vm.mmu_lock);
		CHECK(ept_zap_range(&vm, range[i][0], range[i][1]));
		write_unlock(&vm.mmu_lock);
		env.alloc_budget = -1;
		CHECK_EQ(vm.splits, 0);
		CHECK_EQ(vm.zapped, 1);
		CHECK(!env_mapped(&vm, root, 1024, NULL, NULL));
		CHECK(!env_mapped(&vm, root, 1500, NULL, NULL));
		ept_root_put(&vm, root);
		CHECK(env_teardown(&vm));
	}
}

TEST(zap_reaches_invalid_roots_still_held)
{
	struct ept_vm vm;
	struct ept_root *old, *fresh;

	env_setup(&vm, 64);
	old = ept_root_load_for_vcpu(&vm);
	/* Mark invalid without the zap, as between the two halves of an invalidation. */
	spin_lock(&vm.inval_all_lock);
	write_lock(&vm.mmu_lock);
	ept_roots_mark_invalid(&vm);
	write_unlock(&vm.mmu_lock);
	fresh = ept_root_load_for_vcpu(&vm);
	ept_spte_t *t;
	struct ept_walk w;
	/* Install a leaf in the invalid root by hand (faults refuse it). */
	CHECK_EQ(ept_fault(&vm, fresh, 3 << 12, EPT_R), EPT_FIXED);
	ept_walk(&vm, fresh, 3 << 12, &w);
	ept_spte_t leaf = w.spte[1];
	CHECK_EQ(ept_fault(&vm, old, 3 << 12, EPT_R), EPT_RETRY);
	env.max_level = 1;
	write_lock(&vm.mmu_lock);
	ept_spte_t *table = ept_pa_to_va(old->table_pa);
	for (int level = 4; level > 1; level--) {
		void *child = env_alloc(&vm);

		ept_spte_write(&table[0], ept_make_nonleaf(ept_va_to_pa(child)));
		table = child;
	}
	t = table;
	ept_spte_write(&t[3], leaf);
	CHECK(env_mapped(&vm, old, 3, NULL, NULL));
	CHECK(ept_zap_range(&vm, 0, 64));
	write_unlock(&vm.mmu_lock);
	CHECK(!env_mapped(&vm, old, 3, NULL, NULL));
	CHECK(!env_mapped(&vm, fresh, 3, NULL, NULL));
	ept_roots_zap_invalid(&vm);
	spin_unlock(&vm.inval_all_lock);
	/* The hand-made tables are freed with the root, counted or not. */
	vm.table_pages += 3;
	ept_root_put(&vm, old);
	ept_root_put(&vm, fresh);
	CHECK(env_teardown(&vm));
}

static struct ept_vm yvm;
static struct ept_root *yroot;
static int waiter_in;

static void *waiting_reader(void *arg)
{
	(void)arg;
	hosted_cpu_id = 1;
	read_lock(&yvm.mmu_lock);
	__atomic_store_n(&waiter_in, 1, __ATOMIC_RELEASE);
	read_unlock(&yvm.mmu_lock);
	return NULL;
}

/* Zap with a reader queued behind us: it gets in during the zap iff we yield. */
static bool zap_lets_waiter_in(unsigned int batch, long *flushes_before_done)
{
	pthread_t t;
	long f0;

	yvm.zap_batch = batch;
	waiter_in = 0;
	write_lock(&yvm.mmu_lock);
	pthread_create(&t, NULL, waiting_reader, NULL);
	while (!rwlock_is_contended(&yvm.mmu_lock))
		;
	f0 = env.flushes;
	ept_zap_root_range(&yvm, yroot, 0, 4096, true);
	*flushes_before_done = env.flushes - f0;
	bool in = __atomic_load_n(&waiter_in, __ATOMIC_ACQUIRE);
	write_unlock(&yvm.mmu_lock);
	pthread_join(t, NULL);
	return in;
}

static void map_all(void)
{
	for (int g = 0; g < 4096; g++)
		ept_fault(&yvm, yroot, (uint64_t)g << 12, EPT_R);
}

TEST(zap_yields_to_waiters_after_flushing)
{
	long flushes;

	env_setup(&yvm, 4096);
	yroot = ept_root_load_for_vcpu(&yvm);
	map_all();
	CHECK(zap_lets_waiter_in(64, &flushes));
	/* What was zapped before letting the reader in was flushed first. */
	CHECK(flushes >= 1);
	map_all();
	CHECK(!zap_lets_waiter_in(0, &flushes));
	CHECK_EQ(flushes, 0);	/* no yield, so the flush is left to the caller */
	CHECK(yvm.max_write_hold_ns > 0);
	ept_root_put(&yvm, yroot);
	CHECK(env_teardown(&yvm));
}
