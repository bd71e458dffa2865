/* SPDX-License-Identifier: MIT */
/*
 * The fault path (ept/fault.c): results, table creation, 2 MiB leaves, the
 * retry rules of the invalidation sequence (a resolver that races an
 * invalidation), replacing a leaf through FROZEN with a flush, and the
 * table a losing racer allocated being freed.
 */
#define _GNU_SOURCE
#include <sched.h>

#include "tests/ept/ept_check.h"
#include "tests/ept/ept_env.h"
#include "tests/host/affinity.h"
#include "tests/host/test.h"

#define ACC	EPT_R

TEST(fault_installs_then_is_spurious)
{
	struct ept_vm vm;
	struct ept_root *root;
	uint64_t hpa;
	int level;

	env_setup(&vm, 1024);
	root = ept_root_load_for_vcpu(&vm);
	CHECK(root);
	CHECK(!env_mapped(&vm, root, 5, NULL, NULL));
	CHECK_EQ(ept_fault(&vm, root, 5 << 12, ACC), EPT_FIXED);
	CHECK(env_mapped(&vm, root, 5, &hpa, &level));
	CHECK_EQ(hpa, env.hpa_base + (5 << 12));
	CHECK_EQ(level, 1);
	CHECK_EQ(ept_fault(&vm, root, (5 << 12) + 0x123, ACC), EPT_SPURIOUS);
	/* Root table + 3 levels below it. */
	CHECK_EQ(vm.table_pages, 4);
	CHECK_EQ(ept_fault(&vm, root, 6 << 12, ACC | EPT_W), EPT_FIXED);
	CHECK_EQ(vm.table_pages, 4);
	struct ept_stats st;
	ept_vm_stats(&vm, &st);
	CHECK_EQ(st.faults, 3);
	CHECK_EQ(st.fixed, 2);
	CHECK_EQ(st.spurious, 1);
	ept_root_put(&vm, root);
	CHECK(env_teardown(&vm));
}

TEST(fault_outside_regions_is_no_memslot)
{
	struct ept_vm vm;
	struct ept_root *root;
	struct ept_region r[2] = { { 0, 16 }, { 100, 200 } };

	env_setup(&vm, 0);
	CHECK_EQ(ept_set_regions(&vm, r, 2), 0);
	root = ept_root_load_for_vcpu(&vm);
	CHECK_EQ(ept_fault(&vm, root, 16 << 12, ACC), EPT_NO_MEMSLOT);
	CHECK_EQ(ept_fault(&vm, root, 99ull << 12, ACC), EPT_NO_MEMSLOT);
	CHECK_EQ(ept_fault(&vm, root, 1ull << 60, ACC), EPT_NO_MEMSLOT);
	CHECK_EQ(ept_fault(&vm, root, 150ull << 12, ACC), EPT_FIXED);
	CHECK_EQ(env.resolved, 1);	/* never asked for a hole */
	ept_root_put(&vm, root);
	CHECK(env_teardown(&vm));
}

TEST(fault_out_of_memory)
{
	struct ept_vm vm;
	struct ept_root *root;

	env_setup(&vm, 1024);
	root = ept_root_load_for_vcpu(&vm);
	env.resolve_fail = true;
	CHECK_EQ(ept_fault(&vm, root, 1 << 12, ACC), EPT_NOMEM);
	env.resolve_fail = false;
	env.alloc_budget = 1;	/* one table: not enough for three levels */
	CHECK_EQ(ept_fault(&vm, root, 1 << 12, ACC), EPT_NOMEM);
	env.alloc_budget = -1;
	CHECK_EQ(ept_fault(&vm, root, 1 << 12, ACC), EPT_FIXED);
	ept_root_put(&vm, root);
	CHECK(env_teardown(&vm));
}

static bool hook_opened;
static uint64_t hook_start, hook_end;

/* An invalidation that runs entirely while the fault resolves (seq moves). */
static void hook_full_invalidation(struct ept_vm *vm, uint64_t gfn)
{
	(void)gfn;
	env.resolve_hook = NULL;
	ept_invalidate_end(vm, hook_start, hook_end, ept_invalidate_begin(vm, hook_start, hook_end));
}

