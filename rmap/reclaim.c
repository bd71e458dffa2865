/* SPDX-License-Identifier: MIT */
/* Reclaim across guests; the rules are in rmap/reclaim.h. */
#include "rmap/reclaim.h"

#include "lib/string.h"
#include "smp/atomic.h"

static uint64_t now(struct reclaim *rc)
{
	return rc->now_ns ? rc->now_ns() : 0;
}

void reclaim_init(struct reclaim *rc, uint64_t (*now_ns)(void))
{
	memset(rc, 0, sizeof(*rc));
	spin_lock_init_order(&rc->lock, LOCK_ORDER_RECLAIM);
	spin_lock_init_order(&rc->run_lock, LOCK_ORDER_RECLAIM_RUN);
	rc->now_ns = now_ns;
}

void reclaim_register(struct reclaim *rc, struct memslot *ms)
{
	spin_lock(&rc->lock);
	ms->reclaim = rc;
	ms->next = rc->list;
	rc->list = ms;
	spin_unlock(&rc->lock);
}

void reclaim_unregister(struct reclaim *rc, struct memslot *ms)
{
	/* run_lock first: a reclaimer working on ms finishes before ms leaves. */
	spin_lock(&rc->run_lock);
	spin_lock(&rc->lock);
	for (struct memslot **pp = &rc->list; *pp; pp = &(*pp)->next) {
		if (*pp == ms) {
			*pp = ms->next;
			break;
		}
	}
	if (rc->cursor == ms)
		rc->cursor = NULL;
	ms->next = NULL;
	ms->reclaim = NULL;
	spin_unlock(&rc->lock);
	spin_unlock(&rc->run_lock);
}

/* The memslot after the cursor, round robin; run_lock held. */
static struct memslot *next_memslot(struct reclaim *rc)
{
	struct memslot *ms;

	spin_lock(&rc->lock);
	ms = rc->cursor && rc->cursor->next ? rc->cursor->next : rc->list;
	rc->cursor = ms;
	spin_unlock(&rc->lock);
	return ms;
}

static unsigned int nr_memslots(struct reclaim *rc)
{
	unsigned int n = 0;

	spin_lock(&rc->lock);
	for (struct memslot *ms = rc->list; ms; ms = ms->next)
		n++;
	spin_unlock(&rc->lock);
	return n;
}

/*
 * Whether a reclaim for @for_ms may take from @ms.  Background reclaim
 * (@for_ms NULL) takes from every guest.  A direct reclaim takes from its
 * own guest and from guests holding at least as many pages, never from
 * smaller ones: a guest cannot grow by thrashing a smaller one, so one whose
 * pages cannot be evicted (incompressible) runs out of memory at once and
 * is stopped as the largest, instead of living off the others' working sets.
 */
static bool may_take(const struct memslot *ms, const struct memslot *for_ms)
{
	return !for_ms || ms == for_ms ||
	       READ_ONCE(ms->st.resident) >= READ_ONCE(for_ms->st.resident);
}

/*
 * Take from memslots that have old pages first; when none has, age them all
 * (young pages stay young, the rest get older); if a whole round still finds
 * nothing old, every page was touched since the last pass: take young ones
 * rather than fail the allocation (the working set is bigger than memory).
 */
static size_t run_locked(struct reclaim *rc, size_t want, const struct memslot *for_ms)
{
	unsigned int n = nr_memslots(rc), idle = 0, min_gen = 1, aged = 0;
	size_t freed = 0;

	while (freed < want && n) {
		struct memslot *ms = next_memslot(rc);
		size_t got;

		if (!ms)
			break;
		got = may_take(ms, for_ms) ? memslot_evict_oldest(ms, want - freed, min_gen) : 0;
		freed += got;
		if (got) {
			idle = 0;
			continue;
		}
		if (++idle < n)
			continue;
		idle = 0;
		if (aged++ < 2) {
			for (unsigned int i = 0; i < n; i++) {
				ms = next_memslot(rc);
				if (!may_take(ms, for_ms))
					continue;
				rc->st.young += memslot_age(ms);
				rc->st.age_passes++;
			}
		} else if (min_gen) {
			min_gen = 0;
		} else {
			break;	/* nothing resident anywhere */
		}
	}
	return freed;
}

static size_t run(struct reclaim *rc, size_t want, const struct memslot *for_ms, bool direct)
{
	uint64_t t0;
	size_t freed;

	spin_lock(&rc->run_lock);
	t0 = now(rc);
	freed = run_locked(rc, want, for_ms);
	rc->st.runs++;
	rc->st.direct_runs += direct;
	rc->st.freed += freed;
	rc->st.ns += now(rc) - t0;
	spin_unlock(&rc->run_lock);
	return freed;
}

size_t reclaim_run(struct reclaim *rc, size_t want)
{
	return run(rc, want, NULL, false);
}

bool reclaim_direct(struct reclaim *rc, size_t want, const struct memslot *for_ms)
{
	return run(rc, want, for_ms, true) > 0;
}

size_t reclaim_age_all(struct reclaim *rc)
{
	size_t young = 0;
	uint64_t t0;

	spin_lock(&rc->run_lock);
	t0 = now(rc);
	spin_lock(&rc->lock);
	/* memslots stay listed: unregister needs run_lock. */
	struct memslot *list = rc->list;
	spin_unlock(&rc->lock);
	for (struct memslot *ms = list; ms; ms = READ_ONCE(ms->next)) {
		young += memslot_age(ms);
		rc->st.age_passes++;
	}
	rc->st.young += young;
	rc->st.ns += now(rc) - t0;
	spin_unlock(&rc->run_lock);
	return young;
}

void reclaim_get_stats(struct reclaim *rc, struct reclaim_stats *st)
{
	spin_lock(&rc->run_lock);
	*st = rc->st;
	spin_unlock(&rc->run_lock);
}
