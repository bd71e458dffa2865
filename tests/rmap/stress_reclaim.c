/* SPDX-License-Identifier: MIT */
/*
 * Reclaim racing guests on real threads, over one VM whose memory is
 * overcommitted: NGFN gfns behind a pool of NFRAMES guest pages.
 *
 *  - vCPU threads: each owns the gfns g with g % nr_vcpus == its id and keeps
 *    a shadow copy of what each holds.  A touch translates through the
 *    vCPU's software TLB (tests/ept/soft_tlb.h: a walk of its root as the CPU
 *    does, accessed bit included, kept until a flush drops it), faulting
 *    until mapped, compares the whole page with the shadow and often writes
 *    a new version: zero, one of
 *    four shared pages, or text, random or sparse data tagged with gfn and
 *    version.  Now and then the owner goes through memslot_access() instead,
 *    or gives the gfn back with memslot_discard() (its shadow turns zero).
 *    A fault over the limit reclaims directly.  As in the hypervisor, the
 *    store refuses incompressible pages: they stay resident.
 *  - an ager loops memslot_age(), every eighth pass memslot_age_locked();
 *  - a reclaimer loops reclaim_run() and now and then reclaim_age_all();
 *  - a zapper opens invalidations over random ranges, zaps ranges under
 *    mmu_lock, invalidates every root, and reads page info as the shell does.
 *
 * The hosted flush is INVEPT on the software TLBs: it returns once every
 * guest access that started before it is over, and drops the root's cached
 * translations; kicks make the vCPUs reload their root.  Freed guest pages
 * are poisoned and checked when handed out again; a table page must be in no
 * TLB when it is freed.  Every second the world stops (every thread holds a
 * writer-preferring rwlock for read around each operation) and check_world()
 * verifies rmap/memslot.h's invariant, the rmaps against the EPT leaves, the
 * roots and tables (tests/ept/ept_check.h), every cached translation against
 * its root, the counters against the slots, the store against the evicted
 * slots, and every gfn's content (resident or stored) against its owner's
 * shadow.
 *
 * RECLAIM_STRESS_S sets the run time (default 5 s, 10 s under TSan),
 * RECLAIM_STRESS_VCPUS the vCPU threads (default 3, 2 under TSan; at most 8).
 *
 * 2 MiB leaves are on (RECLAIM_STRESS_HUGE=0 turns them off): beyond its
 * NFRAMES single pages the pool has two 2 MiB blocks (under the same limit),
 * for first touches of empty blocks; the zapper gives whole blocks back;
 * reclaim and the zapper's partial invalidations split the leaves.
 * check_world() also checks every 2 MiB leaf against its 512 slots and its
 * block's rmap.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdarg.h>

#include "tests/ept/ept_check.h"
#include "tests/ept/soft_tlb.h"
#include "tests/host/stress.h"
#include "tests/host/test.h"
#include "tests/store/zpages.h"
#include "tests/rmap/ms_env.h"

#define NGFN		4096
#define NFRAMES		1024
#define MAX_VCPUS	8
#define CHECK_EVERY_S	1.0

#ifdef __SANITIZE_THREAD__
#define RUN_S		10.0
#define VCPUS		2
#else
#define RUN_S		5.0
#define VCPUS		3
#endif

struct vcpu {
	pthread_t tid;
	unsigned int id;
	int reload;
	struct ept_root *root;
	uint64_t seed;
	long touches, faults, writes, ms_accesses, nomem, reloads, discards;
} __attribute__((aligned(64)));

static struct vcpu vcpus[MAX_VCPUS];
static struct soft_tlb tlbs[MAX_VCPUS];
static unsigned int nr_vcpus = VCPUS;
static struct tvm vm;
static struct zstore zs;
static struct reclaim rc;

/* Owned by the gfn's vCPU; read by check_world() with the world stopped. */
static uint8_t shadow[NGFN][4096];
static uint32_t version[NGFN];

static int stop;
static long n_blocks_given;
static long n_age, n_young, n_reclaim, n_freed, n_inval, n_zap, n_inval_all, n_info, n_checks;

static bool stopping(void)
{
	return __atomic_load_n(&stop, __ATOMIC_RELAXED);
}

/* ---- the environment: INVEPT waits for the accesses, kicks reload roots ---- */

static void stress_flush(struct tvm *t, struct ept_root *root)
{
	(void)t;
	soft_tlb_flush(tlbs, nr_vcpus, root);
}

/* A table page (or root) is freed: no vCPU may still cache a walk through it. */
static void stress_free_table(struct tvm *t, void *page)
{
	int cached = soft_tlb_cached(tlbs, nr_vcpus, page);

	(void)t;
	if (cached)
		stress_violation("page %p freed while vCPUs cache %d walks through it", page, cached);
}

