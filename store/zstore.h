/* SPDX-License-Identifier: MIT */
/*
 * The store for guest pages the reclaim evicts.  A page goes in as a 4 KiB
 * copy and comes back bit for bit from the handle zstore_put() gave:
 *
 *   - an all-zero page costs nothing: its handle says "zero";
 *   - a page equal to one already stored shares that copy (refcounted);
 *   - any other page is LZ-compressed (store/lz.h) into a slab of its size
 *     class, or kept raw in a page of its own when it does not compress.
 *
 * The store takes its memory as single 4 KiB pages from the caller's
 * callbacks and gives every data page back as soon as it empties; its
 * bookkeeping pages (entry table, hash buckets) are kept until
 * zstore_destroy().  See docs/reclaim-store.md for the layout and figures.
 */
#ifndef HV_ZSTORE_H
#define HV_ZSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smp/spinlock.h"
#include "store/lz.h"

#define ZSTORE_PAGE_SIZE	4096u

/*
 * Handles: 0 is never a handle; ZSTORE_HANDLE_ZERO stands for the zero page;
 * every handle fits in the low ZSTORE_HANDLE_BITS bits, so a caller can keep
 * one in the address bits of a non-present page table entry.
 */
#define ZSTORE_HANDLE_NONE	0ull
#define ZSTORE_HANDLE_ZERO	1ull
#define ZSTORE_HANDLE_BITS	32

/* Results of the calls below: 0 or one of these. */
#define ZSTORE_ERR_NOMEM	(-1)	/* a page callback failed; nothing stored */
#define ZSTORE_ERR_HANDLE	(-2)	/* not a live handle of this store */
#define ZSTORE_ERR_CORRUPT	(-3)	/* stored data does not decompress */
#define ZSTORE_ERR_INCOMPRESSIBLE (-4)	/* reject_incompressible, and nothing to share */

/*
 * Where the store's memory comes from.  alloc_page() returns a 4 KiB-aligned
 * page of any contents, or NULL; free_page() takes back one it returned.
 * Both are called with zs->lock held, so they must not call into the store
 * and their own locks nest inside it.
 */
struct zstore_ops {
	void *(*alloc_page)(void *ctx);
	void (*free_page)(void *ctx, void *page);
};

/*
 * Working memory of one zstore_put() or zstore_get() call, 12 KiB: too big
 * for a 32 KiB hypervisor stack, so keep one per CPU (or per thread) and
 * never share one between calls that may run at the same time.
 */
struct zstore_scratch {
	uint8_t lz_work[LZ_WORK_SIZE];
	uint8_t buf[ZSTORE_PAGE_SIZE];
};

/* Sizes of the store's bookkeeping; see zstore.c. */
#define ZSTORE_NR_CLASSES	63	/* compressed sizes 64, 128, ... 4032 */
#define ZSTORE_DIR_TOP		64	/* entry table: 64 x 512 pages x 128 entries */
#define ZSTORE_BUCKET_PAGES	256	/* hash: up to 256 x 1024 buckets */

struct zstore_stats {
	/* What is stored now. */
	uint64_t handles;		/* live handles, zero ones included */
	uint64_t zero_handles;		/* live handles of zero pages */
	uint64_t entries;		/* distinct contents kept (dedup shares one) */
	uint64_t raw_entries;		/* of which stored uncompressed */
	uint64_t compressed_bytes;	/* compressed bytes of the other entries */
	uint64_t data_pages;		/* pages in slabs and raw pages */
	uint64_t meta_pages;		/* entry table, its directory, hash buckets */
	/* Counters since zstore_init(). */
	uint64_t puts;
	uint64_t zero_puts;
	uint64_t dedup_hits;		/* puts answered by an entry already kept */
	uint64_t gets;
	uint64_t drops;
	uint64_t nomem;			/* puts refused for want of a page */
	uint64_t rejected;		/* puts refused as incompressible (reject_incompressible) */
	uint64_t bad_handles;		/* gets and drops refused as misuse */
};

struct zstore_slab;

struct zstore {
	/*
	 * One lock for the whole store: it protects every field below, the
	 * entries, hash buckets and slab headers.  Stored bytes are written
	 * under it before their entry is published in the hash; zstore_get()
	 * reads them after dropping it, holding a reference on the entry so
	 * that they cannot be freed.  Compression and hashing run unlocked.
	 */
	spinlock_t lock;
	const struct zstore_ops *ops;
	void *ctx;

	/* Entry table: dir[i] is a page of 512 pointers to pages of entries. */
	void **dir[ZSTORE_DIR_TOP];
	uint32_t nr_entry_slots;	/* entries the table holds, used or free */
	uint32_t free_entry;		/* free list through entry->next, 0 = empty */

	/* Linear hashing: buckets [0, split) use one more bit of the hash. */
	uint32_t *buckets[ZSTORE_BUCKET_PAGES];
	uint32_t hash_base;		/* 1024 << level */
	uint32_t hash_split;

	/* Slabs with a free slot, per size class; geometry of each class. */
	struct zstore_slab *partial[ZSTORE_NR_CLASSES];
	uint8_t class_pages[ZSTORE_NR_CLASSES];
	uint16_t class_slots[ZSTORE_NR_CLASSES];

	struct zstore_stats st;
	/*
	 * Refuse a page that neither compresses nor matches a stored one,
	 * rather than keep it raw: when the store lives in the memory it
	 * frees, a raw copy frees nothing.  Set before use.
	 */
	bool reject_incompressible;
};

/* Make @zs empty; @ops and @ctx are kept for its page callbacks. */
void zstore_init(struct zstore *zs, const struct zstore_ops *ops, void *ctx);

/*
 * Give back every page @zs holds.  Handles still live are a bug of the
 * caller (WARN_ONCE) and become invalid.  Nothing may run on @zs meanwhile.
 */
void zstore_destroy(struct zstore *zs);

/*
 * Store a copy of the 4 KiB at @page and set *@handle.  Returns 0, or
 * ZSTORE_ERR_NOMEM or ZSTORE_ERR_INCOMPRESSIBLE with nothing stored.
 */
int zstore_put(struct zstore *zs, const void *page, struct zstore_scratch *scratch,
	       uint64_t *handle);

/*
 * Copy what @handle stands for into the 4 KiB at @page; the handle stays
 * live.  Returns 0, ZSTORE_ERR_HANDLE (nothing written) or ZSTORE_ERR_CORRUPT.
 * May run at the same time as a zstore_drop() of another handle to the same
 * content, not of the same handle.
 */
int zstore_get(struct zstore *zs, uint64_t handle, void *page, struct zstore_scratch *scratch);

/*
 * End @handle; the memory goes when the last handle to the content does.
 * Returns 0 or ZSTORE_ERR_HANDLE.  A handle that was dropped may be handed out
 * again by a later zstore_put(), so dropping it twice is not always caught.
 */
int zstore_drop(struct zstore *zs, uint64_t handle);

/* A consistent snapshot of the counters, taken under the lock. */
void zstore_get_stats(struct zstore *zs, struct zstore_stats *st);

static inline bool zstore_handle_is_zero(uint64_t handle)
{
	return handle == ZSTORE_HANDLE_ZERO;
}

#endif
