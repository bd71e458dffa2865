/* SPDX-License-Identifier: MIT */
/*
 * The GDB remote serial protocol's framing: "$data#cs" packets with a
 * modulo-256 checksum, '}' escapes, '+'/'-' acknowledgements and the
 * out-of-band Ctrl-C byte.  Portable (hv/lib only); host-tested and fuzzed.
 */
#ifndef HV_GDB_RSP_H
#define HV_GDB_RSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest packet body either side sends (qSupported's PacketSize). */
#define GDB_PACKET_MAX	4096

enum gdb_rsp_event {
	RSP_NONE,		/* the byte was taken; nothing complete yet */
	RSP_PACKET,		/* a packet with a good checksum: buf[0..len) */
	RSP_BAD_CHECKSUM,	/* answer '-' (ack mode) and wait for the resend */
	RSP_TOO_LONG,		/* a packet longer than GDB_PACKET_MAX: answer an error */
	RSP_INTERRUPT,		/* Ctrl-C (0x03) between packets */
	RSP_ACK,		/* '+' */
	RSP_NAK,		/* '-': resend the last reply */
	RSP_JUNK,		/* any other byte between packets */
};

struct gdb_rsp {
	enum { RSP_IDLE, RSP_BODY, RSP_ESCAPE, RSP_SUM_HI, RSP_SUM_LO } state;
	uint8_t sum;		/* of the bytes as sent, escapes included */
	uint8_t given;		/* the checksum the packet carries */
	bool overflow;
	size_t len;
	/* The unescaped body, NUL-terminated (binary packets may hold NULs too). */
	char buf[GDB_PACKET_MAX + 1];
};

void gdb_rsp_init(struct gdb_rsp *r);
/* Take one byte from the line. */
enum gdb_rsp_event gdb_rsp_feed(struct gdb_rsp *r, uint8_t c);
/*
 * Frame @n bytes of @body as "$...#cs" into @out (escaping '$', '#', '}' and
 * '*'); returns the framed length, or 0 if it does not fit in @size.
 */
size_t gdb_rsp_frame(char *out, size_t size, const char *body, size_t n);

#endif
