/* SPDX-License-Identifier: MIT */
/*
 * rmap/reclaim.c over three VMs (tests/rmap/ms_env.h) sharing one page pool
 * and one store: runs go round robin over the memslots, age them when none
 * has old pages and take young pages when aging finds nothing old twice;
 * direct reclaim takes pages from other guests; unregistering takes a
 * memslot out (also while a reclaimer runs); the statistics add up.
 */
#define _GNU_SOURCE
#include "tests/host/test.h"
#include "tests/store/zpages.h"
#include "tests/rmap/ms_env.h"

#define NVM	3

static struct zstore zs;
static struct tvm vms[NVM];
static struct ept_root *roots[NVM];
static struct reclaim rc;

/* NVM VMs of @nr_pages gfns, registered 0, 1, 2 (so listed 2, 1, 0), pages limited to @limit. */
static bool setup(uint64_t nr_pages, long limit, bool clock)
{
	tables_live = desc_live = meta_live = store_live = 0;
	meta_fail_after = store_budget = -1;
	pool_init(limit < 0 ? (long)(NVM * nr_pages) : limit, limit, true);
	zstore_init(&zs, &env_store_ops, NULL);
	reclaim_init(&rc, clock ? now_ns : NULL);
	hosted_cpu_id = 0;
	grace_cpu_online(0);
	for (int i = 0; i < NVM; i++) {
		if (tvm_init(&vms[i], &zs, nr_pages))
			return false;
		roots[i] = ept_root_load_for_vcpu(&vms[i].ept);
		if (!roots[i])
			return false;
		reclaim_register(&rc, &vms[i].ms);
	}
	return true;
}

static bool teardown(void)
{
	bool ok;

	for (int i = 0; i < NVM; i++) {
		reclaim_unregister(&rc, &vms[i].ms);
		ept_root_put(&vms[i].ept, roots[i]);
		tvm_destroy(&vms[i]);
	}
	grace_barrier();
	ok = store_stats(&zs).handles == 0;
	zstore_destroy(&zs);
	ok = ok && pool_live() == 0 && store_live == 0 && tables_live == 0 && desc_live == 0 &&
	     meta_live == 0 && pool.bad_poison == 0 && pool.bad_free == 0;
	pool_fini();
	grace_cpu_offline(0);
	return ok;
}

static struct memslot_stats stats(int vm)
{
	struct memslot_stats st;

	memslot_stats(&vms[vm].ms, &st, NULL);
	return st;
}

static struct reclaim_stats rstats(void)
{
	struct reclaim_stats st;

	reclaim_get_stats(&rc, &st);
	return st;
}

/* @n pages of VM @vm populated by the hypervisor (not mapped: never young). */
static bool populate(int vm, uint64_t n)
{
	uint64_t hpa;

	for (uint64_t g = 0; g < n; g++)
		if (!memslot_resolve(&vms[vm].ms, g, &hpa))
			return false;
	return true;
}

/* @n pages of VM @vm mapped and touched by its guest (young until the next pass). */
static bool touch(int vm, uint64_t n)
{
	for (uint64_t g = 0; g < n; g++)
		if (!tvm_touch(&vms[vm], &roots[vm], g))
			return false;
	return true;
}

TEST(runs_go_round_robin)
{
	static const int order[] = { 2, 1, 0, 2 };	/* last registered first */
	struct reclaim_stats st;
	uint64_t total = 0;

	CHECK(setup(64, -1, true));
	for (int i = 0; i < NVM; i++) {
		CHECK(populate(i, 40));
		memslot_age(&vms[i].ms);	/* generation 1: old enough */
	}
	for (int r = 0; r < 4; r++) {
		uint64_t before[NVM];

		for (int i = 0; i < NVM; i++)
			before[i] = stats(i).evictions;
		CHECK_EQ(reclaim_run(&rc, 10), 10);
		for (int i = 0; i < NVM; i++)
			CHECK_EQ(stats(i).evictions - before[i], i == order[r] ? 10 : 0);
	}
	st = rstats();
	CHECK_EQ(st.runs, 4);
	CHECK_EQ(st.direct_runs, 0);
	CHECK_EQ(st.freed, 40);
	CHECK_EQ(st.age_passes, 0);
	CHECK(st.ns > 0);
	/* More than one memslot holds: the run goes on to the next ones. */
	CHECK_EQ(reclaim_run(&rc, 70), 70);
	for (int i = 0; i < NVM; i++) {
		CHECK(stats(i).evictions >= 20);
		total += stats(i).evictions;
	}
	CHECK_EQ(total, 110);
	CHECK_EQ(pool_live(), 3 * 40 - 110);
	CHECK_EQ(rstats().freed, 110);
	CHECK(teardown());
}