static void stress_kick(struct tvm *t)
{
	(void)t;
	for (unsigned int i = 0; i < nr_vcpus; i++)
		__atomic_store_n(&vcpus[i].reload, 1, __ATOMIC_RELEASE);
}

/* Now and then a slow fault between resolving and mmu_lock, like a refault that decompresses. */
static void stress_resolve(struct tvm *t, uint64_t gfn)
{
	static __thread unsigned int n;

	(void)t;
	(void)gfn;
	if (++n % 8 == 0)
		sched_yield();
}

/* ---- vCPUs ---- */

/* Version @ver of @gfn's content: one in ten random (the store refuses those). */
static void make_content(uint8_t *p, uint64_t gfn, uint32_t ver)
{
	uint64_t seed = gfn << 32 | ver;

	switch (ver % 10) {
	case 0:
	case 5:
		memset(p, 0, 4096);
		return;
	case 1:
	case 6:
		zp_fill(p, ZP_TEXT, ver / 10 % 4);	/* shared with other gfns */
		return;
	case 3:
		zp_fill(p, ZP_RANDOM, seed);
		break;
	case 8:
		zp_fill(p, ZP_SPARSE, seed);
		break;
	default:
		zp_fill(p, ZP_TEXT, seed);
		break;
	}
	memcpy(p, &gfn, sizeof(gfn));
	memcpy(p + 8, &ver, sizeof(ver));
}

static void report_mismatch(const char *how, uint64_t gfn, const uint8_t *got)
{
	size_t off = 0;

	while (off < 4096 && got[off] == shadow[gfn][off])
		off++;
	stress_violation("%s: gfn %llu version %u differs at byte %zu (%#x, expected %#x)%s", how,
		  (unsigned long long)gfn, version[gfn], off, got[off], shadow[gfn][off],
		  page_is(got, POISON) ? ": a freed page" : "");
}

/* VM entry: honour a kick, or a root that went invalid, by loading a valid root. */
static void enter(struct vcpu *v)
{
	if (!__atomic_exchange_n(&v->reload, 0, __ATOMIC_ACQ_REL) && v->root &&
	    !READ_ONCE(v->root->invalid))
		return;
	if (v->root)
		ept_root_put(&vm.ept, v->root);
	v->root = ept_root_load_for_vcpu(&vm.ept);
	v->reloads++;
	if (!v->root)
		stress_violation("vCPU %u: no root", v->id);
}

/* A guest access to @gfn; @next: the content to write, or NULL to only read. */
static void touch(struct vcpu *v, uint64_t gfn, const uint8_t *next)
{
	struct soft_tlb *tlb = &tlbs[v->id];

	for (long tries = 0; !stopping() && v->root; tries++) {
		enum ept_fault_result r;
		uint8_t *page = NULL;
		uint64_t hpa;

		soft_tlb_begin(tlb);
		if (soft_tlb_translate(tlb, v->root, gfn, &hpa)) {
			page = ept_pa_to_va(hpa);
			if (memcmp(page, shadow[gfn], 4096))
				report_mismatch("guest read", gfn, page);
			if (next)
				memcpy(page, next, 4096);
		}
		soft_tlb_end(tlb);
		if (page) {
			v->touches++;
			if (next) {
				memcpy(shadow[gfn], next, 4096);
				version[gfn]++;
				v->writes++;
			}
			return;
		}
		r = ept_fault(&vm.ept, v->root, gfn << EPT_PAGE_SHIFT, next ? EPT_W : EPT_R);
		v->faults++;
		if (r == EPT_NO_MEMSLOT) {
			stress_violation("gfn %llu: no memslot", (unsigned long long)gfn);
			return;
		}
		if (r == EPT_NOMEM)
			v->nomem++;
		if (r == EPT_NOMEM || r == EPT_RETRY)
			sched_yield();
		if (tries == 1000000)
			stress_violation("gfn %llu: no progress after %ld faults", (unsigned long long)gfn,
				  tries);
		enter(v);
	}
}

/* The hypervisor's own access to @gfn (loader, hypercalls). */
static void ms_access(struct vcpu *v, uint64_t gfn, const uint8_t *next)
{
	static __thread uint8_t buf[4096];

	if (memslot_access(&vm.ms, gfn << EPT_PAGE_SHIFT, buf, 4096, false)) {
		v->nomem++;
		return;
	}
	if (memcmp(buf, shadow[gfn], 4096))
		report_mismatch("memslot_access read", gfn, buf);
	if (next) {
		if (memslot_access(&vm.ms, gfn << EPT_PAGE_SHIFT, (void *)next, 4096, true)) {
			v->nomem++;
			return;
		}
		memcpy(shadow[gfn], next, 4096);
		version[gfn]++;
		v->writes++;
	}
	v->ms_accesses++;
}

