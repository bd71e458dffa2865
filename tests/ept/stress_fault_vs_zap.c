/* SPDX-License-Identifier: MIT */
/*
 * Faults racing zaps, reclaim, root invalidation and layout changes, on real
 * threads (each thread a CPU).  vCPU threads load a root, fault random gfns
 * and make "guest accesses" through a software TLB (tests/ept/soft_tlb.h):
 * a translation stays cached until a flush drops it, as on the CPU.  Every
 * backing page (frame) carries its owner gfn, a generation and a freed flag;
 * an access that reaches a freed frame or another gfn's frame is a
 * violation, as is a fault that answers "no region" for a gfn whose region
 * was present from the start of the fault to its end.
 *
 * Mutator threads: reclaim (open an invalidation, give each gfn a new frame
 * with generation + 1, mark the old one freed, close), plain range zaps,
 * invalidation of all roots, and layout changes: region R1 removed (its
 * frames freed and replaced while it is absent) and added back, or the
 * regions rewritten in another order.  The hosted flush is INVEPT on the
 * software TLBs: it waits for the accesses in flight and drops the root's
 * translations.  Kicks ask the vCPUs to drop their root and load a valid one.
 *
 * Two modes, one case each.  4 KiB: every fault maps 4 KiB.  Mixed: blocks
 * given a 2 MiB-aligned run of frames (a collapse, also a mutator op) may be
 * mapped 2 MiB by vCPU 0, while vCPU 1 only ever maps 4 KiB, so the two race
 * on the same empty level-2 slots; reclaiming a page of such a block splits
 * it back to single frames.
 *
 * Every second the world stops (each thread holds a rwlock for read around
 * each operation) and the checker verifies, after letting queued root frees
 * run: roots, refcounts, roots_alive and every table page against the roots
 * (tests/ept/ept_check.h); every cached translation still in its root; every
 * leaf on its gfn's current frames.  Also, always: a table page is never
 * freed while a vCPU still caches a walk through it, and the MMU never calls
 * leaf_clear() on a table.
 *
 * EPT_STRESS_SECONDS sets the run time of both cases together (default
 * 10 s, 12 s under TSan), 60% for 4 KiB and 40% for mixed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "ept/fault.h"
#include "ept/invalidate.h"
#include "ept/iter.h"
#include "ept/root.h"
#include "ept/vm.h"
#include "ept/zap.h"
#include "smp/grace.h"
#include "tests/ept/ept_check.h"
#include "tests/ept/soft_tlb.h"
#include "tests/host/affinity.h"
#include "tests/host/stress.h"
#include "tests/host/test.h"

#define NVCPU		2
#define NMUT		2
#define NGFN		4096
#define BLOCK		512		/* gfns of a 2 MiB block */
#define NBLOCKS		(NGFN / BLOCK)
#define P1_START	1536		/* [0, P1_START) and [P1_START, R1_START): permanent */
#define R1_START	3072		/* [R1_START, NGFN) comes and goes */
#define NSINGLE		(NGFN * 4)	/* single frames, then NCHUNKS runs of BLOCK */
#define NCHUNKS		(2 * NBLOCKS)
#define NFRAMES		(NSINGLE + NCHUNKS * BLOCK)
#define FRAME_BASE	(1ull << 32)	/* 2 MiB aligned, like every chunk */
#define ACCESSES	16		/* guest accesses per fault */
#define WINDOW		32		/* a vCPU's working set: fits its TLB, which keeps it */
#define WINDOW_MOVES	256		/* faults between moves of the working set */
#define CHECK_EVERY_S	1.0

struct frame {
	uint64_t gfn;
	uint64_t gen;
	int freed;
};

static struct frame frames[NFRAMES];
/* gfn -> frame index, and whether the gfn's block sits on one chunk: atomic. */
static uint32_t backing[NGFN];
static int huge[NBLOCKS];
/* Serialises every change of backing and huge (the invalidation over them is open). */
static pthread_mutex_t backing_lock = PTHREAD_MUTEX_INITIALIZER;