TEST(no_old_pages_means_an_aging_round_first)
{
	CHECK(setup(64, -1, false));
	CHECK(touch(0, 16));
	CHECK(touch(1, 16));
	/* Round 1 finds all young (and clears them), round 2 makes them old. */
	CHECK_EQ(reclaim_run(&rc, 8), 8);
	CHECK_EQ(rstats().age_passes, 2 * NVM);
	CHECK_EQ(rstats().young, 32);
	CHECK_EQ(rstats().ns, 0);	/* no clock */
	CHECK_EQ(stats(1).evictions, 8);
	for (uint64_t g = 0; g < 16; g++)
		CHECK(hw_mapped(roots[1], g) == (g >= 8));
	/* Old pages now: no aging. */
	CHECK_EQ(reclaim_run(&rc, 8), 8);
	CHECK_EQ(rstats().age_passes, 2 * NVM);
	CHECK_EQ(stats(0).evictions, 8);
	CHECK(teardown());
}

/* VM 0's invalidation makes every page of VM 1 young again, as a busy guest would. */
static void keep_vm1_young(struct tvm *t, struct ept_root *root)
{
	(void)t;
	(void)root;
	for (uint64_t g = 0; g < 8; g++) {
		grace_read_lock();
		hw_access(roots[1], g);
		grace_read_unlock();
	}
}

TEST(young_pages_go_when_nothing_gets_old)
{
	struct reclaim_stats st;
	uint8_t buf[4096];

	CHECK(setup(64, -1, false));
	reclaim_unregister(&rc, &vms[2].ms);
	/* VM 0: mapped pages the full store cannot take, and whose eviction touches VM 1. */
	for (uint64_t g = 0; g < 8; g++) {
		zp_fill(buf, ZP_RANDOM, g);
		CHECK(!memslot_access(&vms[0].ms, g << 12, buf, sizeof(buf), true));
	}
	CHECK(touch(0, 8));
	memslot_age(&vms[0].ms);
	vms[0].flush_hook = keep_vm1_young;
	store_budget = 0;
	/* VM 1: zero pages, touched. */
	CHECK(touch(1, 8));
	CHECK_EQ(reclaim_run(&rc, 4), 4);
	st = rstats();
	CHECK_EQ(st.age_passes, 4);
	CHECK_EQ(st.young, 16);
	CHECK_EQ(stats(0).evictions, 0);
	CHECK_EQ(stats(1).evictions, 4);
	CHECK_EQ(stats(1).zero_evictions, 4);
	CHECK(store_stats(&zs).nomem > 0);
	CHECK_EQ(stats(0).resident, 8);
	store_budget = -1;
	vms[0].flush_hook = NULL;
	reclaim_register(&rc, &vms[2].ms);
	CHECK(teardown());
}

TEST(nothing_resident_ends_the_run)
{
	CHECK(setup(16, -1, false));
	CHECK_EQ(reclaim_run(&rc, 10), 0);
	CHECK(!reclaim_direct(&rc, 10));
	CHECK_EQ(rstats().runs, 2);
	CHECK_EQ(rstats().direct_runs, 1);
	CHECK_EQ(rstats().age_passes, 4 * NVM);
	CHECK_EQ(rstats().freed, 0);
	CHECK(teardown());
}

TEST(direct_reclaim_takes_from_other_guests)
{
	uint8_t buf[4096];
	uint64_t hpa;

	CHECK(setup(64, 32, false));
	for (uint64_t g = 0; g < 32; g++) {
		zp_fill(buf, ZP_TEXT, g);
		CHECK(!memslot_access(&vms[1].ms, g << 12, buf, sizeof(buf), true));
	}
	/* VM 0 has nothing; its first page comes from VM 1's. */
	CHECK(memslot_resolve(&vms[0].ms, 0, &hpa));
	CHECK(tvm_touch(&vms[0], &roots[0], 1));
	CHECK(rstats().direct_runs >= 1);
	CHECK(stats(1).evictions >= 2);
	CHECK_EQ(stats(0).resident, 2);
	CHECK_EQ(stats(0).nomem, 0);
	CHECK(pool_live() <= 32);
	for (uint64_t g = 0; g < 32; g++) {
		uint8_t got[4096];

		zp_fill(buf, ZP_TEXT, g);
		CHECK(!memslot_access(&vms[1].ms, g << 12, got, sizeof(got), false));
		CHECK(!memcmp(buf, got, sizeof(buf)));
	}
	CHECK(teardown());
}

