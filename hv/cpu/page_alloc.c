/* SPDX-License-Identifier: MIT */
/*
 * Buddy allocator over the frames of one span.  A free block of 2^k pages is
 * naturally aligned in physical frame numbers; its first struct page is
 * PAGE_FREE with order k and sits on free_head[k], the others are PAGE_TAIL.
 * Freeing merges a block with its buddy (pfn ^ 2^k) while that is a free
 * block of the same order, so the lists never hold two mergeable halves.
 *
 * Single pages go through a per-CPU cache first: a CPU takes PAGE_PCP_BATCH
 * pages from the free lists when its cache is empty and gives as many back
 * when it reaches PAGE_PCP_HIGH, so the global lock is taken once per batch.
 */
#include "hv/cpu/page_alloc.h"
#include "smp/lockdep.h"

#include "lib/check.h"
#include "lib/printk.h"
#include "smp/atomic.h"
#include "smp/cpu.h"
#include "smp/spinlock.h"

#define NIL		UINT32_MAX	/* end of a list of frame indices */

#define STATE(s, order)	((uint32_t)(s) | (uint32_t)(order) << 8)

BUILD_BUG_ON(sizeof(struct page) != 16);
BUILD_BUG_ON(PAGE_PCP_BATCH > PAGE_PCP_HIGH);

/*
 * A CPU's cache of single pages.  Only that CPU touches it (no lock; the
 * global lock only while moving pages between the cache and the free lists),
 * except page_alloc_drain_cpu() for a stopped CPU.  page_alloc_stats() reads
 * count and the counters from anywhere, so their writers use WRITE_ONCE().
 */
struct pcp {
	uint32_t head;		/* LIFO of PAGE_PCP pages through lru.next */
	uint32_t count;
	uint64_t allocs;
	uint64_t frees;
	uint64_t failures;
	uint64_t invalid_frees;
} __attribute__((aligned(64)));

static struct pcp pcps[SMP_MAX_CPUS];

/* Set by page_alloc_init() before other CPUs run, read-only afterwards. */
static struct page *meta;
static uint64_t start_pfn, end_pfn;

/*
 * lock protects the free lists, their counts, total_pages, nr_free, and the
 * state and lru links of every page that is neither allocated nor cached.
 * An allocated page belongs to its owner and a cached one to its CPU, which
 * move single pages between the two without the lock: page_alloc() stores
 * PAGE_ALLOCATED over PAGE_PCP, page_free() swaps PAGE_ALLOCATED for PAGE_PCP
 * by cmpxchg, so of two racing frees of one page exactly one wins.  nr_free
 * is also read without the lock for the watermarks.  Never taken from
 * interrupt or NMI context.
 */
static spinlock_t lock = SPINLOCK_INIT_ORDER(LOCK_ORDER_PAGE_ALLOC);
static uint32_t free_head[PAGE_MAX_ORDER + 1];
static uint64_t nr_blocks[PAGE_MAX_ORDER + 1];
static uint64_t nr_free;		/* pages on the free lists */
static uint64_t total_pages;

/* Lockless: set at boot, read by reclaim. */
static uint64_t wmark_low, wmark_high;

static inline struct page *pfn_page(uint64_t pfn)
{
	return &meta[pfn - start_pfn];
}

static inline uint32_t get_state(const struct page *pg)
{
	return __atomic_load_n(&pg->alloc_state, __ATOMIC_RELAXED);
}

static inline void set_state(struct page *pg, enum page_state s, unsigned int order)
{
	__atomic_store_n(&pg->alloc_state, STATE(s, order), __ATOMIC_RELAXED);
}

static inline struct pcp *this_pcp(void)
{
	return &pcps[smp_processor_id()];
}

/* Counters are written by their own CPU only; see struct pcp. */
static inline void count_inc(uint64_t *ctr)
{
	WRITE_ONCE(*ctr, *ctr + 1);
}

static inline void nr_free_add(int64_t delta)
{
	WRITE_ONCE(nr_free, nr_free + (uint64_t)delta);
}

static void list_add(unsigned int order, uint64_t pfn)
{
	uint32_t idx = (uint32_t)(pfn - start_pfn);
	uint32_t first = free_head[order];

	meta[idx].lru.prev = NIL;
	meta[idx].lru.next = first;
	if (first != NIL)
		meta[first].lru.prev = idx;
	free_head[order] = idx;
	nr_blocks[order]++;
}

