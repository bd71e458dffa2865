/* SPDX-License-Identifier: MIT */
/*
 * A guest's memory behind the EPT MMU; the rules are in rmap/memslot.h, the
 * protocol on one slot word is tests/models/gfn_state.pml.
 */
#include "rmap/memslot.h"

#include "ept/age.h"
#include "ept/invalidate.h"
#include "lib/check.h"
#include "lib/string.h"
#include "rmap/age.h"
#include "rmap/reclaim.h"
#include "smp/atomic.h"
#include "smp/grace.h"

static void *slot_page(uint64_t v)
{
	return ept_pa_to_va(v & MS_ADDR_MASK);
}

static uint64_t slot_handle(uint64_t v)
{
	return v >> MS_HANDLE_SHIFT;
}

static uint64_t make_resident(uint64_t hpa, unsigned int idx)
{
	return hpa | ((uint64_t)idx << MS_GEN_SHIFT) | MS_RESIDENT;
}

static uint64_t with_gen(uint64_t v, unsigned int idx)
{
	return (v & ~MS_GEN_MASK) | ((uint64_t)idx << MS_GEN_SHIFT);
}

/* Compare-and-exchange on a slot word; on failure *old is what it holds now. */
static bool slot_cmpxchg(uint64_t *slot, uint64_t *old, uint64_t new)
{
	/* Release: a new page's contents before the word naming it; acquire: a claimed handle's. */
	return __atomic_compare_exchange_n(slot, old, new, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

static void stat_add(uint64_t *c, int64_t d)
{
	__atomic_fetch_add(c, (uint64_t)d, __ATOMIC_RELAXED);
}

static uint64_t nr_chunks(uint64_t nr_pages)
{
	return (nr_pages + MEMSLOT_META_CHUNK - 1) / MEMSLOT_META_CHUNK;
}

_Static_assert(MEMSLOT_META_CHUNK == MS_HUGE_PAGES, "a chunk is one 2 MiB block");

/* Pages of 2 MiB rmap heads: one per 512 chunks (1 GiB of guest memory). */
#define RMAPS_2M_PER_PAGE	(4096 / sizeof(struct rmap_head))

static uint64_t nr_rmap_2m_pages(uint64_t nr_pages)
{
	return (nr_chunks(nr_pages) + RMAPS_2M_PER_PAGE - 1) / RMAPS_2M_PER_PAGE;
}

/*
 * Bytes of the backed bitmap: a bit per chunk, then (from word
 * chunk_words()) a bit per page of 2 MiB rmap heads.
 */
static uint64_t chunk_words(uint64_t nr_pages)
{
	return (nr_chunks(nr_pages) + 63) / 64;
}

static size_t bitmap_bytes(uint64_t nr_pages)
{
	return (chunk_words(nr_pages) + (nr_rmap_2m_pages(nr_pages) + 63) / 64) * sizeof(uint64_t);
}

/* Bytes of the address space of each per-gfn array, and of the 2 MiB rmap heads. */
static size_t slots_bytes(uint64_t nr_pages)
{
	return nr_chunks(nr_pages) * MEMSLOT_META_CHUNK * sizeof(uint64_t);
}

static size_t rmaps_bytes(uint64_t nr_pages)
{
	return nr_chunks(nr_pages) * MEMSLOT_META_CHUNK * sizeof(struct rmap_head);
}

static size_t rmaps_2m_bytes(uint64_t nr_pages)
{
	return nr_rmap_2m_pages(nr_pages) * 4096;
}

static size_t reserved_bytes(uint64_t nr_pages)
{
	return slots_bytes(nr_pages) + rmaps_bytes(nr_pages) + rmaps_2m_bytes(nr_pages);
}

/* Scans in runs (aging, discard) keep each run inside one chunk. */
_Static_assert(MEMSLOT_META_CHUNK % MEMSLOT_AGE_CHUNK == 0, "an aging run spans chunks");

#define CHUNK_BYTES	(MEMSLOT_META_CHUNK * (sizeof(uint64_t) + sizeof(struct rmap_head)))

uint64_t memslot_meta_bytes(uint64_t nr_pages)
{
	return nr_chunks(nr_pages) * CHUNK_BYTES + rmaps_2m_bytes(nr_pages) +
	       bitmap_bytes(nr_pages);
}

/* The last gfn of @gfn's chunk inside the memslot: scans step over an unbacked chunk to it. */
static uint64_t chunk_last(const struct memslot *ms, uint64_t gfn)
{
	uint64_t last = gfn | (MEMSLOT_META_CHUNK - 1);

	return last < ms->nr_pages ? last : ms->nr_pages - 1;
}

/* The rmap head of the 2 MiB leaves over @gfn (its chunk is backed). */
static struct rmap_head *rmap_2m(struct memslot *ms, uint64_t gfn)
{
	return &ms->rmaps_2m[gfn / MS_HUGE_PAGES];
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
	spin_lock_init_order(&ms->age_lock, LOCK_ORDER_MEMSLOT);
	spin_lock_init_order(&ms->meta_lock, LOCK_ORDER_MEMSLOT_META);
	gen_seqs_init(&ms->gens);
	/*
	 * Address space only, one reservation: the slot words, then the rmap
	 * heads, then the 2 MiB rmap heads (all page aligned: a chunk's slot
	 * words are 4 KiB).  Chunks are backed by their first resolve
	 * (back_chunk()).
	 */
	ms->backed = ops->alloc_meta(bitmap_bytes(nr_pages));
	ms->slots = ms->backed ? ops->reserve_meta(reserved_bytes(nr_pages)) : NULL;
	if (!ms->slots) {
		memslot_destroy(ms);
		return -1;
	}
	ms->rmaps = (struct rmap_head *)((char *)ms->slots + slots_bytes(nr_pages));
	ms->rmaps_2m = (struct rmap_head *)((char *)ms->rmaps + rmaps_bytes(nr_pages));
	ms->st.meta_bytes = bitmap_bytes(nr_pages);
	return 0;
}

void memslot_destroy(struct memslot *ms)
{
	for (uint64_t g = 0; ms->slots && g < ms->nr_pages; g++) {
		uint64_t v;

		if (!memslot_meta_backed(ms, g)) {
			g = chunk_last(ms, g);
			continue;
		}
		v = ms->slots[g];

		switch (ms_slot_state(v)) {
		case MS_RESIDENT:
			WARN_ONCE(ms->rmaps[g].val || rmap_2m(ms, g)->val,
				  "memslot: gfn %llx still mapped at destroy", (unsigned long long)g);
			ms->ops->free_page(ms, slot_page(v));
			break;
		case MS_EVICTED:
			zstore_drop(ms->store, slot_handle(v));
			break;
		default:
			WARN_ONCE(v != MS_EMPTY, "memslot: gfn %llx claimed (%#llx) at destroy",
				  (unsigned long long)g, (unsigned long long)v);
		}
	}
	if (ms->slots)
		ms->ops->release_meta(ms->slots, reserved_bytes(ms->nr_pages));
	if (ms->backed)
		ms->ops->free_meta(ms->backed, bitmap_bytes(ms->nr_pages));
	ms->slots = NULL;
	ms->rmaps = NULL;
	ms->rmaps_2m = NULL;
	ms->backed = NULL;
	ms->st.meta_bytes = 0;
}

/*
 * Back the slot words and rmap heads of @gfn's chunk, once: under meta_lock,
 * so that two first touches of a chunk back it once and count it once.  Out
 * of memory, reclaim (outside the lock: it opens invalidations) and try again,
 * like get_page().  A chunk whose slot words were backed but not its rmap
 * heads stays unbacked; the next try backs the rest (back_meta() skips what
 * is backed).  The page holding the chunk's 2 MiB rmap head is backed with
 * the first chunk that needs it (its own bit, counted once).
 */
/*
 * Out of memory for @ms: reclaim a batch (rmap/reclaim.h says from whom), not
 * under any lock since it opens invalidations.  Whether it is worth trying again.
 */
static bool reclaim_for(struct memslot *ms)
{
	return ms->reclaim && reclaim_direct(ms->reclaim, MEMSLOT_EVICT_BATCH, ms);
}

/* meta_lock held: back the page of 2 MiB rmap heads that chunk @c's is on; 0 or -1. */
static int back_rmap_2m_page(struct memslot *ms, uint64_t c)
{
	uint64_t pg = c / RMAPS_2M_PER_PAGE, *w = &ms->backed[chunk_words(ms->nr_pages) + pg / 64];

	lockdep_assert_held(&ms->meta_lock);
	if (*w & (1ull << (pg % 64)))
		return 0;
	if (ms->ops->back_meta(&ms->rmaps_2m[pg * RMAPS_2M_PER_PAGE], 4096))
		return -1;
	stat_add(&ms->st.meta_bytes, 4096);
	/* Only ever read under meta_lock: no ordering of its own. */
	*w |= 1ull << (pg % 64);
	return 0;
}

static bool back_chunk(struct memslot *ms, uint64_t gfn)
{
	uint64_t c = gfn / MEMSLOT_META_CHUNK, first = c * MEMSLOT_META_CHUNK;

	for (int tries = 0; tries < 8; tries++) {
		bool ok;

		spin_lock(&ms->meta_lock);
		ok = memslot_meta_backed(ms, gfn);
		if (!ok && !back_rmap_2m_page(ms, c) &&
		    !ms->ops->back_meta(&ms->slots[first], MEMSLOT_META_CHUNK * sizeof(uint64_t)) &&
		    !ms->ops->back_meta(&ms->rmaps[first],
					MEMSLOT_META_CHUNK * sizeof(struct rmap_head))) {
			stat_add(&ms->st.meta_bytes, CHUNK_BYTES);
			/*
			 * Release: pairs with the acquire in memslot_meta_backed(); the
			 * mappings (and their zeroes) are seen before the bit.  A CPU that
			 * read the bit clear never touched the chunk, and not-present
			 * entries are not cached in TLBs: no flush is needed.
			 */
			__atomic_fetch_or(&ms->backed[c / 64], 1ull << (c % 64), __ATOMIC_RELEASE);
			ok = true;
		}
		spin_unlock(&ms->meta_lock);
		if (ok)
			return true;
		if (!reclaim_for(ms))
			break;
	}
	stat_add(&ms->st.nomem, 1);
	return false;
}

/* A page for @ms, reclaiming when none is left (rmap/reclaim.h says from whom). */
static void *get_page(struct memslot *ms)
{
	for (int tries = 0; tries < 8; tries++) {
		void *p = ms->ops->alloc_page(ms);

		if (p)
			return p;
		if (!reclaim_for(ms))
			break;
	}
	stat_add(&ms->st.nomem, 1);
	return NULL;
}

/*
 * Publish @page as @gfn's, replacing @old (EMPTY, or LOADING claimed by us),
 * in the youngest generation.  The count goes up before the word changes, so
 * that an ager moving the page at once never takes it below zero.
 */
static bool publish(struct memslot *ms, uint64_t gfn, uint64_t *old, void *page)
{
	unsigned int idx = gen_seq_idx(gen_max_seq(&ms->gens));

	gen_count(&ms->gens, idx, 1);
	if (!slot_cmpxchg(&ms->slots[gfn], old, make_resident(ept_va_to_pa(page), idx))) {
		gen_count(&ms->gens, idx, -1);
		return false;
	}
	stat_add(&ms->st.resident, 1);
	return true;
}

/*
 * Make @gfn resident (the slot was not, when the caller looked).  The page is
 * allocated first and privately, since allocation may reclaim and reclaim
 * opens invalidations; whoever loses the race for the slot gives it back.
 * *hpa is also set for an EVICTING slot: the page being evicted, which the
 * fault never installs (the invalidation claiming it is open until after
 * its free: the fault retries, DESIGN "MMU contract" 2).
 */
static bool populate(struct memslot *ms, uint64_t gfn, uint64_t *hpa)
{
	void *page = get_page(ms);
	bool zeroed = false;
	uint64_t v;
	int rc;

	if (!page)
		return false;
	v = load_acquire(&ms->slots[gfn]);
	for (;;) {
		switch (ms_slot_state(v)) {
		case MS_RESIDENT:
		case MS_EVICTING:
			/* Someone else made it resident meanwhile, or reclaim has it. */
			ms->ops->free_page(ms, page);
			*hpa = v & MS_ADDR_MASK;
			return true;
		case MS_EMPTY:
			if (!zeroed)
				memset(page, 0, EPT_PAGE_SIZE);
			zeroed = true;
			if (!publish(ms, gfn, &v, page))
				continue;	/* lost: v is the new word, look again */
			stat_add(&ms->st.populated, 1);
			*hpa = ept_va_to_pa(page);
			return true;
		case MS_EVICTED:
			/* Claim the handle: exactly one refault reads and drops it. */
			if (!slot_cmpxchg(&ms->slots[gfn], &v, (v & ~MS_STATE_MASK) | MS_LOADING))
				continue;
			rc = zstore_get(ms->store, slot_handle(v), page, ms->ops->scratch());
			if (WARN_ONCE(rc, "memslot: gfn %llx: store handle %llx unreadable (%d)",
				      (unsigned long long)gfn, (unsigned long long)slot_handle(v), rc)) {
				store_release(&ms->slots[gfn], v);
				ms->ops->free_page(ms, page);
				return false;
			}
			zstore_drop(ms->store, slot_handle(v));
			v = (v & ~MS_STATE_MASK) | MS_LOADING;
			/* Only the claimer leaves LOADING: this cannot fail. */
			WARN_ONCE(!publish(ms, gfn, &v, page), "memslot: gfn %llx: LOADING changed",
				  (unsigned long long)gfn);
			stat_add(&ms->st.refaults, 1);
			stat_add(&ms->st.evicted, -1);
			*hpa = ept_va_to_pa(page);
			return true;
		default:
			/* LOADING: another refault restores it; wait for its page. */
			cpu_relax();
			v = load_acquire(&ms->slots[gfn]);
		}
	}
}

/* Is every slot of the 2 MiB block at @base empty?  A racy look: populate_huge() rechecks. */
static bool block_empty(struct memslot *ms, uint64_t base)
{
	for (uint64_t g = base; g < base + MS_HUGE_PAGES; g++)
		if (READ_ONCE(ms->slots[g]) != MS_EMPTY)
			return false;
	return true;
}

/*
 * First touch of @gfn with its whole block empty: give the block a 2 MiB
 * host block if one is at hand, a page per gfn, each published by its own
 * EMPTY -> RESIDENT compare-and-exchange as populate() does.  A slot
 * populated meanwhile keeps its page and ours goes back; the block is then
 * mapped 4 KiB by 4 KiB.  The generation count goes up by the block first
 * (publish()'s rule), down by the slots lost.
 */
static void populate_huge(struct memslot *ms, uint64_t gfn)
{
	uint64_t base = gfn & ~(uint64_t)(MS_HUGE_PAGES - 1), pa;
	unsigned int idx, won = 0;
	char *block;

	if (!ms->huge || !ms->ops->alloc_huge || base + MS_HUGE_PAGES > ms->nr_pages ||
	    !block_empty(ms, base))
		return;
	block = ms->ops->alloc_huge(ms);
	if (!block)
		return;
	memset(block, 0, MS_HUGE_PAGES * EPT_PAGE_SIZE);
	pa = ept_va_to_pa(block);
	idx = gen_seq_idx(gen_max_seq(&ms->gens));
	gen_count(&ms->gens, idx, MS_HUGE_PAGES);
	for (unsigned int i = 0; i < MS_HUGE_PAGES; i++) {
		uint64_t old = MS_EMPTY;

		if (slot_cmpxchg(&ms->slots[base + i], &old,
				 make_resident(pa + i * EPT_PAGE_SIZE, idx)))
			won++;
		else
			ms->ops->free_page(ms, block + i * EPT_PAGE_SIZE);
	}
	gen_count(&ms->gens, idx, (long)won - MS_HUGE_PAGES);
	stat_add(&ms->st.resident, won);
	stat_add(&ms->st.populated, won);
	stat_add(&ms->st.huge_populated, 1);
}

/*
 * 2 if @gfn's block is resident on one 2 MiB-aligned, contiguous host range
 * (@v: gfn's slot word, resident); else 1.  Racy reads: an eviction or
 * discard in the block after the fault's snapshot is caught by its
 * invalidation check over the block.
 */
static int block_level(struct memslot *ms, uint64_t gfn, uint64_t v)
{
	uint64_t base = gfn & ~(uint64_t)(MS_HUGE_PAGES - 1);
	uint64_t pa = (v & MS_ADDR_MASK) - (gfn - base) * EPT_PAGE_SIZE;

	if (!ms->huge || base + MS_HUGE_PAGES > ms->nr_pages ||
	    (pa & (MS_HUGE_PAGES * EPT_PAGE_SIZE - 1)))
		return 1;
	for (unsigned int i = 0; i < MS_HUGE_PAGES; i++) {
		uint64_t w = READ_ONCE(ms->slots[base + i]);

		if (ms_slot_state(w) != MS_RESIDENT || (w & MS_ADDR_MASK) != pa + i * EPT_PAGE_SIZE)
			return 1;
	}
	return 2;
}

/* The host page behind @gfn; with @level, a first touch may take its block whole (2 MiB). */
static bool resolve(struct memslot *ms, uint64_t gfn, uint64_t *hpa, int *level)
{
	uint64_t v;

	if (level)
		*level = 1;
	if (gfn >= ms->nr_pages)
		return false;
	/* The chunk is the 2 MiB block: backing it backs everything populate_huge() touches. */
	if (!memslot_meta_backed(ms, gfn) && !back_chunk(ms, gfn))
		return false;
	/* Acquire: pairs with the release in publish(), the page's contents are in place. */
	v = load_acquire(&ms->slots[gfn]);
	if (level && v == MS_EMPTY) {
		populate_huge(ms, gfn);
		v = load_acquire(&ms->slots[gfn]);
	}
	if (ms_slot_state(v) == MS_RESIDENT) {
		*hpa = v & MS_ADDR_MASK;
		if (level)
			*level = block_level(ms, gfn, v);
		return true;
	}
	return populate(ms, gfn, hpa);
}

bool memslot_resolve_level(struct memslot *ms, uint64_t gfn, uint64_t *hpa, int *level)
{
	return resolve(ms, gfn, hpa, level);
}

bool memslot_resolve(struct memslot *ms, uint64_t gfn, uint64_t *hpa)
{
	return resolve(ms, gfn, hpa, NULL);
}

/*
 * Pin @gfn's page for a copy: a pinned slot cannot be claimed by reclaim.
 * Returns the slot word, or 0 when the gfn is not resident (resolve again).
 */
static uint64_t pin(struct memslot *ms, uint64_t gfn)
{
	uint64_t v = load_acquire(&ms->slots[gfn]);

	for (;;) {
		if (ms_slot_state(v) != MS_RESIDENT)
			return 0;
		if ((v & MS_PIN_MASK) == MS_PIN_MASK) {
			cpu_relax();	/* every pin taken: wait for one */
			v = load_acquire(&ms->slots[gfn]);
			continue;
		}
		if (slot_cmpxchg(&ms->slots[gfn], &v, v + MS_PIN_ONE))
			return v;
	}
}

static void unpin(struct memslot *ms, uint64_t gfn)
{
	/* Release: the copy is done before reclaim may claim the page. */
	__atomic_fetch_sub(&ms->slots[gfn], MS_PIN_ONE, __ATOMIC_RELEASE);
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
		/*
		 * The pin keeps reclaim from claiming (storing, freeing) the page.
		 * A first touch of an empty block populates it whole, as a guest's
		 * would: the images the hypervisor loads end up under 2 MiB leaves.
		 */
		for (;;) {
			int level;

			if (!memslot_resolve_level(ms, gfn, &hpa, &level))
				return -1;
			v = pin(ms, gfn);
			if (v)
				break;
			cpu_relax();
		}
		if (write)
			memcpy((char *)slot_page(v) + off, buf, n);
		else
			memcpy(buf, (char *)slot_page(v) + off, n);
		unpin(ms, gfn);
		gpa += n;
		buf = (char *)buf + n;
		len -= n;
	}
	return 0;
}

/* The rmap head for a leaf of @level over @gfn; NULL for a level the memslot never maps. */
static struct rmap_head *leaf_rmap(struct memslot *ms, uint64_t gfn, int level)
{
	if (gfn >= ms->nr_pages)
		return NULL;
	if (level == 1)
		return &ms->rmaps[gfn];
	if (level == 2 && !(gfn % MS_HUGE_PAGES))
		return rmap_2m(ms, gfn);
	return NULL;
}

void memslot_leaf_set(struct memslot *ms, uint64_t gfn, int level, uint64_t *sptep)
{
	struct rmap_head *head = leaf_rmap(ms, gfn, level);

	if (WARN_ONCE(!head, "memslot: leaf for gfn %llx at level %d", (unsigned long long)gfn,
		      level))
		return;
	WARN_ONCE(!rmap_add(ms->rmap_ops, &ms->ept->mmu_lock, head, sptep),
		  "memslot: no rmap descriptor for gfn %llx", (unsigned long long)gfn);
	stat_add(level == 1 ? &ms->st.leaves_4k : &ms->st.leaves_2m, 1);
}

void memslot_leaf_clear(struct memslot *ms, uint64_t gfn, int level, uint64_t *sptep)
{
	struct rmap_head *head = leaf_rmap(ms, gfn, level);

	if (!head)
		return;
	rmap_remove(ms->rmap_ops, &ms->ept->mmu_lock, head, sptep);
	stat_add(level == 1 ? &ms->st.leaves_4k : &ms->st.leaves_2m, -1);
}

/*
 * Move @gfn to generation @idx if it is still resident on the page @v named:
 * a compare-and-exchange, never a plain store, which could undo a claim made
 * meanwhile (MUT_AGE_PLAIN_STORE in the model).  A changed pin count or
 * generation is retried; another page or state leaves it.  Returns the old
 * generation's number, or -1 if nothing moved.
 */
static int move_gen(struct memslot *ms, uint64_t gfn, uint64_t v, unsigned int idx)
{
	uint64_t page = v & MS_ADDR_MASK;

	for (;;) {
		unsigned int old = ms_slot_gen_idx(v);

		if (ms_slot_state(v) != MS_RESIDENT || (v & MS_ADDR_MASK) != page || old == idx)
			return -1;
		if (slot_cmpxchg(&ms->slots[gfn], &v, with_gen(v, idx)))
			return (int)old;
	}
}

/* Young pages of [base, base + MEMSLOT_AGE_CHUNK) in one root, into the youngest generation. */
static size_t age_chunk(struct memslot *ms, struct ept_root *root, uint64_t base,
			unsigned int idx, long delta[GEN_SEQ_NR])
{
	uint64_t end = base + MEMSLOT_AGE_CHUNK < ms->nr_pages ? base + MEMSLOT_AGE_CHUNK
							       : ms->nr_pages;
	uint64_t young[MEMSLOT_AGE_CHUNK / 64] = { 0 };
	size_t n = 0;

	if (!ept_test_clear_young(root, base, end, young))
		return 0;
	for (unsigned int w = 0; w < MEMSLOT_AGE_CHUNK / 64; w++) {
		for (uint64_t bits = young[w]; bits; bits &= bits - 1) {
			uint64_t gfn = base + w * 64 + (unsigned int)__builtin_ctzll(bits);
			int old = move_gen(ms, gfn, READ_ONCE(ms->slots[gfn]), idx);

			n++;
			if (old >= 0) {
				delta[old]--;
				delta[idx]++;
			}
		}
	}
	return n;
}

/* Rewrite pages GEN_FOLD_AGE or more passes old to GEN_OLDEST, before their numbers wrap. */
static void fold_old(struct memslot *ms, uint64_t max, long delta[GEN_SEQ_NR])
{
	unsigned int idx = gen_seq_idx(max - GEN_OLDEST);

	for (uint64_t g = 0; g < ms->nr_pages; g++) {
		uint64_t v;
		int old;

		if (!memslot_meta_backed(ms, g)) {
			g = chunk_last(ms, g);
			continue;
		}
		v = READ_ONCE(ms->slots[g]);
		if (ms_slot_state(v) != MS_RESIDENT || gen_age(max, ms_slot_gen_idx(v)) < GEN_FOLD_AGE)
			continue;
		old = move_gen(ms, g, v, idx);
		if (old >= 0) {
			delta[old]--;
			delta[idx]++;
		}
	}
}

size_t memslot_age(struct memslot *ms)
{
	long delta[GEN_SEQ_NR] = { 0 };
	struct ept_root *root;
	size_t young = 0;
	uint64_t max;

	spin_lock(&ms->age_lock);
	/* Every page one pass older at once; young ones are moved to max below. */
	max = ms->gens.max_seq + 1;
	__atomic_store_n(&ms->gens.max_seq, max, __ATOMIC_RELAXED);
	for_each_valid_ept_root(ms->ept, root) {
		for (uint64_t base = 0; base < ms->nr_pages; base += MEMSLOT_AGE_CHUNK) {
			if (!memslot_meta_backed(ms, base))
				continue;	/* EMPTY: nothing mapped */
			/* The tables walked are freed after a grace period. */
			grace_read_lock();
			young += age_chunk(ms, root, base, gen_seq_idx(max), delta);
			grace_read_unlock();
		}
	}
	if (max % GEN_FOLD_EVERY == 0)
		fold_old(ms, max, delta);
	for (unsigned int i = 0; i < GEN_SEQ_NR; i++)
		if (delta[i])
			gen_count(&ms->gens, i, delta[i]);
	spin_unlock(&ms->age_lock);
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

/*
 * Store and free one victim; the invalidation over it is open, so every
 * leaf mapping it is gone and a fault that resolved it retries.  The claim
 * RESIDENT -> EVICTING fails if the page was pinned, moved to a younger
 * generation than @gen, or is no longer resident.  Returns whether it was freed.
 */
static bool evict_one(struct memslot *ms, uint64_t gfn, unsigned int gen)
{
	uint64_t *slot = &ms->slots[gfn], v = load_acquire(slot), handle, max;
	unsigned int idx;
	void *page;
	int rc;

	do {
		max = gen_max_seq(&ms->gens);
		if (ms_slot_state(v) != MS_RESIDENT || (v & MS_PIN_MASK) ||
		    gen_of_age(gen_age(max, ms_slot_gen_idx(v))) < gen)
			return false;
	} while (!slot_cmpxchg(slot, &v, (v & ~MS_STATE_MASK) | MS_EVICTING));
	idx = ms_slot_gen_idx(v);
	/* The invalidation zapped every mapping: the guest cannot change the page now. */
	WARN_ONCE(READ_ONCE(ms->rmaps[gfn].val) || READ_ONCE(rmap_2m(ms, gfn)->val),
		  "memslot: gfn %llx still mapped while evicted", (unsigned long long)gfn);
	page = slot_page(v);
	rc = zstore_put(ms->store, page, ms->ops->scratch(), &handle);
	if (rc) {
		/* Out of memory, or storing it would free nothing: keep it, as the youngest. */
		unsigned int young = gen_seq_idx(gen_max_seq(&ms->gens));

		if (rc == ZSTORE_ERR_INCOMPRESSIBLE)
			stat_add(&ms->st.incompressible, 1);
		gen_count(&ms->gens, young, 1);
		gen_count(&ms->gens, idx, -1);
		/* Only the claimer leaves EVICTING: a store does (release: pairs with resolve). */
		store_release(slot, make_resident(v & MS_ADDR_MASK, young));
		return false;
	}
	store_release(slot, (handle << MS_HANDLE_SHIFT) | MS_EVICTED);
	gen_count(&ms->gens, idx, -1);
	stat_add(&ms->st.resident, -1);
	stat_add(&ms->st.evicted, 1);
	stat_add(&ms->st.evictions, 1);
	if (zstore_handle_is_zero(handle))
		stat_add(&ms->st.zero_evictions, 1);
	ms->ops->free_page(ms, page);
	return true;
}

/*
 * Up to @n gfns of generation @gen or older, in gfn order from the clock
 * hand.  A candidate of an older generation whose leaves were accessed since
 * the last pass gets a second chance: it moves to the youngest generation
 * instead (its accessed bits cleared, as a pass would).
 */
/* Was @gfn accessed since the last look, through a 4 KiB or a 2 MiB leaf?  Clears both. */
static bool gfn_test_clear_young(struct memslot *ms, uint64_t gfn)
{
	bool young = rmap_test_clear_young(&ms->rmaps[gfn]);

	return rmap_test_clear_young(rmap_2m(ms, gfn)) || young;
}

static size_t pick_old(struct memslot *ms, size_t n, unsigned int gen, uint64_t *out)
{
	uint64_t g = ms->clock, max = gen_max_seq(&ms->gens);
	unsigned int young = gen_seq_idx(max);
	size_t taken = 0;

	if (g >= ms->nr_pages)
		g = 0;
	grace_read_lock();	/* the second-chance test reads EPT entries */
	for (uint64_t seen = 0; seen < ms->nr_pages && taken < n; seen++) {
		uint64_t v = MS_EMPTY;

		if (!memslot_meta_backed(ms, g)) {
			/* EMPTY to its end: the step below leaves its last gfn. */
			seen += chunk_last(ms, g) - g;
			g = chunk_last(ms, g);
		} else {
			v = READ_ONCE(ms->slots[g]);
		}
		if (ms_slot_state(v) == MS_RESIDENT && !(v & MS_PIN_MASK) &&
		    gen_of_age(gen_age(max, ms_slot_gen_idx(v))) >= gen) {
			if (gen == GEN_YOUNGEST || !gfn_test_clear_young(ms, g)) {
				out[taken++] = g;
			} else {
				int old = move_gen(ms, g, v, young);

				if (old >= 0) {
					gen_count(&ms->gens, young, 1);
					gen_count(&ms->gens, (unsigned int)old, -1);
				}
			}
		}
		if (++g == ms->nr_pages)
			g = 0;
	}
	grace_read_unlock();
	ms->clock = g;
	return taken;
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

size_t memslot_evict_oldest(struct memslot *ms, size_t n, unsigned int min_gen)
{
	uint64_t gfns[MEMSLOT_EVICT_BATCH];
	unsigned int gen = gen_oldest(&ms->gens);
	size_t taken = 0, freed = 0;

	if (n > MEMSLOT_EVICT_BATCH)
		n = MEMSLOT_EVICT_BATCH;
	if (gen >= min_gen && READ_ONCE(ms->st.resident))
		taken = pick_old(ms, n, gen, gfns);
	/* The clock hand wraps: runs are adjacent in gfn order. */
	sort_gfns(gfns, taken);
	/* One invalidation per run of adjacent gfns; the claims are made inside it. */
	for (size_t i = 0, j; i < taken; i = j) {
		bool opened;

		for (j = i + 1; j < taken && gfns[j] == gfns[j - 1] + 1; j++)
			;
		opened = ept_invalidate_begin(ms->ept, gfns[i], gfns[j - 1] + 1);
		for (size_t k = i; k < j; k++)
			freed += evict_one(ms, gfns[k], gen);
		ept_invalidate_end(ms->ept, gfns[i], gfns[j - 1] + 1, opened);
	}
	return freed;
}

/*
 * Drop @gfn's page or stored copy; the invalidation over it is open, so no
 * leaf maps it and a fault that resolved it retries.  Whether it held one.
 *
 * RESIDENT is claimed like an eviction (RESIDENT -> EVICTING by
 * compare-and-exchange, waiting out pins), then emptied and the page freed.
 * EVICTED goes straight to EMPTY by compare-and-exchange: whoever wins the
 * word owns the handle, so a refault that claimed it first (LOADING) is
 * waited for and its page discarded.  EVICTING and LOADING belong to their
 * claimer and are waited for too; both end without waiting on us.
 */
static bool discard_one(struct memslot *ms, uint64_t gfn)
{
	uint64_t *slot = &ms->slots[gfn], v;

	if (!memslot_meta_backed(ms, gfn))
		return false;	/* EMPTY */
	v = load_acquire(slot);
	for (;;) {
		switch (ms_slot_state(v)) {
		case MS_EMPTY:
			return false;
		case MS_RESIDENT:
			if (v & MS_PIN_MASK)
				break;	/* memslot_access() is copying: wait for it */
			if (!slot_cmpxchg(slot, &v, (v & ~MS_STATE_MASK) | MS_EVICTING))
				continue;	/* v is the new word */
			WARN_ONCE(READ_ONCE(ms->rmaps[gfn].val) || READ_ONCE(rmap_2m(ms, gfn)->val),
				  "memslot: gfn %llx still mapped while discarded",
				  (unsigned long long)gfn);
			gen_count(&ms->gens, ms_slot_gen_idx(v), -1);
			stat_add(&ms->st.resident, -1);
			stat_add(&ms->st.discarded, 1);
			/* Only the claimer leaves EVICTING; a resolver that sees EMPTY populates anew. */
			store_release(slot, MS_EMPTY);
			ms->ops->free_page(ms, slot_page(v));
			return true;
		case MS_EVICTED:
			if (!slot_cmpxchg(slot, &v, MS_EMPTY))
				continue;
			zstore_drop(ms->store, slot_handle(v));
			stat_add(&ms->st.evicted, -1);
			stat_add(&ms->st.discarded, 1);
			return true;
		default:
			/* EVICTING (reclaim) or LOADING (a refault): its claimer finishes it. */
			break;
		}
		cpu_relax();
		v = load_acquire(slot);
	}
}

/* Does any gfn of [start, end) hold memory?  A racy look: only to skip empty runs. */
static bool any_populated(struct memslot *ms, uint64_t start, uint64_t end)
{
	for (uint64_t g = start; g < end; g++) {
		if (!memslot_meta_backed(ms, g))
			g = chunk_last(ms, g);
		else if (READ_ONCE(ms->slots[g]) != MS_EMPTY)
			return true;
	}
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

static uint64_t stat_read(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

void memslot_stats(struct memslot *ms, struct memslot_stats *st, size_t hist[GEN_NR])
{
	st->populated = stat_read(&ms->st.populated);
	st->resident = stat_read(&ms->st.resident);
	st->evicted = stat_read(&ms->st.evicted);
	st->evictions = stat_read(&ms->st.evictions);
	st->refaults = stat_read(&ms->st.refaults);
	st->zero_evictions = stat_read(&ms->st.zero_evictions);
	st->nomem = stat_read(&ms->st.nomem);
	st->incompressible = stat_read(&ms->st.incompressible);
	st->discarded = stat_read(&ms->st.discarded);
	st->huge_populated = stat_read(&ms->st.huge_populated);
	st->leaves_4k = stat_read(&ms->st.leaves_4k);
	st->leaves_2m = stat_read(&ms->st.leaves_2m);
	st->meta_bytes = stat_read(&ms->st.meta_bytes);
	if (hist)
		gen_histogram(&ms->gens, hist);
}

bool memslot_page_info(struct memslot *ms, uint64_t gfn, struct memslot_page_info *out)
{
	struct rmap_iter it;
	unsigned long old;
	uint64_t v;

	memset(out, 0, sizeof(*out));
	if (gfn >= ms->nr_pages)
		return false;
	if (!memslot_meta_backed(ms, gfn))
		return true;	/* EMPTY, never mapped */
	v = load_acquire(&ms->slots[gfn]);
	switch (ms_slot_state(v)) {
	case MS_RESIDENT:
		out->tracked = true;
		out->gen = gen_of_age(gen_age(gen_max_seq(&ms->gens), ms_slot_gen_idx(v)));
		/* fall through */
	case MS_EVICTING:
		out->state = MS_PAGE_RESIDENT;
		out->hpa = v & MS_ADDR_MASK;
		break;
	case MS_EVICTED:
	case MS_LOADING:
		out->handle = slot_handle(v);
		out->state = zstore_handle_is_zero(out->handle) ? MS_PAGE_ZERO : MS_PAGE_EVICTED;
		break;
	}
	old = rmap_lock_readonly(&ms->rmaps[gfn]);
	for (uint64_t *p = rmap_iter_first(&it, old); p; p = rmap_iter_next(&it))
		out->mappings++;
	rmap_unlock_readonly(&ms->rmaps[gfn], old);
	old = rmap_lock_readonly(rmap_2m(ms, gfn));
	for (uint64_t *p = rmap_iter_first(&it, old); p; p = rmap_iter_next(&it))
		out->mappings_2m++;
	rmap_unlock_readonly(rmap_2m(ms, gfn), old);
	return true;
}

bool memslot_gfn_of_hpa(struct memslot *ms, uint64_t hpa, uint64_t *gfn)
{
	hpa &= MS_ADDR_MASK;
	for (uint64_t g = 0; g < ms->nr_pages; g++) {
		uint64_t v;

		if (!memslot_meta_backed(ms, g)) {
			g = chunk_last(ms, g);
			continue;
		}
		v = READ_ONCE(ms->slots[g]);
		if (ms_slot_state(v) == MS_RESIDENT && (v & MS_ADDR_MASK) == hpa) {
			*gfn = g;
			return true;
		}
	}
	return false;
}
