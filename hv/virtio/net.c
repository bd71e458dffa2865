/* SPDX-License-Identifier: MIT */
/*
 * virtio-net over the virtio-pci transport and its switch (see
 * hv/virtio/net.h).  A transmit notification runs on the sender's CPU: one
 * CPU at a time takes the device's frames (tx_running), each copied into the
 * device's transmit buffer under its lock, then handed to the switch without
 * it: the switch's lock is taken first and each receiver's device lock inside
 * it, one at a time, so no two device locks are ever held together.
 * Receiving takes one buffer of the receiver's receive queue per frame; with
 * no buffer the frame is dropped, as a NIC would.
 *
 * A port is attached to its switch while its guest runs; the guest's end
 * detaches it under the switch's lock, so no delivery can still be writing
 * into its memory when the memory goes.
 */
#include "hv/core/config.h"
#include "hv/core/unit.h"
#include "hv/core/vm.h"
#include "hv/vdev/pci.h"
#include "hv/virtio/net.h"
#include "hv/virtio/netswitch.h"
#include "hv/virtio/virtio_pci.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "smp/time.h"

#define NET_ID			1
#define NET_CLASS		0x020000	/* network, Ethernet */
#define NET_QUEUE_SIZE		256
#define RXQ			0
#define TXQ			1
#define F_MAC			5
#define HDR_BYTES		12		/* struct virtio_net_hdr_v1 */
#define CFG_LEN			8		/* mac[6], status */

/* A port may send 100000 frames a second, 1024 at once after a quiet spell. */
#define NET_RATE		100000
#define NET_BURST		1024
#define NET_SWITCHES		8

struct vswitch {
	/* The switch, its ports' attachment and statistics; outside every device lock. */
	spinlock_t lock;
	struct netsw sw;
	bool used;
};

struct vnet {
	struct virtio_dev dev;
	struct vswitch *vs;
	struct netsw_port port;		/* under vs->lock */
	uint8_t mac[6];
	uint8_t cfg_space[CFG_LEN];
	/* Under dev.lock: one CPU sends at a time, from txbuf. */
	bool tx_running, tx_again;
	uint8_t txbuf[NETSW_FRAME_MAX];
	uint64_t tx_bad, rx_nobuf, rx_small, rx_down;
};

static struct vswitch switches[NET_SWITCHES];
static struct vnet *nics[VM_MAX][CFG_NICS_MAX];

/* The switch for network @name, made on first use (guests are created on the control CPU). */
static struct vswitch *switch_for(const char *name)
{
	struct vswitch *free = NULL;

	for (unsigned int i = 0; i < NET_SWITCHES; i++) {
		if (switches[i].used && !strcmp(switches[i].sw.name, name))
			return &switches[i];
		if (!switches[i].used && !free)
			free = &switches[i];
	}
	if (free) {
		spin_lock_init_order(&free->lock, LOCK_ORDER_NETSW);
		netsw_init(&free->sw, name, NET_RATE, NET_BURST);
		free->used = true;
	}
	return free;
}

/* ---- receiving ---- */

/* One frame into @r's receive queue; the switch's lock is held.  Whether it was taken. */
static bool receive(struct vnet *r, const uint8_t *frame, size_t len)
{
	struct virtio_dev *d = &r->dev;
	uint8_t hdr[HDR_BYTES] = { 0 };
	bool ok = false;

	hdr[10] = 1;				/* num_buffers */
	spin_lock(&d->lock);
	if (!virtio_live(d) || !d->q[RXQ].enabled || !pci_bus_master(d->fn)) {
		r->rx_down++;
	} else if (virtio_pop(d, RXQ) <= 0) {
		r->rx_nobuf++;
	} else if (d->chain.write_len < HDR_BYTES + len) {
		/* A buffer too small for the frame goes back empty; the driver counts the error. */
		r->rx_small++;
		virtio_push(d, RXQ, d->chain.head, 0);
	} else if (virtio_write(d, 0, hdr, HDR_BYTES) || virtio_write(d, HDR_BYTES, frame, len)) {
		virtio_push(d, RXQ, d->chain.head, 0);
	} else {
		virtio_push(d, RXQ, d->chain.head, (uint32_t)(HDR_BYTES + len));
		ok = true;
	}
	virtio_flush(d, RXQ);
	spin_unlock(&d->lock);
	return ok;
}

/* ---- sending ---- */

/* n->txbuf's frame through the switch, without n's device lock. */
static void deliver(struct vnet *n, size_t len)
{
	struct vswitch *vs = n->vs;
	uint32_t out;

	spin_lock(&vs->lock);
	out = netsw_route(&vs->sw, &n->port, n->txbuf, len, time_us());
	for (unsigned int i = 0; out; i++, out >>= 1) {
		struct netsw_port *p = vs->sw.ports[i];

		if ((out & 1) && receive(p->priv, n->txbuf, len))
			netsw_count_out(p, len);
	}
	spin_unlock(&vs->lock);
}

/* The frame of the chain in dev.chain into txbuf; its length, 0 when it is not one. */
static size_t take_frame(struct vnet *n)
{
	const struct virtq_chain *c = &n->dev.chain;
	uint64_t len = c->read_len >= HDR_BYTES ? c->read_len - HDR_BYTES : 0;

	if (len < NETSW_FRAME_MIN || len > NETSW_FRAME_MAX ||
	    virtio_read(&n->dev, HDR_BYTES, n->txbuf, len)) {
		n->tx_bad++;
		return 0;
	}
	return len;
}

