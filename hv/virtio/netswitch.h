/* SPDX-License-Identifier: MIT */
/*
 * A learning Ethernet switch, one per network name (`net = NAME`): it learns
 * which port each unicast source address sits behind, sends a frame to the
 * port its destination was learned on, and floods broadcast, multicast and
 * unknown destinations to every other attached port.  Nothing crosses from
 * one switch to another.  Each port's input is rate-limited by a token
 * bucket, so a guest that floods loses its own frames, not the others'.
 *
 * Portable and host-tested (tests/hv/virtio/test_netswitch.c): it decides
 * where a frame goes; moving the frame is the caller's (hv/virtio/net.c),
 * which also serialises every call on one switch.
 */
#ifndef HV_VIRTIO_NETSWITCH_H
#define HV_VIRTIO_NETSWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETSW_PORTS		16
#define NETSW_FDB		64		/* learned addresses */
#define NETSW_AGE_US		300000000ull	/* a learned address is forgotten after 300 s */
#define NETSW_FRAME_MIN		14		/* an Ethernet header */
#define NETSW_FRAME_MAX		1518		/* 1500 bytes of payload, a VLAN tag */
#define NETSW_NAME_MAX		24

struct netsw_port {
	bool attached;			/* its guest runs: frames go to it */
	unsigned int index;
	uint8_t mac[6];			/* the device's address, for display */
	uint64_t tokens;		/* in millionths of a frame */
	uint64_t last_us;		/* when tokens were last topped up */
	/* Statistics. */
	uint64_t in_frames, in_bytes, out_frames, out_bytes;
	uint64_t drop_rate, drop_bad, drop_nowhere;
	void *priv;			/* the caller's device */
};

struct netsw_fdb_entry {
	uint8_t mac[6];
	uint8_t port;
	bool used;
	uint64_t seen_us;
};

struct netsw {
	char name[NETSW_NAME_MAX];
	unsigned int nports;
	struct netsw_port *ports[NETSW_PORTS];
	struct netsw_fdb_entry fdb[NETSW_FDB];
	uint32_t rate;			/* frames per second each port may send */
	uint32_t burst;			/* frames a port may send at once after being quiet */
	uint64_t flooded;		/* frames sent to every port */
};

void netsw_init(struct netsw *sw, const char *name, uint32_t rate, uint32_t burst);
/** netsw_add_port - @p becomes a port of @sw (detached); its index, or -1 when full. */
int netsw_add_port(struct netsw *sw, struct netsw_port *p);
/** netsw_attach - frames may go to and come from @p; its bucket starts full. */
void netsw_attach(struct netsw *sw, struct netsw_port *p, uint64_t now_us);
/** netsw_detach - no frame goes to @p any more; what was learned on it is forgotten. */
void netsw_detach(struct netsw *sw, struct netsw_port *p);

/**
 * netsw_route - a frame of @len bytes came in on @in at @now_us: learn its
 * source, and return the ports it goes to (bit i for port index i); 0 when
 * it is dropped (too short or long, over @in's rate, or nowhere to go).
 * Counts the frame in on @in; the caller counts it out on each port it
 * delivers to with netsw_count_out().
 */
uint32_t netsw_route(struct netsw *sw, struct netsw_port *in, const uint8_t *frame, size_t len,
		     uint64_t now_us);
void netsw_count_out(struct netsw_port *p, size_t len);

#endif
