/* SPDX-License-Identifier: MIT */
/*
 * A guest's memory as the primary MMU sees it: for every gfn of
 * [0, nr_pages), the host page behind it, or the store handle it was evicted
 * to, or nothing yet (reads as zeros).  It plays the part of KVM's memslots
 * plus the host mm: the EPT MMU (ept/) maps what memslot_resolve() hands it,
 * and reclaim takes pages away only through ept invalidations.
 *
 * Per gfn it keeps a slot word, changed only by compare-and-exchange (no
 * per-memslot lock: populate, refault, aging and eviction race on it as the
 * model tests/models/gfn_state.pml says), and the rmap head of its host page
 * (the 4 KiB EPT leaves mapping it, filled by the ept leaf hooks); per 2 MiB
 * block of gfns, the rmap head of its 2 MiB leaves.  Host pages back single
 * gfns, never shared, so the rmap head of a gfn is the rmap head of its host
 * page.
 *
 * 2 MiB leaves: the first touch of an empty, whole 2 MiB block of gfns takes
 * a 2 MiB host block when ops->alloc_huge() has one, and gives each gfn its
 * own 4 KiB page of it (each freed on its own later).  A block whose 512
 * slots are resident on one aligned, contiguous host range may be mapped by
 * one 2 MiB leaf; it ages as one unit, since the one accessed bit is every
 * page's.  Evicting part of it splits the leaf under the invalidation
 * (ept/zap.c) and the rest stays mapped by 4 KiB leaves.
 *
 * Lock order: mmu_lock -> ms->age_lock (one aging pass at a time; only the
 * aging baseline takes it inside mmu_lock) -> ept roots_lock, and mmu_lock ->
 * rmap bit lock.  Faults, refaults and eviction take no memslot lock, but
 * for ms->meta_lock (innermost but for the allocator's) around backing a
 * chunk of metadata, once per chunk.
 */
#ifndef RMAP_MEMSLOT_H
#define RMAP_MEMSLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ept/vm.h"
#include "store/zstore.h"
#include "rmap/gen.h"
#include "rmap/rmap.h"
#include "smp/spinlock.h"

/*
 * A slot word: the state in bits 0-2; a RESIDENT or EVICTING slot has the
 * host page's address in bits 12-51, its generation's sequence number
 * (rmap/gen.h) in bits 3-8 and a pin count in bits 9-11 (memslot_access()
 * copying); an EVICTED or LOADING one has the store handle from bit 12.
 *
 *	EMPTY		never populated: reads as zeros
 *	RESIDENT	backed by the host page
 *	EVICTING	claimed by reclaim inside an open invalidation of the gfn
 *	EVICTED		in the store
 *	LOADING		claimed by one refault, which restores the handle
 *
 * Only the claimer leaves EVICTING or LOADING.
 */
#define MS_EMPTY		0x0ull
#define MS_RESIDENT		0x1ull
#define MS_EVICTING		0x2ull
#define MS_EVICTED		0x3ull
#define MS_LOADING		0x4ull
#define MS_STATE_MASK		0x7ull
#define MS_GEN_SHIFT		3
#define MS_GEN_MASK		(0x3full << MS_GEN_SHIFT)
#define MS_PIN_SHIFT		9
#define MS_PIN_ONE		(1ull << MS_PIN_SHIFT)
#define MS_PIN_MASK		(0x7ull << MS_PIN_SHIFT)
#define MS_HANDLE_SHIFT		12
#define MS_ADDR_MASK		0x000ffffffffff000ull

static inline uint64_t ms_slot_state(uint64_t v)
{
	return v & MS_STATE_MASK;
}

static inline unsigned int ms_slot_gen_idx(uint64_t v)
{
	return (unsigned int)((v & MS_GEN_MASK) >> MS_GEN_SHIFT);
}

struct memslot;
struct reclaim;

struct memslot_ops {
	/* A 4 KiB page for guest data (contents undefined), or NULL: at or over the limit. */
	void *(*alloc_page)(struct memslot *ms);
	void (*free_page)(struct memslot *ms, void *page);
	/*
	 * Optional: 512 pages at one 2 MiB-aligned host address, each given
	 * back on its own through free_page(), or NULL when none is at hand
	 * (never reclaims for one).  NULL op: 4 KiB leaves only.
	 */
	void *(*alloc_huge)(struct memslot *ms);
	/* Small zeroed blocks (the backed bitmap), and their release. */
	void *(*alloc_meta)(size_t bytes);
	void (*free_meta)(void *p, size_t bytes);
	/*
	 * The per-gfn arrays: @bytes of address space with nothing behind it
	 * (NULL: none left); [@p, @p + @bytes) (page aligned) backed by zeroed
	 * memory, 0, or -1 out of memory (what was backed stays backed); and
	 * the whole reservation back, backed or not.  Nothing touched an
	 * unbacked page: it may fault (the hypervisor's vmap, a PROT_NONE
	 * mapping in host tests).
	 */
	void *(*reserve_meta)(size_t bytes);
	int (*back_meta)(void *p, size_t bytes);
	void (*release_meta)(void *p, size_t bytes);
	/* This CPU's (thread's) scratch for the store; never shared between concurrent calls. */
	struct zstore_scratch *(*scratch)(void);
};