/* The guest gives @gfn back (a balloon, a free page report): it reads as zeros again. */
static void give_back(struct vcpu *v, uint64_t gfn)
{
	memslot_discard(&vm.ms, gfn, 1);
	memset(shadow[gfn], 0, 4096);
	version[gfn]++;
	v->discards++;
}

static void *vcpu_main(void *arg)
{
	static __thread uint8_t next[4096];
	struct vcpu *v = arg;
	uint64_t owned = (NGFN - v->id + nr_vcpus - 1) / nr_vcpus, hot = owned / 8;

	hosted_cpu_id = 1 + v->id;
	grace_cpu_online(hosted_cpu_id);
	while (!stopping()) {
		uint64_t r = rnd(&v->seed);
		/* Half the touches on an eighth of the gfns: a working set to age. */
		uint64_t k = (r & 1) ? (r >> 8) % hot : (r >> 8) % owned;
		uint64_t gfn = v->id + k * nr_vcpus;
		bool write = (r >> 1) & 1;

		stress_op_begin();
		if (write)
			make_content(next, gfn, version[gfn] + 1);
		enter(v);
		if ((r >> 2) % 64 == 1)
			give_back(v, gfn);
		else if ((r >> 2) % 16 == 0)
			ms_access(v, gfn, write ? next : NULL);
		else
			touch(v, gfn, write ? next : NULL);
		stress_op_end();
		/* VM exit. */
		grace_quiescent();
	}
	if (v->root)
		ept_root_put(&vm.ept, v->root);
	v->root = NULL;
	grace_cpu_offline(hosted_cpu_id);
	return NULL;
}

/* ---- ager, reclaimer, zapper ---- */

/*
 * Sleep four times as long as the operation that started at @t0 took: the
 * helpers hold mmu_lock (the locked aging baseline, zaps) for whole passes, and spinning vCPUs
 * must not find them holding it most of the time (on few host CPUs, TSan).
 */
/* Every zapper operation ran; racy reads, only a hint when to stop. */
static bool covered(void)
{
	return (!vm.ms.huge || (__atomic_load_n(&vm.ept.splits, __ATOMIC_RELAXED) &&
				__atomic_load_n(&vm.ms.st.huge_populated, __ATOMIC_RELAXED))) &&
	       __atomic_load_n(&n_inval, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&n_zap, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&n_inval_all, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&n_info, __ATOMIC_RELAXED);
}

static void pace(double t0)
{
	double busy = now_s() - t0;

	usleep(200 + (useconds_t)(busy * 4e6));
}

static void *ager_main(void *arg)
{
	(void)arg;
	hosted_cpu_id = 1 + MAX_VCPUS;
	grace_cpu_online(hosted_cpu_id);
	for (long pass = 1; !stopping(); pass++) {
		double t0 = now_s();
		size_t young;

		stress_op_begin();
		young = pass % 8 ? memslot_age(&vm.ms) : memslot_age_locked(&vm.ms);
		stress_op_end();
		n_age++;
		n_young += young;
		grace_quiescent();
		pace(t0);
	}
	grace_cpu_offline(hosted_cpu_id);
	return NULL;
}

static void *reclaimer_main(void *arg)
{
	uint64_t seed = 0x51ed270b27f5a2c1ull;

	(void)arg;
	hosted_cpu_id = 2 + MAX_VCPUS;
	grace_cpu_online(hosted_cpu_id);
	while (!stopping()) {
		uint64_t r = rnd(&seed);
		double t0 = now_s();

		stress_op_begin();
		n_freed += reclaim_run(&rc, 16 + r % 113);
		if ((r >> 8) % 16 == 0)
			reclaim_age_all(&rc);
		stress_op_end();
		n_reclaim++;
		grace_quiescent();
		pace(t0);
	}
	grace_cpu_offline(hosted_cpu_id);
	return NULL;
}

/*
 * The guest gives a whole 2 MiB block back (a balloon's, or Linux's free page
 * report's unit), with the world stopped since its gfns have several owners.
 * Then either its owners race to touch the block first when the world
 * resumes, or (@fill) the block is populated at once, as a hypervisor access
 * would, after a reclaim made room for a 2 MiB block under the limit, and
 * the roots are replaced so that the next touch can map it with one leaf.
 */