/* An invalidation that opens while the fault resolves and stays open. */
static void hook_open_invalidation(struct ept_vm *vm, uint64_t gfn)
{
	(void)gfn;
	env.resolve_hook = NULL;
	hook_opened = ept_invalidate_begin(vm, hook_start, hook_end);
}

TEST(fault_retries_when_seq_moved_during_resolve)
{
	struct ept_vm vm;
	struct ept_root *root;

	env_setup(&vm, 1024);
	root = ept_root_load_for_vcpu(&vm);
	/* Even an invalidation of another gfn: seq moved, the fault cannot tell. */
	hook_start = 500;
	hook_end = 501;
	env.resolve_hook = hook_full_invalidation;
	CHECK_EQ(ept_fault(&vm, root, 7 << 12, ACC), EPT_RETRY);
	CHECK(!env_mapped(&vm, root, 7, NULL, NULL));
	CHECK_EQ(ept_fault(&vm, root, 7 << 12, ACC), EPT_FIXED);
	ept_root_put(&vm, root);
	CHECK(env_teardown(&vm));
}

TEST(fault_retries_while_open_invalidation_covers_gfn)
{
	struct ept_vm vm;
	struct ept_root *root;

	env_setup(&vm, 1024);
	root = ept_root_load_for_vcpu(&vm);
	hook_start = 0;
	hook_end = 8;
	env.resolve_hook = hook_open_invalidation;
	CHECK_EQ(ept_fault(&vm, root, 7 << 12, ACC), EPT_RETRY);
	CHECK(hook_opened);
	/* Still open: a fresh snapshot does not help inside the range... */
	CHECK_EQ(ept_fault(&vm, root, 7 << 12, ACC), EPT_RETRY);
	CHECK(!env_mapped(&vm, root, 7, NULL, NULL));
	/* ...but outside it the fault goes through. */
	CHECK_EQ(ept_fault(&vm, root, 8 << 12, ACC), EPT_FIXED);
	ept_invalidate_end(&vm, 0, 8, hook_opened);
	CHECK_EQ(ept_fault(&vm, root, 7 << 12, ACC), EPT_FIXED);
	ept_root_put(&vm, root);
	CHECK(env_teardown(&vm));
}

TEST(fault_maps_2m_when_allowed_and_aligned)
{
	struct ept_vm vm;
	struct ept_root *root;
	struct ept_region r[2] = { { 0, 1024 }, { 1024, 1024 + 300 } };
	uint64_t hpa;
	int level;

	env_setup(&vm, 0);
	ept_set_regions(&vm, r, 2);
	env.max_level = 2;
	root = ept_root_load_for_vcpu(&vm);
	CHECK_EQ(ept_fault(&vm, root, (512 + 3) << 12, ACC), EPT_FIXED);
	CHECK(env_mapped(&vm, root, 512 + 77, &hpa, &level));
	CHECK_EQ(level, 2);
	CHECK_EQ(hpa, env.hpa_base + ((512 + 77) << 12));
	CHECK_EQ(vm.table_pages, 3);	/* no level-1 table */
	CHECK_EQ(ept_fault(&vm, root, (512 + 100) << 12, ACC), EPT_SPURIOUS);
	/* The block [1024, 1536) crosses the region's end: 4 KiB. */
	CHECK_EQ(ept_fault(&vm, root, 1030ull << 12, ACC), EPT_FIXED);
	CHECK(env_mapped(&vm, root, 1030, NULL, &level));
	CHECK_EQ(level, 1);
	/* Host page not 2 MiB aligned for the block: 4 KiB. */
	env.hpa_base += 4096;
	CHECK_EQ(ept_fault(&vm, root, 10 << 12, ACC), EPT_FIXED);
	CHECK(env_mapped(&vm, root, 10, NULL, &level));
	CHECK_EQ(level, 1);
	/* A table already under the 2 MiB slot: 4 KiB, next to what is there. */
	env.hpa_base -= 4096;
	CHECK_EQ(ept_fault(&vm, root, 11 << 12, ACC), EPT_FIXED);
	CHECK(env_mapped(&vm, root, 11, NULL, &level));
	CHECK_EQ(level, 1);
	ept_root_put(&vm, root);
	CHECK(env_teardown(&vm));
}

