/* SPDX-License-Identifier: MIT */
/*
 * Faults racing zaps, reclaim, root invalidation and layout changes, on real
 * threads (each thread a CPU).  vCPU threads load a root, fault random gfns
 * and make "guest accesses": a lockless walk of their root under a grace read
 * section that checks the backing page the leaf maps.  Every backing page
 * (frame) carries its owner gfn, a generation and a freed flag; a leaf that
 * leads to a freed frame or to another gfn's frame is a violation, as is a
 * fault that says a gfn of permanent memory has no region.
 *
 * Mutator threads: reclaim (open an invalidation, give each gfn a new frame
 * with generation + 1, mark the old one freed, close), plain range zaps,
 * invalidation of all roots, and removing/re-adding a region (its frames are
 * freed and replaced while it is absent).  The hosted flush models INVEPT: it
 * returns only once every vCPU finished the accesses that started before it.
 * Kicks ask the vCPUs to drop their root and load a valid one.
 *
 * EPT_STRESS_SECONDS sets the run time (default 10 s, 12 s under TSan).
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "ept/fault.h"
#include "ept/invalidate.h"
#include "ept/root.h"
#include "ept/vm.h"
#include "ept/zap.h"
#include "smp/grace.h"
#include "tests/host/test.h"

#define NVCPU		2
#define NMUT		2
#define NGFN		4096
#define R1_START	3072		/* [R1_START, NGFN) comes and goes */
#define NFRAMES		(NGFN * 4)
#define FRAME_BASE	(1ull << 32)
#define ACCESSES	16		/* guest accesses per fault */

struct frame {
	uint64_t gfn;
	uint64_t gen;
	int freed;
};

static struct frame frames[NFRAMES];
static uint32_t backing[NGFN];		/* gfn -> frame index; atomic */
static uint32_t fifo[NFRAMES];		/* free frames, oldest first */
static unsigned int fifo_head, fifo_tail;
static pthread_mutex_t fifo_lock = PTHREAD_MUTEX_INITIALIZER;

struct vcpu {
	pthread_t tid;
	unsigned int cpu;
	unsigned long access_seq;	/* odd while an access runs */
	int reload_req;
	long faults, accesses, reloads, no_memslot;
} __attribute__((aligned(64)));

static struct vcpu vcpus[NVCPU];
static struct ept_vm vm;
static int stop;
static long violations, tables_alive;
static long n_reclaim, n_zap, n_inval_all, n_layout;

static void violation(const char *what, uint64_t gfn)
{
	if (__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED) < 5)
		fprintf(stderr, "# VIOLATION: %s (gfn %llu)\n", what, (unsigned long long)gfn);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A new frame for @gfn at generation @gen. */
static uint32_t frame_alloc(uint64_t gfn, uint64_t gen)
{
	uint32_t f;

	pthread_mutex_lock(&fifo_lock);
	if (fifo_head == fifo_tail)
		abort();
	f = fifo[fifo_head++ % NFRAMES];
	pthread_mutex_unlock(&fifo_lock);
	__atomic_store_n(&frames[f].gfn, gfn, __ATOMIC_RELAXED);
	__atomic_store_n(&frames[f].gen, gen, __ATOMIC_RELAXED);
	__atomic_store_n(&frames[f].freed, 0, __ATOMIC_RELEASE);
	return f;
}

static void frame_free(uint32_t f)
{
	__atomic_store_n(&frames[f].freed, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&fifo_lock);
	fifo[fifo_tail++ % NFRAMES] = f;
	pthread_mutex_unlock(&fifo_lock);
}

/* Give @gfn a new frame and free the old one; false if someone else just did. */
static bool replace_backing(uint64_t gfn)
{
	uint32_t old = __atomic_load_n(&backing[gfn], __ATOMIC_ACQUIRE);
	uint32_t f = frame_alloc(gfn, __atomic_load_n(&frames[old].gen, __ATOMIC_RELAXED) + 1);

	if (!__atomic_compare_exchange_n(&backing[gfn], &old, f, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST)) {
		frame_free(f);
		return false;
	}
	frame_free(old);
	return true;
}

