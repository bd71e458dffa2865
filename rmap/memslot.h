/* SPDX-License-Identifier: MIT */
/*
 * A guest's memory as the primary MMU sees it: for every gfn of
 * [0, nr_pages), the host page behind it, or the store handle it was evicted
 * to, or nothing yet (reads as zeros).  It plays the part of KVM's memslots
 * plus the host mm: the EPT MMU (ept/) maps what memslot_resolve() hands it,
 * and reclaim takes pages away only through ept invalidations.
 *
 * Per gfn it keeps a slot word and a struct gen_page: the page's rmap head
 * (the EPT entries mapping it, filled by the ept leaf hooks) and its
 * generation for reclaim.  Host pages back single gfns, never shared, so
 * the rmap head of a gfn is the rmap head of its host page.
 *
 * Lock order: mmu_lock -> ms->lock -> zstore lock, and either -> rmap bit
 * lock.  Only the aging baseline takes ms->lock inside mmu_lock; nothing
 * takes mmu_lock (nor opens an invalidation) while holding ms->lock.
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
 * A slot word: 0 (never populated), hpa | MS_RESIDENT, or
 * (handle << MS_HANDLE_SHIFT) | MS_EVICTED.
 */
#define MS_RESIDENT		0x1ull
#define MS_EVICTED		0x2ull
#define MS_HANDLE_SHIFT		12

struct memslot;
struct reclaim;

struct memslot_ops {
	/* A 4 KiB page for guest data (contents undefined), or NULL: at or over the limit. */
	void *(*alloc_page)(struct memslot *ms);
	void (*free_page)(struct memslot *ms, void *page);
	/* Zeroed memory for the per-gfn arrays, and its release. */
	void *(*alloc_meta)(size_t bytes);
	void (*free_meta)(void *p, size_t bytes);
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
};

struct memslot {
	struct ept_vm *ept;
	const struct memslot_ops *ops;
	struct zstore *store;		/* where evicted pages go (shared by guests) */
	struct reclaim *reclaim;	/* asked for pages when alloc_page() fails; may be NULL */
	void *priv;
	uint64_t nr_pages;

	/*
	 * lock: slot transitions (empty/evicted -> resident -> evicted), the
	 * generations in lru and each page's link/gen/tracked.  A resident slot
	 * is read without it (memslot_resolve()'s fast path): its host page
	 * cannot go while an EPT fault could still install it, because eviction
	 * opens an invalidation over the gfn before it frees the page.
	 * Invariant: a resident slot is tracked in lru, except while reclaim
	 * holds it between gen_pick_oldest() and its eviction.
	 */
	spinlock_t lock;
	uint64_t *slots;
	struct gen_page *pages;
	struct gen_lru lru;

	/* The rmap's descriptor source (rmap/rmap.h); NULL ops: single entries only. */
	const struct rmap_ops *rmap_ops;

	/* Counters: under lock; resident is also read without it (WRITE_ONCE). */
	struct memslot_stats st;

	/* On the reclaim's list (reclaim->lock). */
	struct memslot *next;
};

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
 * when no page can be had even after reclaim.
 */
bool memslot_resolve(struct memslot *ms, uint64_t gfn, uint64_t *hpa);

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
 * memslot_age - one aging pass over the resident pages, lockless towards the
 * EPT MMU (grace read section and rmap read-only bit locks, no mmu_lock);
 * it drops ms->lock every MEMSLOT_AGE_BATCH pages so that faults populating
 * or refaulting pages do not wait for the whole pass.
 * Returns the number of pages found young.
 */
size_t memslot_age(struct memslot *ms);

/**
 * memslot_age_locked - the same pass under mmu_lock held for write: the
 * baseline the benchmark compares lockless aging with.
 */
size_t memslot_age_locked(struct memslot *ms);

/**
 * memslot_evict_oldest - evict up to @n pages from the oldest generation,
 * if it is @min_gen or older:
 * invalidate them in runs of adjacent gfns, store their content, free the
 * host pages.  Returns the number of host pages freed.  Serialised by the
 * caller (reclaim); not under any lock.
 */
size_t memslot_evict_oldest(struct memslot *ms, size_t n, unsigned int min_gen);
#define MEMSLOT_EVICT_BATCH	64
#define MEMSLOT_AGE_BATCH	256	/* pages an aging pass does between drops of ms->lock */

/**
 * memslot_discard - the guest gave gfns [@gfn, @gfn + @n) back (a balloon, a
 * free page report): their host pages and stored copies are dropped and each
 * reads as zeros again, never populated, until it is touched.  Through the
 * invalidation protocol, one invalidation per run of MEMSLOT_DISCARD_RUN gfns
 * that holds anything; runs that hold nothing cost a scan.  Gfns past the end
 * are ignored.  Not under any lock (it opens invalidations), like
 * memslot_evict_oldest(); safe against reclaim, faults and aging passes.
 * Returns the number of gfns that held memory (resident or stored).
 */
size_t memslot_discard(struct memslot *ms, uint64_t gfn, uint64_t n);
#define MEMSLOT_DISCARD_RUN	512	/* a 2 MiB block: what Linux reports at once */

/* A consistent snapshot of the counters and the generation histogram (may be NULL). */
void memslot_stats(struct memslot *ms, struct memslot_stats *st, size_t hist[GEN_NR]);

/* What `page GUEST GPA` shows. */
enum memslot_page_state { MS_PAGE_EMPTY, MS_PAGE_RESIDENT, MS_PAGE_EVICTED, MS_PAGE_ZERO };
struct memslot_page_info {
	enum memslot_page_state state;
	uint64_t hpa;		/* MS_PAGE_RESIDENT */
	uint64_t handle;	/* MS_PAGE_EVICTED, MS_PAGE_ZERO */
	unsigned int gen;	/* generation, if tracked */
	bool tracked;
	unsigned int mappings;	/* EPT entries in the rmap */
};
/** memslot_page_info - the state of @gfn; false outside the memslot. */
bool memslot_page_info(struct memslot *ms, uint64_t gfn, struct memslot_page_info *out);

/** memslot_gfn_of_hpa - the gfn @hpa backs in @ms, if it does (linear scan: for the shell). */
bool memslot_gfn_of_hpa(struct memslot *ms, uint64_t hpa, uint64_t *gfn);

#endif
