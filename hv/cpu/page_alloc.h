/* SPDX-License-Identifier: MIT */
/*
 * The hypervisor's physical page allocator: a buddy allocator over the page
 * frames of one span [start_pfn, end_pfn), with per-CPU caches of single
 * pages.  It never touches the memory it hands out; all its bookkeeping lives
 * in an array of struct page, one per frame of the span, that the caller
 * places (page_alloc_meta_size() bytes).  Frame 0 is never handed out, since
 * a physical address of 0 means "no page".
 */
#ifndef HV_PAGE_ALLOC_H
#define HV_PAGE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1ULL << PAGE_SHIFT)
/* Largest block: 2^10 pages, 4 MiB. */
#define PAGE_MAX_ORDER	10
/* A CPU's cache of single pages refills and drains this many at a time... */
#define PAGE_PCP_BATCH	16
/* ...and drains when it reaches this many, so it holds fewer between calls. */
#define PAGE_PCP_HIGH	64

/* What the allocator knows about a frame; see page_state(). */
enum page_state {
	PAGE_TAIL = 0,		/* inside a free or allocated block, not its first page */
	PAGE_RESERVED,		/* never handed to page_alloc_add_free() */
	PAGE_FREE,		/* first page of a block on a free list */
	PAGE_PCP,		/* a single page in some CPU's cache */
	PAGE_ALLOCATED,		/* first page of a block given out by page_alloc() */
};

/*
 * One per frame, 16 bytes (checked in page_alloc.c): 1 GiB of RAM costs
 * 4 MiB of these.
 */
struct page {
	/*
	 * Allocator-owned: enum page_state in bits 0-7, the block order in
	 * bits 8-15 (meaningful on the first page of a block).  One word, so
	 * state and order change together; read it with page_state() and
	 * page_order().
	 */
	uint32_t alloc_state;
	/* The owner's flags while the page is allocated; zero from page_alloc(). */
	uint32_t flags;
	union {
		/*
		 * The owner's word while the page is allocated, zero from
		 * page_alloc(); the rmap head of a guest page lives here
		 * (rmap/).  Once the page is freed the allocator keeps its
		 * list links here, so whoever may still read it after
		 * page_free() (a lockless walker) must delay the free past a
		 * grace period.
		 */
		uintptr_t private;
		/* Allocator-owned while free: links as frame indices in the span. */
		struct {
			uint32_t next;
			uint32_t prev;
		} lru;
	};
};

struct page_alloc_stats {
	uint64_t total_pages;		/* pages ever given to page_alloc_add_free() */
	uint64_t free_pages;		/* on the free lists plus in the per-CPU caches */
	uint64_t free_blocks[PAGE_MAX_ORDER + 1];
	uint64_t pcp_pages;		/* sum of the per-CPU caches */
	uint64_t allocs;		/* successful page_alloc() calls */
	uint64_t frees;			/* accepted page_free() calls */
	uint64_t failures;		/* page_alloc() calls that returned 0 */
	uint64_t invalid_frees;		/* page_free() calls refused as misuse */
};

/*
 * The state of a page; stable only for a page the caller owns, or for the
 * first page of a block while nothing else runs (tests, the debug shell).
 */
static inline enum page_state page_state(const struct page *pg)
{
	return (enum page_state)(__atomic_load_n(&pg->alloc_state, __ATOMIC_RELAXED) & 0xff);
}

static inline unsigned int page_order(const struct page *pg)
{
	return (__atomic_load_n(&pg->alloc_state, __ATOMIC_RELAXED) >> 8) & 0xff;
}

/* Bytes of struct page needed for the span [start_pfn, end_pfn). */
size_t page_alloc_meta_size(uint64_t start_pfn, uint64_t end_pfn);

/*
 * Take over the span [start_pfn, end_pfn) with its metadata at @meta
 * (page_alloc_meta_size() bytes, no alignment beyond 8 needed).  Every page
 * starts reserved.  Boot only, before any other CPU allocates.
 */
void page_alloc_init(void *meta, uint64_t start_pfn, uint64_t end_pfn);

/*
 * Hand the reserved frames [pfn, pfn + npages) to the allocator, as the
 * largest naturally aligned blocks that fit, merged with free neighbours.
 * Parts outside the span, frame 0 and frames not reserved (already free or
 * allocated: a WARN_ONCE) are skipped.
 */
void page_alloc_add_free(uint64_t pfn, uint64_t npages);

/*
 * The physical address of a free block of 2^@order pages aligned to its
 * size, or 0 when there is none.  The block's struct pages have private and
 * flags zeroed.  Order 0 is served from this CPU's cache.  Not from interrupt
 * or NMI context: the per-CPU cache is not protected against them.
 */
uint64_t page_alloc(unsigned int order);

/*
 * Give back a block from page_alloc(@order).  A double free, a wrong order,
 * an address that is not the start of an allocated block or lies outside the
 * span is refused with a WARN_ONCE and counted in invalid_frees; nothing
 * changes.  Same context rule as page_alloc().
 */
void page_free(uint64_t pa, unsigned int order);

/*
 * Turn the block page_alloc(@order) returned at @pa into 2^@order single
 * allocated pages, each given back by page_free(pa, 0) on its own (a 2 MiB
 * block of guest memory whose pages are evicted one at a time).  False if
 * @pa is not such a block; nothing changes then.
 */
bool page_split(uint64_t pa, unsigned int order);

/* The struct page of the frame holding @pa, NULL outside the span. */
struct page *page_of(uint64_t pa);

/* The physical address of the frame @pg describes. */
uint64_t page_to_pa(const struct page *pg);

/*
 * A snapshot of the counters.  Taken under the allocator lock but the
 * per-CPU parts are read as they are, so it is exact only when no other CPU
 * allocates or frees.
 */
void page_alloc_stats(struct page_alloc_stats *st);

/*
 * Watermarks for reclaim, in pages free on the free lists (the per-CPU
 * caches are not counted, so the estimate errs towards reclaiming).
 */
void page_alloc_set_watermarks(uint64_t low_pages, uint64_t high_pages);
bool page_alloc_below_low(void);
bool page_alloc_above_high(void);

/*
 * Return every page of @cpu's cache to the free lists.  Call it on @cpu
 * itself, or for a CPU that is stopped or offline: a cache is otherwise
 * touched only by its own CPU.
 */
void page_alloc_drain_cpu(unsigned int cpu);

/*
 * Check every invariant of the free lists, the page states and the caches;
 * false (with a message) on the first one broken.  Walks the whole span and
 * every cache, so only for tests and the debug shell, with the system quiet.
 */
bool page_alloc_check(void);

#endif