/*
 * A 2 MiB leaf maps every gfn of its block: while an invalidation is open
 * over one of them (its page is being taken away), a fault on another gfn
 * of the block maps 4 KiB, however whole the block was when it resolved.
 */
TEST(large_fault_maps_4k_while_an_invalidation_is_open_in_its_block)
{
	struct ept_vm vm;
	struct ept_root *root;
	bool opened;
	int level;

	env_setup(&vm, 2048);
	env.max_level = 2;
	root = ept_root_load_for_vcpu(&vm);
	opened = ept_invalidate_begin(&vm, 512 + 300, 512 + 301);
	CHECK_EQ(ept_fault(&vm, root, (512 + 7) << 12, ACC), EPT_FIXED);
	CHECK(env_mapped(&vm, root, 512 + 7, NULL, &level));
	CHECK_EQ(level, 1);
	CHECK(!env_mapped(&vm, root, 512 + 300, NULL, NULL));
	CHECK_EQ(ept_fault(&vm, root, (512 + 300) << 12, ACC), EPT_RETRY);
	ept_invalidate_end(&vm, 512 + 300, 512 + 301, opened);
	/* Another block, nothing open: 2 MiB. */
	CHECK_EQ(ept_fault(&vm, root, 1024 << 12, ACC), EPT_FIXED);
	CHECK(env_mapped(&vm, root, 1024 + 300, NULL, &level));
	CHECK_EQ(level, 2);
	ept_root_put(&vm, root);
	CHECK(env_teardown(&vm));
}

TEST(fault_replaces_other_page_only_through_frozen_and_flush)
{
	struct ept_vm vm;
	struct ept_root *root;
	uint64_t hpa;
	long flushes;

	env_setup(&vm, 1024);
	root = ept_root_load_for_vcpu(&vm);
	CHECK_EQ(ept_fault(&vm, root, 3 << 12, ACC), EPT_FIXED);
	flushes = env.flushes;
	env.hpa_override = 0x7000000ull;
	CHECK_EQ(ept_fault(&vm, root, 3 << 12, ACC), EPT_FIXED);
	CHECK_EQ(env.flushes, flushes + 1);
	CHECK(env_mapped(&vm, root, 3, &hpa, NULL));
	CHECK_EQ(hpa, 0x7000000ull);
	/* Same page again: nothing to do, no flush. */
	CHECK_EQ(ept_fault(&vm, root, 3 << 12, ACC), EPT_SPURIOUS);
	CHECK_EQ(env.flushes, flushes + 1);
	ept_root_put(&vm, root);
	CHECK(env_teardown(&vm));
}

TEST(fault_on_frozen_entry_retries)
{
	struct ept_vm vm;
	struct ept_root *root;
	struct ept_walk w;

	env_setup(&vm, 1024);
	root = ept_root_load_for_vcpu(&vm);
	CHECK_EQ(ept_fault(&vm, root, 3 << 12, ACC), EPT_FIXED);
	ept_walk(&vm, root, 3 << 12, &w);
	/* Freeze the leaf as a racing fault would, mid-replacement. */
	ept_spte_t *t = ept_pa_to_va(ept_spte_addr(w.spte[2]));
	ept_spte_write(&t[3], EPT_FROZEN_SPTE);
	CHECK(!env_mapped(&vm, root, 3, NULL, NULL));
	CHECK_EQ(ept_fault(&vm, root, 3 << 12, ACC), EPT_RETRY);
	ept_spte_write(&t[3], 0);
	CHECK_EQ(ept_fault(&vm, root, 3 << 12, ACC), EPT_FIXED);
	ept_root_put(&vm, root);
	CHECK(env_teardown(&vm));
}

