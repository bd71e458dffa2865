/* SPDX-License-Identifier: MIT */
/* A guest's memory behind the EPT MMU; the rules are in rmap/memslot.h. */
#include "rmap/memslot.h"

#include "ept/invalidate.h"
#include "lib/check.h"
#include "lib/string.h"
#include "rmap/age.h"
#include "rmap/reclaim.h"
#include "smp/atomic.h"
#include "smp/grace.h"

#define SLOT_ADDR_MASK	(~0xfffull)

static void *slot_page(uint64_t v)
{
	return ept_pa_to_va(v & SLOT_ADDR_MASK);
}

static uint64_t slot_handle(uint64_t v)
{
	return v >> MS_HANDLE_SHIFT;
}

int memslot_init(struct memslot *ms, struct ept_vm *ept, const struct memslot_ops *ops,
		 struct zstore *store, uint64_t nr_pages, void *priv)
{
	memset(ms, 0, sizeof(*ms));
	ms->ept = ept;
	ms->ops = ops;
	ms->store = store;
	ms->priv = priv;
	ms->nr_pages = nr_pages;
	spin_lock_init_order(&ms->lock, LOCK_ORDER_MEMSLOT);
	gen_lru_init(&ms->lru);
	ms->slots = ops->alloc_meta(nr_pages * sizeof(*ms->slots));
	ms->pages = ops->alloc_meta(nr_pages * sizeof(*ms->pages));
	if (!ms->slots || !ms->pages) {
		memslot_destroy(ms);
		return -1;
	}
	for (uint64_t g = 0; g < nr_pages; g++)
		gen_page_init(&ms->pages[g]);
	return 0;
}

void memslot_destroy(struct memslot *ms)
{
	for (uint64_t g = 0; ms->slots && g < ms->nr_pages; g++) {
		uint64_t v = ms->slots[g];

		if (v & MS_RESIDENT) {
			WARN_ONCE(ms->pages[g].rmap.val, "memslot: gfn %llx still mapped at destroy",
				  (unsigned long long)g);
			ms->ops->free_page(ms, slot_page(v));
		} else if (v & MS_EVICTED) {
			zstore_drop(ms->store, slot_handle(v));
		}
	}
	if (ms->slots)
		ms->ops->free_meta(ms->slots, ms->nr_pages * sizeof(*ms->slots));
	if (ms->pages)
		ms->ops->free_meta(ms->pages, ms->nr_pages * sizeof(*ms->pages));
	ms->slots = NULL;
	ms->pages = NULL;
}

/* A page for @ms, reclaiming when none is left (rmap/reclaim.h says from whom). */
static void *get_page(struct memslot *ms)
{
	for (int tries = 0; tries < 8; tries++) {
		void *p = ms->ops->alloc_page(ms);

		if (p)
			return p;
		if (!ms->reclaim || !reclaim_direct(ms->reclaim, MEMSLOT_EVICT_BATCH, ms))
			break;
	}
	spin_lock(&ms->lock);
	ms->st.nomem++;
	spin_unlock(&ms->lock);
	return NULL;
}

/*
 * Make @gfn resident; ms->lock not held.  The page is allocated first, since
 * allocation may reclaim, and reclaim opens invalidations.
 */
static bool populate(struct memslot *ms, uint64_t gfn, uint64_t *hpa)
{
	void *page = get_page(ms);
	uint64_t v;
	int rc;

	if (!page)
		return false;
	spin_lock(&ms->lock);
	v = ms->slots[gfn];
	if (v & MS_RESIDENT) {
		/* Someone else made it resident meanwhile. */
		spin_unlock(&ms->lock);
		ms->ops->free_page(ms, page);
		*hpa = v & SLOT_ADDR_MASK;
		return true;
	}
	if (v & MS_EVICTED) {
		rc = zstore_get(ms->store, slot_handle(v), page, ms->ops->scratch());
		if (WARN_ONCE(rc, "memslot: gfn %llx: store handle %llx unreadable (%d)",
			      (unsigned long long)gfn, (unsigned long long)slot_handle(v), rc)) {
			spin_unlock(&ms->lock);
			ms->ops->free_page(ms, page);
			return false;
		}
		zstore_drop(ms->store, slot_handle(v));
		ms->st.refaults++;
		ms->st.evicted--;
	} else {
		memset(page, 0, EPT_PAGE_SIZE);
		ms->st.populated++;
	}
	*hpa = ept_va_to_pa(page);
	/* Release: the contents are in place before a lockless resolver sees the page. */
	store_release(&ms->slots[gfn], *hpa | MS_RESIDENT);
	WRITE_ONCE(ms->st.resident, ms->st.resident + 1);	/* read locklessly by the OOM choice */
	gen_track(&ms->lru, &ms->pages[gfn]);
	spin_unlock(&ms->lock);
	return true;
}

