/* SPDX-License-Identifier: MIT */
/*
 * A driver's side of a split virtqueue in a flat "guest memory", for the
 * virtqueue tests and the fuzz target: write descriptors and available
 * entries, read used entries.  Memory reads can be made to fail over a range.
 */
#ifndef TESTS_HV_VIRTIO_VIRTQ_RING_H
#define TESTS_HV_VIRTIO_VIRTQ_RING_H

#include <string.h>

#include "hv/virtio/virtq.h"

#define GMEM_SIZE	(1u << 20)
#define DESC_GPA	0x1000
#define AVAIL_GPA	0x3000
#define USED_GPA	0x4000
#define DATA_GPA	0x10000

struct gmem {
	uint8_t b[GMEM_SIZE];
	uint64_t fail_lo, fail_hi;	/* reads of [fail_lo, fail_hi) fail */
	unsigned long reads, writes;
};

static int gm_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	struct gmem *g = ctx;

	g->reads++;
	if (gpa > GMEM_SIZE || len > GMEM_SIZE - gpa)
		return -1;
	if (gpa < g->fail_hi && gpa + len > g->fail_lo)
		return -1;
	memcpy(buf, g->b + gpa, len);
	return 0;
}

static int gm_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	struct gmem *g = ctx;

	g->writes++;
	if (gpa > GMEM_SIZE || len > GMEM_SIZE - gpa)
		return -1;
	memcpy(g->b + gpa, buf, len);
	return 0;
}

static inline void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t get_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Descriptor @i of the table at @table. */
static inline void set_desc(struct gmem *g, uint64_t table, unsigned int i, uint64_t addr,
			    uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = g->b + table + 16 * i;

	put_le(d, addr, 8);
	put_le(d + 8, len, 4);
	put_le(d + 12, flags, 2);
	put_le(d + 14, next, 2);
}

/* Make @head available as entry @idx of a queue of @size, and publish idx + 1. */
static inline void make_avail(struct gmem *g, unsigned int size, uint16_t idx, uint16_t head)
{
	put_le(g->b + AVAIL_GPA + 4 + 2 * (idx % size), head, 2);
	put_le(g->b + AVAIL_GPA + 2, (uint16_t)(idx + 1), 2);
}

static inline uint16_t used_idx(const struct gmem *g)
{
	return (uint16_t)get_le(g->b + USED_GPA + 2, 2);
}

#endif