TEST(fault_on_invalid_root_retries)
{
	struct ept_vm vm;
	struct ept_root *root;

	env_setup(&vm, 1024);
	root = ept_root_load_for_vcpu(&vm);
	ept_invalidate_all_roots(&vm);
	CHECK_EQ(ept_fault(&vm, root, 3 << 12, ACC), EPT_RETRY);
	CHECK(!env_mapped(&vm, root, 3, NULL, NULL));
	ept_root_put(&vm, root);
	CHECK(env_teardown(&vm));
}

/* Many CPUs fault the same fresh gfns: the losers' tables must all come back. */
#define NRACERS	4
static struct ept_vm race_vm;
static struct ept_root *race_root;
static int race_go;
static long race_bad;

static void *racer(void *arg)
{
	hosted_cpu_id = (unsigned int)(uintptr_t)arg;
	grace_cpu_online(hosted_cpu_id);
	while (!__atomic_load_n(&race_go, __ATOMIC_ACQUIRE))
		;
	for (uint64_t g = 0; g < 64; g++) {
		enum ept_fault_result r = ept_fault(&race_vm, race_root, (g * 512 * 512) << 12, ACC);

		if (r != EPT_FIXED && r != EPT_SPURIOUS)
			__atomic_fetch_add(&race_bad, 1, __ATOMIC_RELAXED);
	}
	grace_cpu_offline(hosted_cpu_id);
	return NULL;
}