static void give_back_block(uint64_t block, bool fill)
{
	uint64_t base = block * MS_HUGE_PAGES, hpa;
	int level;

	stress_world_stop();
	memslot_discard(&vm.ms, base, MS_HUGE_PAGES);
	for (uint64_t g = base; g < base + MS_HUGE_PAGES; g++) {
		memset(shadow[g], 0, 4096);
		version[g]++;
	}
	if (fill) {
		reclaim_run(&rc, MS_HUGE_PAGES);
		if (!memslot_resolve_level(&vm.ms, base, &hpa, &level))
			stress_violation("block %llu: no page after a reclaim", (unsigned long long)block);
		/*
		 * New roots: the old ones keep the block's 4 KiB table (zaps free
		 * leaves only), where a fault maps 4 KiB beside it, as KVM does.
		 */
		if (level == 2)
			ept_invalidate_all_roots(&vm.ept);
	}
	n_blocks_given++;
	stress_world_resume();
}

static void *zapper_main(void *arg)
{
	uint64_t seed = 0x2545f4914f6cdd1dull;

	(void)arg;
	hosted_cpu_id = 3 + MAX_VCPUS;
	grace_cpu_online(hosted_cpu_id);
	while (!stopping()) {
		uint64_t r = rnd(&seed), op = r % 100;
		uint64_t start = (r >> 8) % NGFN;
		uint64_t end = start + 1 + ((r >> 24) % 4 ? (r >> 32) % 16 : (r >> 32) % 1024);
		struct memslot_page_info pi;
		double t0 = now_s();
		uint64_t gfn;

		if (op >= 85 && op < 88) {
			give_back_block(start / MS_HUGE_PAGES, op == 85);
			grace_quiescent();
			pace(t0);
			continue;
		}
		stress_op_begin();
		if (op < 55) {
			bool opened = ept_invalidate_begin(&vm.ept, start, end);

			if (!opened)
				stress_violation("invalidation of [%llu, %llu) skipped",
					  (unsigned long long)start, (unsigned long long)end);
			/* Hold it open a little: faults over the range must retry. */
			sched_yield();
			ept_invalidate_end(&vm.ept, start, end, opened);
			__atomic_add_fetch(&n_inval, 1, __ATOMIC_RELAXED);
		} else if (op < 80) {
			write_lock(&vm.ept.mmu_lock);
			if (ept_zap_range(&vm.ept, start, end))
				ept_flush_all_roots(&vm.ept);
			write_unlock(&vm.ept.mmu_lock);
			__atomic_add_fetch(&n_zap, 1, __ATOMIC_RELAXED);
		} else if (op < 85) {
			ept_invalidate_all_roots(&vm.ept);
			__atomic_add_fetch(&n_inval_all, 1, __ATOMIC_RELAXED);
		} else {
			/* The shell's `page` command. */
			memslot_page_info(&vm.ms, start, &pi);
			if (pi.state == MS_PAGE_RESIDENT && !pool_owns(ept_pa_to_va(pi.hpa)))
				stress_violation("gfn %llu: resident on %#llx, not a guest page",
					  (unsigned long long)start, (unsigned long long)pi.hpa);
			if (op == 99 && pi.state == MS_PAGE_RESIDENT)
				memslot_gfn_of_hpa(&vm.ms, pi.hpa, &gfn);
			__atomic_add_fetch(&n_info, 1, __ATOMIC_RELAXED);
		}
		stress_op_end();
		grace_quiescent();
		pace(t0);
	}
	grace_cpu_offline(hosted_cpu_id);
	return NULL;
}

/* ---- the checker: the world is stopped ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Is @sptep in @head?  mmu_lock held for write. */
static bool in_rmap(struct rmap_head *head, uint64_t *sptep)
{
	struct rmap_iter it;
	uint64_t *p;

	rmap_for_each(&vm.ept.mmu_lock, head, &it, p)
		if (p == sptep)
			return true;
	return false;
}

/*
 * A 2 MiB leaf over gfns [@g, @g + 512): every one resident on its page of
 * the leaf's host block, and the leaf in the block's rmap.
 */