/* Free single frames oldest first, free chunks, frames of each chunk not yet freed. */
static pthread_mutex_t fifo_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t fifo[NSINGLE];
static unsigned int fifo_head, fifo_tail;
static uint32_t free_chunks[NCHUNKS];
static unsigned int nr_free_chunks;
static unsigned int chunk_live[NCHUNKS];

struct vcpu {
	pthread_t tid;
	unsigned int cpu;
	int reload_req;
	struct ept_root *root;
	uint64_t window;	/* first gfn of the working set; atomic: reclaim aims there */
	long faults, accesses, reloads, no_memslot;
} __attribute__((aligned(64)));

static struct vcpu vcpus[NVCPU];
static struct soft_tlb tlbs[NVCPU];
static struct ept_vm vm;
static bool mixed;
static int stop;
static long tables_alive, leaves_out, large_leaves;
static long n_reclaim, n_zap, n_inval_all, n_layout, n_reorder, n_collapse, n_checks;

static bool stopping(void)
{
	return __atomic_load_n(&stop, __ATOMIC_ACQUIRE);
}

/* ---- frames ---- */

static void frame_set(uint32_t f, uint64_t gfn, uint64_t gen)
{
	__atomic_store_n(&frames[f].gfn, gfn, __ATOMIC_RELAXED);
	__atomic_store_n(&frames[f].gen, gen, __ATOMIC_RELAXED);
	__atomic_store_n(&frames[f].freed, 0, __ATOMIC_RELEASE);
}

static uint32_t single_alloc(uint64_t gfn, uint64_t gen)
{
	uint32_t f;

	pthread_mutex_lock(&fifo_lock);
	if (fifo_head == fifo_tail)
		abort();
	f = fifo[fifo_head++ % NSINGLE];
	pthread_mutex_unlock(&fifo_lock);
	frame_set(f, gfn, gen);
	return f;
}

static void frame_free(uint32_t f)
{
	__atomic_store_n(&frames[f].freed, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&fifo_lock);
	if (f < NSINGLE) {
		fifo[fifo_tail++ % NSINGLE] = f;
	} else if (!--chunk_live[(f - NSINGLE) / BLOCK]) {
		/* Reused only whole: a chunk is what makes a block mappable 2 MiB. */
		free_chunks[nr_free_chunks++] = (f - NSINGLE) / BLOCK;
	}
	pthread_mutex_unlock(&fifo_lock);
}

/* The first frame of a free chunk, or 0 if none. */
static uint32_t chunk_alloc(void)
{
	uint32_t c;

	pthread_mutex_lock(&fifo_lock);
	if (!nr_free_chunks) {
		pthread_mutex_unlock(&fifo_lock);
		return 0;
	}
	c = free_chunks[--nr_free_chunks];
	chunk_live[c] = BLOCK;
	pthread_mutex_unlock(&fifo_lock);
	return NSINGLE + c * BLOCK;
}

/* Give @gfn a single new frame (its block is no longer one chunk) and free the old one. */
static void replace_backing(uint64_t gfn)
{
	uint32_t old, f;

	pthread_mutex_lock(&backing_lock);
	old = __atomic_load_n(&backing[gfn], __ATOMIC_RELAXED);
	f = single_alloc(gfn, __atomic_load_n(&frames[old].gen, __ATOMIC_RELAXED) + 1);
	__atomic_store_n(&huge[gfn / BLOCK], 0, __ATOMIC_RELEASE);
	__atomic_store_n(&backing[gfn], f, __ATOMIC_RELEASE);
	frame_free(old);
	pthread_mutex_unlock(&backing_lock);
}

