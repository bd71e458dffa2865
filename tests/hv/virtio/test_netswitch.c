/* SPDX-License-Identifier: MIT */
/*
 * hv/virtio/netswitch.c: learning and forwarding (broadcast floods, learned
 * unicast goes to one port, unknown unicast floods, nothing back to the
 * sender), detached ports, separate networks, aging and a full table, bad
 * frame lengths, and the rate limit: a flooding port loses its own frames
 * while the others' go through.
 */
#include "hv/virtio/netswitch.h"
#include "tests/host/test.h"

static struct netsw sw, sw2;
static struct netsw_port a, b, c, x;
static uint8_t frame[NETSW_FRAME_MAX + 1];

static const uint8_t mac_a[6] = { 0x52, 0x54, 0, 0, 0, 0xa };
static const uint8_t mac_b[6] = { 0x52, 0x54, 0, 0, 0, 0xb };
static const uint8_t mac_c[6] = { 0x52, 0x54, 0, 0, 0, 0xc };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast[6] = { 0x33, 0x33, 0, 0, 0, 1 };

#define RATE	1000
#define BURST	8

/* A, B, C on "lan", X alone on "other", all attached at t = 0. */
static void setup(void)
{
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	memset(&x, 0, sizeof(x));
	netsw_init(&sw, "lan", RATE, BURST);
	netsw_init(&sw2, "other", RATE, BURST);
	CHECK_EQ(netsw_add_port(&sw, &a), 0);
	CHECK_EQ(netsw_add_port(&sw, &b), 1);
	CHECK_EQ(netsw_add_port(&sw, &c), 2);
	CHECK_EQ(netsw_add_port(&sw2, &x), 0);
	netsw_attach(&sw, &a, 0);
	netsw_attach(&sw, &b, 0);
	netsw_attach(&sw, &c, 0);
	netsw_attach(&sw2, &x, 0);
}

static uint32_t send(struct netsw *s, struct netsw_port *p, const uint8_t *dst, const uint8_t *src,
		     uint64_t t)
{
	memcpy(frame, dst, 6);
	memcpy(frame + 6, src, 6);
	return netsw_route(s, p, frame, 64, t);
}

TEST(learning_and_forwarding)
{
	setup();
	/* ARP request: broadcast to everyone else. */
	CHECK_EQ(send(&sw, &a, bcast, mac_a, 1), 0x6);
	CHECK_EQ(send(&sw, &b, mcast, mac_b, 2), 0x5);
	/* A and B are learned: unicast goes to one port only. */
	CHECK_EQ(send(&sw, &b, mac_a, mac_b, 3), 0x1);
	CHECK_EQ(send(&sw, &a, mac_b, mac_a, 4), 0x2);
	/* C is unknown: a frame to it floods (not back to the sender). */
	CHECK_EQ(send(&sw, &a, mac_c, mac_a, 5), 0x6);
	CHECK_EQ(send(&sw, &c, mac_a, mac_c, 6), 0x1);
	CHECK_EQ(send(&sw, &a, mac_c, mac_a, 7), 0x4);
	/* A frame for an address behind its own port goes nowhere. */
	CHECK_EQ(send(&sw, &a, mac_a, mac_a, 8), 0);
	CHECK_EQ(a.drop_nowhere, 1);
	/* A station that moves is learned again. */
	CHECK_EQ(send(&sw, &c, bcast, mac_b, 9), 0x3);
	CHECK_EQ(send(&sw, &a, mac_b, mac_a, 10), 0x4);
	CHECK_EQ(a.in_frames, 6);
	CHECK(sw.flooded >= 3);
}

TEST(detached_ports_get_nothing_and_are_forgotten)
{
	setup();
	send(&sw, &b, bcast, mac_b, 1);
	netsw_detach(&sw, &b);
	/* Known before, forgotten now: floods, but only to attached ports. */
	CHECK_EQ(send(&sw, &a, mac_b, mac_a, 2), 0x4);
	CHECK_EQ(send(&sw, &a, bcast, mac_a, 3), 0x4);
	/* A detached port sends nothing either. */
	CHECK_EQ(send(&sw, &b, bcast, mac_b, 4), 0);
	netsw_detach(&sw, &c);
	CHECK_EQ(send(&sw, &a, bcast, mac_a, 5), 0);
	CHECK_EQ(a.drop_nowhere, 1);
	netsw_attach(&sw, &b, 6);
	CHECK_EQ(send(&sw, &a, bcast, mac_a, 7), 0x2);
}

