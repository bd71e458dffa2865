/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (device ID 1): one per `net = NAME [MAC]` of a guest, a port on
 * the hypervisor's switch NAME (hv/virtio/netswitch.h) shared by every guest
 * that names it.  One receive and one transmit queue, no offloads: frames of
 * up to 1518 bytes, each copied once from the sender's buffers into the
 * receiver's.  The MAC comes from hv.cfg, else 52:54:00 and three bytes made
 * from the guest's name and the port's index.
 */
#ifndef HV_VIRTIO_NET_H
#define HV_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

struct virtio_dev;

struct net_stats {
	const char *network;
	uint8_t mac[6];
	bool attached;
	uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes;
	uint64_t drop_rate, drop_bad, drop_nowhere;	/* at the switch, frames sent */
	uint64_t rx_nobuf, rx_small, rx_down;		/* frames this port could not take */
};

/* @d's port figures (a virtio-net device), for the shell; false for another device. */
bool virtio_net_stats(struct virtio_dev *d, struct net_stats *st);

#endif