static void list_del(unsigned int order, uint32_t idx)
{
	uint32_t next = meta[idx].lru.next, prev = meta[idx].lru.prev;

	if (prev != NIL)
		meta[prev].lru.next = next;
	else
		free_head[order] = next;
	if (next != NIL)
		meta[next].lru.prev = prev;
	nr_blocks[order]--;
}

/*
 * Put the block at @pfn on the free lists, merged with its free buddies.
 * Its pages other than the first are PAGE_TAIL already.  Lock held.
 */
static void free_block(uint64_t pfn, unsigned int order)
{
	lockdep_assert_held(&lock);
	while (order < PAGE_MAX_ORDER) {
		uint64_t buddy = pfn ^ (1ULL << order);

		if (buddy < start_pfn || buddy >= end_pfn ||
		    get_state(pfn_page(buddy)) != STATE(PAGE_FREE, order))
			break;
		list_del(order, (uint32_t)(buddy - start_pfn));
		set_state(pfn_page(pfn | (1ULL << order)), PAGE_TAIL, 0);
		pfn &= ~(1ULL << order);
		order++;
	}
	set_state(pfn_page(pfn), PAGE_FREE, order);
	list_add(order, pfn);
}

/*
 * Take a block of 2^@order pages off the free lists, splitting a larger one
 * if needed; its first page's state is the caller's to set.  Returns its
 * pfn, or 0 when none is free (frame 0 is never on the lists).  Lock held.
 */
static uint64_t take_block(unsigned int order)
{
	unsigned int o = order;
	uint64_t pfn;

	lockdep_assert_held(&lock);
	while (o <= PAGE_MAX_ORDER && free_head[o] == NIL)
		o++;
	if (o > PAGE_MAX_ORDER)
		return 0;
	pfn = start_pfn + free_head[o];
	list_del(o, free_head[o]);
	while (o > order) {
		uint64_t upper;

		o--;
		upper = pfn + (1ULL << o);
		set_state(pfn_page(upper), PAGE_FREE, o);
		list_add(o, upper);
	}
	nr_free_add(-(int64_t)(1ULL << order));
	return pfn;
}

/* Move up to PAGE_PCP_BATCH pages from the free lists to @pcp.  Lock held. */
static void pcp_refill(struct pcp *pcp)
{
	uint32_t n;

	for (n = 0; n < PAGE_PCP_BATCH; n++) {
		uint64_t pfn = take_block(0);

		if (!pfn)
			break;
		set_state(pfn_page(pfn), PAGE_PCP, 0);
		pfn_page(pfn)->lru.next = pcp->head;
		pcp->head = (uint32_t)(pfn - start_pfn);
	}
	WRITE_ONCE(pcp->count, pcp->count + n);
}

/* Give up to @n pages of @pcp back to the free lists.  Lock held. */
static void pcp_drain(struct pcp *pcp, uint32_t n)
{
	uint32_t done;

	for (done = 0; done < n && pcp->head != NIL; done++) {
		uint32_t idx = pcp->head;

		pcp->head = meta[idx].lru.next;
		free_block(start_pfn + idx, 0);
	}
	nr_free_add(done);
	WRITE_ONCE(pcp->count, pcp->count - done);
}

static uint64_t alloc_single(struct pcp *pcp)
{
	struct page *pg;

	if (pcp->head == NIL) {
		spin_lock(&lock);
		pcp_refill(pcp);
		spin_unlock(&lock);
		if (pcp->head == NIL)
			return 0;
	}
	pg = &meta[pcp->head];
	pcp->head = pg->lru.next;
	WRITE_ONCE(pcp->count, pcp->count - 1);
	set_state(pg, PAGE_ALLOCATED, 0);
	pg->flags = 0;
	pg->private = 0;
	return start_pfn + (uint64_t)(pg - meta);
}

static uint64_t alloc_block(struct pcp *pcp, unsigned int order)
{
	uint64_t pfn, i;

	spin_lock(&lock);
	pfn = take_block(order);
	if (!pfn && pcp->count) {
		/* Pages cached here may be the missing buddies. */
		pcp_drain(pcp, PAGE_PCP_HIGH);
		pfn = take_block(order);
	}
	if (pfn)
		set_state(pfn_page(pfn), PAGE_ALLOCATED, order);
	spin_unlock(&lock);

	for (i = 0; pfn && i < (1ULL << order); i++) {
		pfn_page(pfn + i)->flags = 0;
		pfn_page(pfn + i)->private = 0;
	}
	return pfn;
}

