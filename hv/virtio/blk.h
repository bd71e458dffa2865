/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (device ID 2): one per `disk = FILE [ro]` of a guest.  The disk
 * is the file from the boot medium, its 4 KiB blocks in the disks' page
 * store (store/zdisk.h): built when the guest starts, written in memory,
 * kept across a reset of the guest and dropped when it ends.  Requests:
 * read, write, flush (nothing to flush: OK), get-ID, discard.
 */
#ifndef HV_VIRTIO_BLK_H
#define HV_VIRTIO_BLK_H

#include <stdint.h>

#include "store/zstore.h"

struct virtio_dev;

struct blk_stats {
	uint64_t size;			/* bytes */
	uint64_t zero_blocks;		/* blocks holding nothing */
	uint64_t reads, writes, flushes, discards, get_ids;	/* requests */
	uint64_t read_bytes, write_bytes;
	uint64_t ioerrs, unsupported;
	const char *file;
	bool ro;
};

/* @d's disk figures (a virtio-blk device), for the shell; false for another device. */
bool virtio_blk_stats(struct virtio_dev *d, struct blk_stats *st);
/* What the disks' store holds, for `mem`. */
void virtio_blk_store_stats(struct zstore_stats *st);

#endif
