/* SPDX-License-Identifier: MIT */
/*
 * The hosted environment of a memslot (rmap/memslot.h) behind a real EPT MMU
 * (ept/), shared by the memslot and reclaim tests and the aging benchmark:
 *
 *  - guest pages from one pool of frames with a limit (the guests' memory
 *    limit), poisoned when freed and checked when handed out again, so that
 *    a write through a stale mapping is caught;
 *  - store pages, metadata, EPT tables and rmap descriptors counted, the
 *    descriptors freed after a grace period;
 *  - ept_ops whose resolve and leaf hooks are the memslot's, flush and kick
 *    counted and hookable;
 *  - the "hardware": a lockless walk of a root that sets the accessed bit of
 *    a present leaf as the CPU does.
 */
#ifndef TESTS_RMAP_MS_ENV_H
#define TESTS_RMAP_MS_ENV_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ept/fault.h"
#include "ept/invalidate.h"
#include "ept/iter.h"
#include "ept/root.h"
#include "ept/vm.h"
#include "ept/zap.h"
#include "rmap/memslot.h"
#include "rmap/reclaim.h"
#include "smp/grace.h"
#include "tests/rmap/desc_env.h"

#define POISON		0x6b
static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static inline uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- guest page pool ---- */

struct pool {
	pthread_mutex_t lock;
	uint8_t *base;		/* nframes contiguous frames */
	uint32_t *stack;	/* free frames, the last freed on top */
	uint8_t *used;
	long nframes, nfree;
	long limit;		/* frames out at once; < 0: nframes */
	long huge_from;		/* frames from here on only for env_alloc_huge() */
	bool check_poison;
	/* Under lock; live also read without it (atomic). */
	long live, bad_poison, bad_free;
};

static struct pool pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

static inline void pool_init(long nframes, long limit, bool check_poison)
{
	/* 2 MiB-aligned, so that aligned runs of 512 frames are 2 MiB host blocks. */
	pool.base = aligned_alloc(2 << 20, ((nframes * 4096) + (2 << 20) - 1) & ~((2l << 20) - 1));
	pool.stack = malloc(nframes * sizeof(*pool.stack));
	pool.used = calloc(nframes, 1);
	pool.nframes = pool.nfree = pool.huge_from = nframes;
	pool.limit = limit;
	pool.check_poison = check_poison;
	pool.live = pool.bad_poison = pool.bad_free = 0;
	memset(pool.base, POISON, nframes * 4096);
	for (long i = 0; i < nframes; i++)
		pool.stack[i] = (uint32_t)(nframes - 1 - i);
}

/*
 * Keep the frames from @from on for 2 MiB blocks: never handed out as single
 * pages, and not put back on the free stack when freed, so that a block
 * whose pages all came back is whole again (the hosted pool has no buddy
 * allocator to merge them).
 */
static inline void pool_reserve_huge(long from)
{
	long n = 0;

	pthread_mutex_lock(&pool.lock);
	for (long k = 0; k < pool.nfree; k++)
		if (pool.stack[k] < from)
			pool.stack[n++] = pool.stack[k];
	pool.nfree = n;
	pool.huge_from = from;
	pthread_mutex_unlock(&pool.lock);
}

static inline void pool_fini(void)
{
	free(pool.base);
	free(pool.stack);
	free(pool.used);
	pool.base = NULL;
}

static inline void pool_set_limit(long limit)
{
	pthread_mutex_lock(&pool.lock);
	pool.limit = limit;
	pthread_mutex_unlock(&pool.lock);
}

static inline long pool_live(void)
{
	return __atomic_load_n(&pool.live, __ATOMIC_RELAXED);
}

static inline bool pool_owns(const void *p)
{
	return (const uint8_t *)p >= pool.base &&
	       (const uint8_t *)p < pool.base + pool.nframes * 4096 &&
	       !(((const uint8_t *)p - pool.base) & 4095);
}

static inline bool page_is(const void *p, uint8_t byte)
{
	const uint8_t *b = p;

	return b[0] == byte && !memcmp(b, b + 1, 4095);
}

