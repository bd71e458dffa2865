/* SPDX-License-Identifier: MIT */
/*
 * hv/virtio/virtq.c with a driver writing rings in a flat guest memory:
 * valid chains (direct, indirect, zero-length buffers, index wrap-around)
 * and what they copy, used entries and notification suppression both ways
 * (flags and EVENT_IDX), then every malicious ring the parser must refuse
 * without touching memory outside the guest's.
 */
#include "tests/host/test.h"
#include "tests/hv/virtio/virtq_ring.h"

static struct gmem g;
static struct virtq vq;
static struct virtq_chain c;
static const struct virtq_mem mem = { gm_read, gm_write, &g, GMEM_SIZE };

/* A queue of @size at the usual place, started. */
static bool setup(unsigned int size, bool indirect, bool event_idx)
{
	memset(&g, 0, sizeof(g));
	memset(&vq, 0, sizeof(vq));
	vq.size = (uint16_t)size;
	vq.desc = DESC_GPA;
	vq.avail = AVAIL_GPA;
	vq.used = USED_GPA;
	vq.indirect = indirect;
	vq.event_idx = event_idx;
	return virtq_start(&vq, &mem) == VIRTQ_OK;
}

/* A request: a 16-byte header out, then a 1-byte status in. */
static void simple_chain(uint16_t head, uint16_t second)
{
	set_desc(&g, DESC_GPA, head, DATA_GPA, 16, VIRTQ_DESC_F_NEXT, second);
	set_desc(&g, DESC_GPA, second, DATA_GPA + 0x100, 1, VIRTQ_DESC_F_WRITE, 0);
}

TEST(start_checks_the_ring_layout)
{
	CHECK(setup(8, false, false));
	CHECK(setup(256, false, true));
	vq.size = 0;
	CHECK_EQ(virtq_start(&vq, &mem), VIRTQ_E_RING);
	vq.size = 6;					/* not a power of two */
	CHECK_EQ(virtq_start(&vq, &mem), VIRTQ_E_RING);
	vq.size = 512;					/* more than the device offers */
	CHECK_EQ(virtq_start(&vq, &mem), VIRTQ_E_RING);
	vq.size = 8;
	vq.desc = DESC_GPA + 8;				/* descriptors: 16-byte aligned */
	CHECK_EQ(virtq_start(&vq, &mem), VIRTQ_E_RING);
	vq.desc = DESC_GPA;
	vq.avail = AVAIL_GPA + 1;
	CHECK_EQ(virtq_start(&vq, &mem), VIRTQ_E_RING);
	vq.avail = AVAIL_GPA;
	vq.used = USED_GPA + 2;
	CHECK_EQ(virtq_start(&vq, &mem), VIRTQ_E_RING);
	/* Each part wholly inside guest memory, also near the end and at the wrap of 64 bits. */
	vq.used = GMEM_SIZE - virtq_used_bytes(8) + 4;
	CHECK_EQ(virtq_start(&vq, &mem), VIRTQ_E_RING);
	vq.used = GMEM_SIZE - virtq_used_bytes(8) - 2;
	CHECK_EQ(virtq_start(&vq, &mem), VIRTQ_OK);
	vq.desc = 0xfffffffffffffff0ull;
	CHECK_EQ(virtq_start(&vq, &mem), VIRTQ_E_RING);
}

