/* SPDX-License-Identifier: MIT */
/*
 * RSP framing.  The checksum covers the bytes on the line, so it is summed
 * before escapes are undone; a '$' inside a packet starts a new one, which is
 * how GDB resynchronises after line noise.
 */
#include "hv/gdb/rsp.h"
#include "hv/lib/parse.h"

void gdb_rsp_init(struct gdb_rsp *r)
{
	r->state = RSP_IDLE;
	r->len = 0;
	r->overflow = false;
	r->buf[0] = 0;
}

static void start(struct gdb_rsp *r)
{
	r->state = RSP_BODY;
	r->sum = 0;
	r->len = 0;
	r->overflow = false;
}

static void put(struct gdb_rsp *r, uint8_t c)
{
	if (r->len < GDB_PACKET_MAX)
		r->buf[r->len++] = (char)c;
	else
		r->overflow = true;
}

enum gdb_rsp_event gdb_rsp_feed(struct gdb_rsp *r, uint8_t c)
{
	int h;

	switch (r->state) {
	case RSP_IDLE:
		if (c == '$') {
			start(r);
			return RSP_NONE;
		}
		return c == 0x03 ? RSP_INTERRUPT : c == '+' ? RSP_ACK : c == '-' ? RSP_NAK :
		       RSP_JUNK;
	case RSP_BODY:
		if (c == '$') {
			start(r);
		} else if (c == '#') {
			r->state = RSP_SUM_HI;
		} else {
			r->sum += c;
			if (c == '}')
				r->state = RSP_ESCAPE;
			else
				put(r, c);
		}
		return RSP_NONE;
	case RSP_ESCAPE:
		r->sum += c;
		put(r, c ^ 0x20);
		r->state = RSP_BODY;
		return RSP_NONE;
	case RSP_SUM_HI:
		h = hex_digit(c);
		r->given = (uint8_t)((h < 0 ? 0 : h) << 4);
		r->state = h < 0 ? RSP_IDLE : RSP_SUM_LO;
		return h < 0 ? RSP_BAD_CHECKSUM : RSP_NONE;
	case RSP_SUM_LO:
		h = hex_digit(c);
		r->state = RSP_IDLE;
		r->buf[r->len] = 0;
		if (h < 0 || (uint8_t)(r->given | h) != r->sum)
			return RSP_BAD_CHECKSUM;
		return r->overflow ? RSP_TOO_LONG : RSP_PACKET;
	}
	r->state = RSP_IDLE;
	return RSP_JUNK;
}

size_t gdb_rsp_frame(char *out, size_t size, const char *body, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t sum = 0;
	size_t o = 0;

	if (size < 4)
		return 0;
	out[o++] = '$';
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)body[i];
		bool esc = c == '$' || c == '#' || c == '}' || c == '*';

		if (o + (esc ? 2 : 1) + 3 > size)
			return 0;
		if (esc) {
			out[o++] = '}';
			sum += '}';
			c ^= 0x20;
		}
		out[o++] = (char)c;
		sum += c;
	}
	out[o++] = '#';
	out[o++] = hex[sum >> 4];
	out[o++] = hex[sum & 15];
	return o;
}