uint64_t page_alloc(unsigned int order)
{
	struct pcp *pcp = this_pcp();
	uint64_t pfn = 0;

	if (order == 0)
		pfn = alloc_single(pcp);
	else if (!WARN_ONCE(order > PAGE_MAX_ORDER, "page_alloc(%u): order too large", order))
		pfn = alloc_block(pcp, order);

	if (!pfn) {
		count_inc(&pcp->failures);
		return 0;
	}
	count_inc(&pcp->allocs);
	return pfn << PAGE_SHIFT;
}

/* Free a single page into @pcp; returns the state it found. */
static uint32_t free_single(struct pcp *pcp, struct page *pg)
{
	uint32_t seen = STATE(PAGE_ALLOCATED, 0);

	if (!atomic_try_cmpxchg(&pg->alloc_state, &seen, STATE(PAGE_PCP, 0)))
		return seen;
	pg->lru.next = pcp->head;
	pcp->head = (uint32_t)(pg - meta);
	WRITE_ONCE(pcp->count, pcp->count + 1);
	if (pcp->count >= PAGE_PCP_HIGH) {
		spin_lock(&lock);
		pcp_drain(pcp, PAGE_PCP_BATCH);
		spin_unlock(&lock);
	}
	return STATE(PAGE_ALLOCATED, 0);
}

/* Free a block of order > 0 to the free lists; returns the state it found. */
static uint32_t free_order(struct page *pg, unsigned int order)
{
	uint32_t seen;

	spin_lock(&lock);
	seen = get_state(pg);
	if (seen == STATE(PAGE_ALLOCATED, order)) {
		free_block(start_pfn + (uint64_t)(pg - meta), order);
		nr_free_add(1LL << order);
	}
	spin_unlock(&lock);
	return seen;
}

bool page_split(uint64_t pa, unsigned int order)
{
	struct page *pg = page_of(pa);
	bool ok;

	if (!pg || order > PAGE_MAX_ORDER || (pa & ((PAGE_SIZE << order) - 1)))
		return false;
	spin_lock(&lock);
	ok = get_state(pg) == STATE(PAGE_ALLOCATED, order);
	/* Each page its own allocated block: page_free(..., 0) takes them one by one. */
	for (uint64_t i = 0; ok && i < (1ULL << order); i++)
		set_state(pg + i, PAGE_ALLOCATED, 0);
	spin_unlock(&lock);
	return ok;
}

static const char *state_name(uint32_t state)
{
	static const char *const names[] = {
		[PAGE_TAIL] = "inside a block", [PAGE_RESERVED] = "reserved",
		[PAGE_FREE] = "free", [PAGE_PCP] = "free in a CPU cache",
		[PAGE_ALLOCATED] = "allocated",
	};

	state &= 0xff;
	return state <= PAGE_ALLOCATED ? names[state] : "corrupt";
}

void page_free(uint64_t pa, unsigned int order)
{
	struct pcp *pcp = this_pcp();
	struct page *pg = page_of(pa);
	uint32_t seen;

	if (order > PAGE_MAX_ORDER || !pg || (pa & ((PAGE_SIZE << order) - 1))) {
		WARN_ONCE(true, "page_free(%#llx, %u): not a block of the page allocator's span",
			  (unsigned long long)pa, order);
		count_inc(&pcp->invalid_frees);
		return;
	}
	seen = order ? free_order(pg, order) : free_single(pcp, pg);
	if (seen != STATE(PAGE_ALLOCATED, order)) {
		WARN_ONCE(true, "page_free(%#llx, %u): page is %s, order %u; ignored",
			  (unsigned long long)pa, order, state_name(seen), (seen >> 8) & 0xff);
		count_inc(&pcp->invalid_frees);
		return;
	}
	count_inc(&pcp->frees);
}

size_t page_alloc_meta_size(uint64_t start, uint64_t end)
{
	return end > start ? (size_t)(end - start) * sizeof(struct page) : 0;
}