struct memslot_stats {
	uint64_t populated;	/* pages given their first host page */
	uint64_t resident;	/* slots backed by a host page now */
	uint64_t evicted;	/* slots in the store now */
	uint64_t evictions;	/* pages ever evicted */
	uint64_t refaults;	/* evicted pages brought back */
	uint64_t zero_evictions;/* ... of which were all zero */
	uint64_t nomem;		/* resolves that found no page even after reclaim */
	uint64_t incompressible;/* victims kept because the store refused them */
	uint64_t discarded;	/* pages dropped by memslot_discard() that held memory */
	uint64_t meta_bytes;	/* per-gfn metadata backed now: chunks and the bitmap */
	uint64_t huge_populated;/* 2 MiB blocks taken at a first touch */
	uint64_t leaves_4k;	/* EPT leaves mapping the memslot now: 4 KiB... */
	uint64_t leaves_2m;	/* ... and 2 MiB */
};

#define MS_HUGE_PAGES		512	/* gfns a 2 MiB leaf maps */

/*
 * Metadata: the slot words and rmap heads of [0, nr_pages), and the 2 MiB
 * rmap heads, sit in address space reserved at init (16 B a gfn: 4 GiB for a
 * guest of 1 TiB) and are backed a chunk of MEMSLOT_META_CHUNK gfns (4 KiB
 * of slot words, 4 KiB of rmap heads, and the page holding the chunk's 2 MiB
 * rmap head) at a time, by the first resolve of a gfn in the chunk.  A
 * chunk is never unbacked before memslot_destroy().  An unbacked chunk is
 * EMPTY and unmapped throughout, so scans skip it and a guest of 1 TiB
 * costs only the chunks it touched (plus 1 bit of bitmap per chunk).
 */
#define MEMSLOT_META_CHUNK	512	/* a 2 MiB block of guest memory */

struct memslot {
	struct ept_vm *ept;
	const struct memslot_ops *ops;
	struct zstore *store;		/* where evicted pages go (shared by guests) */
	struct reclaim *reclaim;	/* asked for pages when alloc_page() fails; may be NULL */
	void *priv;
	uint64_t nr_pages;
	/* 2 MiB leaves wanted (needs ops->alloc_huge); set by the owner after init. */
	bool huge;

	/* The slot words (above); atomics only.  Only backed chunks may be touched. */
	uint64_t *slots;
	/* The rmap heads, one per gfn (rmap/rmap.h says how they are locked)... */
	struct rmap_head *rmaps;
	/* ... and one per 2 MiB block of gfns (= chunk), for its 2 MiB leaves. */
	struct rmap_head *rmaps_2m;
	/*
	 * One bit per chunk of MEMSLOT_META_CHUNK gfns: its slot words and rmap
	 * heads are backed.  Set once, under meta_lock, with release; read with
	 * acquire (memslot_meta_backed()); cleared only by memslot_destroy().
	 */
	uint64_t *backed;
	/* Serialises backing chunks: the bitmap's writers and ops->back_meta(). */
	spinlock_t meta_lock;
	/* Generation numbers and their counts (rmap/gen.h). */
	struct gen_seqs gens;
	/* One aging pass at a time; faults and eviction never take it. */
	spinlock_t age_lock;
	/* Where reclaim's scan for old pages goes on (a clock hand); the caller serialises. */
	uint64_t clock;

	/* The rmap's descriptor source (rmap/rmap.h); NULL ops: single entries only. */
	const struct rmap_ops *rmap_ops;

	/* Counters, changed and read with atomics. */
	struct memslot_stats st;

	/* On the reclaim's list (reclaim->lock). */
	struct memslot *next;
};

/*
 * Is the metadata of @gfn's chunk backed?  Unbacked means EMPTY.  Acquire:
 * pairs with the release in back_chunk(), so that the mapping (and the zeroes
 * behind it) are seen before the words are read.
 */
static inline bool memslot_meta_backed(const struct memslot *ms, uint64_t gfn)
{
	uint64_t c = gfn / MEMSLOT_META_CHUNK;

	return (__atomic_load_n(&ms->backed[c / 64], __ATOMIC_ACQUIRE) >> (c % 64)) & 1;
}

/*
 * memslot_meta_bytes - what the metadata of a memslot of @nr_pages gfns
 * would cost with every chunk backed (the worst case; it is backed lazily).
 */
uint64_t memslot_meta_bytes(uint64_t nr_pages);

/** memslot_init - an empty memslot of @nr_pages gfns behind @ept; -1 without metadata memory. */
int memslot_init(struct memslot *ms, struct ept_vm *ept, const struct memslot_ops *ops,
		 struct zstore *store, uint64_t nr_pages, void *priv);
/**
 * memslot_destroy - give back every host page and store handle.  The EPT MMU
 * must map nothing any more (ept_vm_destroy() first) and nobody resolve.
 */
void memslot_destroy(struct memslot *ms);