bool memslot_resolve(struct memslot *ms, uint64_t gfn, uint64_t *hpa)
{
	uint64_t v;

	if (gfn >= ms->nr_pages)
		return false;
	v = load_acquire(&ms->slots[gfn]);
	if (v & MS_RESIDENT) {
		*hpa = v & SLOT_ADDR_MASK;
		return true;
	}
	return populate(ms, gfn, hpa);
}

int memslot_access(struct memslot *ms, uint64_t gpa, void *buf, uint64_t len, bool write)
{
	if (gpa + len < gpa || gpa + len > ms->nr_pages << EPT_PAGE_SHIFT)
		return -1;
	while (len) {
		uint64_t gfn = gpa >> EPT_PAGE_SHIFT, off = gpa & (EPT_PAGE_SIZE - 1);
		uint64_t n = EPT_PAGE_SIZE - off, hpa, v;

		if (n > len)
			n = len;
		/* The lock pins the page: eviction stores and frees it under the lock. */
		for (;;) {
			if (!memslot_resolve(ms, gfn, &hpa))
				return -1;
			spin_lock(&ms->lock);
			v = ms->slots[gfn];
			if (v & MS_RESIDENT)
				break;
			spin_unlock(&ms->lock);
		}
		if (write)
			memcpy((char *)slot_page(v) + off, buf, n);
		else
			memcpy(buf, (char *)slot_page(v) + off, n);
		spin_unlock(&ms->lock);
		gpa += n;
		buf = (char *)buf + n;
		len -= n;
	}
	return 0;
}

void memslot_leaf_set(struct memslot *ms, uint64_t gfn, int level, uint64_t *sptep)
{
	if (WARN_ONCE(level != 1 || gfn >= ms->nr_pages,
		      "memslot: leaf for gfn %llx at level %d", (unsigned long long)gfn, level))
		return;
	WARN_ONCE(!rmap_add(ms->rmap_ops, &ms->ept->mmu_lock, &ms->pages[gfn].rmap, sptep),
		  "memslot: no rmap descriptor for gfn %llx", (unsigned long long)gfn);
}

void memslot_leaf_clear(struct memslot *ms, uint64_t gfn, int level, uint64_t *sptep)
{
	if (level != 1 || gfn >= ms->nr_pages)
		return;
	rmap_remove(ms->rmap_ops, &ms->ept->mmu_lock, &ms->pages[gfn].rmap, sptep);
}

/* Let faults that populate or refault in between batches of an aging pass. */
static void age_yield(void *arg)
{
	struct memslot *ms = arg;

	grace_read_unlock();
	spin_unlock(&ms->lock);
	cpu_relax();
	spin_lock(&ms->lock);
	grace_read_lock();
}

size_t memslot_age(struct memslot *ms)
{
	size_t young;

	spin_lock(&ms->lock);
	/* The entries the rmaps point to live in EPT tables freed after a grace period. */
	grace_read_lock();
	young = gen_age_pass_yield(&ms->lru, MEMSLOT_AGE_BATCH, age_yield, ms);
	grace_read_unlock();
	spin_unlock(&ms->lock);
	return young;
}