static void check_large_leaf(struct ept_iter *it)
{
	uint64_t g = it->gfn;

	if (g % MS_HUGE_PAGES || g + MS_HUGE_PAGES > NGFN) {
		stress_violation("gfn %llu: leaf at level %d", (unsigned long long)g, it->level);
		return;
	}
	for (uint64_t i = 0; i < MS_HUGE_PAGES; i++) {
		uint64_t v = vm.ms.slots[g + i];

		if (ms_slot_state(v) != MS_RESIDENT ||
		    (v & MS_ADDR_MASK) != ept_spte_addr(it->old_spte) + i * EPT_PAGE_SIZE)
			stress_violation("gfn %llu: 2 MiB leaf maps %#llx, slot %#llx",
				  (unsigned long long)(g + i),
				  (unsigned long long)(ept_spte_addr(it->old_spte) + i * EPT_PAGE_SIZE),
				  (unsigned long long)v);
	}
	if (!in_rmap(&vm.ms.rmaps_2m[g / MS_HUGE_PAGES], it->sptep))
		stress_violation("gfn %llu: 2 MiB leaf %p not in the rmap", (unsigned long long)g,
			  (void *)it->sptep);
}

/*
 * Every EPT leaf is a resident gfn's page and in its rmap; counts them per
 * gfn (4 KiB) and per block (2 MiB).
 */
static void check_leaves(uint16_t *leaves, uint16_t *leaves_2m)
{
	struct ept_root *root;
	struct ept_iter it;

	for_each_ept_root(&vm.ept, root) {
		for_each_ept_pte(it, &vm.ept, root, 0, EPT_GFN_LIMIT) {
			uint64_t g = it.gfn, v;

			if (ept_spte_frozen(it.old_spte))
				stress_violation("gfn %llu: frozen entry left", (unsigned long long)g);
			if (!ept_spte_is_leaf(it.old_spte, it.level))
				continue;
			if (it.level == 2) {
				check_large_leaf(&it);
				leaves_2m[g / MS_HUGE_PAGES]++;
				continue;
			}
			if (it.level != 1 || g >= NGFN) {
				stress_violation("gfn %llu: leaf at level %d", (unsigned long long)g,
					  it.level);
				continue;
			}
			if (!memslot_meta_backed(&vm.ms, g)) {
				stress_violation("gfn %llu: leaf in a chunk never backed",
					  (unsigned long long)g);
				continue;
			}
			v = vm.ms.slots[g];
			if (ms_slot_state(v) != MS_RESIDENT ||
			    ept_spte_addr(it.old_spte) != (v & MS_ADDR_MASK))
				stress_violation("gfn %llu: leaf maps %#llx, slot %#llx",
					  (unsigned long long)g,
					  (unsigned long long)ept_spte_addr(it.old_spte),
					  (unsigned long long)v);
			if (!in_rmap(&vm.ms.rmaps[g], it.sptep))
				stress_violation("gfn %llu: leaf %p not in the rmap",
					  (unsigned long long)g, (void *)it.sptep);
			leaves[g]++;
		}
	}
}

/*
 * The generation counts are exact with the world stopped: every resident
 * slot's number counted once, none older than a fold lets it get, and the
 * histogram adds up to the resident pages.
 */
static size_t check_gens(void)
{
	long nr[GEN_SEQ_NR] = { 0 };
	uint64_t max = gen_max_seq(&vm.ms.gens);
	size_t total = 0, hist[GEN_NR];

	for (uint64_t g = 0; g < NGFN; g++) {
		/* An unbacked chunk is EMPTY (and would fault if read). */
		uint64_t v = memslot_meta_backed(&vm.ms, g) ? vm.ms.slots[g] : MS_EMPTY;
		unsigned int idx = ms_slot_gen_idx(v);

		if (ms_slot_state(v) != MS_RESIDENT)
			continue;
		nr[idx]++;
		if (gen_age(max, idx) >= GEN_FOLD_AGE + GEN_FOLD_EVERY)
			stress_violation("gfn %llu: %u passes old, never folded", (unsigned long long)g,
				  gen_age(max, idx));
	}
	for (unsigned int i = 0; i < GEN_SEQ_NR; i++)
		if (nr[i] != vm.ms.gens.nr[i])
			stress_violation("generation number %u: %ld pages, %ld counted", i, nr[i],
				  vm.ms.gens.nr[i]);
	gen_histogram(&vm.ms.gens, hist);
	for (unsigned int g = 0; g < GEN_NR; g++)
		total += hist[g];
	return total;
}