/* Put block @b on one chunk, if one is free; the invalidation over it is open. */
static bool collapse_backing(uint64_t b)
{
	uint32_t c, old;

	pthread_mutex_lock(&backing_lock);
	c = chunk_alloc();
	for (uint64_t i = 0; c && i < BLOCK; i++) {
		old = __atomic_load_n(&backing[b * BLOCK + i], __ATOMIC_RELAXED);
		frame_set(c + i, b * BLOCK + i, __atomic_load_n(&frames[old].gen, __ATOMIC_RELAXED) + 1);
		__atomic_store_n(&backing[b * BLOCK + i], c + i, __ATOMIC_RELEASE);
		frame_free(old);
	}
	/* Release: the resolver that sees the block whole sees its frames. */
	if (c)
		__atomic_store_n(&huge[b], 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&backing_lock);
	return c;
}

/* The frame a leaf's host address names, or -1. */
static long frame_of(uint64_t hpa)
{
	uint64_t f = (hpa - FRAME_BASE) >> 12;

	return hpa < FRAME_BASE || f >= NFRAMES ? -1 : (long)f;
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
	int cached = soft_tlb_cached(tlbs, NVCPU, p);

	(void)v;
	/* The root's free flushes before its pages go, whoever cached walks through them. */
	if (cached)
		stress_violation("page %p freed while vCPUs cache %d walks through it", p, cached);
	memset(p, 0x5a, 4096);
	free(p);
	__atomic_fetch_sub(&tables_alive, 1, __ATOMIC_RELAXED);
}

/* INVEPT: wait for the accesses in flight, drop the root's cached translations. */
static void s_flush(struct ept_vm *v, struct ept_root *root)
{
	(void)v;
	soft_tlb_flush(tlbs, NVCPU, root);
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
	for (until = stress_now() + secs; stress_now() < until;)
		cpu_relax();
}

static bool s_resolve(struct ept_vm *v, uint64_t gfn, uint64_t *hpa, int *max_level)
{
	int whole = __atomic_load_n(&huge[gfn / BLOCK], __ATOMIC_ACQUIRE);

	(void)v;
	*hpa = FRAME_BASE + ((uint64_t)__atomic_load_n(&backing[gfn], __ATOMIC_ACQUIRE) << 12);
	/* vCPU 0 may map a whole block 2 MiB; vCPU 1 never does: they race on its slot. */
	*max_level = mixed && whole && hosted_cpu_id == vcpus[0].cpu ? 2 : 1;
	/* Widen the window between resolving and taking mmu_lock. */
	sometimes_slow(0, 16, 50e-6, gfn);
	return true;
}

static void s_leaf_set(struct ept_vm *v, uint64_t gfn, int level, uint64_t *sptep)
{
	(void)v;
	if (!ept_spte_is_leaf(ept_spte_read(sptep), level))
		stress_violation("leaf_set for gfn %llu at level %d: no leaf there",
			  (unsigned long long)gfn, level);
	/* A leaf that goes with its root's tables, unannounced, would stay counted. */
	__atomic_fetch_add(&leaves_out, 1, __ATOMIC_RELAXED);
	if (level > 1)
		__atomic_fetch_add(&large_leaves, 1, __ATOMIC_RELAXED);
}

static void s_leaf_clear(struct ept_vm *v, uint64_t gfn, int level, uint64_t *sptep,
			 uint64_t old)
{
	(void)v;
	(void)sptep;
	/* A table replaced by a large leaf: the table and its leaves are orphaned. */
	if (!ept_spte_is_leaf(old, level))
		stress_violation("leaf_clear of a table (%#llx) at level %d over gfn %llu",
			  (unsigned long long)old, level, (unsigned long long)gfn);
	else
		__atomic_fetch_sub(&leaves_out, 1, __ATOMIC_RELAXED);
}

static const struct ept_ops s_ops = {
	.alloc_table = s_alloc,
	.free_table = s_free,
	.flush = s_flush,
	.kick_vcpus = s_kick,
	.resolve = s_resolve,
	.leaf_set = s_leaf_set,
	.leaf_clear = s_leaf_clear,
};

/* ---- the layout as the test knows it ---- */