TEST(a_chain_comes_out_copies_and_goes_back_used)
{
	uint8_t hdr[16], status = 0x5a;

	CHECK(setup(8, false, false));
	CHECK_EQ(virtq_pop(&vq, &mem, &c), 0);		/* nothing available */
	for (int i = 0; i < 16; i++)
		g.b[DATA_GPA + i] = (uint8_t)i;
	simple_chain(3, 5);
	make_avail(&g, 8, 0, 3);
	CHECK_EQ(virtq_pop(&vq, &mem, &c), 1);
	CHECK_EQ(c.head, 3);
	CHECK_EQ(c.nseg, 2);
	CHECK_EQ(c.nread, 1);
	CHECK_EQ(c.read_len, 16);
	CHECK_EQ(c.write_len, 1);
	CHECK_EQ(virtq_chain_read(&c, &mem, 0, hdr, 16), 0);
	CHECK_EQ(hdr[15], 15);
	CHECK_EQ(virtq_chain_read(&c, &mem, 8, hdr, 9), -1);	/* past the readable part */
	CHECK_EQ(virtq_chain_write(&c, &mem, 0, &status, 1), 0);
	CHECK_EQ(g.b[DATA_GPA + 0x100], 0x5a);
	CHECK_EQ(virtq_chain_write(&c, &mem, 1, &status, 1), -1);
	CHECK_EQ(virtq_pop(&vq, &mem, &c), 0);
	CHECK_EQ(virtq_push(&vq, &mem, 3, 1), 0);
	CHECK_EQ(used_idx(&g), 1);
	CHECK_EQ(get_le(g.b + USED_GPA + 4, 4), 3);	/* id */
	CHECK_EQ(get_le(g.b + USED_GPA + 8, 4), 1);	/* len */
	/* A push for nothing taken is the device's bug, refused. */
	CHECK_EQ(virtq_push(&vq, &mem, 3, 1), -VIRTQ_E_USED);
	CHECK_EQ(used_idx(&g), 1);
}

TEST(indices_wrap_around_16_bits_and_the_ring)
{
	CHECK(setup(4, false, false));
	/* The driver's and the device's indices start anywhere; the ring slot is idx % size. */
	vq.last_avail = vq.used_idx = 65534;
	put_le(g.b + USED_GPA + 2, 65534, 2);
	for (uint16_t i = 0; i < 4; i++) {
		uint16_t idx = (uint16_t)(65534 + i);

		set_desc(&g, DESC_GPA, i, DATA_GPA, 16, 0, 0);
		make_avail(&g, 4, idx, i);
	}
	for (uint16_t i = 0; i < 4; i++) {
		CHECK_EQ(virtq_pop(&vq, &mem, &c), 1);
		CHECK_EQ(c.head, i);
	}
	CHECK_EQ(virtq_pop(&vq, &mem, &c), 0);
	CHECK_EQ(vq.last_avail, 2);
	for (uint16_t i = 0; i < 4; i++)
		CHECK_EQ(virtq_push(&vq, &mem, i, 0), 0);
	CHECK_EQ(used_idx(&g), 2);
	/* Slot of used entry 65535 is 3; of entry 0, 0. */
	CHECK_EQ(get_le(g.b + USED_GPA + 4 + 8 * 3, 4), 1);
	CHECK_EQ(get_le(g.b + USED_GPA + 4, 4), 2);
}