TEST(unregistered_memslots_are_left_alone)
{
	size_t hist[GEN_NR];
	uint64_t ev1;

	CHECK(setup(64, -1, false));
	for (int i = 0; i < NVM; i++) {
		CHECK(populate(i, 20));
		memslot_age(&vms[i].ms);
	}
	/* The cursor is on VM 1 after two runs; take VM 1 off. */
	CHECK_EQ(reclaim_run(&rc, 5), 5);
	CHECK_EQ(reclaim_run(&rc, 5), 5);
	CHECK_EQ(stats(1).evictions, 5);
	reclaim_unregister(&rc, &vms[1].ms);
	reclaim_unregister(&rc, &vms[1].ms);	/* twice: a no-op */
	ev1 = stats(1).evictions;
	for (int r = 0; r < 6; r++)
		CHECK_EQ(reclaim_run(&rc, 5), 5);
	CHECK_EQ(stats(1).evictions, ev1);
	CHECK_EQ(stats(0).evictions + stats(2).evictions, 35);
	/* Aging leaves it alone too. */
	memslot_stats(&vms[1].ms, &(struct memslot_stats){ 0 }, hist);
	CHECK_EQ(hist[1], 15);
	CHECK_EQ(reclaim_age_all(&rc), 0);
	CHECK_EQ(rstats().age_passes, 2);
	memslot_stats(&vms[1].ms, &(struct memslot_stats){ 0 }, hist);
	CHECK_EQ(hist[1], 15);
	memslot_stats(&vms[0].ms, &(struct memslot_stats){ 0 }, hist);
	CHECK_EQ(hist[0] + hist[1], 0);
	/* With every memslot off, nothing to do. */
	reclaim_unregister(&rc, &vms[0].ms);
	reclaim_unregister(&rc, &vms[2].ms);
	CHECK_EQ(reclaim_run(&rc, 5), 0);
	CHECK_EQ(stats(1).evictions, ev1);
	/* Back on, at the head of the list. */
	reclaim_register(&rc, &vms[1].ms);
	CHECK_EQ(reclaim_run(&rc, 5), 5);
	CHECK_EQ(stats(1).evictions, ev1 + 5);
	reclaim_register(&rc, &vms[0].ms);
	reclaim_register(&rc, &vms[2].ms);
	CHECK(teardown());
}

TEST(age_all_counts_young_pages)
{
	CHECK(setup(64, -1, true));
	CHECK(touch(0, 5));
	CHECK(touch(2, 7));
	CHECK(populate(1, 9));
	CHECK_EQ(reclaim_age_all(&rc), 12);
	CHECK_EQ(rstats().age_passes, NVM);
	CHECK_EQ(rstats().young, 12);
	CHECK_EQ(reclaim_age_all(&rc), 0);
	CHECK_EQ(rstats().age_passes, 2 * NVM);
	CHECK_EQ(rstats().runs, 0);
	CHECK(rstats().ns > 0);
	CHECK(teardown());
}

/* ---- a reclaimer running while a memslot comes and goes (TSan twin) ---- */

static int stop;
static long runs;

static void *reclaimer(void *arg)
{
	(void)arg;
	hosted_cpu_id = 1;
	grace_cpu_online(1);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		reclaim_run(&rc, 4);
		if (++runs % 8 == 0)
			reclaim_age_all(&rc);
		grace_quiescent();
	}
	grace_cpu_offline(1);
	return NULL;
}

TEST(unregister_waits_for_the_reclaimer)
{
	pthread_t tid;
	long flips = 0;
	double t0;

	CHECK(setup(256, -1, true));
	for (int i = 0; i < NVM; i++)
		CHECK(populate(i, 256));
	pthread_create(&tid, NULL, reclaimer, NULL);
	for (t0 = now_s(); now_s() - t0 < 0.3; flips++) {
		uint64_t ev, hpa;

		reclaim_unregister(&rc, &vms[1].ms);
		/* Off the list: no eviction of VM 1 from now on. */
		ev = stats(1).evictions;
		for (uint64_t g = 0; g < 256; g += 16)
			CHECK(memslot_resolve(&vms[1].ms, g, &hpa));
		usleep(100);
		CHECK_EQ(stats(1).evictions, ev);
		reclaim_register(&rc, &vms[1].ms);
		usleep(100);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(tid, NULL);
	printf("# %ld runs, %ld register/unregister pairs, %llu pages freed\n", runs, flips,
	       (unsigned long long)rstats().freed);
	CHECK(runs > 0 && flips > 0 && rstats().freed > 0);
	CHECK(teardown());
}