/*
 * A seqcount over the test's view of the layout: layout_seq is odd while
 * the layout mutator adds or removes R1, and r1_present, read between two
 * equal even values, says whether R1 was in the layout all that time.
 * Reorders rewrite the regions without changing what is present: they do not
 * count, so a fault that reads the regions while a reorder rewrites them
 * must still not answer "no region".
 */
static unsigned long layout_seq;
static int r1_present = 1;

/* The start of a fault: the seqcount and R1's presence (seqcount read side). */
static unsigned long layout_begin(int *r1)
{
	unsigned long seq = __atomic_load_n(&layout_seq, __ATOMIC_ACQUIRE);

	*r1 = __atomic_load_n(&r1_present, __ATOMIC_RELAXED);
	return seq;
}

/* Was @gfn's region present from layout_begin() (@seq, @r1) until now? */
static bool layout_present_since(uint64_t gfn, unsigned long seq, int r1)
{
	if (gfn < R1_START)
		return true;
	/* Pairs with the fence in layout_write_begin(): r1 was read before this. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return !(seq & 1) && r1 && __atomic_load_n(&layout_seq, __ATOMIC_RELAXED) == seq;
}

/* layout_mutex held: R1 is about to come or go. */
static void layout_write_begin(void)
{
	__atomic_store_n(&layout_seq, layout_seq + 1, __ATOMIC_RELAXED);
	/* Pairs with the fence in layout_present_since(): odd before R1 changes. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void layout_write_end(int present)
{
	__atomic_store_n(&r1_present, present, __ATOMIC_RELAXED);
	/* Pairs with the acquire in layout_begin(): even after R1 changed. */
	__atomic_store_n(&layout_seq, layout_seq + 1, __ATOMIC_RELEASE);
}

/* ---- vCPUs ---- */

/*
 * Three accesses in four in the working set: its translations stay cached.
 * In mixed mode both vCPUs share vCPU 0's, so that they fault the same
 * blocks, one 2 MiB, the other 4 KiB.
 */
static uint64_t pick_gfn(struct vcpu *v, uint64_t *seed)
{
	uint64_t r = stress_rnd(seed);

	if (r % 4 == 0)
		return (r >> 8) % NGFN;
	if (mixed)
		v = &vcpus[0];
	return (__atomic_load_n(&v->window, __ATOMIC_RELAXED) + (r >> 8) % WINDOW) % NGFN;
}

/* A guest access to @gfn through @root, as the CPU would make it. */
static void guest_access(struct vcpu *v, struct soft_tlb *tlb, uint64_t gfn)
{
	uint64_t hpa;
	long f;

	soft_tlb_begin(tlb);
	if (soft_tlb_translate(tlb, v->root, gfn, &hpa)) {
		/* Widen the window between the CPU's walk and its use of the page. */
		sometimes_slow(1, 128, 20e-6, gfn);
		f = frame_of(hpa);
		if (f < 0)
			stress_violation("gfn %llu maps no frame (%#llx)", (unsigned long long)gfn,
				  (unsigned long long)hpa);
		else if (__atomic_load_n(&frames[f].freed, __ATOMIC_ACQUIRE))
			stress_violation("gfn %llu maps a freed frame", (unsigned long long)gfn);
		else if (__atomic_load_n(&frames[f].gfn, __ATOMIC_RELAXED) != gfn)
			stress_violation("gfn %llu maps gfn %llu's frame", (unsigned long long)gfn,
				  (unsigned long long)frames[f].gfn);
	}
	v->accesses++;
	soft_tlb_end(tlb);
}

static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;
	struct soft_tlb *tlb = &tlbs[v - vcpus];
	uint64_t seed = 0x9e3779b97f4a7c15ull * (v->cpu + 1);

	/* Apart, so that vCPU 0's 2 MiB faults and vCPU 1's 4 KiB ones really overlap. */
	test_pin_thread(v - vcpus);
	hosted_cpu_id = v->cpu;
	grace_cpu_online(v->cpu);
	for (long n = 0; !stopping(); n++) {
		uint64_t gfn;
		enum ept_fault_result r;
		unsigned long seq;
		int r1;

		if (n % WINDOW_MOVES == 0 && (!mixed || v == vcpus))
			__atomic_store_n(&v->window, stress_rnd(&seed) % NGFN, __ATOMIC_RELAXED);
		gfn = pick_gfn(v, &seed);

		stress_op_begin();
		/* VM entry: honour a reload request first (clear it, then load). */
		if (__atomic_exchange_n(&v->reload_req, 0, __ATOMIC_SEQ_CST) || !v->root) {
			if (v->root)
				ept_root_put(&vm, v->root);
			v->root = ept_root_load_for_vcpu(&vm);
			v->reloads++;
			if (!v->root) {
				stress_op_end();
				continue;
			}
		}
		seq = layout_begin(&r1);
		r = ept_fault(&vm, v->root, gfn << 12, EPT_R);
		__atomic_fetch_add(&v->faults, 1, __ATOMIC_RELAXED);	/* read by covered() */
		if (r == EPT_NO_MEMSLOT) {
			v->no_memslot++;
			if (layout_present_since(gfn, seq, r1))
				stress_violation("gfn %llu: no region, though its region was present "
					  "throughout the fault", (unsigned long long)gfn);
		} else if (r == EPT_NOMEM) {
			stress_violation("gfn %llu: out of memory", (unsigned long long)gfn);
		}
		guest_access(v, tlb, gfn);
		for (int i = 1; i < ACCESSES; i++)
			guest_access(v, tlb, pick_gfn(v, &seed));
		stress_op_end();
		/*
		 * VM exit.  After a retry, re-entering at once would only spin on
		 * mmu_lock: on a host with fewer cores than threads, let the writer run.
		 */
		if (r == EPT_RETRY)
			sched_yield();
		grace_quiescent();
	}
	grace_cpu_offline(v->cpu);
	return NULL;
}