void page_alloc_init(void *pages, uint64_t start, uint64_t end)
{
	unsigned int i;
	uint64_t pfn;

	BUG_ON(end < start || end - start >= NIL);
	meta = pages;
	start_pfn = start;
	end_pfn = end;
	for (pfn = start; pfn < end; pfn++)
		*pfn_page(pfn) = (struct page){ .alloc_state = STATE(PAGE_RESERVED, 0) };

	spin_lock_init_order(&lock, LOCK_ORDER_PAGE_ALLOC);
	for (i = 0; i <= PAGE_MAX_ORDER; i++) {
		free_head[i] = NIL;
		nr_blocks[i] = 0;
	}
	nr_free = 0;
	total_pages = 0;
	wmark_low = 0;
	wmark_high = 0;
	for (i = 0; i < SMP_MAX_CPUS; i++)
		pcps[i] = (struct pcp){ .head = NIL };
}

/* The largest order of a block that starts at @pfn and fits in @n pages. */
static unsigned int fit_order(uint64_t pfn, uint64_t n)
{
	unsigned int order = PAGE_MAX_ORDER;

	while (order && ((pfn & ((1ULL << order) - 1)) || (1ULL << order) > n))
		order--;
	return order;
}

/* Free the reserved frames [pfn, end) as the largest aligned blocks.  Lock held. */
static void add_run(uint64_t pfn, uint64_t end)
{
	nr_free_add((int64_t)(end - pfn));
	total_pages += end - pfn;
	while (pfn < end) {
		unsigned int order = fit_order(pfn, end - pfn);
		uint64_t i;

		for (i = 1; i < (1ULL << order); i++)
			set_state(pfn_page(pfn + i), PAGE_TAIL, 0);
		free_block(pfn, order);
		pfn += 1ULL << order;
	}
}

void page_alloc_add_free(uint64_t pfn, uint64_t npages)
{
	uint64_t end = npages > UINT64_MAX - pfn ? UINT64_MAX : pfn + npages;
	uint64_t skipped = 0;

	if (pfn < start_pfn)
		pfn = start_pfn;
	if (pfn == 0)
		pfn = 1;	/* 0 is page_alloc()'s "none" */
	if (end > end_pfn)
		end = end_pfn;

	/* Boot time: one lock hold even for a large range is fine. */
	spin_lock(&lock);
	while (pfn < end) {
		uint64_t run = pfn;

		while (pfn < end && get_state(pfn_page(pfn)) == STATE(PAGE_RESERVED, 0))
			pfn++;
		if (pfn > run)
			add_run(run, pfn);
		else {
			skipped++;
			pfn++;
		}
	}
	spin_unlock(&lock);
	WARN_ONCE(skipped, "page_alloc_add_free: %llu pages were not reserved; skipped",
		  (unsigned long long)skipped);
}

struct page *page_of(uint64_t pa)
{
	uint64_t pfn = pa >> PAGE_SHIFT;

	if (pfn < start_pfn || pfn >= end_pfn)
		return NULL;
	return pfn_page(pfn);
}

uint64_t page_to_pa(const struct page *pg)
{
	return (start_pfn + (uint64_t)(pg - meta)) << PAGE_SHIFT;
}

void page_alloc_stats(struct page_alloc_stats *st)
{
	unsigned int i;

	*st = (struct page_alloc_stats){ 0 };
	spin_lock(&lock);
	st->total_pages = total_pages;
	st->free_pages = nr_free;
	for (i = 0; i <= PAGE_MAX_ORDER; i++)
		st->free_blocks[i] = nr_blocks[i];
	spin_unlock(&lock);

	for (i = 0; i < SMP_MAX_CPUS; i++) {
		struct pcp *pcp = &pcps[i];

		st->pcp_pages += READ_ONCE(pcp->count);
		st->allocs += READ_ONCE(pcp->allocs);
		st->frees += READ_ONCE(pcp->frees);
		st->failures += READ_ONCE(pcp->failures);
		st->invalid_frees += READ_ONCE(pcp->invalid_frees);
	}
	st->free_pages += st->pcp_pages;
}

void page_alloc_set_watermarks(uint64_t low_pages, uint64_t high_pages)
{
	WRITE_ONCE(wmark_low, low_pages);
	WRITE_ONCE(wmark_high, high_pages);
}

bool page_alloc_below_low(void)
{
	return READ_ONCE(nr_free) < READ_ONCE(wmark_low);
}

