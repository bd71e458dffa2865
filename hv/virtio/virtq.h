/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.x, 2.7), the device's side: take the chains the
 * driver made available, hand them back as used, and decide whether the
 * driver wants a notification.  Portable: guest memory is reached through
 * struct virtq_mem, and every guest-supplied index, address, length and flag
 * is checked before it is used.  A ring that breaks a rule the driver must
 * keep (a head or next index past the queue, a chain that loops or is longer
 * than the queue, a buffer outside guest memory, nested or malformed
 * indirect tables, a readable buffer after a writable one, more buffers
 * made available than the queue holds) is an error: the caller stops using
 * the queue and tells the driver (DEVICE_NEEDS_RESET).  Host-tested with
 * valid, malicious and edge-case rings, and fuzzed.
 *
 * Not thread-safe: the device serialises every call on one queue.
 */
#ifndef HV_VIRTIO_VIRTQ_H
#define HV_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRTQ_MAX_SIZE		256	/* the largest queue a device offers */
#define VIRTQ_SEG_MAX		160	/* buffers in one chain, indirect ones included */
/*
 * All the buffers of one chain: a free page report names up to 32 blocks of
 * 4 MiB; lengths stay far from 32-bit overflow.
 */
#define VIRTQ_MAX_CHAIN_BYTES	(1u << 30)

#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2
#define VIRTQ_DESC_F_INDIRECT	4
#define VIRTQ_AVAIL_F_NO_INTERRUPT	1

/* What went wrong with a ring; names in virtq_strerror(). */
enum virtq_error {
	VIRTQ_OK = 0,
	VIRTQ_E_RING,		/* ring addresses misaligned or outside guest memory */
	VIRTQ_E_AVAIL_IDX,	/* more buffers available than the queue holds */
	VIRTQ_E_HEAD,		/* a head index past the queue */
	VIRTQ_E_NEXT,		/* a next index past the queue (or the table) */
	VIRTQ_E_LOOP,		/* a chain longer than the queue: it loops */
	VIRTQ_E_ADDR,		/* a buffer outside guest memory */
	VIRTQ_E_LEN,		/* a chain longer than VIRTQ_MAX_CHAIN_BYTES */
	VIRTQ_E_SEGS,		/* more than VIRTQ_SEG_MAX buffers */
	VIRTQ_E_ORDER,		/* a device-readable buffer after a writable one */
	VIRTQ_E_INDIRECT,	/* indirect not negotiated, or with NEXT set */
	VIRTQ_E_INDIRECT_LEN,	/* an indirect table that is empty, too long, not whole entries */
	VIRTQ_E_NESTED,		/* an indirect descriptor inside an indirect table */
	VIRTQ_E_MEM,		/* guest memory could not be read or written */
	VIRTQ_E_USED,		/* a used entry for a head not taken, or beyond its chain */
	VIRTQ_NR_ERRORS
};

/* Guest memory as the device reaches it: [0, size), read and write return 0 or -1. */
struct virtq_mem {
	int (*read)(void *ctx, uint64_t gpa, void *buf, size_t len);
	int (*write)(void *ctx, uint64_t gpa, const void *buf, size_t len);
	void *ctx;
	uint64_t size;
};

struct virtq {
	uint16_t size;			/* power of two, 1..VIRTQ_MAX_SIZE */
	uint64_t desc, avail, used;	/* guest-physical addresses of the three parts */
	bool event_idx;			/* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;			/* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	uint16_t last_avail;		/* the next available entry to take */
	uint16_t used_idx;		/* the next used entry to fill */
	uint16_t signalled_used;	/* used_idx when the driver was last notified */
	bool signalled_valid;
	uint32_t in_flight;		/* chains taken, not yet used */
};

struct virtq_seg {
	uint64_t addr;
	uint32_t len;
};

/* One chain: its device-readable buffers first (nread of them), then the writable ones. */
struct virtq_chain {
	uint16_t head;
	unsigned int nseg, nread;
	uint64_t read_len, write_len;
	struct virtq_seg seg[VIRTQ_SEG_MAX];
};

/**
 * virtq_start - check the ring's layout against guest memory and reset the
 * device's indices (the queue is enabled).  0 or VIRTQ_E_RING.
 */
int virtq_start(struct virtq *vq, const struct virtq_mem *m);

/**
 * virtq_pop - take the next available chain into @c: 1, 0 when none is
 * available, or -enum virtq_error (the queue is broken; stop using it).
 */
int virtq_pop(struct virtq *vq, const struct virtq_mem *m, struct virtq_chain *c);

/**
 * virtq_push - give chain @head back with @written bytes written into its
 * writable buffers.  0 or -enum virtq_error.
 */
int virtq_push(struct virtq *vq, const struct virtq_mem *m, uint16_t head, uint32_t written);

/**
 * virtq_notify_wanted - after pushing: does the driver want an interrupt
 * (used_event with EVENT_IDX, else the NO_INTERRUPT flag)?  A memory error
 * answers yes.
 */
bool virtq_notify_wanted(struct virtq *vq, const struct virtq_mem *m);

/**
 * virtq_kick_me - the device has taken everything: with EVENT_IDX, ask the
 * driver to notify at the next buffer (avail_event), then look again.  True
 * when buffers came in meanwhile (the caller takes them: no kick will come).
 */
bool virtq_kick_me(struct virtq *vq, const struct virtq_mem *m);

/* Copy @len bytes at @off of the chain's readable part into @buf (or @buf into its writable part). */
int virtq_chain_read(const struct virtq_chain *c, const struct virtq_mem *m, uint64_t off,
		     void *buf, uint64_t len);
int virtq_chain_write(const struct virtq_chain *c, const struct virtq_mem *m, uint64_t off,
		      const void *buf, uint64_t len);

const char *virtq_strerror(int err);

/* The sizes of the three parts of a queue of @n entries (EVENT_IDX fields included). */
static inline uint64_t virtq_desc_bytes(unsigned int n) { return 16ull * n; }
static inline uint64_t virtq_avail_bytes(unsigned int n) { return 6 + 2ull * n; }
static inline uint64_t virtq_used_bytes(unsigned int n) { return 6 + 8ull * n; }

#endif
