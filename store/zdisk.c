/* SPDX-License-Identifier: MIT */
/* A disk of blocks in the page store; the rules are in store/zdisk.h. */
#include "lib/check.h"
#include "lib/string.h"
#include "store/zdisk.h"

/* Store @page: its handle, or ZSTORE_HANDLE_NONE for zeros (kept out of the store's counts). */
static int put(struct zdisk *d, const void *page, uint32_t *handle)
{
	uint64_t h;
	int rc = zstore_put(d->store, page, d->scratch, &h);

	if (rc)
		return rc;
	BUILD_BUG_ON(ZSTORE_HANDLE_BITS > 32);
	if (zstore_handle_is_zero(h)) {
		zstore_drop(d->store, h);
		h = ZSTORE_HANDLE_NONE;
	}
	*handle = (uint32_t)h;
	return 0;
}

static void drop(struct zdisk *d, uint64_t blk)
{
	if (d->handles[blk] != ZSTORE_HANDLE_NONE)
		zstore_drop(d->store, d->handles[blk]);
	d->handles[blk] = ZSTORE_HANDLE_NONE;
}

int zdisk_init(struct zdisk *d, struct zstore *store, struct zstore_scratch *scratch,
	       void *bounce, uint32_t *handles, uint64_t nblocks, const void *image,
	       uint64_t len)
{
	const uint8_t *img = image;

	memset(d, 0, sizeof(*d));
	d->store = store;
	d->scratch = scratch;
	d->handles = handles;
	d->nblocks = nblocks;
	for (uint64_t b = 0; b < nblocks; b++)
		handles[b] = ZSTORE_HANDLE_NONE;
	for (uint64_t b = 0; b < nblocks && b * ZDISK_BLOCK < len; b++) {
		uint64_t n = len - b * ZDISK_BLOCK;
		const void *src = img + b * ZDISK_BLOCK;
		int rc;

		if (n < ZDISK_BLOCK) {
			/* The image's tail, padded with zeros. */
			memset(bounce, 0, ZDISK_BLOCK);
			memcpy(bounce, src, n);
			src = bounce;
		}
		rc = put(d, src, &handles[b]);
		if (rc) {
			zdisk_destroy(d);
			return rc;
		}
	}
	return 0;
}

void zdisk_destroy(struct zdisk *d)
{
	for (uint64_t b = 0; d->handles && b < d->nblocks; b++)
		drop(d, b);
}

int zdisk_read(struct zdisk *d, uint64_t blk, void *page)
{
	if (blk >= d->nblocks)
		return ZSTORE_ERR_HANDLE;
	d->reads++;
	if (d->handles[blk] == ZSTORE_HANDLE_NONE) {
		memset(page, 0, ZDISK_BLOCK);
		return 0;
	}
	return zstore_get(d->store, d->handles[blk], page, d->scratch);
}

int zdisk_write(struct zdisk *d, uint64_t blk, const void *page)
{
	uint32_t h;
	int rc;

	if (blk >= d->nblocks)
		return ZSTORE_ERR_HANDLE;
	d->writes++;
	rc = put(d, page, &h);
	if (rc) {
		d->write_nomem++;
		return rc;
	}
	drop(d, blk);
	d->handles[blk] = h;
	return 0;
}

void zdisk_discard(struct zdisk *d, uint64_t blk)
{
	if (blk >= d->nblocks)
		return;
	d->discards++;
	drop(d, blk);
}

void zdisk_stats(const struct zdisk *d, struct zdisk_stats *st)
{
	st->blocks = d->nblocks;
	st->zero_blocks = 0;
	for (uint64_t b = 0; b < d->nblocks; b++)
		st->zero_blocks += d->handles[b] == ZSTORE_HANDLE_NONE;
}
