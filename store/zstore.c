/* SPDX-License-Identifier: MIT */
/*
 * The store of evicted pages (store/zstore.h).
 *
 * Every distinct non-zero content is one entry of 32 bytes in a table of
 * entry pages, found by index: the handle is (index << 2) | 2.  Entries are
 * chained by content hash for deduplication; two pages are equal when their
 * stored forms are, since compression is deterministic.
 *
 * Compressed data lives in slabs: a slab of size class c holds slots of
 * 64 * (c + 1) bytes in 1 to 4 pages, chosen per class to waste least; a
 * slot may straddle two of its pages.  The slab header sits at the start of
 * its first page.  Data that does not compress to 4032 bytes or less takes a
 * page of its own.
 */
#include "lib/check.h"
#include "lib/string.h"
#include "store/zstore.h"

#define ENTRIES_PER_PAGE	(ZSTORE_PAGE_SIZE / sizeof(struct zstore_entry))
#define DIR_FANOUT		(ZSTORE_PAGE_SIZE / sizeof(void *))
#define MAX_ENTRIES		(ZSTORE_DIR_TOP * DIR_FANOUT * ENTRIES_PER_PAGE)
#define BUCKETS_PER_PAGE	(ZSTORE_PAGE_SIZE / sizeof(uint32_t))
#define MAX_BUCKETS		(ZSTORE_BUCKET_PAGES * BUCKETS_PER_PAGE)
/* The hash grows a bucket when entries pass this many per bucket. */
#define HASH_LOAD		2

#define CLASS_SHIFT		6
#define MAX_COMPRESSED		(ZSTORE_NR_CLASSES << CLASS_SHIFT)
#define SLAB_MAX_PAGES		4
#define SLAB_MAX_SLOTS		256
#define SLAB_HDR		128

#define HANDLE_ENTRY		2u

struct zstore_entry {
	uint64_t hash;
	/* The slab holding the data, or the page itself when raw. */
	void *where;
	/* Next in the hash chain, or in the free list; 0 ends both. */
	uint32_t next;
	/* Live handles plus zstore_get() calls in flight; 0 = free entry. */
	uint32_t refs;
	uint16_t slot;
	/* Stored bytes; ZSTORE_PAGE_SIZE for a raw page. */
	uint16_t len;
	uint32_t unused;
};

struct zstore_slab {
	void *pages[SLAB_MAX_PAGES];
	/* On zs->partial[class] while it has a free slot. */
	struct zstore_slab *prev, *next;
	uint16_t class;
	uint16_t nr_free;
	/* Bit set: slot free. */
	uint64_t free_map[SLAB_MAX_SLOTS / 64];
};

BUILD_BUG_ON(sizeof(struct zstore_entry) != 32);
BUILD_BUG_ON(sizeof(struct zstore_slab) > SLAB_HDR);
BUILD_BUG_ON(MAX_COMPRESSED >= ZSTORE_PAGE_SIZE);
BUILD_BUG_ON(((uint64_t)MAX_ENTRIES << 2) > (1ull << ZSTORE_HANDLE_BITS));

/* ---- pages from the caller ---- */

static void *get_page(struct zstore *zs, bool zeroed)
{
	void *p = zs->ops->alloc_page(zs->ctx);

	if (p && zeroed)
		memset(p, 0, ZSTORE_PAGE_SIZE);
	return p;
}

static void put_page(struct zstore *zs, void *p)
{
	zs->ops->free_page(zs->ctx, p);
}

/* ---- content ---- */

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static bool page_is_zero(const uint8_t *p)
{
	for (size_t i = 0; i < ZSTORE_PAGE_SIZE; i += 32)
		if (load64(p + i) | load64(p + i + 8) | load64(p + i + 16) | load64(p + i + 24))
			return false;
	return true;
}