size_t memslot_age_locked(struct memslot *ms)
{
	size_t young;

	write_lock(&ms->ept->mmu_lock);
	young = memslot_age(ms);
	write_unlock(&ms->ept->mmu_lock);
	return young;
}

static void sort_gfns(uint64_t *g, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint64_t x = g[i];
		size_t j = i;

		for (; j && g[j - 1] > x; j--)
			g[j] = g[j - 1];
		g[j] = x;
	}
}

/* Store and free one victim; the invalidation over it is open.  Returns whether it was freed. */
static bool evict_one(struct memslot *ms, uint64_t gfn)
{
	struct gen_page *pg = &ms->pages[gfn];
	uint64_t v, handle;
	void *page;
	int rc;

	spin_lock(&ms->lock);
	v = ms->slots[gfn];
	if (!(v & MS_RESIDENT) || pg->tracked) {
		spin_unlock(&ms->lock);
		return false;
	}
	/* The invalidation zapped every mapping: the guest cannot change the page now. */
	WARN_ONCE(READ_ONCE(pg->rmap.val), "memslot: gfn %llx still mapped while evicted",
		  (unsigned long long)gfn);
	page = slot_page(v);
	rc = zstore_put(ms->store, page, ms->ops->scratch(), &handle);
	if (rc) {
		/* Out of memory, or storing it would free nothing: keep it, as the youngest. */
		if (rc == ZSTORE_ERR_INCOMPRESSIBLE)
			ms->st.incompressible++;
		gen_track(&ms->lru, pg);
		spin_unlock(&ms->lock);
		return false;
	}
	WRITE_ONCE(ms->slots[gfn], (handle << MS_HANDLE_SHIFT) | MS_EVICTED);
	WRITE_ONCE(ms->st.resident, ms->st.resident - 1);
	ms->st.evicted++;
	ms->st.evictions++;
	if (zstore_handle_is_zero(handle))
		ms->st.zero_evictions++;
	spin_unlock(&ms->lock);
	ms->ops->free_page(ms, page);
	return true;
}

/* The oldest non-empty generation; ms->lock held. */
static unsigned int oldest_gen(struct memslot *ms)
{
	unsigned int g = GEN_OLDEST;

	while (g > GEN_YOUNGEST && !ms->lru.nr[g])
		g--;
	return g;
}

size_t memslot_evict_oldest(struct memslot *ms, size_t n, unsigned int min_gen)
{
	struct gen_page *victims[MEMSLOT_EVICT_BATCH];
	uint64_t gfns[MEMSLOT_EVICT_BATCH];
	size_t taken = 0, freed = 0;

	if (n > MEMSLOT_EVICT_BATCH)
		n = MEMSLOT_EVICT_BATCH;
	spin_lock(&ms->lock);
	if (oldest_gen(ms) >= min_gen) {
		grace_read_lock();	/* the second-chance test reads EPT entries */
		taken = gen_pick_oldest(&ms->lru, n, victims);
		grace_read_unlock();
	}
	spin_unlock(&ms->lock);
	for (size_t i = 0; i < taken; i++)
		gfns[i] = (uint64_t)(victims[i] - ms->pages);
	sort_gfns(gfns, taken);
	/* One invalidation per run of adjacent gfns. */
	for (size_t i = 0, j; i < taken; i = j) {
		bool opened;

		for (j = i + 1; j < taken && gfns[j] == gfns[j - 1] + 1; j++)
			;
		opened = ept_invalidate_begin(ms->ept, gfns[i], gfns[j - 1] + 1);
		for (size_t k = i; k < j; k++)
			freed += evict_one(ms, gfns[k]);
		ept_invalidate_end(ms->ept, gfns[i], gfns[j - 1] + 1, opened);
	}
	return freed;
}

