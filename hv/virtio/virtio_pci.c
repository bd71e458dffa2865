/* SPDX-License-Identifier: MIT */
/* Virtio 1.x over PCI, the modern interface; the layout is in hv/virtio/virtio_pci.h. */
#include <stdarg.h>

#include "hv/core/vm.h"
#include "hv/cpu/page_alloc.h"
#include "hv/lib/format.h"
#include "hv/vdev/pci.h"
#include "hv/virtio/virtio_pci.h"
#include "lib/le.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "smp/lockdep.h"

#define VIRTIO_VENDOR		0x1af4
#define VIRTIO_SUBSYS		0x1100

/* BAR0: the four structures; BAR1: MSI-X. */
#define BAR0_SIZE		0x4000
#define COMMON_OFF		0x0000
#define COMMON_LEN		0x40
#define ISR_OFF			0x1000
#define ISR_LEN			0x4
#define DEVICE_OFF		0x2000
#define DEVICE_LEN		0x1000
#define NOTIFY_OFF		0x3000
#define NOTIFY_LEN		0x1000
#define NOTIFY_MULT		4
#define BAR1_SIZE		0x1000
#define MSIX_TABLE_OFF		0x000
#define MSIX_PBA_OFF		0x800

/* Vendor capability types (virtio 1.x, 4.1.4). */
#define CAP_COMMON		1
#define CAP_NOTIFY		2
#define CAP_ISR			3
#define CAP_DEVICE		4
#define CAP_PCI_CFG		5

#define ISR_QUEUE		0x1
#define ISR_CONFIG		0x2

/* Common configuration registers. */
#define CC_DFSELECT		0x00
#define CC_DF			0x04
#define CC_GFSELECT		0x08
#define CC_GF			0x0c
#define CC_MSIX			0x10
#define CC_NUMQ			0x12
#define CC_STATUS		0x14
#define CC_GENERATION		0x15
#define CC_Q_SELECT		0x16
#define CC_Q_SIZE		0x18
#define CC_Q_MSIX		0x1a
#define CC_Q_ENABLE		0x1c
#define CC_Q_NOFF		0x1e
#define CC_Q_DESC		0x20
#define CC_Q_AVAIL		0x28
#define CC_Q_USED		0x30

#define RING_FEATURES	((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) | \
			 (1ull << VIRTIO_RING_F_EVENT_IDX))

static const char *const kinds[] = { [1] = "virtio-net", [2] = "virtio-blk", [5] = "virtio-balloon" };

const char *virtio_kind(const struct virtio_dev *d)
{
	unsigned int id = d->ops->device_id;

	return id < sizeof(kinds) / sizeof(kinds[0]) && kinds[id] ? kinds[id] : "virtio";
}

/* ---- guest memory ---- */

/* Guest RAM only: the hole below 4 GiB of a large guest is not memory (hv/core/guest_boot.h). */
static int mem_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	struct vm *vm = ctx;

	if (!guest_range_is_ram(vm->cfg.memory, gpa, len))
		return -1;
	return READ_ONCE(vm->mem_ready) ? memslot_access(&vm->mem, gpa, buf, len, false) : -1;
}

static int mem_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	struct vm *vm = ctx;

	if (!guest_range_is_ram(vm->cfg.memory, gpa, len))
		return -1;
	return READ_ONCE(vm->mem_ready) ? memslot_access(&vm->mem, gpa, (void *)buf, len, true) : -1;
}

/* ---- interrupts ---- */

static void raise_isr(struct virtio_dev *d, uint8_t why)
{
	d->isr |= why;
	pci_set_intx(d->fn, true);
}

static void interrupt_queue(struct virtio_dev *d, struct virtio_queue *q)
{
	q->interrupts++;
	if (pci_msix_on(d->fn))
		pci_signal(d->fn, q->msix_vector);
	else
		raise_isr(d, ISR_QUEUE);
}

