/* SPDX-License-Identifier: MIT */
/*
 * Reclaim across guests: when the page source runs low (background, from
 * the control CPU) or an allocation fails (direct, from the allocating CPU),
 * take pages from the oldest generation of each memslot in turn, ageing a
 * memslot first when it has no old pages, and evict them to the store.
 *
 * One reclaimer at a time (run_lock): it is held across invalidations, so
 * nothing may take it under mmu_lock or a memslot's lock, and a CPU holding
 * it never waits for a vCPU to do anything but leave guest mode.
 */
#ifndef RMAP_RECLAIM_H
#define RMAP_RECLAIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rmap/memslot.h"
#include "smp/spinlock.h"

struct reclaim_stats {
	uint64_t runs;		/* reclaim_run() calls that did any work */
	uint64_t direct_runs;	/* ... of which were direct (an allocation failed) */
	uint64_t freed;		/* host pages freed by eviction */
	uint64_t age_passes;	/* memslot_age() passes reclaim ran */
	uint64_t young;		/* pages those passes found young */
	uint64_t ns;		/* time spent reclaiming and ageing */
};

struct reclaim {
	/* The memslots taking part; list and cursor under lock. */
	spinlock_t lock;
	struct memslot *list;
	struct memslot *cursor;
	/* One reclaimer at a time; it also protects st. */
	spinlock_t run_lock;
	struct reclaim_stats st;
	uint64_t (*now_ns)(void);	/* optional, for st.ns */
};

void reclaim_init(struct reclaim *rc, uint64_t (*now_ns)(void));
/** reclaim_register - let reclaim take pages from @ms (and @ms ask it for pages). */
void reclaim_register(struct reclaim *rc, struct memslot *ms);
/** reclaim_unregister - take @ms off; returns once no reclaimer works on it. */
void reclaim_unregister(struct reclaim *rc, struct memslot *ms);

/**
 * reclaim_run - free up to @want host pages by eviction.  Returns how many
 * were freed.  Not under mmu_lock, a memslot's age_lock or run_lock.
 */
size_t reclaim_run(struct reclaim *rc, size_t want);
/**
 * reclaim_direct - reclaim for an allocation of @for_ms that failed; whether
 * it freed anything.  Takes only from @for_ms and from memslots with at
 * least as many resident pages (all of them when @for_ms is NULL).
 */
bool reclaim_direct(struct reclaim *rc, size_t want, const struct memslot *for_ms);

/** reclaim_age_all - one aging pass over every memslot; returns the pages found young. */
size_t reclaim_age_all(struct reclaim *rc);

void reclaim_get_stats(struct reclaim *rc, struct reclaim_stats *st);

#endif