/* ---- the environment (struct ept_ops) ---- */

static void *s_alloc(struct ept_vm *v)
{
	void *p = aligned_alloc(4096, 4096);

	(void)v;
	memset(p, 0, 4096);
	__atomic_fetch_add(&tables_alive, 1, __ATOMIC_RELAXED);
	return p;
}

static void s_free(struct ept_vm *v, void *p)
{
	(void)v;
	memset(p, 0x5a, 4096);
	free(p);
	__atomic_fetch_sub(&tables_alive, 1, __ATOMIC_RELAXED);
}

/* INVEPT: wait until every access that started before the call has ended. */
static void s_flush(struct ept_vm *v, struct ept_root *root)
{
	(void)v;
	(void)root;
	/* Pairs with the seq_cst increment that opens an access: see guest_access(). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (int i = 0; i < NVCPU; i++) {
		unsigned long s = __atomic_load_n(&vcpus[i].access_seq, __ATOMIC_ACQUIRE);

		if (!(s & 1))
			continue;
		while (__atomic_load_n(&vcpus[i].access_seq, __ATOMIC_ACQUIRE) == s)
			sched_yield();
	}
}

static void s_kick(struct ept_vm *v)
{
	(void)v;
	for (int i = 0; i < NVCPU; i++)
		__atomic_store_n(&vcpus[i].reload_req, 1, __ATOMIC_RELEASE);
}

/* Now and then a slow step: a resolve that decompresses, an access that stalls. */
static __thread unsigned int slow_tick[2];
/* The gfn a vCPU is slow on: reclaim aims there half the time, to hit the window. */
static uint64_t hot_gfn;

static void sometimes_slow(int kind, unsigned int every, double secs, uint64_t gfn)
{
	double until;

	if (++slow_tick[kind] % every)
		return;
	__atomic_store_n(&hot_gfn, gfn, __ATOMIC_RELAXED);
	for (until = now() + secs; now() < until;)
		cpu_relax();
}

static bool s_resolve(struct ept_vm *v, uint64_t gfn, uint64_t *hpa, int *max_level)
{
	(void)v;
	*hpa = FRAME_BASE + ((uint64_t)__atomic_load_n(&backing[gfn], __ATOMIC_ACQUIRE) << 12);
	*max_level = 1;
	/* Widen the window between resolving and taking mmu_lock. */
	sometimes_slow(0, 16, 50e-6, gfn);
	return true;
}

static const struct ept_ops s_ops = {
	.alloc_table = s_alloc,
	.free_table = s_free,
	.flush = s_flush,
	.kick_vcpus = s_kick,
	.resolve = s_resolve,
};

/* ---- vCPUs ---- */

/* A guest access to @gfn through @root, as the CPU would make it. */
static void guest_access(struct vcpu *v, struct ept_root *root, uint64_t gfn)
{
	struct ept_walk w;

	__atomic_fetch_add(&v->access_seq, 1, __ATOMIC_SEQ_CST);
	/* Pairs with the fence in s_flush(): the flush sees us, or we see the zap. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (ept_walk(&vm, root, gfn << 12, &w)) {
		uint64_t f = (w.hpa - FRAME_BASE) >> 12;

		/* Widen the window between the CPU's walk and its use of the page. */
		sometimes_slow(1, 128, 20e-6, gfn);
		if (f >= NFRAMES)
			violation("leaf maps no frame", gfn);
		else if (__atomic_load_n(&frames[f].freed, __ATOMIC_ACQUIRE))
			violation("leaf maps a freed frame", gfn);
		else if (__atomic_load_n(&frames[f].gfn, __ATOMIC_RELAXED) != gfn)
			violation("leaf maps another gfn's frame", gfn);
	}
	v->accesses++;
	__atomic_fetch_add(&v->access_seq, 1, __ATOMIC_RELEASE);
}