static inline void *env_alloc_page(struct memslot *ms)
{
	void *p = NULL;
	long f;

	(void)ms;
	pthread_mutex_lock(&pool.lock);
	if (pool.nfree && (pool.limit < 0 || pool.live < pool.limit)) {
		f = pool.stack[--pool.nfree];
		p = pool.base + f * 4096;
		pool.used[f] = 1;
		__atomic_store_n(&pool.live, pool.live + 1, __ATOMIC_RELAXED);
		/* Written after its free: through a mapping that outlived the page. */
		if (pool.check_poison && !page_is(p, POISON))
			pool.bad_poison++;
	}
	pthread_mutex_unlock(&pool.lock);
	return p;
}

static inline void env_free_page(struct memslot *ms, void *p)
{
	long f = ((uint8_t *)p - pool.base) / 4096;

	(void)ms;
	pthread_mutex_lock(&pool.lock);
	if (!pool_owns(p) || !pool.used[f]) {
		pool.bad_free++;
	} else {
		if (pool.check_poison)
			memset(p, POISON, 4096);
		pool.used[f] = 0;
		if (f < pool.huge_from)
			pool.stack[pool.nfree++] = (uint32_t)f;
		__atomic_store_n(&pool.live, pool.live - 1, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&pool.lock);
}

/*
 * 512 free frames at a 2 MiB-aligned address, taken off the free stack; each
 * goes back on its own through env_free_page().  NULL when no such run is
 * free or the limit would be passed (a linear scan: small pools only).
 */
static inline void *env_alloc_huge(struct memslot *ms)
{
	void *p = NULL;

	(void)ms;
	pthread_mutex_lock(&pool.lock);
	if (pool.limit >= 0 && pool.live + 512 > pool.limit)
		goto out;
	for (long f = 0; f + 512 <= pool.nframes && !p; f += 512) {
		long i = 0, n = 0;

		while (i < 512 && !pool.used[f + i])
			i++;
		if (i < 512)
			continue;
		for (long k = 0; k < 512; k++) {
			if (pool.check_poison && !page_is(pool.base + (f + k) * 4096, POISON))
				pool.bad_poison++;
			pool.used[f + k] = 1;
		}
		/* Drop the run's frames from the free stack. */
		for (long k = 0; k < pool.nfree; k++)
			if (!(pool.stack[k] >= f && pool.stack[k] < f + 512))
				pool.stack[n++] = pool.stack[k];
		pool.nfree = n;
		__atomic_store_n(&pool.live, pool.live + 512, __ATOMIC_RELAXED);
		p = pool.base + f * 4096;
	}
out:
	pthread_mutex_unlock(&pool.lock);
	return p;
}

/* ---- metadata, store pages, scratch ---- */

static long meta_live, meta_fail_after = -1;

static inline void *env_alloc_meta(size_t bytes)
{
	if (meta_fail_after == 0)
		return NULL;
	if (meta_fail_after > 0)
		meta_fail_after--;
	__atomic_fetch_add(&meta_live, (long)bytes, __ATOMIC_RELAXED);
	return calloc(1, bytes);
}

static inline void env_free_meta(void *p, size_t bytes)
{
	__atomic_fetch_sub(&meta_live, (long)bytes, __ATOMIC_RELAXED);
	free(p);
}

/*
 * The per-gfn arrays: address space reserved PROT_NONE (touching an unbacked
 * chunk faults, as in the hypervisor), made readable and writable chunk by
 * chunk; fresh anonymous pages read as zeros.  meta_live counts the bitmap
 * and the backed bytes; meta_fail_after counts backings and reservations too.
 */
static long meta_reserved;

static inline bool env_meta_fail(void)
{
	long n = __atomic_load_n(&meta_fail_after, __ATOMIC_RELAXED);

	if (n == 0)
		return true;
	if (n > 0)
		__atomic_fetch_sub(&meta_fail_after, 1, __ATOMIC_RELAXED);
	return false;
}

static inline void *env_reserve_meta(size_t bytes)
{
	void *p;

	if (env_meta_fail())
		return NULL;
	p = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	__atomic_fetch_add(&meta_reserved, (long)bytes, __ATOMIC_RELAXED);
	return p;
}

/* Bytes of [p, p + bytes) mapped readable (backed): mincore() cannot tell PROT_NONE apart. */
static inline long env_backed_bytes(void *p, size_t bytes)
{
	unsigned long start = (unsigned long)p, end = start + bytes, a, b;
	char line[256], perms[8];
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) != 3 || b <= start || a >= end)
			continue;
		if (perms[0] == 'r')
			n += (long)((b < end ? b : end) - (a > start ? a : start));
	}
	if (f)
		fclose(f);
	return n;
}