TEST(indirect_tables_and_zero_length_buffers)
{
	const uint64_t table = 0x8000;
	uint8_t buf[40], out[24];

	CHECK(setup(8, true, false));
	/* An indirect table of 4: 8 + 0 + 32 bytes out (a zero-length one in the middle), 24 in. */
	set_desc(&g, table, 0, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 2);
	set_desc(&g, table, 2, DATA_GPA + 0x20, 0, VIRTQ_DESC_F_NEXT, 1);
	set_desc(&g, table, 1, DATA_GPA + 0x40, 32, VIRTQ_DESC_F_NEXT, 3);
	set_desc(&g, table, 3, DATA_GPA + 0x80, 24, VIRTQ_DESC_F_WRITE, 0);
	set_desc(&g, DESC_GPA, 0, table, 4 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	for (int i = 0; i < 8; i++)
		g.b[DATA_GPA + i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < 32; i++)
		g.b[DATA_GPA + 0x40 + i] = (uint8_t)i;
	make_avail(&g, 8, 0, 0);
	CHECK_EQ(virtq_pop(&vq, &mem, &c), 1);
	CHECK_EQ(c.nseg, 3);				/* the empty one is not kept */
	CHECK_EQ(c.nread, 2);
	CHECK_EQ(c.read_len, 40);
	CHECK_EQ(c.write_len, 24);
	/* A read across buffers sees one stream. */
	CHECK_EQ(virtq_chain_read(&c, &mem, 0, buf, 40), 0);
	CHECK_EQ(buf[7], 0xa7);
	CHECK_EQ(buf[8], 0);
	CHECK_EQ(buf[39], 31);
	CHECK_EQ(virtq_chain_read(&c, &mem, 6, buf, 4), 0);
	CHECK(buf[0] == 0xa6 && buf[1] == 0xa7 && buf[2] == 0 && buf[3] == 1);
	memset(out, 0x77, sizeof(out));
	CHECK_EQ(virtq_chain_write(&c, &mem, 0, out, 24), 0);
	CHECK_EQ(g.b[DATA_GPA + 0x80 + 23], 0x77);
	CHECK_EQ(virtq_push(&vq, &mem, 0, 24), 0);
}

/* The error a single chain at head 0 gives, with its descriptors set up by the caller. */
static int pop_error(void)
{
	make_avail(&g, vq.size, vq.last_avail, 0);
	return virtq_pop(&vq, &mem, &c);
}

TEST(malicious_direct_chains_are_refused)
{
	CHECK(setup(8, false, false));
	/* A head past the queue. */
	make_avail(&g, 8, 0, 8);
	CHECK_EQ(virtq_pop(&vq, &mem, &c), -VIRTQ_E_HEAD);
	make_avail(&g, 8, 0, 0xffff);
	CHECK_EQ(virtq_pop(&vq, &mem, &c), -VIRTQ_E_HEAD);
	/* A next past the queue. */
	set_desc(&g, DESC_GPA, 0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 8);
	CHECK_EQ(pop_error(), -VIRTQ_E_NEXT);
	/* Loops: onto itself, and a -> b -> a. */
	set_desc(&g, DESC_GPA, 0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 0);
	CHECK_EQ(pop_error(), -VIRTQ_E_LOOP);
	set_desc(&g, DESC_GPA, 0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
	set_desc(&g, DESC_GPA, 1, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 0);
	CHECK_EQ(pop_error(), -VIRTQ_E_LOOP);
	/* Buffers outside guest memory: past the end, across it, wrapping 64 bits. */
	set_desc(&g, DESC_GPA, 0, GMEM_SIZE, 1, 0, 0);
	CHECK_EQ(pop_error(), -VIRTQ_E_ADDR);
	set_desc(&g, DESC_GPA, 0, GMEM_SIZE - 8, 9, 0, 0);
	CHECK_EQ(pop_error(), -VIRTQ_E_ADDR);
	set_desc(&g, DESC_GPA, 0, 0xfffffffffffff000ull, 0x2000, 0, 0);
	CHECK_EQ(pop_error(), -VIRTQ_E_ADDR);
	set_desc(&g, DESC_GPA, 0, DATA_GPA, 0xffffffff, 0, 0);
	CHECK_EQ(pop_error(), -VIRTQ_E_ADDR);
	/* A readable buffer after a writable one, even an empty writable one. */
	set_desc(&g, DESC_GPA, 0, DATA_GPA, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(&g, DESC_GPA, 1, DATA_GPA, 4, 0, 0);
	CHECK_EQ(pop_error(), -VIRTQ_E_ORDER);
	set_desc(&g, DESC_GPA, 0, DATA_GPA, 0, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	CHECK_EQ(pop_error(), -VIRTQ_E_ORDER);
	/* Indirect without the feature. */
	set_desc(&g, DESC_GPA, 0, 0x8000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	CHECK_EQ(pop_error(), -VIRTQ_E_INDIRECT);
	/* None of it moved the queue: the device must be reset now. */
	CHECK_EQ(vq.last_avail, 0);
	CHECK_EQ(vq.in_flight, 0);
	/* An empty zero-length chain is fine: nothing to move. */
	set_desc(&g, DESC_GPA, 0, GMEM_SIZE + 5, 0, 0, 0);
	CHECK_EQ(pop_error(), 1);
	CHECK_EQ(c.nseg, 0);
}

TEST(more_available_than_the_queue_holds)
{
	CHECK(setup(8, false, false));
	set_desc(&g, DESC_GPA, 0, DATA_GPA, 4, 0, 0);
	put_le(g.b + AVAIL_GPA + 2, 9, 2);
	CHECK_EQ(virtq_pop(&vq, &mem, &c), -VIRTQ_E_AVAIL_IDX);
	put_le(g.b + AVAIL_GPA + 2, 0xffff, 2);		/* "behind" us: as many as 65535 */
	CHECK_EQ(virtq_pop(&vq, &mem, &c), -VIRTQ_E_AVAIL_IDX);
	put_le(g.b + AVAIL_GPA + 2, 8, 2);		/* exactly full is fine */
	CHECK_EQ(virtq_pop(&vq, &mem, &c), 1);
}

TEST(malicious_indirect_tables_are_refused)
{
	const uint64_t table = 0x8000;

	CHECK(setup(8, true, false));
	/* INDIRECT with NEXT. */
	set_desc(&g, DESC_GPA, 0, table, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	CHECK_EQ(pop_error(), -VIRTQ_E_INDIRECT);
	/* Empty, not whole entries, longer than a queue. */
	set_desc(&g, DESC_GPA, 0, table, 0, VIRTQ_DESC_F_INDIRECT, 0);
	CHECK_EQ(pop_error(), -VIRTQ_E_INDIRECT_LEN);
	set_desc(&g, DESC_GPA, 0, table, 24, VIRTQ_DESC_F_INDIRECT, 0);
	CHECK_EQ(pop_error(), -VIRTQ_E_INDIRECT_LEN);
	set_desc(&g, DESC_GPA, 0, table, 16 * (VIRTQ_MAX_SIZE + 1), VIRTQ_DESC_F_INDIRECT, 0);
	CHECK_EQ(pop_error(), -VIRTQ_E_INDIRECT_LEN);
	/* The table outside memory. */
	set_desc(&g, DESC_GPA, 0, GMEM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	CHECK_EQ(pop_error(), -VIRTQ_E_ADDR);
	/* Nested. */
	set_desc(&g, DESC_GPA, 0, table, 32, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(&g, table, 0, table + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	CHECK_EQ(pop_error(), -VIRTQ_E_NESTED);
	/* A next past the table (though inside the queue), and a loop inside it. */
	set_desc(&g, table, 0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 2);
	CHECK_EQ(pop_error(), -VIRTQ_E_NEXT);
	set_desc(&g, table, 0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
	set_desc(&g, table, 1, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 0);
	CHECK_EQ(pop_error(), -VIRTQ_E_LOOP);
	/* More buffers than a chain may have: VIRTQ_SEG_MAX + 1 of one byte. */
	for (unsigned int i = 0; i <= VIRTQ_SEG_MAX; i++)
		set_desc(&g, table, i, DATA_GPA + i, 1, i < VIRTQ_SEG_MAX ? VIRTQ_DESC_F_NEXT : 0,
			 (uint16_t)(i + 1));
	set_desc(&g, DESC_GPA, 0, table, 16 * (VIRTQ_SEG_MAX + 1), VIRTQ_DESC_F_INDIRECT, 0);
	CHECK_EQ(pop_error(), -VIRTQ_E_SEGS);
	/* VIRTQ_SEG_MAX of them is fine. */
	set_desc(&g, table, VIRTQ_SEG_MAX - 1, DATA_GPA, 1, 0, 0);
	CHECK_EQ(pop_error(), 1);
	CHECK_EQ(c.nseg, VIRTQ_SEG_MAX);
}

TEST(chains_longer_than_1_gib_are_refused)
{
	const uint64_t table = 0x8000;
	struct virtq_mem wide = mem;

	/* 65 buffers of 16 MiB "in memory": the test memory is smaller, the check is on sizes. */
	CHECK(setup(8, true, false));
	wide.size = 1ull << 40;
	CHECK_EQ(virtq_start(&vq, &wide), VIRTQ_OK);
	for (unsigned int i = 0; i < 65; i++)
		set_desc(&g, table, i, 0x100000000ull, 16u << 20, i < 64 ? VIRTQ_DESC_F_NEXT : 0,
			 (uint16_t)(i + 1));
	set_desc(&g, DESC_GPA, 0, table, 16 * 65, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(&g, 8, 0, 0);
	CHECK_EQ(virtq_pop(&vq, &wide, &c), -VIRTQ_E_LEN);
	set_desc(&g, DESC_GPA, 0, table, 16 * 64, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(&g, table, 63, 0x100000000ull, 16u << 20, 0, 0);
	CHECK_EQ(virtq_pop(&vq, &wide, &c), 1);
	CHECK_EQ(c.read_len, 1u << 30);
	/* A free page report's worth: 32 blocks of 4 MiB, writable. */
	for (unsigned int i = 0; i < 32; i++)
		set_desc(&g, table, i, 0x100000000ull + (4ull << 20) * i, 4u << 20,
			 VIRTQ_DESC_F_WRITE | (i < 31 ? VIRTQ_DESC_F_NEXT : 0), (uint16_t)(i + 1));
	set_desc(&g, DESC_GPA, 0, table, 16 * 32, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(&g, 8, 1, 0);
	CHECK_EQ(virtq_pop(&vq, &wide, &c), 1);
	CHECK_EQ(c.write_len, 128u << 20);
}

TEST(unreadable_memory_is_an_error_not_a_crash)
{
	CHECK(setup(8, false, false));
	simple_chain(0, 1);
	make_avail(&g, 8, 0, 0);
	g.fail_lo = DESC_GPA;
	g.fail_hi = DESC_GPA + 16;
	CHECK_EQ(virtq_pop(&vq, &mem, &c), -VIRTQ_E_MEM);
	g.fail_lo = AVAIL_GPA;
	g.fail_hi = AVAIL_GPA + 4;
	CHECK_EQ(virtq_pop(&vq, &mem, &c), -VIRTQ_E_MEM);
	g.fail_lo = g.fail_hi = 0;
	CHECK_EQ(virtq_pop(&vq, &mem, &c), 1);
}

TEST(interrupt_suppression_by_flags)
{
	CHECK(setup(8, false, false));
	simple_chain(0, 1);
	make_avail(&g, 8, 0, 0);
	CHECK_EQ(virtq_pop(&vq, &mem, &c), 1);
	CHECK_EQ(virtq_push(&vq, &mem, 0, 1), 0);
	CHECK(virtq_notify_wanted(&vq, &mem));
	put_le(g.b + AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT, 2);
	CHECK(!virtq_notify_wanted(&vq, &mem));
	/* Without EVENT_IDX the device never asks for kicks: the driver always sends them. */
	CHECK(!virtq_kick_me(&vq, &mem));
}

TEST(interrupt_and_kick_suppression_by_event_idx)
{
	CHECK(setup(8, false, true));
	for (uint16_t i = 0; i < 4; i++) {
		set_desc(&g, DESC_GPA, i, DATA_GPA, 4, 0, 0);
		make_avail(&g, 8, i, i);
	}
	/* used_event = 2: the driver wants to hear once used->idx passes 2. */
	put_le(g.b + AVAIL_GPA + 4 + 2 * 8, 2, 2);
	CHECK_EQ(virtq_pop(&vq, &mem, &c), 1);
	CHECK_EQ(virtq_push(&vq, &mem, 0, 0), 0);
	CHECK(virtq_notify_wanted(&vq, &mem));		/* the first time always */
	CHECK_EQ(virtq_pop(&vq, &mem, &c), 1);
	CHECK_EQ(virtq_push(&vq, &mem, 1, 0), 0);
	CHECK(!virtq_notify_wanted(&vq, &mem));		/* used 1 -> 2: not past 2 */
	CHECK_EQ(virtq_pop(&vq, &mem, &c), 1);
	CHECK_EQ(virtq_push(&vq, &mem, 2, 0), 0);
	CHECK(virtq_notify_wanted(&vq, &mem));		/* used 2 -> 3: passes 2 */
	CHECK(!virtq_notify_wanted(&vq, &mem));		/* nothing new */
	/* avail_event: written at the end of the used ring; more buffers found meanwhile. */
	CHECK(virtq_kick_me(&vq, &mem));		/* entry 3 is there */
	CHECK_EQ(get_le(g.b + USED_GPA + 4 + 8 * 8, 2), 3);
	CHECK_EQ(virtq_pop(&vq, &mem, &c), 1);
	CHECK(!virtq_kick_me(&vq, &mem));
	CHECK_EQ(get_le(g.b + USED_GPA + 4 + 8 * 8, 2), 4);
}