TEST(frames_never_cross_networks)
{
	setup();
	send(&sw, &a, bcast, mac_a, 1);
	send(&sw, &b, bcast, mac_b, 1);
	/* X, alone on its network, reaches nobody: the other network's addresses are unknown here. */
	CHECK_EQ(send(&sw2, &x, bcast, mac_c, 2), 0);
	CHECK_EQ(send(&sw2, &x, mac_a, mac_c, 3), 0);
	for (unsigned int i = 0; i < NETSW_FDB; i++)
		CHECK(!sw2.fdb[i].used || !memcmp(sw2.fdb[i].mac, mac_c, 6));
	/* And the first network never learned X's address. */
	CHECK_EQ(send(&sw, &a, mac_c, mac_a, 4), 0x6);
}

TEST(bad_lengths_are_dropped)
{
	setup();
	memcpy(frame, bcast, 6);
	memcpy(frame + 6, mac_a, 6);
	CHECK_EQ(netsw_route(&sw, &a, frame, NETSW_FRAME_MIN - 1, 1), 0);
	CHECK_EQ(netsw_route(&sw, &a, frame, NETSW_FRAME_MAX + 1, 1), 0);
	CHECK_EQ(netsw_route(&sw, &a, frame, NETSW_FRAME_MAX, 1), 0x6);
	CHECK_EQ(netsw_route(&sw, &a, frame, NETSW_FRAME_MIN, 1), 0x6);
	CHECK_EQ(a.drop_bad, 2);
}

TEST(addresses_age_and_a_full_table_forgets_the_oldest)
{
	uint8_t mac[6] = { 0x52, 0x54, 0, 1, 0, 0 };

	setup();
	send(&sw, &b, bcast, mac_b, 10);
	CHECK_EQ(send(&sw, &a, mac_b, mac_a, 10 + NETSW_AGE_US - 1), 0x2);
	/* Not heard from for 300 s: unknown again. */
	CHECK_EQ(send(&sw, &a, mac_b, mac_a, 11 + NETSW_AGE_US), 0x6);
	/* Fill the table with addresses behind C (A and B are in it too). */
	sw.rate = 1000000;
	for (unsigned int i = 0; i < NETSW_FDB; i++) {
		mac[5] = (uint8_t)i;
		send(&sw, &c, bcast, mac, 2 * NETSW_AGE_US + i);
	}
	/* The oldest entries (A's and B's) made room: frames to them flood. */
	CHECK_EQ(send(&sw, &c, mac_a, mac, 3 * NETSW_AGE_US), 0x3);
	mac[5] = NETSW_FDB - 1;
	CHECK_EQ(send(&sw, &a, mac, mac_a, 3 * NETSW_AGE_US), 0x4);
}

TEST(a_flooding_port_is_rate_limited_not_the_others)
{
	unsigned int passed = 0;

	setup();
	send(&sw, &b, bcast, mac_b, 0);
	/* A sends 1000 frames at one instant: the burst passes, the rest is dropped. */
	for (int i = 0; i < 1000; i++)
		passed += send(&sw, &a, mac_b, mac_a, 1000) != 0;
	CHECK_EQ(passed, BURST);
	CHECK_EQ(a.drop_rate, 1000 - BURST);
	/* B and C are not affected. */
	CHECK_EQ(send(&sw, &b, mac_a, mac_b, 1000), 0x1);
	CHECK_EQ(send(&sw, &c, mac_a, mac_c, 1000), 0x1);
	/* Over time A gets its rate: 1000 frames/s, so 10 ms buys 10 frames (capped at the burst). */
	passed = 0;
	for (int i = 0; i < 20; i++)
		passed += send(&sw, &a, mac_b, mac_a, 1000 + 5000) != 0;
	CHECK_EQ(passed, 5);
	passed = 0;
	for (int i = 0; i < 20; i++)
		passed += send(&sw, &a, mac_b, mac_a, 1000 + 5000 + 3600000000ull) != 0;
	CHECK_EQ(passed, BURST);
	/* Sustained: one frame per ms at 1000/s all pass. */
	passed = 0;
	for (uint64_t t = 0; t < 2000; t++)
		passed += send(&sw, &a, mac_b, mac_a, 4000000000ull + t * 1000) != 0;
	CHECK_EQ(passed, 2000);
	CHECK_EQ(b.drop_rate, 0);
}