/* Backing what is backed already changes nothing and counts nothing, as in the vmap. */
static inline int env_back_meta(void *p, size_t bytes)
{
	long before;

	if (env_meta_fail())
		return -1;
	before = env_backed_bytes(p, bytes);
	if (mprotect(p, bytes, PROT_READ | PROT_WRITE))
		return -1;
	__atomic_fetch_add(&meta_live, (long)bytes - before, __ATOMIC_RELAXED);
	return 0;
}

static inline void env_release_meta(void *p, size_t bytes)
{
	__atomic_fetch_sub(&meta_live, env_backed_bytes(p, bytes), __ATOMIC_RELAXED);
	__atomic_fetch_sub(&meta_reserved, (long)bytes, __ATOMIC_RELAXED);
	munmap(p, bytes);
}

static __thread struct zstore_scratch tls_scratch;

static inline struct zstore_scratch *env_scratch(void)
{
	return &tls_scratch;
}

static const struct memslot_ops env_ms_ops = {
	.alloc_page = env_alloc_page,
	.free_page = env_free_page,
	.alloc_meta = env_alloc_meta,
	.free_meta = env_free_meta,
#ifndef BENCH_V1	/* the design before issue 14: no 2 MiB leaves, metadata all at once */
	.alloc_huge = env_alloc_huge,
	.reserve_meta = env_reserve_meta,
	.back_meta = env_back_meta,
	.release_meta = env_release_meta,
#endif
	.scratch = env_scratch,
};

/* The store's pages: a budget (< 0: none) to make it run out. */
static long store_live, store_budget = -1;

static inline void *env_store_alloc(void *ctx)
{
	(void)ctx;
	if (__atomic_load_n(&store_budget, __ATOMIC_RELAXED) == 0)
		return NULL;
	if (__atomic_load_n(&store_budget, __ATOMIC_RELAXED) > 0)
		__atomic_fetch_sub(&store_budget, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&store_live, 1, __ATOMIC_RELAXED);
	return aligned_alloc(4096, 4096);
}

static inline void env_store_free(void *ctx, void *p)
{
	(void)ctx;
	__atomic_fetch_sub(&store_live, 1, __ATOMIC_RELAXED);
	free(p);
}

static const struct zstore_ops env_store_ops = { env_store_alloc, env_store_free };

static inline struct zstore_stats store_stats(struct zstore *zs)
{
	struct zstore_stats st;

	zstore_get_stats(zs, &st);
	return st;
}

/* ---- a VM: EPT MMU + memslot ---- */

struct tvm {
	struct ept_vm ept;
	struct memslot ms;
	/*
	 * Optional: model INVEPT, ask the vCPUs to reload, widen the resolve
	 * window, check a table page (or root) before it is freed.
	 */
	void (*flush_hook)(struct tvm *t, struct ept_root *root);
	void (*kick_hook)(struct tvm *t);
	void (*resolve_hook)(struct tvm *t, uint64_t gfn);
	void (*free_table_hook)(struct tvm *t, void *page);
	long flushes, kicks;
};

static long tables_live;

static inline struct tvm *tvm_of(struct ept_vm *vm)
{
	return vm->priv;
}

