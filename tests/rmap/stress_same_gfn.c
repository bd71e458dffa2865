/* SPDX-License-Identifier: MIT */
/*
 * Faults on the same gfns through the real read-locked fault path, with the
 * rmap hooks on (ept_ops leaf_set/leaf_clear -> rmap_add/rmap_remove).
 *
 *  - vCPU threads fault the same few gfns at once: cmpxchg losers, spurious
 *    faults, tables built by racers; then they touch the gfn as the CPU does
 *    (a lockless walk that sets the accessed bit);
 *  - the resolver backs gfn g by host page g % NPAGES, as a shared zero page
 *    or deduplicated pages would be, so that faults on different gfns change
 *    one page's rmap head at once holding mmu_lock for read only: the bit
 *    lock alone must order them, the empty -> one transition included;
 *  - a zapper (mmu_lock for write) zaps ranges, opens invalidations and
 *    invalidates every root, which empties heads again and again;
 *  - an ager walks every head with the read-only bit lock, clearing accessed
 *    bits (rmap_test_clear_young()).
 *
 * Every 100 ms the world stops: each head must hold exactly the leaves (of
 * every root) that map its page, each once, and the roots and tables must
 * add up (tests/ept/ept_check.h).  At the end every head is empty and every
 * descriptor freed.  A lost or doubled entry also shows as a remove that
 * finds nothing (a WARN, which fails the case) or a debug assertion.
 *
 * RMAP_SAME_GFN_S sets the run time (default 2 s, 3 s under TSan).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "rmap/age.h"
#include "tests/ept/ept_check.h"
#include "tests/ept/ept_env.h"
#include "tests/ept/soft_tlb.h"
#include "tests/host/affinity.h"
#include "tests/host/stress.h"
#include "tests/host/test.h"
#include "tests/rmap/desc_env.h"

#define NGFN		256
#define NPAGES		8		/* host pages: 32 gfns map each */
#define HOT		16		/* the gfns the vCPUs fault at any one time */
#define CHECK_EVERY_S	0.1

#ifdef __SANITIZE_THREAD__
#define RUN_S		3.0
#define NVCPU		2
#else
#define RUN_S		2.0
#define NVCPU		3
#endif

struct vcpu {
	pthread_t tid;
	unsigned int cpu;
	struct ept_root *root;
	long faults, fixed, spurious;
} __attribute__((aligned(64)));

static struct vcpu vcpus[NVCPU];
static struct ept_vm vm;
static struct rmap_head heads[NPAGES];
static int stop, reload[NVCPU];
static long n_zaps, n_invals, n_roots, n_aged, n_checks, n_adds;
/* The vCPUs' hot gfns start here; the zapper moves it. */
static uint64_t hot_base;

static bool stopping(void)
{
	return __atomic_load_n(&stop, __ATOMIC_RELAXED);
}

/* ---- the rmap hooks: one head per host page ---- */

static struct rmap_head *head_of(uint64_t spte)
{
	uint64_t page = (ept_spte_addr(spte) - env.hpa_base) >> EPT_PAGE_SHIFT;

	if (page >= NPAGES) {
		stress_violation("leaf %#llx maps no test page", (unsigned long long)spte);
		return NULL;
	}
	return &heads[page];
}

static void leaf_set(struct ept_vm *v, uint64_t gfn, int level, uint64_t *sptep)
{
	struct rmap_head *h = head_of(ept_spte_read(sptep));

	(void)gfn;
	(void)level;
	if (h && !rmap_add(&env_rmap_ops, &v->mmu_lock, h, sptep))
		stress_violation("rmap_add failed");
	__atomic_fetch_add(&n_adds, 1, __ATOMIC_RELAXED);
}

static void leaf_clear(struct ept_vm *v, uint64_t gfn, int level, uint64_t *sptep, uint64_t old)
{
	struct rmap_head *h = head_of(old);

	(void)gfn;
	(void)level;
	if (h)
		rmap_remove(&env_rmap_ops, &v->mmu_lock, h, sptep);
}

static void kick(struct ept_vm *v)
{
	(void)v;
	for (int i = 0; i < NVCPU; i++)
		__atomic_store_n(&reload[i], 1, __ATOMIC_RELEASE);
}

static const struct ept_ops ops = {
	.alloc_table = env_alloc,
	.free_table = env_free,
	.flush = env_flush,
	.kick_vcpus = kick,
	.resolve = env_resolve,
	.leaf_set = leaf_set,
	.leaf_clear = leaf_clear,
};

/* ---- threads ---- */