TEST(racing_faults_free_the_tables_they_lost)
{
	pthread_t t[NRACERS];
	struct ept_stats st;

	env_setup(&race_vm, 64ull * 512 * 512);
	race_root = ept_root_load_for_vcpu(&race_vm);
	race_go = 0;
	for (long i = 0; i < NRACERS; i++)
		pthread_create(&t[i], NULL, racer, (void *)(i + 1));
	__atomic_store_n(&race_go, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < NRACERS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(race_bad, 0);
	ept_vm_stats(&race_vm, &st);
	/* One table per level per 1 GiB slot, exactly: root + 1 + 64 * 2. */
	CHECK_EQ(st.table_pages, 1 + 1 + 64 * 2);
	CHECK_EQ(env.tables_alive, st.table_pages + 1);	/* + the root struct's page */
	CHECK_EQ(st.fixed, 64);
	for (uint64_t g = 0; g < 64; g++)
		CHECK(env_mapped(&race_vm, race_root, g * 512 * 512, NULL, NULL));
	ept_root_put(&race_vm, race_root);
	CHECK(env_teardown(&race_vm));
}

/*
 * Two faults racing for one empty slot, one round at a time: both threads
 * (pinned to two CPUs) are released together, A after a small pseudo-random
 * head start for B, so that their windows meet; a fresh root every
 * PAIR_BLOCKS rounds, after counting the tables the old one holds.
 *
 *  - 2 MiB / 4 KiB: A may map its block 2 MiB, B only 4 KiB (its CPU is
 *    capped).  When B installs its level-1 table after A read the level-2
 *    slot empty, A's cmpxchg fails on that table: A must retry, and never
 *    freeze, "clear" and overwrite it, which orphans the table and B's leaf.
 *  - same gfn: both map one gfn 4 KiB; exactly one of them installs it (one
 *    leaf_set() per round), the other finds it mapped.
 */
#define PAIR_BLOCKS	512		/* the blocks of one level-2 table: 1 GiB */
#define PAIR_SECONDS	1.0
#define PAIR_HITS	50		/* 2 MiB / 4 KiB: enough lost races seen, stop */

static struct ept_vm pair_vm;
static struct ept_root *pair_root;
static bool pair_same_gfn;
static unsigned long pair_arrived;
static int pair_stop;
static long pair_hits, pair_orphans, pair_bad, pair_rounds;

/* Both threads arrive before either goes on (the @n-th meeting). */
static void pair_meet(unsigned long n)
{
	__atomic_fetch_add(&pair_arrived, 1, __ATOMIC_ACQ_REL);
	for (int spins = 0; __atomic_load_n(&pair_arrived, __ATOMIC_ACQUIRE) < 2 * n; spins++)
		if (spins > 1000)
			sched_yield();
}

static double pair_now(void)
{
	return env_now() * 1e-9;
}

/* A, between batches (B waits at the next meeting): count the tables, then a fresh root. */
static void pair_new_batch(void)
{
	long frozen = 0, tables;

	write_lock(&pair_vm.mmu_lock);
	tables = ept_check_tables(pair_root, &frozen);
	/* The root is the only one, and every table it ever had is still in it. */
	pair_orphans = (long)pair_vm.table_pages - tables;
	pair_bad += frozen;
	write_unlock(&pair_vm.mmu_lock);
	ept_root_put(&pair_vm, pair_root);
	ept_invalidate_all_roots(&pair_vm);
	grace_quiescent();
	pair_root = ept_root_load_for_vcpu(&pair_vm);
}

static void *pair_racer(void *arg)
{
	bool a = arg != NULL;
	double t0 = pair_now();

	test_pin_thread(a);
	hosted_cpu_id = a ? 1 : 2;
	grace_cpu_online(hosted_cpu_id);
	for (unsigned long n = 1;; n++) {
		uint64_t block = (n - 1) % PAIR_BLOCKS, gfn;
		enum ept_fault_result r;

		/* Both finished the last round: the root may change. */
		pair_meet(2 * n - 1);
		if (a && block == 0 && n > 1)
			pair_new_batch();
		if (a && (pair_now() - t0 > PAIR_SECONDS || pair_hits >= PAIR_HITS || pair_orphans ||
			  (pair_same_gfn && env.leaf_sets > pair_rounds)))
			__atomic_store_n(&pair_stop, 1, __ATOMIC_RELAXED);
		pair_meet(2 * n);
		if (__atomic_load_n(&pair_stop, __ATOMIC_RELAXED))
			break;
		/* Same gfn: all in one level-1 table, so both go straight for the leaf slot. */
		if (pair_same_gfn)
			gfn = block;
		else
			gfn = block * 512 + (a ? 0 : 1 + block * 37 % 511);
		/*
		 * B spends its window allocating the level-1 table; A's is a few
		 * instructions.  A random head start for B makes them meet.
		 */
		for (unsigned int i = a ? (uint32_t)(n * 2654435761u) >> 28 : 0; i; i--)
			cpu_relax();
		r = ept_fault(&pair_vm, pair_root, gfn << 12, ACC);
		if (a && r == EPT_RETRY && !pair_same_gfn)
			pair_hits++;
		else if (r != EPT_FIXED && r != EPT_SPURIOUS)
			__atomic_fetch_add(&pair_bad, 1, __ATOMIC_RELAXED);
		if (a)
			pair_rounds++;
		grace_quiescent();
	}
	grace_cpu_offline(hosted_cpu_id);
	return NULL;
}

/* Race the pair: @same_gfn, else 2 MiB / 4 KiB; true if nothing went wrong. */
static bool pair_race(bool same_gfn)
{
	pthread_t a, b;
	bool ok;

	env_setup(&pair_vm, PAIR_BLOCKS * 512);
	env.max_level = same_gfn ? 1 : 2;
	env.cpus_4k = 1ull << 2;
	pair_same_gfn = same_gfn;
	pair_arrived = pair_hits = pair_orphans = pair_bad = pair_rounds = 0;
	pair_stop = 0;
	pair_root = ept_root_load_for_vcpu(&pair_vm);
	pthread_create(&a, NULL, pair_racer, (void *)1);
	pthread_create(&b, NULL, pair_racer, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pair_new_batch();
	if (same_gfn)
		printf("# %ld rounds, %ld leaves installed\n", pair_rounds, env.leaf_sets);
	else
		printf("# %ld blocks raced, %ld times the large fault lost to a table and retried\n",
		       pair_rounds, pair_hits);
	ok = !pair_bad && !pair_orphans && !env.table_clears &&
	     (!same_gfn || env.leaf_sets == pair_rounds);
	ept_root_put(&pair_vm, pair_root);
	return env_teardown(&pair_vm) && ok;
}

TEST(large_fault_never_replaces_a_table_a_racing_4k_fault_installed)
{
	CHECK(pair_race(false));
}

TEST(racing_faults_on_one_gfn_install_one_leaf)
{
	CHECK(pair_race(true));
}