static inline void *env_alloc_table(struct ept_vm *vm)
{
	void *p = aligned_alloc(4096, 4096);

	(void)vm;
	memset(p, 0, 4096);
	__atomic_fetch_add(&tables_live, 1, __ATOMIC_RELAXED);
	return p;
}

static inline void env_free_table(struct ept_vm *vm, void *p)
{
	struct tvm *t = tvm_of(vm);

	if (t->free_table_hook)
		t->free_table_hook(t, p);
	memset(p, 0x5a, 4096);
	free(p);
	__atomic_fetch_sub(&tables_live, 1, __ATOMIC_RELAXED);
}

static inline void env_flush(struct ept_vm *vm, struct ept_root *root)
{
	struct tvm *t = tvm_of(vm);

	__atomic_fetch_add(&t->flushes, 1, __ATOMIC_RELAXED);
	if (t->flush_hook)
		t->flush_hook(t, root);
}

static inline void env_kick(struct ept_vm *vm)
{
	struct tvm *t = tvm_of(vm);

	__atomic_fetch_add(&t->kicks, 1, __ATOMIC_RELAXED);
	if (t->kick_hook)
		t->kick_hook(t);
}

static inline bool env_resolve(struct ept_vm *vm, uint64_t gfn, uint64_t *hpa, int *max_level)
{
	struct tvm *t = tvm_of(vm);
#ifdef BENCH_V1
	bool ok = memslot_resolve(&t->ms, gfn, hpa);

	*max_level = 1;
#else
	bool ok = memslot_resolve_level(&t->ms, gfn, hpa, max_level);
#endif

	if (t->resolve_hook)
		t->resolve_hook(t, gfn);
	return ok;
}

static inline void env_leaf_set(struct ept_vm *vm, uint64_t gfn, int level, uint64_t *sptep)
{
	memslot_leaf_set(&tvm_of(vm)->ms, gfn, level, sptep);
}

static inline void env_leaf_clear(struct ept_vm *vm, uint64_t gfn, int level, uint64_t *sptep,
				  uint64_t old)
{
	(void)old;
	memslot_leaf_clear(&tvm_of(vm)->ms, gfn, level, sptep);
}

static const struct ept_ops env_ept_ops = {
	.alloc_table = env_alloc_table,
	.free_table = env_free_table,
	.flush = env_flush,
	.kick_vcpus = env_kick,
	.resolve = env_resolve,
	.now_ns = now_ns,
	.leaf_set = env_leaf_set,
	.leaf_clear = env_leaf_clear,
};

/* A VM of @nr_pages gfns, all in one region and one memslot storing into @zs. */
static inline int tvm_init(struct tvm *t, struct zstore *zs, uint64_t nr_pages)
{
	memset(t, 0, sizeof(*t));
	ept_vm_init(&t->ept, &env_ept_ops, t);
	if (memslot_init(&t->ms, &t->ept, &env_ms_ops, zs, nr_pages, t))
		return -1;
	t->ms.rmap_ops = &env_rmap_ops;
	return ept_add_region(&t->ept, 0, nr_pages);
}

/* Every vCPU has put its root. */
static inline void tvm_destroy(struct tvm *t)
{
	ept_vm_destroy(&t->ept);
	memslot_destroy(&t->ms);
}

/*
 * A test's world on CPU 0: every counter zeroed, @frames guest pages (at most
 * @limit in use; < 0: no limit), the store @zs.  env_world_end() takes it
 * down after the VMs and says whether every page, store page, table,
 * descriptor and byte of metadata came back.
 */
static inline void env_world_begin(struct zstore *zs, long frames, long limit)
{
	tables_live = desc_live = meta_live = store_live = meta_reserved = 0;
	meta_fail_after = store_budget = -1;
	pool_init(frames, limit, true);
	zstore_init(zs, &env_store_ops, NULL);
	hosted_cpu_id = 0;
	grace_cpu_online(0);
}

