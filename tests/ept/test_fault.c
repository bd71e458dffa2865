/* SPDX-License-Identifier: MIT */
/*
 * The fault path (ept/fault.c): results, table creation, 2 MiB leaves, the
 * retry rules of the invalidation sequence (a resolver that races an
 * invalidation), replacing a leaf through FROZEN with a flush, and the
 * table a losing racer allocated being freed.
 */
#include "tests/ept/ept_env.h"
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