/* ---- mutators ---- */

static void reclaim(uint64_t *seed)
{
	uint64_t len = stress_rnd(seed) % 8 ? 1 + stress_rnd(seed) % 8 : 256 + stress_rnd(seed) % 1024;
	uint64_t start = stress_rnd(seed) % R1_START, end = start + len;
	bool opened;

	/* Half the time where a vCPU stalls, a quarter where one works: cached there. */
	if (stress_rnd(seed) % 2)
		start = __atomic_load_n(&hot_gfn, __ATOMIC_RELAXED), end = start + len;
	else if (stress_rnd(seed) % 2)
		start = __atomic_load_n(&vcpus[stress_rnd(seed) % NVCPU].window, __ATOMIC_RELAXED) +
			stress_rnd(seed) % WINDOW, end = start + len;
	if (start >= R1_START)
		start = stress_rnd(seed) % R1_START, end = start + len;
	if (end > R1_START)
		end = R1_START;
	opened = ept_invalidate_begin(&vm, start, end);
	if (!opened)
		stress_violation("invalidation of guest memory [%llu, %llu) skipped",
			  (unsigned long long)start, (unsigned long long)end);
	for (uint64_t g = start; g < end; g++)
		replace_backing(g);
	ept_invalidate_end(&vm, start, end, opened);
	__atomic_fetch_add(&n_reclaim, 1, __ATOMIC_RELAXED);
}

/* Mixed mode: a block of permanent memory onto one chunk (2 MiB mappable). */
static void collapse(uint64_t *seed)
{
	uint64_t b = stress_rnd(seed) % (R1_START / BLOCK);
	bool opened = ept_invalidate_begin(&vm, b * BLOCK, (b + 1) * BLOCK);

	if (collapse_backing(b))
		__atomic_fetch_add(&n_collapse, 1, __ATOMIC_RELAXED);
	ept_invalidate_end(&vm, b * BLOCK, (b + 1) * BLOCK, opened);
}