static inline bool env_world_end(struct zstore *zs)
{
	bool ok;

	grace_barrier();
	zstore_destroy(zs);
	ok = pool_live() == 0 && store_live == 0 && tables_live == 0 && desc_live == 0 &&
	     meta_live == 0 && meta_reserved == 0 && pool.bad_poison == 0 && pool.bad_free == 0;
	if (!ok)
		printf("# left: pages %ld, store pages %ld, tables %ld, descriptors %ld, "
		       "metadata %ld B (%ld B reserved)\n", pool_live(), store_live, tables_live,
		       desc_live, meta_live, meta_reserved);
	pool_fini();
	grace_cpu_offline(0);
	return ok;
}

/* ---- the hardware ---- */

/*
 * The leaf entry for @gfn in @root: the 4 KiB one, or the 2 MiB leaf over it
 * (*level says which, when asked).  NULL if a table on the way is missing.
 * Under grace.
 */
static inline ept_spte_t *hw_leafp(struct ept_root *root, uint64_t gfn, int *level)
{
	ept_spte_t *table = ept_pa_to_va(root->table_pa), s;
	int l;

	for (l = EPT_ROOT_LEVEL; l > 1; l--) {
		s = ept_spte_read(&table[ept_index(gfn, l)]);
		if (ept_spte_is_leaf(s, l))
			break;
		if (!ept_spte_present(s))
			return NULL;
		table = ept_pa_to_va(ept_spte_addr(s));
	}
	if (level)
		*level = l;
	return &table[ept_index(gfn, l)];
}

/* The 4 KiB entry for @gfn in @root, or NULL if a table on the way is missing; under grace. */
static inline ept_spte_t *hw_sptep(struct ept_root *root, uint64_t gfn)
{
	int level = 0;
	ept_spte_t *p = hw_leafp(root, gfn, &level);

	return level == 1 ? p : NULL;
}

/*
 * The CPU's access through @root to @gfn: a present leaf (4 KiB or 2 MiB)
 * gets its accessed bit (atomically, only while it is still that leaf);
 * returns the page, or NULL where the access would take an EPT violation.
 * Under grace.
 */
static inline void *hw_access(struct ept_root *root, uint64_t gfn)
{
	int level;
	ept_spte_t *sptep = hw_leafp(root, gfn, &level), v;

	if (!sptep)
		return NULL;
	v = ept_spte_read(sptep);
	while (ept_spte_present(v) && !(v & EPT_ACCESSED) &&
	       !__atomic_compare_exchange_n(sptep, &v, v | EPT_ACCESSED, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE))
		;
	if (!ept_spte_present(v))
		return NULL;
	return (char *)ept_pa_to_va(ept_spte_addr(v)) +
	       ((gfn & (ept_level_pages(level) - 1)) << EPT_PAGE_SHIFT);
}

/*
 * A guest access from this (single) CPU: fault until mapped, reloading the
 * root when it went invalid.  The page, or NULL on EPT_NOMEM/EPT_NO_MEMSLOT.
 */
static inline void *tvm_touch(struct tvm *t, struct ept_root **root, uint64_t gfn)
{
	for (int tries = 0; tries < 64; tries++) {
		enum ept_fault_result r;
		void *page;

		grace_read_lock();
		page = hw_access(*root, gfn);
		grace_read_unlock();
		if (page)
			return page;
		r = ept_fault(&t->ept, *root, gfn << EPT_PAGE_SHIFT, EPT_RWX);
		if (r == EPT_NOMEM || r == EPT_NO_MEMSLOT)
			return NULL;
		if (READ_ONCE((*root)->invalid)) {
			ept_root_put(&t->ept, *root);
			*root = ept_root_load_for_vcpu(&t->ept);
		}
	}
	return NULL;
}

/* Is @gfn mapped (a present leaf, 4 KiB or 2 MiB) in @root? */
static inline bool hw_mapped(struct ept_root *root, uint64_t gfn)
{
	ept_spte_t *sptep;
	bool m;

	grace_read_lock();
	sptep = hw_leafp(root, gfn, NULL);
	m = sptep && ept_spte_present(ept_spte_read(sptep));
	grace_read_unlock();
	return m;
}

#endif