static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;
	int id = (int)(v - vcpus);
	uint64_t seed = 0x9e3779b97f4a7c15ull * (id + 1);
	struct soft_tlb_entry walk;

	hosted_cpu_id = v->cpu;
	grace_cpu_online(v->cpu);
	/* Apart: two vCPUs really run at once, not by turns. */
	test_pin_thread(id);
	while (!stopping()) {
		uint64_t r64 = stress_rnd(&seed), gfn;
		enum ept_fault_result r;

		/*
		 * Half the faults on a hot gfn any vCPU may fault too, half on a
		 * gfn of the same host page that is this vCPU's own: faults on
		 * different gfns meet on one rmap head.
		 */
		gfn = __atomic_load_n(&hot_base, __ATOMIC_RELAXED) + (r64 >> 8) % HOT;
		if (r64 & 1)
			gfn += NPAGES * (1 + id);
		gfn %= NGFN;

		stress_op_begin();
		if (__atomic_exchange_n(&reload[id], 0, __ATOMIC_ACQ_REL) || !v->root) {
			if (v->root)
				ept_root_put(&vm, v->root);
			v->root = ept_root_load_for_vcpu(&vm);
		}
		if (v->root) {
			r = ept_fault(&vm, v->root, gfn << EPT_PAGE_SHIFT, EPT_R);
			/* Read by covered(). */
			v->faults++;
			__atomic_fetch_add(&v->fixed, r == EPT_FIXED, __ATOMIC_RELAXED);
			__atomic_fetch_add(&v->spurious, r == EPT_SPURIOUS, __ATOMIC_RELAXED);
			if (r == EPT_NOMEM || r == EPT_NO_MEMSLOT)
				stress_violation("gfn %llu: fault result %d", (unsigned long long)gfn, r);
			/* The guest's access: the CPU sets the accessed bit the ager clears. */
			soft_tlb_walk(&walk, v->root, gfn);
		}
		stress_op_end();
		grace_quiescent();
	}
	grace_cpu_offline(v->cpu);
	return NULL;
}

static void *zapper_main(void *arg)
{
	uint64_t seed = 0x2545f4914f6cdd1dull;

	(void)arg;
	hosted_cpu_id = 10;
	grace_cpu_online(10);
	while (!stopping()) {
		uint64_t r = stress_rnd(&seed), start, end;
		bool opened;

		/* Mostly the hot gfns: when we let go, the vCPUs refill their heads at once. */
		start = (r >> 8) % 4 ? __atomic_load_n(&hot_base, __ATOMIC_RELAXED) : (r >> 12) % NGFN;
		end = start + 1 + (r >> 20) % (2 * HOT);
		stress_op_begin();
		if (r % 1024 == 0)
			__atomic_store_n(&hot_base, (r >> 32) % NGFN, __ATOMIC_RELAXED);
		if (r % 64 == 1) {
			ept_invalidate_all_roots(&vm);
			__atomic_fetch_add(&n_roots, 1, __ATOMIC_RELAXED);
		} else if (r % 4 == 2) {
			opened = ept_invalidate_begin(&vm, start, end);
			ept_invalidate_end(&vm, start, end, opened);
			n_invals++;
		} else {
			write_lock(&vm.mmu_lock);
			if (ept_zap_range(&vm, start, end))
				ept_flush_all_roots(&vm);
			write_unlock(&vm.mmu_lock);
			__atomic_fetch_add(&n_zaps, 1, __ATOMIC_RELAXED);
		}
		stress_op_end();
		grace_quiescent();
	}
	grace_cpu_offline(10);
	return NULL;
}

static void *ager_main(void *arg)
{
	(void)arg;
	hosted_cpu_id = 11;
	grace_cpu_online(11);
	while (!stopping()) {
		stress_op_begin();
		/* The entries live in EPT tables freed after a grace period. */
		grace_read_lock();
		for (int p = 0; p < NPAGES; p++)
			rmap_test_clear_young(&heads[p]);
		grace_read_unlock();
		stress_op_end();
		n_aged++;
		grace_quiescent();
		sched_yield();
	}
	grace_cpu_offline(11);
	return NULL;
}

/* ---- the checker: the world is stopped ---- */

/* How often @sptep is in @head; mmu_lock held for write. */
static int occurrences(struct rmap_head *head, uint64_t *sptep)
{
	struct rmap_iter it;
	uint64_t *p;
	int n = 0;

	rmap_for_each(&vm.mmu_lock, head, &it, p)
		n += p == sptep;
	return n;
}