static void zap(uint64_t *seed)
{
	uint64_t start = stress_rnd(seed) % NGFN, end = start + 1 + stress_rnd(seed) % 1024;

	write_lock(&vm.mmu_lock);
	if (ept_zap_range(&vm, start, end))
		ept_flush_all_roots(&vm);
	write_unlock(&vm.mmu_lock);
	__atomic_fetch_add(&n_zap, 1, __ATOMIC_RELAXED);
}

static pthread_mutex_t layout_mutex = PTHREAD_MUTEX_INITIALIZER;

/* The present regions, in an order drawn from @seed. */
static unsigned int shuffled_regions(struct ept_region *r, uint64_t *seed)
{
	unsigned int n = 0;

	r[n++] = (struct ept_region){ 0, P1_START };
	r[n++] = (struct ept_region){ P1_START, R1_START };
	if (r1_present)
		r[n++] = (struct ept_region){ R1_START, NGFN };
	for (unsigned int i = n - 1; i > 0; i--) {
		unsigned int j = stress_rnd(seed) % (i + 1);
		struct ept_region t = r[i];

		r[i] = r[j];
		r[j] = t;
	}
	return n;
}

/* Remove or add R1, or (@reorder) rewrite the same regions in another order. */
static void layout(uint64_t *seed, bool reorder)
{
	struct ept_region r[3];
	unsigned int n;

	pthread_mutex_lock(&layout_mutex);
	if (reorder) {
		n = shuffled_regions(r, seed);
		if (ept_set_regions(&vm, r, n))
			stress_violation("reordering %u regions failed", n);
		__atomic_fetch_add(&n_reorder, 1, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&layout_mutex);
		return;
	}
	layout_write_begin();
	if (r1_present) {
		if (ept_remove_region(&vm, R1_START))
			stress_violation("removing R1 failed");
		/* Nothing maps R1 now: its frames may go. */
		for (uint64_t g = R1_START; g < NGFN; g++)
			replace_backing(g);
	} else if (ept_add_region(&vm, R1_START, NGFN)) {
		stress_violation("adding R1 failed");
	}
	layout_write_end(!r1_present);
	pthread_mutex_unlock(&layout_mutex);
	__atomic_fetch_add(&n_layout, 1, __ATOMIC_RELAXED);
}

static void *mutator_main(void *arg)
{
	unsigned int cpu = (unsigned int)(uintptr_t)arg;
	uint64_t seed = 0x2545f4914f6cdd1dull * cpu;
	/*
	 * Where each kind of operation ends in 0..99: reclaim, collapse, zap,
	 * root invalidation, then layout.  Mixed mode collapses blocks that
	 * reclaim splits, and gives the vCPUs fresh roots (empty level-2 slots
	 * to race for) more often.
	 */
	static const unsigned int ops_4k[] = { 85, 85, 96, 99 }, ops_mixed[] = { 50, 75, 90, 99 };
	static const unsigned int first[] = { 99, 100, 97 };	/* R1, reorder, roots */
	const unsigned int *until = mixed ? ops_mixed : ops_4k;
	unsigned int n = 0;

	hosted_cpu_id = cpu;
	grace_cpu_online(cpu);
	while (!stopping()) {
		unsigned int op = stress_rnd(&seed) % 100;

		/* Every kind at least once, however loaded the host. */
		if (n < 3)
			op = first[n];
		n++;
		stress_op_begin();
		if (op < until[0]) {
			reclaim(&seed);
		} else if (op < until[1]) {
			collapse(&seed);
		} else if (op < until[2]) {
			zap(&seed);
		} else if (op < until[3]) {
			__atomic_fetch_add(&n_inval_all, 1, __ATOMIC_RELAXED);
			ept_invalidate_all_roots(&vm);
		} else {
			layout(&seed, op == 100 || (n > 3 && stress_rnd(&seed) % 2));
		}
		stress_op_end();
		grace_quiescent();
	}
	grace_cpu_offline(cpu);
	return NULL;
}