/**
 * memslot_resolve - the host page behind @gfn, allocated (zeroed) or restored
 * from the store if need be: the ept resolve op.  No mmu_lock held.  False
 * when no page can be had even after reclaim.  For a gfn being evicted it
 * returns the claimed page: the caller must install only through the
 * invalidation-sequence check, which refuses it (the invalidation was opened
 * before the claim).
 */
bool memslot_resolve(struct memslot *ms, uint64_t gfn, uint64_t *hpa);

/**
 * memslot_resolve_level - the same, and in *@level the largest leaf that
 * may map it: 2 when its 2 MiB block is resident on one aligned host block
 * (populating one at a first touch, see above), else 1.  The fault's
 * invalidation check must then cover the whole block (ept/fault.c does).
 */
bool memslot_resolve_level(struct memslot *ms, uint64_t gfn, uint64_t *hpa, int *level);

/**
 * memslot_access - copy @len bytes at guest physical @gpa to or from @buf,
 * populating or restoring pages as needed; the hypervisor's own accesses
 * (image loading, hypercall arguments).  -1 outside the memslot or out of memory.
 */
int memslot_access(struct memslot *ms, uint64_t gpa, void *buf, uint64_t len, bool write);

/* The ept leaf hooks: keep the rmap of @gfn's page in step with the EPT. */
void memslot_leaf_set(struct memslot *ms, uint64_t gfn, int level, uint64_t *sptep);
void memslot_leaf_clear(struct memslot *ms, uint64_t gfn, int level, uint64_t *sptep);

/**
 * memslot_age - one aging pass: every resident page one generation older,
 * except those whose leaves were accessed since the last pass, which go to
 * the youngest.  Walks every valid root's leaves in gfn order without
 * mmu_lock (ept_test_clear_young()) and changes a young page's slot word by
 * one compare-and-exchange; takes nothing a fault takes.  Returns the number
 * of pages found young.
 */
size_t memslot_age(struct memslot *ms);

/**
 * memslot_age_locked - the same pass under mmu_lock held for write: the
 * baseline the benchmark compares lockless aging with.
 */
size_t memslot_age_locked(struct memslot *ms);

/**
 * memslot_evict_oldest - evict up to @n pages from the oldest generation,
 * if it is @min_gen or older, scanning in gfn order from where the last call
 * stopped: invalidate them in runs of adjacent gfns, claim each slot inside
 * the open invalidation, store the content, free the host pages.  Returns the
 * number of host pages freed.  Serialised by the caller (reclaim); not under
 * any lock.
 */
size_t memslot_evict_oldest(struct memslot *ms, size_t n, unsigned int min_gen);
#define MEMSLOT_EVICT_BATCH	64
#define MEMSLOT_AGE_CHUNK	512	/* gfns an aging pass walks per grace read section */

/**
 * memslot_discard - the guest gave gfns [@gfn, @gfn + @n) back (a balloon, a
 * free page report): their host pages and stored copies are dropped and each
 * reads as zeros again, never populated, until it is touched.  Through the
 * invalidation protocol, one invalidation per run of MEMSLOT_DISCARD_RUN gfns
 * that holds anything; runs that hold nothing cost a scan.  Each gfn goes
 * back to EMPTY by compare-and-exchange on its slot word: a resident page is
 * claimed inside the invalidation like an eviction, then freed; a stored one
 * drops its handle.  A gfn claimed by reclaim or a refault, or pinned by
 * memslot_access(), is waited for; faults racing with it retry through the
 * invalidation sequence.  Gfns past the end are ignored.  Not under any lock (it opens invalidations), like
 * memslot_evict_oldest(); safe against reclaim, faults and aging passes.
 * Returns the number of gfns that held memory (resident or stored).
 */
size_t memslot_discard(struct memslot *ms, uint64_t gfn, uint64_t n);
#define MEMSLOT_DISCARD_RUN	512	/* a 2 MiB block: what Linux reports at once */

/* The counters and the generation histogram (may be NULL), read without a lock. */
void memslot_stats(struct memslot *ms, struct memslot_stats *st, size_t hist[GEN_NR]);

/* What `page GUEST GPA` shows. */
enum memslot_page_state { MS_PAGE_EMPTY, MS_PAGE_RESIDENT, MS_PAGE_EVICTED, MS_PAGE_ZERO };
struct memslot_page_info {
	enum memslot_page_state state;
	uint64_t hpa;		/* MS_PAGE_RESIDENT */
	uint64_t handle;	/* MS_PAGE_EVICTED, MS_PAGE_ZERO */
	unsigned int gen;	/* generation, if tracked */
	bool tracked;		/* resident and not claimed by reclaim */
	unsigned int mappings;	/* EPT entries in the rmap */
	unsigned int mappings_2m;	/* 2 MiB leaves over its block */
};
/** memslot_page_info - the state of @gfn; false outside the memslot. */
bool memslot_page_info(struct memslot *ms, uint64_t gfn, struct memslot_page_info *out);

/** memslot_gfn_of_hpa - the gfn @hpa backs in @ms, if it does (linear scan: for the shell). */
bool memslot_gfn_of_hpa(struct memslot *ms, uint64_t hpa, uint64_t *gfn);

#endif