static void check_world(void)
{
	static uint16_t leaves[NGFN], leaves_2m[NGFN / MS_HUGE_PAGES];
	uint64_t n4k = 0, n2m = 0;
	static uint64_t handles[NGFN], frames[NGFN];
	static uint8_t buf[4096];
	struct ept_root *held[MAX_VCPUS];
	uint64_t nres = 0, nev = 0, nzero = 0, nh = 0, distinct = 0;
	struct memslot *ms = &vm.ms;
	struct zstore_stats zst;

	memset(leaves, 0, sizeof(leaves));
	memset(leaves_2m, 0, sizeof(leaves_2m));
	/* Let queued root frees run first: roots_alive then counts the listed roots. */
	grace_barrier();
	write_lock(&vm.ept.mmu_lock);
	for (unsigned int i = 0; i < nr_vcpus; i++)
		held[i] = vcpus[i].root;
	/* The leaves are checked against the rmaps below. */
	ept_check_quiescent(&vm.ept, held, nr_vcpus, __atomic_load_n(&tables_live, __ATOMIC_RELAXED),
			    -1, stress_violation);
	soft_tlb_check_quiescent(&vm.ept, tlbs, nr_vcpus, stress_violation);
	check_leaves(leaves, leaves_2m);
	for (uint64_t b = 0; b < NGFN / MS_HUGE_PAGES; b++) {
		unsigned int maps = rmap_count(&vm.ept.mmu_lock, &ms->rmaps_2m[b]);

		if (maps != leaves_2m[b])
			stress_violation("block %llu: %u 2 MiB rmap entries, %u leaves",
				  (unsigned long long)b, maps, leaves_2m[b]);
		n2m += leaves_2m[b];
	}
	for (uint64_t g = 0; g < NGFN; g++) {
		struct rmap_head *rh = &ms->rmaps[g];
		uint64_t v, state, *sptep;
		struct rmap_iter it;
		unsigned int maps;

		/* Never touched: EMPTY, nothing maps it (check_leaves() said so). */
		if (!memslot_meta_backed(ms, g))
			continue;
		v = ms->slots[g];
		state = ms_slot_state(v);
		maps = rmap_count(&vm.ept.mmu_lock, rh);

		n4k += leaves[g];
		if (maps != leaves[g])
			stress_violation("gfn %llu: %u rmap entries, %u leaves", (unsigned long long)g,
				  maps, leaves[g]);
		rmap_for_each(&vm.ept.mmu_lock, rh, &it, sptep)
			if (!ept_spte_present(*sptep) || ept_spte_addr(*sptep) != (v & MS_ADDR_MASK))
				stress_violation("gfn %llu: rmap entry %#llx", (unsigned long long)g,
					  (unsigned long long)*sptep);
		if (v & MS_PIN_MASK)
			stress_violation("gfn %llu: slot %#llx pinned in a stopped world",
				  (unsigned long long)g, (unsigned long long)v);
		if (state == MS_RESIDENT) {
			frames[nres++] = v & MS_ADDR_MASK;
			if (!pool_owns(ept_pa_to_va(v & MS_ADDR_MASK)))
				stress_violation("gfn %llu: resident on a foreign page",
					  (unsigned long long)g);
			else if (memcmp(ept_pa_to_va(v & MS_ADDR_MASK), shadow[g], 4096))
				report_mismatch("resident page", g, ept_pa_to_va(v & MS_ADDR_MASK));
			continue;
		}
		if (maps)
			stress_violation("gfn %llu: slot %#llx, %u mappings",
				  (unsigned long long)g, (unsigned long long)v, maps);
		if (state == MS_EVICTED) {
			uint64_t h = v >> MS_HANDLE_SHIFT;

			if (zstore_handle_is_zero(h))
				nzero++;
			else
				handles[nh++] = h;
			nev++;
			memset(buf, 0xcc, sizeof(buf));
			if (zstore_get(&zs, h, buf, env_scratch()) || memcmp(buf, shadow[g], 4096))
				report_mismatch("stored page", g, buf);
		} else if (v || !page_is(shadow[g], 0)) {
			stress_violation("gfn %llu: slot %#llx claimed in a stopped world, or never populated but written",
				  (unsigned long long)g, (unsigned long long)v);
		}
	}
	if (ms->st.leaves_4k != n4k || ms->st.leaves_2m != n2m)
		stress_violation("leaves: %llu 4 KiB and %llu 2 MiB counted, %llu and %llu found",
			  (unsigned long long)ms->st.leaves_4k, (unsigned long long)ms->st.leaves_2m,
			  (unsigned long long)n4k, (unsigned long long)n2m);
	if (check_gens() != nres)
		stress_violation("%llu resident, generations count another number",
			  (unsigned long long)nres);
	/* One page per resident gfn; one stored copy per distinct handle (dedup shares them). */
	qsort(frames, nres, sizeof(*frames), cmp_u64);
	for (uint64_t i = 1; i < nres; i++)
		if (frames[i] == frames[i - 1])
			stress_violation("page %#llx backs two gfns", (unsigned long long)frames[i]);
	qsort(handles, nh, sizeof(*handles), cmp_u64);
	for (uint64_t i = 0; i < nh; i++)
		distinct += !i || handles[i] != handles[i - 1];
	/* A discarded gfn held a page or a copy: it left whichever count it was in. */
	if (ms->st.resident != nres || ms->st.evicted != nev ||
	    ms->st.evictions - ms->st.refaults < nev ||
	    ms->st.evictions - ms->st.refaults - nev > ms->st.discarded ||
	    ms->st.populated - ms->st.discarded != nres + nev ||
	    ms->st.zero_evictions > ms->st.evictions)
		stress_violation("counters: resident %llu/%llu evicted %llu/%llu populated %llu "
			  "evictions %llu refaults %llu discarded %llu",
			  (unsigned long long)ms->st.resident, (unsigned long long)nres,
			  (unsigned long long)ms->st.evicted, (unsigned long long)nev,
			  (unsigned long long)ms->st.populated, (unsigned long long)ms->st.evictions,
			  (unsigned long long)ms->st.refaults, (unsigned long long)ms->st.discarded);
	zst = store_stats(&zs);
	if (zst.handles != nev || zst.zero_handles != nzero || zst.entries != distinct)
		stress_violation("store: %llu handles (%llu zero) for %llu entries; slots: %llu evicted "
			  "(%llu zero) with %llu distinct handles", (unsigned long long)zst.handles,
			  (unsigned long long)zst.zero_handles, (unsigned long long)zst.entries,
			  (unsigned long long)nev, (unsigned long long)nzero,
			  (unsigned long long)distinct);
	if (pool_live() != (long)nres || pool.bad_poison || pool.bad_free)
		stress_violation("pool: %ld pages out for %llu resident; %ld written after free, "
			  "%ld bad frees", pool_live(), (unsigned long long)nres, pool.bad_poison,
			  pool.bad_free);
	write_unlock(&vm.ept.mmu_lock);
	if (test_warnings())
		stress_violation("%lu warnings", test_warnings());
	n_checks++;
}