static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;
	struct ept_root *root = NULL;
	uint64_t seed = 0x9e3779b97f4a7c15ull * (v->cpu + 1);

	hosted_cpu_id = v->cpu;
	grace_cpu_online(v->cpu);
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		/* VM entry: honour a reload request first (clear it, then load). */
		if (__atomic_exchange_n(&v->reload_req, 0, __ATOMIC_SEQ_CST) || !root) {
			if (root)
				ept_root_put(&vm, root);
			root = ept_root_load_for_vcpu(&vm);
			v->reloads++;
			if (!root)
				continue;
		}
		uint64_t gfn = rnd(&seed) % NGFN;
		enum ept_fault_result r = ept_fault(&vm, root, gfn << 12, EPT_R);

		v->faults++;
		if (r == EPT_NO_MEMSLOT) {
			v->no_memslot++;
			if (gfn < R1_START)
				violation("permanent memory without a region", gfn);
		} else if (r == EPT_NOMEM) {
			violation("out of memory", gfn);
		} else if (r == EPT_RETRY) {
			/*
			 * Re-entering at once would only spin on mmu_lock: on a host
			 * with fewer cores than threads, let the writer run.
			 */
			sched_yield();
		}
		guest_access(v, root, gfn);
		for (int i = 1; i < ACCESSES; i++)
			guest_access(v, root, rnd(&seed) % NGFN);
		/* VM exit. */
		grace_quiescent();
	}
	if (root)
		ept_root_put(&vm, root);
	grace_cpu_offline(v->cpu);
	return NULL;
}

/* ---- mutators ---- */

static void reclaim(uint64_t *seed)
{
	uint64_t len = rnd(seed) % 8 ? 1 + rnd(seed) % 8 : 256 + rnd(seed) % 1024;
	uint64_t start = rnd(seed) % R1_START, end = start + len;
	bool opened;

	if (rnd(seed) % 2)
		start = __atomic_load_n(&hot_gfn, __ATOMIC_RELAXED), end = start + len;
	if (start >= R1_START)
		start = rnd(seed) % R1_START, end = start + len;
	if (end > R1_START)
		end = R1_START;
	opened = ept_invalidate_begin(&vm, start, end);
	if (!opened)
		violation("invalidation of guest memory skipped", start);
	for (uint64_t g = start; g < end; g++)
		replace_backing(g);
	ept_invalidate_end(&vm, start, end, opened);
	__atomic_fetch_add(&n_reclaim, 1, __ATOMIC_RELAXED);
}

static void zap(uint64_t *seed)
{
	uint64_t start = rnd(seed) % NGFN, end = start + 1 + rnd(seed) % 1024;

	write_lock(&vm.mmu_lock);
	if (ept_zap_range(&vm, start, end))
		ept_flush_all_roots(&vm);
	write_unlock(&vm.mmu_lock);
	__atomic_fetch_add(&n_zap, 1, __ATOMIC_RELAXED);
}

static pthread_mutex_t layout_mutex = PTHREAD_MUTEX_INITIALIZER;
static bool r1_present = true;

static void layout(void)
{
	pthread_mutex_lock(&layout_mutex);
	if (r1_present) {
		if (ept_remove_region(&vm, R1_START))
			violation("remove region failed", R1_START);
		/* Nothing maps R1 now: its frames may go. */
		for (uint64_t g = R1_START; g < NGFN; g++)
			replace_backing(g);
	} else if (ept_add_region(&vm, R1_START, NGFN)) {
		violation("add region failed", R1_START);
	}
	r1_present = !r1_present;
	pthread_mutex_unlock(&layout_mutex);
	__atomic_fetch_add(&n_layout, 1, __ATOMIC_RELAXED);
}