static inline uint64_t rotl64(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

#define P1	0x9e3779b185ebca87ull
#define P2	0xc2b2ae3d27d4eb4full
#define P3	0x165667b19e3779f9ull

/* A 64-bit hash of a page, four independent lanes in the style of xxHash64. */
static uint64_t page_hash(const uint8_t *p)
{
	uint64_t v[4] = { P1 + P2, P2, 0, -P1 };
	uint64_t h;

	for (size_t i = 0; i < ZSTORE_PAGE_SIZE; i += 32)
		for (int k = 0; k < 4; k++)
			v[k] = rotl64(v[k] + load64(p + i + 8 * k) * P2, 31) * P1;
	h = rotl64(v[0], 1) + rotl64(v[1], 7) + rotl64(v[2], 12) + rotl64(v[3], 18);
	h ^= h >> 33;
	h *= P2;
	h ^= h >> 29;
	h *= P3;
	return h ^ (h >> 32);
}

/* ---- the entry table ---- */

static struct zstore_entry *entry_at(struct zstore *zs, uint32_t idx)
{
	uint32_t pg = idx / ENTRIES_PER_PAGE;
	struct zstore_entry *ents = zs->dir[pg / DIR_FANOUT][pg % DIR_FANOUT];

	return &ents[idx % ENTRIES_PER_PAGE];
}

/* Add a page of free entries; index 0 is never used, so 0 can mean none. */
static bool entry_grow(struct zstore *zs)
{
	uint32_t pg = zs->nr_entry_slots / ENTRIES_PER_PAGE;
	void ***top = &zs->dir[pg / DIR_FANOUT];
	struct zstore_entry *ents;

	if (zs->nr_entry_slots >= MAX_ENTRIES)
		return false;
	if (!*top) {
		*top = get_page(zs, true);
		if (!*top)
			return false;
		zs->st.meta_pages++;
	}
	ents = get_page(zs, true);
	if (!ents)
		return false;	/* an empty directory page stays for next time */
	zs->st.meta_pages++;
	(*top)[pg % DIR_FANOUT] = ents;
	for (uint32_t i = ENTRIES_PER_PAGE; i-- > 0;) {
		uint32_t idx = zs->nr_entry_slots + i;

		if (idx == 0)
			continue;
		ents[i].next = zs->free_entry;
		zs->free_entry = idx;
	}
	zs->nr_entry_slots += ENTRIES_PER_PAGE;
	return true;
}

static uint32_t entry_alloc(struct zstore *zs)
{
	uint32_t idx;

	if (!zs->free_entry && !entry_grow(zs))
		return 0;
	idx = zs->free_entry;
	zs->free_entry = entry_at(zs, idx)->next;
	return idx;
}

static void entry_free(struct zstore *zs, uint32_t idx)
{
	struct zstore_entry *e = entry_at(zs, idx);

	e->refs = 0;
	e->where = NULL;
	e->next = zs->free_entry;
	zs->free_entry = idx;
}

/* ---- the content hash: linear hashing over lazily allocated bucket pages ---- */

static uint32_t bucket_of(struct zstore *zs, uint64_t hash)
{
	uint32_t b = (uint32_t)hash & (zs->hash_base - 1);

	if (b < zs->hash_split)
		b = (uint32_t)hash & (2 * zs->hash_base - 1);
	return b;
}

static uint32_t *bucket_head(struct zstore *zs, uint32_t b)
{
	return &zs->buckets[b / BUCKETS_PER_PAGE][b % BUCKETS_PER_PAGE];
}

/* Split one bucket when the table is loaded; a failed allocation waits for later. */
static void hash_grow(struct zstore *zs)
{
	uint32_t nr = zs->hash_base + zs->hash_split;
	uint32_t old = zs->hash_split, new = old + zs->hash_base;
	uint32_t *from, *to;

	if (zs->st.entries <= (uint64_t)nr * HASH_LOAD || nr >= MAX_BUCKETS)
		return;
	if (!zs->buckets[new / BUCKETS_PER_PAGE]) {
		zs->buckets[new / BUCKETS_PER_PAGE] = get_page(zs, true);
		if (!zs->buckets[new / BUCKETS_PER_PAGE])
			return;
		zs->st.meta_pages++;
	}
	from = bucket_head(zs, old);
	to = bucket_head(zs, new);
	while (*from) {
		struct zstore_entry *e = entry_at(zs, *from);

		if ((e->hash & (2 * zs->hash_base - 1)) == new) {
			uint32_t idx = *from;

			*from = e->next;
			e->next = *to;
			*to = idx;
		} else {
			from = &e->next;
		}
	}
	if (++zs->hash_split == zs->hash_base) {
		zs->hash_base *= 2;
		zs->hash_split = 0;
	}
}

static void hash_unlink(struct zstore *zs, uint32_t idx)
{
	struct zstore_entry *e = entry_at(zs, idx);
	uint32_t *link = bucket_head(zs, bucket_of(zs, e->hash));

	while (*link != idx) {
		BUG_ON(!*link);
		link = &entry_at(zs, *link)->next;
	}
	*link = e->next;
}

/* ---- slabs ---- */

static inline size_t class_size(unsigned int c)
{
	return (size_t)(c + 1) << CLASS_SHIFT;
}

/* Pages per slab of each class: the count of 1..4 that wastes the least. */
static void classes_init(struct zstore *zs)
{
	for (unsigned int c = 0; c < ZSTORE_NR_CLASSES; c++) {
		size_t best_used = 0, best_k = 1, slots = 0;

		for (size_t k = 1; k <= SLAB_MAX_PAGES; k++) {
			size_t n = (k * ZSTORE_PAGE_SIZE - SLAB_HDR) / class_size(c);

			if (n > SLAB_MAX_SLOTS)
				n = SLAB_MAX_SLOTS;
			/* used / k beats best_used / best_k */
			if (n * class_size(c) * best_k > best_used * k) {
				best_used = n * class_size(c);
				best_k = k;
				slots = n;
			}
		}
		zs->class_pages[c] = (uint8_t)best_k;
		zs->class_slots[c] = (uint16_t)slots;
	}
}

static void partial_add(struct zstore *zs, struct zstore_slab *s)
{
	s->prev = NULL;
	s->next = zs->partial[s->class];
	if (s->next)
		s->next->prev = s;
	zs->partial[s->class] = s;
}

static void partial_del(struct zstore *zs, struct zstore_slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		zs->partial[s->class] = s->next;
	if (s->next)
		s->next->prev = s->prev;
}

static struct zstore_slab *slab_new(struct zstore *zs, unsigned int c)
{
	void *pages[SLAB_MAX_PAGES] = { NULL };
	unsigned int k = zs->class_pages[c], n = zs->class_slots[c];
	struct zstore_slab *s;

	for (unsigned int i = 0; i < k; i++) {
		pages[i] = get_page(zs, false);
		if (!pages[i]) {
			while (i--)
				put_page(zs, pages[i]);
			return NULL;
		}
	}
	s = pages[0];
	memset(s, 0, sizeof(*s));
	memcpy(s->pages, pages, sizeof(pages));
	s->class = (uint16_t)c;
	s->nr_free = (uint16_t)n;
	for (unsigned int i = 0; i < n; i++)
		s->free_map[i / 64] |= 1ull << (i % 64);
	partial_add(zs, s);
	zs->st.data_pages += k;
	return s;
}

static bool slot_alloc(struct zstore *zs, unsigned int c, struct zstore_slab **sp, uint16_t *slot)
{
	struct zstore_slab *s = zs->partial[c];
	unsigned int w = 0;

	if (!s)
		s = slab_new(zs, c);
	if (!s)
		return false;
	while (!s->free_map[w])
		w++;
	*slot = (uint16_t)(w * 64 + __builtin_ctzll(s->free_map[w]));
	s->free_map[w] &= s->free_map[w] - 1;
	if (--s->nr_free == 0)
		partial_del(zs, s);
	*sp = s;
	return true;
}

static void slot_free(struct zstore *zs, struct zstore_slab *s, uint16_t slot)
{
	unsigned int c = s->class;

	ASSERT(!(s->free_map[slot / 64] & (1ull << (slot % 64))));
	s->free_map[slot / 64] |= 1ull << (slot % 64);
	if (++s->nr_free == 1)
		partial_add(zs, s);
	if (s->nr_free < zs->class_slots[c])
		return;
	/* Empty: every page goes back now, so dropping everything leaves none. */
	partial_del(zs, s);
	zs->st.data_pages -= zs->class_pages[c];
	for (unsigned int i = zs->class_pages[c]; i-- > 0;)
		put_page(zs, s->pages[i]);
}

/* The @len bytes of @slot, as up to two runs within the slab's pages. */
struct slot_span {
	uint8_t *p[2];
	size_t n[2];
};

static struct slot_span slot_span(const struct zstore_slab *s, uint16_t slot, size_t len)
{
	size_t off = SLAB_HDR + slot * class_size(s->class);
	size_t in = off % ZSTORE_PAGE_SIZE;
	uint8_t *first = s->pages[off / ZSTORE_PAGE_SIZE];
	struct slot_span sp = { { first + in, NULL }, { len, 0 } };

	if (in + len > ZSTORE_PAGE_SIZE) {
		sp.n[0] = ZSTORE_PAGE_SIZE - in;
		sp.p[1] = s->pages[off / ZSTORE_PAGE_SIZE + 1];
		sp.n[1] = len - sp.n[0];
	}
	return sp;
}

/* ---- entries and their data ---- */

/* Is the entry @e's stored form @len bytes equal to @data? */
static bool entry_equal(const struct zstore_entry *e, const void *data, size_t len)
{
	struct slot_span sp;

	if (e->len != len)
		return false;
	if (len == ZSTORE_PAGE_SIZE)
		return memcmp(e->where, data, len) == 0;
	sp = slot_span(e->where, e->slot, len);
	return memcmp(sp.p[0], data, sp.n[0]) == 0 &&
	       (!sp.n[1] || memcmp(sp.p[1], (const uint8_t *)data + sp.n[0], sp.n[1]) == 0);
}

static uint32_t dedup_find(struct zstore *zs, uint64_t hash, const void *data, size_t len)
{
	uint32_t idx = *bucket_head(zs, bucket_of(zs, hash));

	while (idx) {
		struct zstore_entry *e = entry_at(zs, idx);

		if (e->hash == hash && entry_equal(e, data, len))
			return idx;
		idx = e->next;
	}
	return 0;
}

/* Keep @len bytes of @data in a new slot or page for @e. */
static bool data_store(struct zstore *zs, struct zstore_entry *e, const void *data, size_t len)
{
	struct zstore_slab *s;
	struct slot_span sp;

	e->len = (uint16_t)len;
	if (len == ZSTORE_PAGE_SIZE) {
		e->where = get_page(zs, false);
		if (!e->where)
			return false;
		memcpy(e->where, data, len);
		zs->st.data_pages++;
		zs->st.raw_entries++;
		return true;
	}
	if (!slot_alloc(zs, (unsigned int)(len - 1) >> CLASS_SHIFT, &s, &e->slot))
		return false;
	e->where = s;
	sp = slot_span(s, e->slot, len);
	memcpy(sp.p[0], data, sp.n[0]);
	if (sp.n[1])
		memcpy(sp.p[1], (const uint8_t *)data + sp.n[0], sp.n[1]);
	zs->st.compressed_bytes += len;
	return true;
}

static void data_release(struct zstore *zs, struct zstore_entry *e)
{
	if (e->len == ZSTORE_PAGE_SIZE) {
		put_page(zs, e->where);
		zs->st.data_pages--;
		zs->st.raw_entries--;
	} else {
		slot_free(zs, e->where, e->slot);
		zs->st.compressed_bytes -= e->len;
	}
}

/* Drop one reference to entry @idx; the last one frees it. */
static void entry_put(struct zstore *zs, uint32_t idx)
{
	struct zstore_entry *e = entry_at(zs, idx);

	if (--e->refs)
		return;
	hash_unlink(zs, idx);
	data_release(zs, e);
	entry_free(zs, idx);
	zs->st.entries--;
}

/* The live entry @handle names, or 0. */
static uint32_t handle_entry(struct zstore *zs, uint64_t handle)
{
	uint64_t idx = handle >> 2;

	if ((handle & 3) != HANDLE_ENTRY || idx == 0 || idx >= zs->nr_entry_slots)
		return 0;
	return entry_at(zs, (uint32_t)idx)->refs ? (uint32_t)idx : 0;
}

/* ---- the interface ---- */

void zstore_init(struct zstore *zs, const struct zstore_ops *ops, void *ctx)
{
	memset(zs, 0, sizeof(*zs));
	spin_lock_init_order(&zs->lock, LOCK_ORDER_STORE);
	zs->ops = ops;
	zs->ctx = ctx;
	zs->hash_base = BUCKETS_PER_PAGE;
	classes_init(zs);
}

void zstore_destroy(struct zstore *zs)
{
	for (uint32_t idx = 1; idx < zs->nr_entry_slots; idx++) {
		struct zstore_entry *e = entry_at(zs, idx);

		if (!e->refs)
			continue;
		WARN_ONCE(1, "zstore: destroyed with handles live\n");
		data_release(zs, e);
	}
	for (unsigned int i = 0; i < ZSTORE_DIR_TOP; i++) {
		if (!zs->dir[i])
			continue;
		for (unsigned int j = 0; j < DIR_FANOUT; j++)
			if (zs->dir[i][j])
				put_page(zs, zs->dir[i][j]);
		put_page(zs, zs->dir[i]);
	}
	for (unsigned int i = 0; i < ZSTORE_BUCKET_PAGES; i++)
		if (zs->buckets[i])
			put_page(zs, zs->buckets[i]);
	zstore_init(zs, zs->ops, zs->ctx);
}

int zstore_put(struct zstore *zs, const void *page, struct zstore_scratch *scratch,
	       uint64_t *handle)
{
	const void *data = page;
	size_t len = ZSTORE_PAGE_SIZE;
	uint64_t hash;
	uint32_t idx;

	if (page_is_zero(page)) {
		spin_lock(&zs->lock);
		zs->st.puts++;
		zs->st.zero_puts++;
		zs->st.handles++;
		zs->st.zero_handles++;
		spin_unlock(&zs->lock);
		*handle = ZSTORE_HANDLE_ZERO;
		return 0;
	}
	hash = page_hash(page);
	len = lz_compress(page, ZSTORE_PAGE_SIZE, scratch->buf, MAX_COMPRESSED, scratch->lz_work);
	if (len)
		data = scratch->buf;
	else
		len = ZSTORE_PAGE_SIZE;

	spin_lock(&zs->lock);
	zs->st.puts++;
	if (!zs->buckets[0]) {
		zs->buckets[0] = get_page(zs, true);
		if (!zs->buckets[0])
			goto nomem;
		zs->st.meta_pages++;
	}
	idx = dedup_find(zs, hash, data, len);
	if (idx) {
		entry_at(zs, idx)->refs++;
		zs->st.dedup_hits++;
	} else {
		struct zstore_entry *e;
		uint32_t *head;

		if (len == ZSTORE_PAGE_SIZE && zs->reject_incompressible) {
			zs->st.rejected++;
			spin_unlock(&zs->lock);
			return ZSTORE_ERR_INCOMPRESSIBLE;
		}
		idx = entry_alloc(zs);
		if (!idx)
			goto nomem;
		e = entry_at(zs, idx);
		if (!data_store(zs, e, data, len)) {
			entry_free(zs, idx);
			goto nomem;
		}
		e->hash = hash;
		e->refs = 1;
		head = bucket_head(zs, bucket_of(zs, hash));
		e->next = *head;
		*head = idx;
		zs->st.entries++;
		hash_grow(zs);
	}
	zs->st.handles++;
	spin_unlock(&zs->lock);
	*handle = (uint64_t)idx << 2 | HANDLE_ENTRY;
	return 0;

nomem:
	zs->st.nomem++;
	spin_unlock(&zs->lock);
	return ZSTORE_ERR_NOMEM;
}

int zstore_get(struct zstore *zs, uint64_t handle, void *page, struct zstore_scratch *scratch)
{
	struct zstore_entry *e;
	struct slot_span sp;
	const void *src;
	size_t len, out;
	uint32_t idx;
	int ret = 0;

	spin_lock(&zs->lock);
	if (handle == ZSTORE_HANDLE_ZERO && zs->st.zero_handles) {
		zs->st.gets++;
		spin_unlock(&zs->lock);
		memset(page, 0, ZSTORE_PAGE_SIZE);
		return 0;
	}
	idx = handle_entry(zs, handle);
	if (!idx) {
		zs->st.bad_handles++;
		spin_unlock(&zs->lock);
		return ZSTORE_ERR_HANDLE;
	}
	zs->st.gets++;
	/* The extra reference keeps the data in place while we read it unlocked. */
	e = entry_at(zs, idx);
	e->refs++;
	len = e->len;
	if (len != ZSTORE_PAGE_SIZE)
		sp = slot_span(e->where, e->slot, len);
	else
		sp = (struct slot_span){ { e->where, NULL }, { len, 0 } };
	spin_unlock(&zs->lock);

	if (len == ZSTORE_PAGE_SIZE) {
		memcpy(page, sp.p[0], len);
	} else {
		src = sp.p[0];
		if (sp.n[1]) {
			memcpy(scratch->buf, sp.p[0], sp.n[0]);
			memcpy(scratch->buf + sp.n[0], sp.p[1], sp.n[1]);
			src = scratch->buf;
		}
		if (lz_decompress(src, len, page, ZSTORE_PAGE_SIZE, &out) || out != ZSTORE_PAGE_SIZE) {
			WARN_ONCE(1, "zstore: entry %u does not decompress\n", idx);
			ret = ZSTORE_ERR_CORRUPT;
		}
	}

	spin_lock(&zs->lock);
	entry_put(zs, idx);
	spin_unlock(&zs->lock);
	return ret;
}

int zstore_drop(struct zstore *zs, uint64_t handle)
{
	uint32_t idx;

	spin_lock(&zs->lock);
	if (handle == ZSTORE_HANDLE_ZERO && zs->st.zero_handles) {
		zs->st.zero_handles--;
	} else {
		idx = handle_entry(zs, handle);
		if (!idx) {
			zs->st.bad_handles++;
			spin_unlock(&zs->lock);
			return ZSTORE_ERR_HANDLE;
		}
		entry_put(zs, idx);
	}
	zs->st.handles--;
	zs->st.drops++;
	spin_unlock(&zs->lock);
	return 0;
}

void zstore_get_stats(struct zstore *zs, struct zstore_stats *st)
{
	spin_lock(&zs->lock);
	*st = zs->st;
	spin_unlock(&zs->lock);
}
