/* SPDX-License-Identifier: MIT */
/*
 * A disk whose 4 KiB blocks live in a page store (store/zstore.h): one
 * handle per block, so a zero block costs nothing, a block equal to one
 * already stored (in this disk or another on the same store) shares its
 * copy, and the rest is compressed.  Writing a block stores the new content
 * and drops the old handle; discarding it makes it a zero block.  This is
 * what a virtio-blk disk (hv/virtio/blk.c) keeps for the life of its guest.
 *
 * Portable and host-tested (tests/store/test_zdisk.c).  The caller
 * serialises the calls on one disk and provides its memory: the handle
 * array (zdisk_handles_bytes()) and a scratch for the store.
 */
#ifndef STORE_ZDISK_H
#define STORE_ZDISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/zstore.h"

#define ZDISK_BLOCK	ZSTORE_PAGE_SIZE

struct zdisk {
	struct zstore *store;
	struct zstore_scratch *scratch;
	uint64_t nblocks;
	/* One per block: a store handle, or ZSTORE_HANDLE_NONE for a block of zeros. */
	uint32_t *handles;
	/* Statistics. */
	uint64_t reads, writes, discards, write_nomem;
};

struct zdisk_stats {
	uint64_t blocks;		/* the disk's size in blocks */
	uint64_t zero_blocks;		/* blocks that hold no data */
};

static inline size_t zdisk_handles_bytes(uint64_t nblocks)
{
	return (size_t)nblocks * sizeof(uint32_t);
}

/**
 * zdisk_init - a disk of @nblocks blocks in @store, its blocks from @image
 * (@len bytes; the rest of the last block and the blocks past it are
 * zeros).  @handles is room for zdisk_handles_bytes(); @scratch is the
 * store's scratch for this disk's calls, @bounce a 4 KiB buffer for the
 * image's last block.  0, or ZSTORE_ERR_NOMEM with nothing kept.
 */
int zdisk_init(struct zdisk *d, struct zstore *store, struct zstore_scratch *scratch,
	       void *bounce, uint32_t *handles, uint64_t nblocks, const void *image,
	       uint64_t len);

/** zdisk_destroy - drop every block's handle. */
void zdisk_destroy(struct zdisk *d);

/** zdisk_read - block @blk into @page (4 KiB); 0 or a ZSTORE_ERR_*. */
int zdisk_read(struct zdisk *d, uint64_t blk, void *page);
/** zdisk_write - @page becomes block @blk; on failure (ZSTORE_ERR_NOMEM) the block is unchanged. */
int zdisk_write(struct zdisk *d, uint64_t blk, const void *page);
/** zdisk_discard - block @blk reads as zeros again and keeps nothing. */
void zdisk_discard(struct zdisk *d, uint64_t blk);

void zdisk_stats(const struct zdisk *d, struct zdisk_stats *st);

#endif