/* ---- the checker: the world is stopped ---- */

/* Every leaf of every root maps its gfns' current frames, in a present region. */
static void check_leaves(void)
{
	struct ept_root *root;
	struct ept_iter it;

	for_each_ept_root(&vm, root) {
		for_each_ept_leaf_in_range(it, &vm, root, 0, EPT_GFN_LIMIT) {
			uint64_t pages = ept_level_pages(it.level);
			long f = frame_of(ept_spte_addr(it.old_spte));

			if (it.gfn + pages > NGFN || (it.gfn >= R1_START && !r1_present)) {
				stress_violation("leaf for gfn %llu outside the regions",
					  (unsigned long long)it.gfn);
				continue;
			}
			for (uint64_t i = 0; i < pages; i++) {
				uint32_t b = __atomic_load_n(&backing[it.gfn + i], __ATOMIC_RELAXED);

				if (f < 0 || (uint64_t)f + i != b ||
				    __atomic_load_n(&frames[b].freed, __ATOMIC_RELAXED)) {
					stress_violation("gfn %llu: leaf at level %d maps %#llx, backed by "
						  "frame %u", (unsigned long long)(it.gfn + i),
						  it.level, (unsigned long long)ept_spte_addr(it.old_spte),
						  b);
					break;
				}
			}
		}
	}
}

static void check_world(void)
{
	struct ept_root *held[NVCPU];

	/* Let queued root frees run first: roots_alive then counts the listed roots. */
	grace_barrier();
	write_lock(&vm.mmu_lock);
	for (int i = 0; i < NVCPU; i++)
		held[i] = vcpus[i].root;
	ept_check_quiescent(&vm, held, NVCPU, __atomic_load_n(&tables_alive, __ATOMIC_RELAXED),
			    __atomic_load_n(&leaves_out, __ATOMIC_RELAXED), stress_violation);
	soft_tlb_check_quiescent(&vm, tlbs, NVCPU, stress_violation);
	check_leaves();
	write_unlock(&vm.mmu_lock);
	n_checks++;
}

/* ---- the run ---- */

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

/* Fresh frames, counters and VM: gfn g on frame g, or blocks on chunks in mixed mode. */
static void setup(bool mix)
{
	struct ept_region r[3] = { { 0, P1_START }, { P1_START, R1_START }, { R1_START, NGFN } };
	mixed = mix;
	stop = 0;
	tables_alive = leaves_out = large_leaves = 0;
	n_reclaim = n_zap = n_inval_all = n_layout = n_reorder = n_collapse = n_checks = 0;
	layout_seq = 0;
	r1_present = 1;
	fifo_head = fifo_tail = nr_free_chunks = 0;
	memset(frames, 0, sizeof(frames));
	memset(huge, 0, sizeof(huge));
	for (uint32_t f = 0; f < NSINGLE; f++)
		fifo[fifo_tail++] = f;
	for (uint32_t c = 0; c < NCHUNKS; c++) {
		chunk_live[c] = 0;
		free_chunks[nr_free_chunks++] = NCHUNKS - 1 - c;
	}
	for (uint64_t g = 0; g < NGFN; g++)
		backing[g] = single_alloc(g, 0);
	for (uint64_t b = 0; mix && b < NBLOCKS; b++)
		collapse_backing(b);
	for (int i = 0; i < NVCPU; i++) {
		memset(&vcpus[i], 0, sizeof(vcpus[i]));
		vcpus[i].cpu = 1 + i;
		soft_tlb_init(&tlbs[i]);
	}
	stress_world_init();
	hosted_cpu_id = 0;
	grace_cpu_online(0);
	ept_vm_init(&vm, &s_ops, NULL);
	/*
	 * Yield less often than the hypervisor does: on an oversubscribed host
	 * each hand-over of mmu_lock can wait for a preempted thread.
	 */
	vm.zap_batch = 512;
	ept_set_regions(&vm, r, 3);
}

