/* SPDX-License-Identifier: MIT */
/*
 * Generations of guest pages for reclaim, in the spirit of Linux's
 * multi-generational LRU: each tracked page sits in one of GEN_NR lists,
 * 0 the youngest.  An aging pass tests and clears every page's accessed bits
 * through its rmap (locklessly, rmap/age.h): a young page goes back to
 * generation 0, an untouched one moves one generation older, up to
 * GEN_OLDEST.  Reclaim takes its victims from the oldest non-empty
 * generation, first come first served.
 *
 * The embedding: struct gen_page is per-page state the page's owner embeds
 * (the lead attaches it to the allocator's struct page).
 */
#ifndef RMAP_GEN_H
#define RMAP_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rmap/rmap.h"

#define GEN_NR		4
#define GEN_YOUNGEST	0
#define GEN_OLDEST	(GEN_NR - 1)

struct gen_link {
	struct gen_link *next, *prev;
};

struct gen_page {
	/* The EPT entries mapping this page; see rmap/rmap.h for its locking. */
	struct rmap_head rmap;
	/* The rest is protected as struct gen_lru says. */
	struct gen_link link;
	uint8_t gen;
	bool tracked;
	/*
	 * The lru's epoch when the page was last put on a generation list.  An
	 * aging pass starts a new epoch: until it reaches a page, the page sits
	 * on the pass's own list with an older epoch and counts in no generation.
	 */
	uint16_t epoch;
};

/*
 * Protected by the caller: gen_* calls on one lru must not run concurrently
 * (reclaim serialises them, and the fault path's gen_track() takes the same
 * lock).  Only the rmaps inside the pages are shared with other CPUs, and the
 * pass reads those locklessly.  Lock order: that lock -> rmap bit lock; it
 * must not be taken under mmu_lock if reclaim takes mmu_lock under it.
 */
struct gen_lru {
	/* Circular lists with sentinel heads, oldest arrival first. */
	struct gen_link gens[GEN_NR];
	/* Pages in each generation: the histogram. */
	size_t nr[GEN_NR];
	/* Aging passes run so far. */
	uint64_t passes;
	/* Bumped as each pass starts (see struct gen_page). */
	uint16_t epoch;
};

void gen_lru_init(struct gen_lru *lru);

/* A fresh page: empty rmap, not tracked. */
void gen_page_init(struct gen_page *pg);

/* Start tracking @pg, in the youngest generation (it was just faulted in). */
void gen_track(struct gen_lru *lru, struct gen_page *pg);

/*
 * Stop tracking @pg, also while an aging pass that has not reached it yet
 * holds it on its own list (the pass yielded the caller's lock).
 */
void gen_untrack(struct gen_lru *lru, struct gen_page *pg);

/*
 * One aging pass over every tracked page: young pages (accessed bit found
 * and cleared) go to the youngest generation, the others one older, capped
 * at the oldest.  Returns the number found young.
 */
size_t gen_age_pass(struct gen_lru *lru);

/*
 * Take up to @n pages from the oldest non-empty generation, oldest arrival
 * first, into @out; they are no longer tracked (reclaim owns them: it
 * evicts them, or gives them back with gen_track()).  A candidate found
 * young since the last pass is moved to the youngest generation instead of
 * being taken.  Returns how many were taken: fewer than @n when that
 * generation runs out, even if younger ones are not empty (the caller
 * decides whether to go on, e.g. after another pass).
 */
size_t gen_pick_oldest(struct gen_lru *lru, size_t n, struct gen_page **out);

/*
 * The same pass, calling @yield(@arg) every @batch pages, which may drop and
 * retake the caller's lock: the pages not yet aged sit on the pass's own
 * lists meanwhile, tracked but in no generation (so reclaim cannot pick
 * them and the histogram does not count them).  Concurrent passes are safe.
 */
size_t gen_age_pass_yield(struct gen_lru *lru, unsigned int batch, void (*yield)(void *),
			  void *arg);

/* Copy the per-generation page counts into @hist. */
void gen_histogram(const struct gen_lru *lru, size_t hist[GEN_NR]);

#endif
