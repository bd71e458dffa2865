/* SPDX-License-Identifier: MIT */
/*
 * Virtio 1.x over PCI, the modern interface only (virtio 1.x, 4.1): a
 * function 1af4:(1040 + device ID), revision 1, whose BAR0 holds the common
 * configuration (0x0000), the ISR (0x1000), the device configuration
 * (0x2000) and the notification area (0x3000, one 4-byte slot per queue),
 * each announced by a vendor capability, plus the PCI configuration access
 * capability; BAR1 holds the MSI-X table (0x000) and PBA (0x800), one vector
 * for configuration changes and one per queue.  Without MSI-X the device
 * interrupts on INTx and the ISR says why.
 *
 * A device (blk.c, net.c, balloon.c) fills struct virtio_dev_ops and gets its
 * queues' notifications with its lock held; it takes chains with virtio_pop()
 * and gives them back with virtio_push(), then virtio_flush() interrupts the
 * driver if it wants to hear.  A ring the driver broke sets DEVICE_NEEDS_RESET
 * (virtio_fail()): the device does nothing more until the driver resets it.
 *
 * Locking: dev->lock (LOCK_ORDER_VIRTIO) protects everything below and is
 * held around every callback; guest memory accesses, the PCI bus lock and
 * reclaim nest inside it.
 */
#ifndef HV_VIRTIO_VIRTIO_PCI_H
#define HV_VIRTIO_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/virtio/virtq.h"
#include "smp/spinlock.h"

struct vm;
struct vpci_fn;
struct virtio_dev;

#define VIRTIO_MAX_QUEUES	7	/* plus the configuration vector: PCI_MSIX_MAX */
#define VIRTIO_NO_VECTOR	0xffff

#define VIRTIO_F_VERSION_1		32
#define VIRTIO_RING_F_INDIRECT_DESC	28
#define VIRTIO_RING_F_EVENT_IDX		29

#define VIRTIO_STATUS_ACKNOWLEDGE	0x01
#define VIRTIO_STATUS_DRIVER		0x02
#define VIRTIO_STATUS_DRIVER_OK		0x04
#define VIRTIO_STATUS_FEATURES_OK	0x08
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

struct virtio_dev_ops {
	uint16_t device_id;		/* virtio device ID: 1 net, 2 block, 5 balloon */
	uint32_t pci_class;		/* class << 8 | programming interface */
	uint64_t features;		/* offered; VERSION_1 and the ring features are added */
	unsigned int nqueues;
	uint16_t queue_size;		/* the largest each queue may be */
	unsigned int cfg_len;		/* bytes of device configuration */
	/* Device configuration access, @off + @size <= cfg_len. */
	uint32_t (*cfg_read)(struct virtio_dev *d, unsigned int off, unsigned int size);
	void (*cfg_write)(struct virtio_dev *d, unsigned int off, unsigned int size, uint32_t val);
	/* The driver notified queue @q (enabled, DRIVER_OK, bus master, not broken). */
	void (*notify)(struct virtio_dev *d, unsigned int q);
	/*
	 * The same, called right after notify() but without d->lock, for work
	 * that takes other locks first (the network switch's); either may be NULL.
	 */
	void (*notify_unlocked)(struct virtio_dev *d, unsigned int q);
	/* The driver reset the device (or the guest restarts): drop what is in flight. */
	void (*reset)(struct virtio_dev *d);
};

struct virtio_queue {
	struct virtq vq;
	uint16_t msix_vector;
	bool enabled;
	bool pushed;			/* used entries since the last virtio_flush() */
	bool kicked_early;		/* notified before DRIVER_OK: looked at when it comes */
	/* Statistics since the guest started. */
	uint64_t notifies, chains, interrupts, suppressed;
};

struct virtio_dev {
	spinlock_t lock;
	const struct virtio_dev_ops *ops;
	struct vm *vm;
	struct vpci_fn *fn;
	void *priv;			/* the device's own state */
	struct virtq_mem mem;		/* the guest's memory, for the queues */

	uint64_t features;		/* offered */
	uint64_t driver_features;	/* accepted, as the driver wrote them */
	uint32_t dfselect, gfselect;
	uint16_t msix_config, queue_select;
	uint8_t status, generation, isr;
	struct virtio_queue q[VIRTIO_MAX_QUEUES];
	struct virtq_chain chain;	/* the chain being handled (one at a time: the lock) */

	/* Why the device needs a reset, and statistics. */
	char error[96];
	uint64_t errors, resets, bad_accesses, config_irqs, notifies_ignored;
};

/**
 * virtio_pci_add - attach @d to @vm's PCI bus as a device of @ops: its
 * function, BARs and capabilities.  @kind and @detail name it for `pci` and
 * `virtio`.  -1 when the bus is full.
 */
int virtio_pci_add(struct vm *vm, struct virtio_dev *d, const struct virtio_dev_ops *ops,
		   void *priv, const char *kind, const char *detail);

/**
 * virtio_zalloc - zeroed memory for a device's state, from the page
 * allocator, when its guest is created; never given back (the guest table
 * is fixed at boot).  NULL when there is none.
 */
void *virtio_zalloc(size_t bytes);

/** virtio_reset - the power-on state (the guest starts); not under d->lock. */
void virtio_reset(struct virtio_dev *d);

/* Has the driver accepted feature @bit? */
static inline bool virtio_has(const struct virtio_dev *d, unsigned int bit)
{
	return (d->driver_features >> bit) & 1;
}

/* Is the device live: DRIVER_OK and not broken?  d->lock held. */
bool virtio_live(const struct virtio_dev *d);

/**
 * virtio_pop - the next chain of queue @q into d->chain: 1, 0 when there is
 * none (the driver then notifies for the next one), -1 when the queue is
 * broken (the device now needs a reset).  d->lock held.
 */
int virtio_pop(struct virtio_dev *d, unsigned int q);
/** virtio_push - give d->chain-like chain @head of queue @q back with @written bytes. */
void virtio_push(struct virtio_dev *d, unsigned int q, uint16_t head, uint32_t written);
/** virtio_flush - interrupt the driver for queue @q if it pushed and the driver wants to hear. */
void virtio_flush(struct virtio_dev *d, unsigned int q);
/** virtio_fail - the driver broke a rule: DEVICE_NEEDS_RESET, with the reason kept. */
void virtio_fail(struct virtio_dev *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** virtio_config_changed - tell the driver the device configuration changed. */
void virtio_config_changed(struct virtio_dev *d);

/* Copies from and into d->chain (readable part, writable part); 0 or -1. */
int virtio_read(struct virtio_dev *d, uint64_t off, void *buf, uint64_t len);
int virtio_write(struct virtio_dev *d, uint64_t off, const void *buf, uint64_t len);

/* For the shell: @vm's virtio devices, in slot order; NULL past the last. */
struct virtio_dev *virtio_device(struct vm *vm, unsigned int i);
const char *virtio_kind(const struct virtio_dev *d);

#endif
