/* SPDX-License-Identifier: MIT */
/* Tests for hv/gdb/rsp.c: framing, checksums, escapes, acks, Ctrl-C, overlong packets. */
#include "tests/host/test.h"
#include "hv/gdb/rsp.h"

static struct gdb_rsp rsp;

/* Feed @s; the last event that was not RSP_NONE. */
static enum gdb_rsp_event feed(const char *s, size_t n)
{
	enum gdb_rsp_event last = RSP_NONE, e;

	for (size_t i = 0; i < n; i++)
		if ((e = gdb_rsp_feed(&rsp, (uint8_t)s[i])) != RSP_NONE)
			last = e;
	return last;
}

#define FEED(lit)	feed(lit, sizeof(lit) - 1)

TEST(frame_adds_checksum)
{
	char out[32];
	size_t n = gdb_rsp_frame(out, sizeof(out), "OK", 2);

	CHECK_EQ(n, 6);
	out[n] = 0;
	CHECK_STR(out, "$OK#9a");
}

TEST(frame_escapes_special_bytes)
{
	char out[32];
	size_t n = gdb_rsp_frame(out, sizeof(out), "a$#}*", 5);

	out[n] = 0;
	/* Each of $ # } * becomes '}' and the byte xor 0x20. */
	CHECK(!memcmp(out, "$a}\x04}\x03}]}\x0a#", 11));
	CHECK_EQ(n, 13);
}

TEST(frame_refuses_what_does_not_fit)
{
	char out[8];

	CHECK_EQ(gdb_rsp_frame(out, sizeof(out), "12345", 5), 0);
	CHECK_EQ(gdb_rsp_frame(out, sizeof(out), "1234", 4), 8);
}

TEST(good_packet)
{
	gdb_rsp_init(&rsp);
	CHECK_EQ(FEED("$OK#9a"), RSP_PACKET);
	CHECK_STR(rsp.buf, "OK");
	CHECK_EQ(rsp.len, 2);
	CHECK_EQ(FEED("$#00"), RSP_PACKET);
	CHECK_EQ(rsp.len, 0);
}

TEST(checksum_in_either_case)
{
	gdb_rsp_init(&rsp);
	CHECK_EQ(FEED("$qC#B4"), RSP_PACKET);
	CHECK_EQ(FEED("$qC#b4"), RSP_PACKET);
}

TEST(bad_checksum_is_reported)
{
	gdb_rsp_init(&rsp);
	CHECK_EQ(FEED("$OK#9b"), RSP_BAD_CHECKSUM);
	CHECK_EQ(FEED("$OK#9z"), RSP_BAD_CHECKSUM);
	CHECK_EQ(FEED("$OK#z"), RSP_BAD_CHECKSUM);
	/* The framer is back between packets: the next one is fine. */
	CHECK_EQ(FEED("z$OK#9a"), RSP_PACKET);
}

TEST(escapes_are_undone_and_summed_as_sent)
{
	char out[32];
	size_t n;

	gdb_rsp_init(&rsp);
	n = gdb_rsp_frame(out, sizeof(out), "X1,1:\x7d", 6);
	CHECK_EQ(feed(out, n), RSP_PACKET);
	CHECK_EQ(rsp.len, 6);
	CHECK(!memcmp(rsp.buf, "X1,1:\x7d", 6));
}

TEST(ctrl_c_between_packets_only)
{
	gdb_rsp_init(&rsp);
	CHECK_EQ(gdb_rsp_feed(&rsp, 0x03), RSP_INTERRUPT);
	CHECK_EQ(gdb_rsp_feed(&rsp, '+'), RSP_ACK);
	CHECK_EQ(gdb_rsp_feed(&rsp, '-'), RSP_NAK);
	CHECK_EQ(gdb_rsp_feed(&rsp, 'x'), RSP_JUNK);
	/* Inside a packet 0x03 is data (binary X packets carry it unescaped). */
	CHECK_EQ(FEED("$\x03#03"), RSP_PACKET);
	CHECK_EQ(rsp.buf[0], 3);
}

TEST(dollar_restarts_a_packet)
{
	gdb_rsp_init(&rsp);
	CHECK_EQ(FEED("$garbage$OK#9a"), RSP_PACKET);
	CHECK_STR(rsp.buf, "OK");
}

TEST(overlong_packet_is_consumed_and_reported)
{
	static char big[GDB_PACKET_MAX + 200];
	char tail[8];
	uint8_t sum = 0;

	gdb_rsp_init(&rsp);
	big[0] = '$';
	for (size_t i = 1; i < sizeof(big); i++) {
		big[i] = 'a';
		sum += 'a';
	}
	CHECK_EQ(feed(big, sizeof(big)), RSP_NONE);
	snprintf(tail, sizeof(tail), "#%02x", sum);
	CHECK_EQ(feed(tail, 3), RSP_TOO_LONG);
	CHECK_EQ(FEED("$OK#9a"), RSP_PACKET);
}

TEST(frame_then_parse_round_trips_every_byte)
{
	static char body[256], out[600];
	size_t n;

	for (int i = 0; i < 256; i++)
		body[i] = (char)i;
	gdb_rsp_init(&rsp);
	n = gdb_rsp_frame(out, sizeof(out), body, sizeof(body));
	CHECK(n > 0);
	CHECK_EQ(feed(out, n), RSP_PACKET);
	CHECK_EQ(rsp.len, 256);
	CHECK(!memcmp(rsp.buf, body, 256));
}
