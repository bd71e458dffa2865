/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer on the virtqueue parser (hv/virtio/virtq.c): the input is the
 * guest's memory around a queue (available ring at 0, descriptors at 0x200,
 * indirect tables anywhere: short inputs reach every part) plus the queue's
 * size and features in its first byte.
 * The device takes and returns chains until the queue is empty or broken;
 * every buffer it is handed must lie in guest memory, every chain within the
 * limits, and nothing may read or write outside the memory (ASan).
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/hv/virtio/virtq_ring.h"

static struct gmem g;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct virtq_mem mem = { gm_read, gm_write, &g, 0x20000 };
	static struct virtq_chain c;
	struct virtq vq = { 0 };

	if (size < 1)
		return 0;
	memset(g.b, 0, 0x20000);
	memcpy(g.b, data + 1, size - 1 < 0x20000 ? size - 1 : 0x20000);
	vq.size = (uint16_t)(1u << (data[0] & 7));		/* 1 .. 128 */
	vq.indirect = data[0] & 0x10;
	vq.event_idx = data[0] & 0x20;
	vq.avail = 0;
	vq.desc = 0x200;
	vq.used = 0xc00;
	if (virtq_start(&vq, &mem))
		abort();
	for (int i = 0; i < 300; i++) {
		int r = virtq_pop(&vq, &mem, &c);

		if (r <= 0)
			break;
		if (c.nseg > VIRTQ_SEG_MAX || c.nread > c.nseg ||
		    c.read_len + c.write_len > VIRTQ_MAX_CHAIN_BYTES || c.head >= vq.size)
			abort();
		for (unsigned int s = 0; s < c.nseg; s++)
			if (c.seg[s].addr > mem.size || c.seg[s].len > mem.size - c.seg[s].addr)
				abort();
		if (virtq_push(&vq, &mem, c.head, (uint32_t)c.write_len))
			abort();
		virtq_notify_wanted(&vq, &mem);
		virtq_kick_me(&vq, &mem);
	}
	return 0;
}