bool page_alloc_above_high(void)
{
	return READ_ONCE(nr_free) >= READ_ONCE(wmark_high);
}

void page_alloc_drain_cpu(unsigned int cpu)
{
	if (WARN_ONCE(cpu >= SMP_MAX_CPUS, "page_alloc_drain_cpu(%u): no such CPU", cpu))
		return;
	spin_lock(&lock);
	pcp_drain(&pcps[cpu], UINT32_MAX);
	spin_unlock(&lock);
}

static bool check_fail(const char *what, uint64_t pfn, uint64_t val)
{
	pr_err("page_alloc_check: %s at pfn %#llx (%llu)\n", what,
	       (unsigned long long)pfn, (unsigned long long)val);
	return false;
}

/* Every list links back correctly, holds only free heads, and matches its count. */
static bool check_lists(void)
{
	uint64_t span = end_pfn - start_pfn, pages = 0;
	unsigned int o, cpu;

	for (o = 0; o <= PAGE_MAX_ORDER; o++) {
		uint32_t idx, prev = NIL;
		uint64_t n = 0;

		for (idx = free_head[o]; idx != NIL; prev = idx, idx = meta[idx].lru.next) {
			uint64_t pfn = start_pfn + idx;

			if (idx >= span || ++n > span)
				return check_fail("free list runs off the span", pfn, o);
			if (meta[idx].lru.prev != prev)
				return check_fail("bad prev link", pfn, o);
			if (get_state(&meta[idx]) != STATE(PAGE_FREE, o))
				return check_fail("listed block not free", pfn, o);
		}
		if (n != nr_blocks[o])
			return check_fail("free block count wrong for order", o, n);
		pages += n << o;
	}
	if (pages != nr_free)
		return check_fail("nr_free wrong", 0, pages);

	for (cpu = 0; cpu < SMP_MAX_CPUS; cpu++) {
		uint32_t idx, n = 0;

		for (idx = pcps[cpu].head; idx != NIL; idx = meta[idx].lru.next) {
			if (idx >= span || ++n > span)
				return check_fail("cache list runs off the span", cpu, idx);
			if (get_state(&meta[idx]) != STATE(PAGE_PCP, 0))
				return check_fail("cached page not PAGE_PCP", start_pfn + idx, cpu);
		}
		if (n != pcps[cpu].count || n > PAGE_PCP_HIGH)
			return check_fail("cache count wrong for cpu", cpu, n);
	}
	return true;
}

/* Every frame belongs to exactly one block, and no two free buddies are left unmerged. */
static bool check_frames(void)
{
	uint64_t pfn = start_pfn, reserved = 0, i;

	while (pfn < end_pfn) {
		uint32_t st = get_state(pfn_page(pfn));
		unsigned int o = st >> 8;

		switch (st & 0xff) {
		case PAGE_RESERVED:
			reserved++;
			/* fall through */
		case PAGE_PCP:
			if (o)
				return check_fail("single page with an order", pfn, o);
			pfn++;
			continue;
		case PAGE_FREE:
		case PAGE_ALLOCATED:
			break;
		default:
			return check_fail("stray tail or corrupt state", pfn, st);
		}
		if (o > PAGE_MAX_ORDER || (pfn & ((1ULL << o) - 1)) || (1ULL << o) > end_pfn - pfn)
			return check_fail("misplaced block", pfn, o);
		for (i = 1; i < (1ULL << o); i++)
			if (get_state(pfn_page(pfn + i)) != STATE(PAGE_TAIL, 0))
				return check_fail("block page not a tail", pfn + i, o);
		if ((st & 0xff) == PAGE_FREE && o < PAGE_MAX_ORDER) {
			uint64_t buddy = pfn ^ (1ULL << o);

			if (buddy >= start_pfn && buddy < end_pfn &&
			    get_state(pfn_page(buddy)) == STATE(PAGE_FREE, o))
				return check_fail("unmerged free buddies", pfn, o);
		}
		pfn += 1ULL << o;
	}
	if (total_pages + reserved != end_pfn - start_pfn)
		return check_fail("total_pages wrong", 0, total_pages);
	return true;
}

bool page_alloc_check(void)
{
	bool ok;

	spin_lock(&lock);
	ok = check_lists() && check_frames();
	spin_unlock(&lock);
	return ok;
}