/* Drop @gfn's page or stored copy; the invalidation over it is open.  Whether it held one. */
static bool discard_one(struct memslot *ms, uint64_t gfn)
{
	struct gen_page *pg = &ms->pages[gfn];
	void *page = NULL;
	uint64_t v;

	spin_lock(&ms->lock);
	v = ms->slots[gfn];
	if (!v) {
		spin_unlock(&ms->lock);
		return false;
	}
	WARN_ONCE(READ_ONCE(pg->rmap.val), "memslot: gfn %llx still mapped while discarded",
		  (unsigned long long)gfn);
	if (v & MS_RESIDENT) {
		/* Not tracked: reclaim picked it, and its eviction will find the slot empty. */
		if (pg->tracked)
			gen_untrack(&ms->lru, pg);
		page = slot_page(v);
		WRITE_ONCE(ms->st.resident, ms->st.resident - 1);
	} else {
		zstore_drop(ms->store, slot_handle(v));
		ms->st.evicted--;
	}
	/* A lockless resolver that sees 0 populates under the lock. */
	WRITE_ONCE(ms->slots[gfn], 0);
	ms->st.discarded++;
	spin_unlock(&ms->lock);
	if (page)
		ms->ops->free_page(ms, page);
	return true;
}

/* Does any gfn of [start, end) hold memory?  A racy look: only to skip empty runs. */
static bool any_populated(struct memslot *ms, uint64_t start, uint64_t end)
{
	for (uint64_t g = start; g < end; g++)
		if (READ_ONCE(ms->slots[g]))
			return true;
	return false;
}

size_t memslot_discard(struct memslot *ms, uint64_t gfn, uint64_t n)
{
	size_t dropped = 0;

	if (gfn >= ms->nr_pages)
		return 0;
	if (n > ms->nr_pages - gfn)
		n = ms->nr_pages - gfn;
	while (n) {
		uint64_t run = n < MEMSLOT_DISCARD_RUN ? n : MEMSLOT_DISCARD_RUN;
		uint64_t end = gfn + run;

		/*
		 * A gfn populated after the look was touched after the guest gave it
		 * back: the guest's business, as for any page it reuses.
		 */
		if (any_populated(ms, gfn, end)) {
			bool opened = ept_invalidate_begin(ms->ept, gfn, end);

			for (uint64_t g = gfn; g < end; g++)
				dropped += discard_one(ms, g);
			ept_invalidate_end(ms->ept, gfn, end, opened);
		}
		gfn = end;
		n -= run;
	}
	return dropped;
}

void memslot_stats(struct memslot *ms, struct memslot_stats *st, size_t hist[GEN_NR])
{
	spin_lock(&ms->lock);
	*st = ms->st;
	if (hist)
		gen_histogram(&ms->lru, hist);
	spin_unlock(&ms->lock);
}

bool memslot_page_info(struct memslot *ms, uint64_t gfn, struct memslot_page_info *out)
{
	struct rmap_iter it;
	unsigned long old;

	memset(out, 0, sizeof(*out));
	if (gfn >= ms->nr_pages)
		return false;
	spin_lock(&ms->lock);
	uint64_t v = ms->slots[gfn];

	if (v & MS_RESIDENT) {
		out->state = MS_PAGE_RESIDENT;
		out->hpa = v & SLOT_ADDR_MASK;
	} else if (v & MS_EVICTED) {
		out->handle = slot_handle(v);
		out->state = zstore_handle_is_zero(out->handle) ? MS_PAGE_ZERO : MS_PAGE_EVICTED;
	}
	out->tracked = ms->pages[gfn].tracked;
	out->gen = ms->pages[gfn].gen;
	old = rmap_lock_readonly(&ms->pages[gfn].rmap);
	for (uint64_t *p = rmap_iter_first(&it, old); p; p = rmap_iter_next(&it))
		out->mappings++;
	rmap_unlock_readonly(&ms->pages[gfn].rmap, old);
	spin_unlock(&ms->lock);
	return true;
}

bool memslot_gfn_of_hpa(struct memslot *ms, uint64_t hpa, uint64_t *gfn)
{
	hpa &= SLOT_ADDR_MASK;
	for (uint64_t g = 0; g < ms->nr_pages; g++) {
		if (READ_ONCE(ms->slots[g]) == (hpa | MS_RESIDENT)) {
			*gfn = g;
			return true;
		}
	}
	return false;
}