static double run_seconds(void)
{
	const char *s = getenv("RECLAIM_STRESS_S");

	return s && atof(s) > 0 ? atof(s) : RUN_S;
}

/* Past the run time: on until every racing operation happened, up to 8 times as long. */
static bool longer(double elapsed)
{
	return !covered() && elapsed < 8 * run_seconds();
}

TEST(reclaim_races_guests_faults_and_zaps)
{
	pthread_t ager, reclaimer, zapper;
	const char *nv = getenv("RECLAIM_STRESS_VCPUS"), *huge = getenv("RECLAIM_STRESS_HUGE");
	double t0, secs = run_seconds();
	long touches = 0, faults = 0, writes = 0, msa = 0, nomem = 0, reloads = 0, discards = 0;
	struct memslot_stats st;
	struct reclaim_stats rst;
	struct zstore_stats zst;
	struct ept_stats est;
	static uint8_t buf[4096];

	if (nv && atoi(nv) > 0)
		nr_vcpus = atoi(nv) < MAX_VCPUS ? atoi(nv) : MAX_VCPUS;
	stress_world_init();
	/* NFRAMES single pages, and two 2 MiB blocks beyond them, all under one limit. */
	pool_init(NFRAMES + 2 * MS_HUGE_PAGES, NFRAMES, true);
	pool_reserve_huge(NFRAMES);
	zstore_init(&zs, &env_store_ops, NULL);
	/* As in the hypervisor: the store refuses what it cannot compress. */
	zs.reject_incompressible = true;
	reclaim_init(&rc, now_ns);
	hosted_cpu_id = 0;
	grace_cpu_online(0);
	CHECK_EQ(tvm_init(&vm, &zs, NGFN), 0);
	vm.flush_hook = stress_flush;
	vm.free_table_hook = stress_free_table;
	vm.kick_hook = stress_kick;
	vm.resolve_hook = stress_resolve;
	vm.ms.huge = !huge || strcmp(huge, "0");
	reclaim_register(&rc, &vm.ms);

	for (unsigned int i = 0; i < nr_vcpus; i++) {
		soft_tlb_init(&tlbs[i]);
		vcpus[i].id = i;
		vcpus[i].seed = 0x9e3779b97f4a7c15ull * (i + 1);
		pthread_create(&vcpus[i].tid, NULL, vcpu_main, &vcpus[i]);
	}
	pthread_create(&ager, NULL, ager_main, NULL);
	pthread_create(&reclaimer, NULL, reclaimer_main, NULL);
	pthread_create(&zapper, NULL, zapper_main, NULL);
	/*
	 * At least secs, and on a slow or serialising host (Valgrind runs one
	 * thread at a time) on until every racing operation has happened at least
	 * once: the checks below require that the races were really run.
	 */
	t0 = now_s();
	stress_run(secs, CHECK_EVERY_S, check_world, longer);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < nr_vcpus; i++)
		pthread_join(vcpus[i].tid, NULL);
	pthread_join(ager, NULL);
	pthread_join(reclaimer, NULL);
	pthread_join(zapper, NULL);
	check_world();
	/* Every gfn once more through the hypervisor's path: refaults under the limit. */
	for (uint64_t g = 0; g < NGFN; g++) {
		if (memslot_access(&vm.ms, g << EPT_PAGE_SHIFT, buf, 4096, false))
			nomem++;
		else if (memcmp(buf, shadow[g], 4096))
			report_mismatch("final read", g, buf);
	}

	for (unsigned int i = 0; i < nr_vcpus; i++) {
		touches += vcpus[i].touches;
		faults += vcpus[i].faults;
		writes += vcpus[i].writes;
		msa += vcpus[i].ms_accesses;
		discards += vcpus[i].discards;
		nomem += vcpus[i].nomem;
		reloads += vcpus[i].reloads;
	}
	memslot_stats(&vm.ms, &st, NULL);
	reclaim_get_stats(&rc, &rst);
	zst = store_stats(&zs);
	ept_vm_stats(&vm.ept, &est);
	printf("# %.1f s, %u vCPUs, %d gfns on %d pages: %ld guest touches and %ld hypervisor "
	       "accesses (%ld writes), %ld faults (%llu fixed, %llu retries), %ld root loads, "
	       "%ld nomem, %ld discards (%llu held memory)\n", now_s() - t0, nr_vcpus, NGFN,
	       NFRAMES, touches, msa, writes, faults, (unsigned long long)est.fixed,
	       (unsigned long long)est.retries, reloads, nomem, discards,
	       (unsigned long long)st.discarded);
	printf("# %llu populated, %llu evictions (%llu zero, %llu dedup hits), %llu kept as "
	       "incompressible, %llu refaults; reclaim: %llu runs (%llu direct), %llu freed, "
	       "%llu age passes; ager: %ld passes (%ld young); %ld invalidations, %ld zaps, "
	       "%ld root invalidations, %ld page infos; %ld world checks; %ld violations\n",
	       (unsigned long long)st.populated, (unsigned long long)st.evictions,
	       (unsigned long long)st.zero_evictions, (unsigned long long)zst.dedup_hits,
	       (unsigned long long)st.incompressible, (unsigned long long)st.refaults,
	       (unsigned long long)rst.runs, (unsigned long long)rst.direct_runs,
	       (unsigned long long)rst.freed, (unsigned long long)rst.age_passes, n_age, n_young,
	       n_inval, n_zap, n_inval_all, n_info, n_checks, stress_violations);
	printf("# operations: %llu (guest touches, hypervisor accesses, discards, evictions, "
	       "refaults, aging passes, invalidations, zaps, root invalidations, page infos, "
	       "blocks given back)\n",
	       (unsigned long long)(touches + msa + discards + st.evictions + st.refaults + n_age +
				    n_inval + n_zap + n_inval_all + n_info + n_blocks_given));
	printf("# 2 MiB leaves %s: %llu blocks taken at first touches, %llu leaves split; "
	       "%ld whole blocks given back\n", vm.ms.huge ? "on" : "off",
	       (unsigned long long)st.huge_populated, (unsigned long long)est.splits,
	       n_blocks_given);
	CHECK_EQ(stress_violations, 0);
	CHECK(touches > 1000 && faults > 100 && msa > 10 && st.discarded > 0);
	CHECK(st.evictions > 100 && st.refaults > 100 && st.zero_evictions > 0);
	CHECK(st.incompressible > 0);
	CHECK(zst.dedup_hits > 0 && n_inval > 0 && n_zap > 0 && n_inval_all > 0);
	CHECK(n_checks >= 2);
	CHECK(!vm.ms.huge || (st.huge_populated > 0 && est.splits > 0));

	reclaim_unregister(&rc, &vm.ms);
	tvm_destroy(&vm);
	grace_barrier();
	CHECK_EQ(store_stats(&zs).handles, 0);
	zstore_destroy(&zs);
	CHECK_EQ(pool_live(), 0);
	CHECK_EQ(store_live, 0);
	CHECK_EQ(tables_live, 0);
	CHECK_EQ(desc_live, 0);
	CHECK_EQ(meta_live, 0);
	CHECK_EQ(pool.bad_poison + pool.bad_free, 0);
	grace_cpu_offline(0);
}
