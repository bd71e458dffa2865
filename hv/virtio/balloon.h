/* SPDX-License-Identifier: MIT */
/*
 * virtio-balloon (device ID 5) for `balloon = yes`: the driver gives pages
 * to the balloon when asked (`balloon NAME SIZE` in the shell sets the
 * target) and reports the free pages of its allocator on its own (free page
 * reporting).  Either way the pages are dropped at once through
 * memslot_discard(): they charge nothing and read as zeros when the guest
 * touches them again.  Memory statistics come over the stats queue.
 */
#ifndef HV_VIRTIO_BALLOON_H
#define HV_VIRTIO_BALLOON_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

#define BALLOON_NSTATS	10	/* VIRTIO_BALLOON_S_NR */

struct balloon_stats {
	uint32_t target;		/* pages the host asks for (num_pages) */
	uint32_t actual;		/* pages the driver says it holds */
	uint64_t inflated, deflated;	/* pages given and taken back */
	uint64_t inflated_freed;	/* ... of those given, pages that held memory */
	uint64_t reported, reported_freed;	/* free pages reported, and that held memory */
	uint64_t reports;		/* reports (chains) */
	uint64_t stats_updates;		/* statistics the driver sent */
	bool have_stats;
	uint64_t stat[BALLOON_NSTATS];	/* by VIRTIO_BALLOON_S_* tag; ~0: not sent */
};

/* The guest's balloon figures; false when it has no balloon. */
bool virtio_balloon_stats(struct vm *vm, struct balloon_stats *st);
/* Ask for @bytes of guest memory in the balloon (0: give it all back); -1 without a balloon. */
int virtio_balloon_set(struct vm *vm, uint64_t bytes);
/* Ask the driver for fresh statistics (it answers asynchronously); -1 without a balloon. */
int virtio_balloon_refresh(struct vm *vm);

extern const char *const balloon_stat_names[BALLOON_NSTATS];

#endif