static void check_world(void)
{
	struct ept_root *held[NVCPU], *root;
	unsigned int leaves[NPAGES] = { 0 };
	struct ept_iter it;

	grace_barrier();
	write_lock(&vm.mmu_lock);
	for (int i = 0; i < NVCPU; i++)
		held[i] = vcpus[i].root;
	/* The leaves are checked against the rmaps below. */
	ept_check_quiescent(&vm, held, NVCPU, __atomic_load_n(&env.tables_alive, __ATOMIC_RELAXED),
			    -1, stress_violation);
	for_each_ept_root(&vm, root) {
		for_each_ept_leaf_in_range(it, &vm, root, 0, EPT_GFN_LIMIT) {
			struct rmap_head *h = head_of(it.old_spte);
			int n = h ? occurrences(h, it.sptep) : 1;

			if (n != 1)
				stress_violation("gfn %llu: its leaf is %d times in its page's rmap",
					  (unsigned long long)it.gfn, n);
			if (h)
				leaves[h - heads]++;
		}
	}
	for (int p = 0; p < NPAGES; p++) {
		unsigned int n = rmap_count(&vm.mmu_lock, &heads[p]);

		if (n != leaves[p])
			stress_violation("page %d: %u rmap entries for %u leaves", p, n, leaves[p]);
	}
	write_unlock(&vm.mmu_lock);
	n_checks++;
}

/* Every race the case needs has been run; racy reads, a hint when to stop. */
/*
 * Enough of each kind of event.  Not under Valgrind (memcheck.py): it runs
 * one thread at a time and lets the faulting threads spin for whole time
 * slices (52 fixed faults and 2 zaps in 20 s), so there the run is for
 * memory errors and the invariants only; the plain and TSan runs keep the
 * minimums.
 */
static bool covered(void)
{
	long fixed = 0, spurious = 0;

	for (int i = 0; i < NVCPU; i++) {
		fixed += __atomic_load_n(&vcpus[i].fixed, __ATOMIC_RELAXED);
		spurious += __atomic_load_n(&vcpus[i].spurious, __ATOMIC_RELAXED);
	}
	if (getenv("HOST_TEST_UNDER_VALGRIND"))
		return fixed > 0 && n_checks >= 2;
	return fixed > 1000 && spurious > 100 && __atomic_load_n(&n_zaps, __ATOMIC_RELAXED) > 100 &&
	       __atomic_load_n(&n_roots, __ATOMIC_RELAXED) && n_checks >= 2;
}

/* On a slow or serialising host (Valgrind), on until it is, up to 8 times as long. */
static bool longer(double elapsed)
{
	return !covered() && elapsed < 8 * RUN_S;
}

static double run_seconds(void)
{
	const char *s = getenv("RMAP_SAME_GFN_S");

	return s && atof(s) > 0 ? atof(s) : RUN_S;
}

TEST(same_gfn_faults_keep_each_rmap_exact)
{
	pthread_t zapper, ager;
	long faults = 0, fixed = 0, spurious = 0;
	double t0, secs = run_seconds();

	env_setup_ops(&vm, NGFN, &ops);
	env.alias_pages = NPAGES;
	stress_world_init();
	for (int i = 0; i < NVCPU; i++) {
		vcpus[i].cpu = 1 + i;
		pthread_create(&vcpus[i].tid, NULL, vcpu_main, &vcpus[i]);
	}
	pthread_create(&zapper, NULL, zapper_main, NULL);
	pthread_create(&ager, NULL, ager_main, NULL);
	t0 = stress_now();
	stress_run(secs, CHECK_EVERY_S, check_world, longer);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < NVCPU; i++) {
		pthread_join(vcpus[i].tid, NULL);
		faults += vcpus[i].faults;
		fixed += vcpus[i].fixed;
		spurious += vcpus[i].spurious;
	}
	pthread_join(zapper, NULL);
	pthread_join(ager, NULL);
	check_world();
	printf("# %.1f s, %d vCPUs on %d gfns over %d pages: %ld faults (%ld fixed, %ld spurious), "
	       "%ld rmap adds; %ld zaps, %ld invalidations, %ld root invalidations, %ld aging "
	       "passes, %ld world checks\n", stress_now() - t0, NVCPU, NGFN, NPAGES, faults, fixed,
	       spurious, n_adds, n_zaps, n_invals, n_roots, n_aged, n_checks);
	CHECK_EQ(stress_violated(), 0);
	CHECK(covered());
	/* A vCPU thread that never ran (Valgrind runs one at a time) holds no root. */
	for (int i = 0; i < NVCPU; i++)
		if (vcpus[i].root)
			ept_root_put(&vm, vcpus[i].root);
	/* Zaps every root (emptying the heads) and runs the deferred frees. */
	CHECK(env_teardown(&vm));
	for (int p = 0; p < NPAGES; p++)
		CHECK_EQ(heads[p].val, 0);
	CHECK_EQ(desc_live, 0);
	pthread_rwlock_destroy(&stress_world);
}