void virtio_config_changed(struct virtio_dev *d)
{
	lockdep_assert_held(&d->lock);
	d->generation++;
	d->config_irqs++;
	if (pci_msix_on(d->fn)) {
		d->isr |= ISR_CONFIG;
		pci_signal(d->fn, d->msix_config);
	} else {
		raise_isr(d, ISR_CONFIG);
	}
}

/* ---- queues ---- */

bool virtio_live(const struct virtio_dev *d)
{
	return (d->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) ==
	       VIRTIO_STATUS_DRIVER_OK;
}

void virtio_fail(struct virtio_dev *d, const char *fmt, ...)
{
	va_list ap;

	lockdep_assert_held(&d->lock);
	d->errors++;
	if (d->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	va_start(ap, fmt);
	hv_vsnprintf(d->error, sizeof(d->error), fmt, ap);
	va_end(ap);
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	/* A guest that breaks and resets its device in a loop gets a few lines, not a flood. */
	if (d->errors <= 4)
		pr_info("guest %s: %s at 00:%02x.0 needs a reset: %s\n", d->vm->cfg.name,
			virtio_kind(d), d->fn->slot, d->error);
	virtio_config_changed(d);
}

int virtio_pop(struct virtio_dev *d, unsigned int qi)
{
	struct virtio_queue *q = &d->q[qi];
	int r;

	lockdep_assert_held(&d->lock);
	if (!virtio_live(d) || !q->enabled)
		return -1;
	for (;;) {
		r = virtq_pop(&q->vq, &d->mem, &d->chain);
		if (r > 0) {
			q->chains++;
			return 1;
		}
		if (r < 0) {
			virtio_fail(d, "queue %u: %s", qi, virtq_strerror(r));
			return -1;
		}
		/* Empty: ask for a kick at the next buffer, unless one came in meanwhile. */
		if (!virtq_kick_me(&q->vq, &d->mem))
			return 0;
	}
}

void virtio_push(struct virtio_dev *d, unsigned int qi, uint16_t head, uint32_t written)
{
	struct virtio_queue *q = &d->q[qi];
	int r;

	lockdep_assert_held(&d->lock);
	r = virtq_push(&q->vq, &d->mem, head, written);
	if (r) {
		virtio_fail(d, "queue %u: %s", qi, virtq_strerror(r));
		return;
	}
	q->pushed = true;
}

void virtio_flush(struct virtio_dev *d, unsigned int qi)
{
	struct virtio_queue *q = &d->q[qi];

	lockdep_assert_held(&d->lock);
	if (!q->pushed)
		return;
	q->pushed = false;
	if (virtq_notify_wanted(&q->vq, &d->mem))
		interrupt_queue(d, q);
	else
		q->suppressed++;
}

int virtio_read(struct virtio_dev *d, uint64_t off, void *buf, uint64_t len)
{
	return virtq_chain_read(&d->chain, &d->mem, off, buf, len);
}

int virtio_write(struct virtio_dev *d, uint64_t off, const void *buf, uint64_t len)
{
	return virtq_chain_write(&d->chain, &d->mem, off, buf, len);
}

/* ---- the common configuration ---- */

static void reset_locked(struct virtio_dev *d)
{
	lockdep_assert_held(&d->lock);
	d->driver_features = 0;
	d->dfselect = d->gfselect = 0;
	d->msix_config = VIRTIO_NO_VECTOR;
	d->queue_select = 0;
	d->status = 0;
	d->isr = 0;
	d->error[0] = 0;
	for (unsigned int i = 0; i < d->ops->nqueues; i++) {
		struct virtio_queue *q = &d->q[i];

		memset(&q->vq, 0, sizeof(q->vq));
		q->vq.size = d->ops->queue_size;
		q->msix_vector = VIRTIO_NO_VECTOR;
		q->enabled = q->pushed = q->kicked_early = false;
	}
	if (d->fn)
		pci_set_intx(d->fn, false);
	if (d->ops->reset)
		d->ops->reset(d);
}

static struct virtio_queue *selected(struct virtio_dev *d)
{
	return d->queue_select < d->ops->nqueues ? &d->q[d->queue_select] : NULL;
}

/* The common configuration as the driver reads it, bytes [0, COMMON_LEN). */
static void common_image(struct virtio_dev *d, uint8_t *img)
{
	struct virtio_queue *q = selected(d);
	uint64_t f = d->dfselect < 2 ? d->features >> (32 * d->dfselect) : 0;
	uint64_t g = d->gfselect < 2 ? d->driver_features >> (32 * d->gfselect) : 0;

	memset(img, 0, COMMON_LEN);
	le_put32(img + CC_DFSELECT, d->dfselect);
	le_put32(img + CC_DF, (uint32_t)f);
	le_put32(img + CC_GFSELECT, d->gfselect);
	le_put32(img + CC_GF, (uint32_t)g);
	le_put16(img + CC_MSIX, d->msix_config);
	le_put16(img + CC_NUMQ, (uint16_t)d->ops->nqueues);
	img[CC_STATUS] = d->status;
	img[CC_GENERATION] = d->generation;
	le_put16(img + CC_Q_SELECT, d->queue_select);
	if (!q)
		return;			/* queue_size 0: no such queue */
	le_put16(img + CC_Q_SIZE, q->vq.size);
	le_put16(img + CC_Q_MSIX, q->msix_vector);
	le_put16(img + CC_Q_ENABLE, q->enabled);
	le_put16(img + CC_Q_NOFF, d->queue_select);
	le_put64(img + CC_Q_DESC, q->vq.desc);
	le_put64(img + CC_Q_AVAIL, q->vq.avail);
	le_put64(img + CC_Q_USED, q->vq.used);
}

static uint32_t common_read(struct virtio_dev *d, uint32_t off, unsigned int size)
{
	uint8_t img[COMMON_LEN];
	uint32_t v = 0;

	if (off >= COMMON_LEN || size > COMMON_LEN - off)
		return 0;
	common_image(d, img);
	for (unsigned int i = 0; i < size; i++)
		v |= (uint32_t)img[off + i] << (8 * i);
	return v;
}

/* A vector the function has, or none. */
static uint16_t vector(struct virtio_dev *d, uint32_t val)
{
	return val < d->fn->cfg.msix_nvec ? (uint16_t)val : VIRTIO_NO_VECTOR;
}

static void set_status(struct virtio_dev *d, uint8_t val)
{
	uint64_t unknown = d->driver_features & ~d->features;

	if (!val) {
		reset_locked(d);
		d->resets++;
		return;
	}
	/* FEATURES_OK only for a subset of what is offered that includes VERSION_1. */
	if ((val & VIRTIO_STATUS_FEATURES_OK) && !(d->status & VIRTIO_STATUS_FEATURES_OK) &&
	    (unknown || !virtio_has(d, VIRTIO_F_VERSION_1)))
		val &= ~VIRTIO_STATUS_FEATURES_OK;
	/* The driver sets bits; NEEDS_RESET is the device's and stays until a reset. */
	d->status = (uint8_t)((val & ~VIRTIO_STATUS_NEEDS_RESET) |
			      (d->status & VIRTIO_STATUS_NEEDS_RESET));
	/*
	 * Buffers the driver made available and kicked before DRIVER_OK (Linux's
	 * balloon adds its stats buffer so): the device may use them now.
	 */
	for (unsigned int i = 0; i < d->ops->nqueues && virtio_live(d); i++) {
		if (d->q[i].kicked_early && d->q[i].enabled && d->ops->notify &&
		    pci_bus_master(d->fn))
			d->ops->notify(d, i);
		d->q[i].kicked_early = false;
	}
}

static void enable_queue(struct virtio_dev *d, struct virtio_queue *q)
{
	int err;

	q->vq.indirect = virtio_has(d, VIRTIO_RING_F_INDIRECT_DESC);
	q->vq.event_idx = virtio_has(d, VIRTIO_RING_F_EVENT_IDX);
	err = q->vq.size <= d->ops->queue_size ? virtq_start(&q->vq, &d->mem) : VIRTQ_E_RING;
	if (err) {
		virtio_fail(d, "queue %u: %s", d->queue_select, virtq_strerror(err));
		return;
	}
	q->enabled = true;
}

/* 64-bit registers are written as two halves; @hi says which. */
static void set_half(uint64_t *reg, bool hi, uint32_t val)
{
	*reg = hi ? (*reg & 0xffffffffull) | (uint64_t)val << 32 : (*reg & ~0xffffffffull) | val;
}

static void common_write(struct virtio_dev *d, uint32_t off, unsigned int size, uint32_t val)
{
	struct virtio_queue *q = selected(d);
	bool locked = q && q->enabled;		/* a live queue's layout is fixed */

	/* Each field with its own width (4.1.3.1); anything else reaches nothing. */
	if ((off <= CC_GF && size != 4) || (off >= CC_MSIX && off < CC_Q_DESC &&
	    size != (off == CC_STATUS || off == CC_GENERATION ? 1u : 2u)) ||
	    (off >= CC_Q_DESC && size != 4)) {
		d->bad_accesses++;
		return;
	}
	switch (off) {
	case CC_DFSELECT:
		d->dfselect = val;
		break;
	case CC_GFSELECT:
		d->gfselect = val;
		break;
	case CC_GF:
		if (d->gfselect < 2 && !(d->status & VIRTIO_STATUS_FEATURES_OK))
			set_half(&d->driver_features, d->gfselect, val);
		break;
	case CC_MSIX:
		d->msix_config = vector(d, val);
		break;
	case CC_STATUS:
		set_status(d, (uint8_t)val);
		break;
	case CC_Q_SELECT:
		d->queue_select = (uint16_t)val;
		break;
	case CC_Q_SIZE:
		if (q && !locked)
			q->vq.size = (uint16_t)val;	/* checked when enabled */
		break;
	case CC_Q_MSIX:
		if (q)
			q->msix_vector = vector(d, val);
		break;
	case CC_Q_ENABLE:
		if (q && !locked && val == 1)
			enable_queue(d, q);
		break;
	case CC_Q_DESC:
	case CC_Q_DESC + 4:
		if (q && !locked)
			set_half(&q->vq.desc, off & 4, val);
		break;
	case CC_Q_AVAIL:
	case CC_Q_AVAIL + 4:
		if (q && !locked)
			set_half(&q->vq.avail, off & 4, val);
		break;
	case CC_Q_USED:
	case CC_Q_USED + 4:
		if (q && !locked)
			set_half(&q->vq.used, off & 4, val);
		break;
	default:
		d->bad_accesses++;		/* read-only or reserved */
	}
}

/* ---- BAR0 ---- */

/* A write to the notification area; the queue notified, or -1. */
static int notify(struct virtio_dev *d, uint32_t off, unsigned int size)
{
	unsigned int qi = off / NOTIFY_MULT;

	if (size != 2 || off % NOTIFY_MULT || qi >= d->ops->nqueues) {
		d->bad_accesses++;
		return -1;
	}
	d->q[qi].notifies++;
	/* Before DRIVER_OK, once broken, or without bus mastering the device does nothing. */
	if (!virtio_live(d) || !d->q[qi].enabled || !pci_bus_master(d->fn)) {
		d->q[qi].kicked_early = !(d->status & VIRTIO_STATUS_DRIVER_OK);
		d->notifies_ignored++;
		return -1;
	}
	if (d->ops->notify)
		d->ops->notify(d, qi);
	return (int)qi;
}

static uint32_t bar_read(struct vpci_fn *fn, unsigned int bar, uint32_t off, unsigned int size)
{
	struct virtio_dev *d = fn->priv;
	uint32_t val = 0;

	if (bar != 0)
		return 0;
	spin_lock(&d->lock);
	if (off < COMMON_OFF + COMMON_LEN) {
		val = common_read(d, off - COMMON_OFF, size);
	} else if (off >= ISR_OFF && off < ISR_OFF + ISR_LEN) {
		/* Reading the ISR acknowledges it and drops INTx. */
		val = d->isr;
		d->isr = 0;
		pci_set_intx(fn, false);
	} else if (off >= DEVICE_OFF && off - DEVICE_OFF + size <= d->ops->cfg_len) {
		val = d->ops->cfg_read(d, off - DEVICE_OFF, size);
	}
	spin_unlock(&d->lock);
	return val;
}

static void bar_write(struct vpci_fn *fn, unsigned int bar, uint32_t off, unsigned int size,
		      uint32_t val)
{
	struct virtio_dev *d = fn->priv;
	int q = -1;

	if (bar != 0)
		return;
	spin_lock(&d->lock);
	if (off < COMMON_OFF + COMMON_LEN)
		common_write(d, off - COMMON_OFF, size, val);
	else if (off >= NOTIFY_OFF && off < NOTIFY_OFF + NOTIFY_LEN)
		q = notify(d, off - NOTIFY_OFF, size);
	else if (off >= DEVICE_OFF && off - DEVICE_OFF + size <= d->ops->cfg_len &&
		 d->ops->cfg_write)
		d->ops->cfg_write(d, off - DEVICE_OFF, size, val);
	else
		d->bad_accesses++;
	spin_unlock(&d->lock);
	if (q >= 0 && d->ops->notify_unlocked)
		d->ops->notify_unlocked(d, (unsigned int)q);
}

/*
 * The PCI configuration access capability (4.1.4.7): its cap.bar, offset and
 * length select a BAR window that pci_cfg_data reads and writes.
 */
static bool cfg_window(struct vpci_fn *fn, unsigned int *bar, uint32_t *off, unsigned int *len)
{
	unsigned int cap = fn->cfg_hook - 16;

	*bar = pci_config_get(fn, cap + 4, 1);
	*off = pci_config_get(fn, cap + 8, 4);
	*len = pci_config_get(fn, cap + 12, 4);
	return (*len == 1 || *len == 2 || *len == 4) && !(*off & (*len - 1));
}

static uint32_t cfg_data_read(struct vpci_fn *fn, unsigned int off, unsigned int size)
{
	unsigned int bar, len;
	uint32_t boff;

	(void)off;
	(void)size;
	return cfg_window(fn, &bar, &boff, &len) ? bar_read(fn, bar, boff, len) : 0;
}

static void cfg_data_write(struct vpci_fn *fn, unsigned int off, unsigned int size, uint32_t val)
{
	unsigned int bar, len;
	uint32_t boff;

	(void)off;
	(void)size;
	if (cfg_window(fn, &bar, &boff, &len))
		bar_write(fn, bar, boff, len, val);
}

static const struct vpci_ops virtio_pci_ops = {
	.bar_read = bar_read,
	.bar_write = bar_write,
	.cfg_read = cfg_data_read,
	.cfg_write = cfg_data_write,
};

/* A vendor capability for structure @type at @off of BAR @bar; its offset in config space. */
static unsigned int add_cap(struct pci_func *f, uint8_t type, uint8_t bar, uint32_t off,
			    uint32_t len, unsigned int extra, uint32_t extra_val)
{
	uint8_t body[18] = { 0 };

	body[0] = (uint8_t)(16 + extra);	/* cap_len */
	body[1] = type;
	body[2] = bar;
	le_put32(body + 6, off);
	le_put32(body + 10, len);
	if (extra)
		le_put32(body + 14, extra_val);
	return pci_func_add_cap(f, PCI_CAP_ID_VNDR, 16 + extra, body);
}

int virtio_pci_add(struct vm *vm, struct virtio_dev *d, const struct virtio_dev_ops *ops,
		   void *priv, const char *kind, const char *detail)
{
	struct vpci_fn *fn;
	struct pci_func *f;
	unsigned int pcicfg;
	uint32_t base;

	memset(d, 0, sizeof(*d));
	spin_lock_init_order(&d->lock, LOCK_ORDER_VIRTIO);
	d->ops = ops;
	d->vm = vm;
	d->priv = priv;
	d->features = ops->features | RING_FEATURES;
	d->mem = (struct virtq_mem){ mem_read, mem_write, vm, guest_ram_top(vm->cfg.memory) };
	fn = pci_add_function(vm, kind, VIRTIO_VENDOR, (uint16_t)(0x1040 + ops->device_id),
			      ops->pci_class, 1, VIRTIO_VENDOR, VIRTIO_SUBSYS);
	if (!fn)
		return -1;
	d->fn = fn;
	fn->ops = &virtio_pci_ops;
	fn->priv = d;
	hv_snprintf(fn->detail, sizeof(fn->detail), "%s", detail);
	f = &fn->cfg;
	base = pci_bar_base(fn->slot);
	pci_func_add_bar(f, 0, BAR0_SIZE, base);
	pci_func_add_bar(f, 1, BAR1_SIZE, base + BAR0_SIZE);
	if (pci_func_add_msix(f, ops->nqueues + 1, 1, MSIX_TABLE_OFF, MSIX_PBA_OFF) ||
	    !add_cap(f, CAP_COMMON, 0, COMMON_OFF, COMMON_LEN, 0, 0) ||
	    !add_cap(f, CAP_NOTIFY, 0, NOTIFY_OFF, NOTIFY_LEN, 4, NOTIFY_MULT) ||
	    !add_cap(f, CAP_ISR, 0, ISR_OFF, ISR_LEN, 0, 0) ||
	    (ops->cfg_len && !add_cap(f, CAP_DEVICE, 0, DEVICE_OFF, DEVICE_LEN, 0, 0)) ||
	    !(pcicfg = add_cap(f, CAP_PCI_CFG, 0, 0, 0, 4, 0)))
		return -1;
	/* The access window: bar, offset, length are the driver's; the data is the device's. */
	pci_func_cap_wmask(f, pcicfg + 4, 1, 0xff);
	pci_func_cap_wmask(f, pcicfg + 8, 8, 0xff);
	pci_func_cap_wmask(f, pcicfg + 16, 4, 0xff);
	fn->cfg_hook = pcicfg + 16;
	fn->cfg_hook_len = 4;
	pci_function_ready(fn);
	spin_lock(&d->lock);
	reset_locked(d);
	spin_unlock(&d->lock);
	return 0;
}

void *virtio_zalloc(size_t bytes)
{
	unsigned int order = 0;
	uint64_t pa;

	while ((PAGE_SIZE << order) < bytes)
		order++;
	pa = order <= PAGE_MAX_ORDER ? page_alloc(order) : 0;
	if (pa)
		memset((void *)(uintptr_t)pa, 0, PAGE_SIZE << order);
	return (void *)(uintptr_t)pa;
}

void virtio_reset(struct virtio_dev *d)
{
	spin_lock(&d->lock);
	reset_locked(d);
	d->errors = d->resets = d->bad_accesses = d->config_irqs = d->notifies_ignored = 0;
	d->generation = 0;
	for (unsigned int i = 0; i < d->ops->nqueues; i++) {
		struct virtio_queue *q = &d->q[i];

		q->notifies = q->chains = q->interrupts = q->suppressed = 0;
	}
	spin_unlock(&d->lock);
}

struct virtio_dev *virtio_device(struct vm *vm, unsigned int i)
{
	for (unsigned int s = 1; pci_function(vm, s); s++) {
		struct vpci_fn *fn = pci_function(vm, s);

		if (fn->ops == &virtio_pci_ops && !i--)
			return fn->priv;
	}
	return NULL;
}