/* Every race the case needs has been run; racy reads, a hint when to stop. */
static bool covered(void)
{
	long faults = 0;

	for (int i = 0; i < NVCPU; i++)
		faults += __atomic_load_n(&vcpus[i].faults, __ATOMIC_RELAXED);
	return faults > 1000 && __atomic_load_n(&n_reclaim, __ATOMIC_RELAXED) > 10 &&
	       __atomic_load_n(&n_inval_all, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&n_layout, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&n_reorder, __ATOMIC_RELAXED) && n_checks >= 2 &&
	       (!mixed || __atomic_load_n(&large_leaves, __ATOMIC_RELAXED));
}

/* On a slow or serialising host (Valgrind), on until it is, up to 8 times as long. */
static double run_for;

static bool longer(double elapsed)
{
	return !covered() && elapsed < 8 * run_for;
}

/* Run for @secs with every check; false with the counters printed if anything broke. */
static bool run(double secs)
{
	pthread_t mut[NMUT];
	double t0 = stress_now();
	long faults = 0, accesses = 0, reloads = 0, hits = 0, walks = 0;
	struct ept_stats st;

	for (int i = 0; i < NVCPU; i++)
		pthread_create(&vcpus[i].tid, NULL, vcpu_main, &vcpus[i]);
	for (int i = 0; i < NMUT; i++)
		pthread_create(&mut[i], NULL, mutator_main, (void *)(uintptr_t)(10 + i));
	run_for = secs;
	stress_run(secs, CHECK_EVERY_S, check_world, longer);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < NMUT; i++)
		pthread_join(mut[i], NULL);
	for (int i = 0; i < NVCPU; i++) {
		pthread_join(vcpus[i].tid, NULL);
		faults += vcpus[i].faults;
		accesses += vcpus[i].accesses;
		reloads += vcpus[i].reloads;
		hits += tlbs[i].hits;
		walks += tlbs[i].walks;
	}
	check_world();
	ept_vm_stats(&vm, &st);
	printf("# %s, %.1f s: %ld faults (%llu fixed, %llu retries, %llu spurious, %ld large "
	       "leaves), %ld accesses (%ld TLB hits, %ld walks), %ld root loads; %ld reclaims, "
	       "%ld collapses, %ld zaps, %ld root invalidations, %ld layout changes, %ld "
	       "reorders; %llu leaves zapped, %llu flushes; %ld world checks\n",
	       mixed ? "mixed 2 MiB and 4 KiB" : "4 KiB", stress_now() - t0, faults,
	       (unsigned long long)st.fixed, (unsigned long long)st.retries,
	       (unsigned long long)st.spurious, large_leaves, accesses, hits, walks, reloads,
	       n_reclaim, n_collapse, n_zap, n_inval_all, n_layout, n_reorder,
	       (unsigned long long)st.zapped, (unsigned long long)st.flushes, n_checks);
	return !stress_violated() && covered() && st.retries > 0;
}

/* Every vCPU puts its root; then every root and table goes. */
static bool teardown(void)
{
	for (int i = 0; i < NVCPU; i++) {
		if (vcpus[i].root)
			ept_root_put(&vm, vcpus[i].root);
		vcpus[i].root = NULL;
	}
	ept_vm_destroy(&vm);
	grace_cpu_offline(0);
	pthread_rwlock_destroy(&stress_world);
	return vm.roots == NULL && tables_alive == 0 && grace_pending() == 0;
}

TEST(faults_never_map_freed_or_foreign_pages)
{
	setup(false);
	CHECK(run(run_seconds() * 0.6));
	CHECK_EQ(stress_violated(), 0);
	CHECK(teardown());
}

TEST(mixed_2m_and_4k_faults_never_orphan_tables)
{
	setup(true);
	CHECK(run(run_seconds() * 0.4));
	CHECK_EQ(stress_violated(), 0);
	CHECK(teardown());
}