static void *mutator_main(void *arg)
{
	unsigned int cpu = (unsigned int)(uintptr_t)arg;
	uint64_t seed = 0x2545f4914f6cdd1dull * cpu;
	unsigned int n = 0;

	hosted_cpu_id = cpu;
	grace_cpu_online(cpu);
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		unsigned int op = rnd(&seed) % 100;

		/* Every kind at least once, however loaded the host. */
		if (n++ < 2)
			op = n == 1 ? 99 : 97;
		if (op < 85)
			reclaim(&seed);
		else if (op < 96)
			zap(&seed);
		else if (op < 99)
			__atomic_fetch_add(&n_inval_all, 1, __ATOMIC_RELAXED),
				ept_invalidate_all_roots(&vm);
		else
			layout();
		grace_quiescent();
	}
	grace_cpu_offline(cpu);
	return NULL;
}

static double run_seconds(void)
{
	const char *s = getenv("EPT_STRESS_SECONDS");

	if (s && atof(s) > 0)
		return atof(s);
#ifdef __SANITIZE_THREAD__
	return 12;
#else
	return 10;
#endif
}

TEST(faults_never_map_freed_or_foreign_pages)
{
	struct ept_region r[2] = { { 0, R1_START }, { R1_START, NGFN } };
	pthread_t mut[NMUT];
	double t0 = now(), secs = run_seconds();
	long faults = 0, accesses = 0, reloads = 0;
	struct ept_stats st;

	hosted_cpu_id = 0;
	grace_cpu_online(0);
	for (uint32_t f = 0; f < NFRAMES; f++) {
		if (f < NGFN) {
			frames[f].gfn = f;
			backing[f] = f;
		} else {
			fifo[fifo_tail++] = f;
		}
	}
	ept_vm_init(&vm, &s_ops, NULL);
	/*
	 * Yield less often than the hypervisor does: on an oversubscribed host
	 * each hand-over of mmu_lock can wait for a preempted thread.
	 */
	vm.zap_batch = 512;
	CHECK_EQ(ept_set_regions(&vm, r, 2), 0);
	for (int i = 0; i < NVCPU; i++) {
		vcpus[i].cpu = 1 + i;
		pthread_create(&vcpus[i].tid, NULL, vcpu_main, &vcpus[i]);
	}
	for (int i = 0; i < NMUT; i++)
		pthread_create(&mut[i], NULL, mutator_main, (void *)(uintptr_t)(10 + i));
	while (now() - t0 < secs && !__atomic_load_n(&violations, __ATOMIC_RELAXED))
		usleep(50000);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < NMUT; i++)
		pthread_join(mut[i], NULL);
	for (int i = 0; i < NVCPU; i++) {
		pthread_join(vcpus[i].tid, NULL);
		faults += vcpus[i].faults;
		accesses += vcpus[i].accesses;
		reloads += vcpus[i].reloads;
	}
	ept_vm_stats(&vm, &st);
	printf("# %.1f s: %ld faults (%llu fixed, %llu retries, %llu spurious), %ld accesses, "
	       "%ld root loads; %ld reclaims, %ld zaps, %ld root invalidations, %ld layout "
	       "changes; %llu leaves zapped, %llu flushes; %ld ops total\n",
	       now() - t0, faults, (unsigned long long)st.fixed, (unsigned long long)st.retries,
	       (unsigned long long)st.spurious, accesses, reloads, n_reclaim, n_zap,
	       n_inval_all, n_layout, (unsigned long long)st.zapped,
	       (unsigned long long)st.flushes,
	       faults + accesses + n_reclaim + n_zap + n_inval_all + n_layout);
	CHECK_EQ(violations, 0);
	CHECK(faults > 1000 && n_reclaim > 10 && n_inval_all > 0 && n_layout > 0);
	CHECK(st.retries > 0);
	ept_vm_destroy(&vm);
	CHECK(vm.roots == NULL);
	CHECK_EQ(tables_alive, 0);
	CHECK_EQ(grace_pending(), 0);
	grace_cpu_offline(0);
}