static void net_tx(struct virtio_dev *d, unsigned int q)
{
	struct vnet *n = d->priv;

	if (q != TXQ)
		return;			/* receive buffers wait for frames */
	spin_lock(&d->lock);
	if (n->tx_running) {
		n->tx_again = true;	/* the CPU sending now looks again before it stops */
		spin_unlock(&d->lock);
		return;
	}
	n->tx_running = true;
	for (;;) {
		size_t len;

		if (virtio_pop(d, TXQ) <= 0) {
			if (!n->tx_again)
				break;
			n->tx_again = false;
			continue;
		}
		len = take_frame(n);
		virtio_push(d, TXQ, d->chain.head, 0);
		if (!len)
			continue;
		spin_unlock(&d->lock);
		deliver(n, len);
		spin_lock(&d->lock);
	}
	virtio_flush(d, TXQ);
	n->tx_running = false;
	spin_unlock(&d->lock);
}

static uint32_t net_cfg_read(struct virtio_dev *d, unsigned int off, unsigned int size)
{
	struct vnet *n = d->priv;
	uint32_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint32_t)n->cfg_space[off + i] << (8 * i);
	return v;
}

static void net_reset(struct virtio_dev *d)
{
	struct vnet *n = d->priv;

	n->tx_again = false;
	n->tx_bad = n->rx_nobuf = n->rx_small = n->rx_down = 0;
}

static const struct virtio_dev_ops net_ops = {
	.device_id = NET_ID,
	.pci_class = NET_CLASS,
	.features = 1ull << F_MAC,
	.nqueues = 2,
	.queue_size = NET_QUEUE_SIZE,
	.cfg_len = CFG_LEN,
	.cfg_read = net_cfg_read,
	.notify_unlocked = net_tx,
	.reset = net_reset,
};

bool virtio_net_stats(struct virtio_dev *d, struct net_stats *st)
{
	struct vnet *n = d->priv;
	struct netsw_port p;

	if (d->ops != &net_ops)
		return false;
	spin_lock(&n->vs->lock);
	p = n->port;
	spin_unlock(&n->vs->lock);
	memset(st, 0, sizeof(*st));
	st->network = n->vs->sw.name;
	memcpy(st->mac, n->mac, 6);
	st->attached = p.attached;
	st->tx_frames = p.in_frames;
	st->tx_bytes = p.in_bytes;
	st->rx_frames = p.out_frames;
	st->rx_bytes = p.out_bytes;
	st->drop_rate = p.drop_rate;
	st->drop_nowhere = p.drop_nowhere;
	spin_lock(&d->lock);
	st->drop_bad = p.drop_bad + n->tx_bad;
	st->rx_nobuf = n->rx_nobuf;
	st->rx_small = n->rx_small;
	st->rx_down = n->rx_down;
	spin_unlock(&d->lock);
	return true;
}

/* ---- the unit ---- */

/* 52:54:00 and 24 bits of FNV-1a over the guest's name and the port's index. */
static void make_mac(const struct vm *vm, unsigned int i, uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (const char *s = vm->cfg.name; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	h = (h ^ i) * 16777619u;
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

static int net_attach(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg.nnics; i++) {
		const struct guest_nic *cfg = &vm->cfg.nics[i];
		struct vnet *n = nics[vm->id][i];

		if (!n)
			n = nics[vm->id][i] = virtio_zalloc(sizeof(*n));
		if (!n)
			return -1;
		n->vs = switch_for(cfg->net);
		if (!n->vs) {
			pr_err("guest %s: more than %d networks\n", vm->cfg.name, NET_SWITCHES);
			return -1;
		}
		if (cfg->mac_set)
			memcpy(n->mac, cfg->mac, 6);
		else
			make_mac(vm, i, n->mac);
		memset(n->cfg_space, 0, sizeof(n->cfg_space));
		memcpy(n->cfg_space, n->mac, 6);
		n->cfg_space[6] = 1;			/* status: link up */
		memcpy(n->port.mac, n->mac, 6);
		n->port.priv = n;
		if (netsw_add_port(&n->vs->sw, &n->port) < 0) {
			pr_err("guest %s: network %s is full (%d ports)\n", vm->cfg.name, cfg->net,
			       NETSW_PORTS);
			return -1;
		}
		if (virtio_pci_add(vm, &n->dev, &net_ops, n, "virtio-net", cfg->net))
			return -1;
	}
	return 0;
}

static void net_vm_reset(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg.nnics; i++) {
		struct vnet *n = nics[vm->id][i];

		virtio_reset(&n->dev);
		spin_lock(&n->vs->lock);
		netsw_attach(&n->vs->sw, &n->port, time_us());
		spin_unlock(&n->vs->lock);
	}
}

static void net_release(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg.nnics; i++) {
		struct vnet *n = nics[vm->id][i];

		/* Deliveries hold the switch's lock: once it is ours, none is under way. */
		spin_lock(&n->vs->lock);
		netsw_detach(&n->vs->sw, &n->port);
		spin_unlock(&n->vs->lock);
	}
}

DEFINE_VDEV_UNIT(virtio_net, .vm_create = net_attach, .vm_reset = net_vm_reset,
		 .vm_release = net_release);
