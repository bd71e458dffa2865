/* SPDX-License-Identifier: MIT */
/*
 * virtio-balloon over the virtio-pci transport (see hv/virtio/balloon.h).
 * Queues: inflate, deflate, stats, reporting (the order Linux's driver
 * numbers them in when STATS_VQ and REPORTING are negotiated and
 * FREE_PAGE_HINT is not).  Inflated and reported pages are dropped in the
 * notifying vCPU's exit, a run of adjacent pages at a time; deflated pages
 * need nothing (no MUST_TELL_HOST: the guest just touches them again).
 */
#include "hv/core/unit.h"
#include "hv/core/vm.h"
#include "hv/virtio/balloon.h"
#include "hv/virtio/virtio_pci.h"
#include "lib/le.h"
#include "lib/string.h"

#define BALLOON_ID		5
#define BALLOON_CLASS		0x00ff00	/* unclassified, "other" */
#define BALLOON_QUEUE_SIZE	128		/* reporting needs 32 */
#define Q_INFLATE		0
#define Q_DEFLATE		1
#define Q_STATS			2
#define Q_REPORT		3

#define F_STATS_VQ		1
#define F_DEFLATE_ON_OOM	2
#define F_REPORTING		5

#define CFG_NUM_PAGES		0
#define CFG_ACTUAL		4
#define CFG_LEN			16
#define PFNS_MAX		256		/* Linux sends up to 256 per chain */
#define STAT_BYTES		10		/* u16 tag, u64 value, packed */

const char *const balloon_stat_names[BALLOON_NSTATS] = {
	"swap-in", "swap-out", "major-faults", "minor-faults", "free-memory", "total-memory",
	"available-memory", "disk-caches", "hugetlb-allocations", "hugetlb-failures",
};

struct vballoon {
	struct virtio_dev dev;
	/* Below: dev.lock. */
	struct balloon_stats st;
	bool stats_held;		/* a stats buffer is ours until we want new figures */
	uint16_t stats_head;
	uint32_t pfns[PFNS_MAX];
};

static struct vballoon *balloons[VM_MAX];

static void sort_u32(uint32_t *a, unsigned int n)
{
	for (unsigned int i = 1; i < n; i++) {
		uint32_t x = a[i];
		unsigned int j = i;

		for (; j && a[j - 1] > x; j--)
			a[j] = a[j - 1];
		a[j] = x;
	}
}

/* Drop gfns [@gfn, @gfn + @n); how many held memory. */
static uint64_t give_back(struct vballoon *b, uint64_t gfn, uint64_t n)
{
	return memslot_discard(&b->dev.vm->mem, gfn, n);
}

/* A chain of PFNs into (inflate) or out of (deflate) the balloon. */
static void pfns(struct vballoon *b, bool inflate)
{
	const struct virtq_chain *c = &b->dev.chain;
	unsigned int n = (unsigned int)(c->read_len / 4);
	uint8_t *raw = (uint8_t *)b->pfns;

	if (n > PFNS_MAX)
		n = PFNS_MAX;			/* a driver sends no more; the rest is ignored */
	if (virtio_read(&b->dev, 0, raw, 4ull * n))
		return;
	/* Little-endian in place: each entry is read before it is written. */
	for (unsigned int i = 0; i < n; i++)
		b->pfns[i] = le_get32(raw + 4 * i);
	if (!inflate) {
		b->st.deflated += n;
		return;
	}
	b->st.inflated += n;
	sort_u32(b->pfns, n);
	for (unsigned int i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && b->pfns[j] == b->pfns[j - 1] + 1; j++)
			;
		b->st.inflated_freed += give_back(b, b->pfns[i], j - i);
	}
}

/* A free page report: each writable buffer is a free block of the guest's allocator. */
static void report(struct vballoon *b)
{
	const struct virtq_chain *c = &b->dev.chain;

	b->st.reports++;
	for (unsigned int i = c->nread; i < c->nseg; i++) {
		/* Whole pages inside the buffer only. */
		uint64_t start = (c->seg[i].addr + 0xfff) >> 12;
		uint64_t end = (c->seg[i].addr + c->seg[i].len) >> 12;

		if (end <= start)
			continue;
		b->st.reported += end - start;
		b->st.reported_freed += give_back(b, start, end - start);
	}
}

/* The driver's statistics; the buffer is kept until we want new ones. */
static void take_stats(struct vballoon *b)
{
	const struct virtq_chain *c = &b->dev.chain;
	uint8_t s[STAT_BYTES];

	for (uint64_t off = 0; off + STAT_BYTES <= c->read_len; off += STAT_BYTES) {
		uint16_t tag;

		if (virtio_read(&b->dev, off, s, sizeof(s)))
			break;
		tag = le_get16(s);
		if (tag < BALLOON_NSTATS)
			b->st.stat[tag] = le_get64(s + 2);
	}
	b->st.have_stats = true;
	b->st.stats_updates++;
	b->stats_head = c->head;
	b->stats_held = true;
}

static void balloon_notify(struct virtio_dev *d, unsigned int q)
{
	struct vballoon *b = d->priv;

	while (virtio_pop(d, q) > 0) {
		switch (q) {
		case Q_INFLATE:
		case Q_DEFLATE:
			pfns(b, q == Q_INFLATE);
			break;
		case Q_STATS:
			/* A second buffer while one is held: give the old one back. */
			if (b->stats_held)
				virtio_push(d, Q_STATS, b->stats_head, 0);
			take_stats(b);
			continue;
		case Q_REPORT:
			report(b);
			break;
		}
		virtio_push(d, q, d->chain.head, 0);
	}
	virtio_flush(d, q);
}

static uint32_t balloon_cfg_read(struct virtio_dev *d, unsigned int off, unsigned int size)
{
	struct vballoon *b = d->priv;
	uint8_t cfg[CFG_LEN] = { 0 };
	uint32_t v = 0;

	le_put32(cfg + CFG_NUM_PAGES, b->st.target);
	le_put32(cfg + CFG_ACTUAL, b->st.actual);
	for (unsigned int i = 0; i < size; i++)
		v |= (uint32_t)cfg[off + i] << (8 * i);
	return v;
}

static void balloon_cfg_write(struct virtio_dev *d, unsigned int off, unsigned int size,
			      uint32_t val)
{
	struct vballoon *b = d->priv;

	if (off == CFG_ACTUAL && size == 4)
		b->st.actual = val;		/* the only field the driver writes */
}

static void balloon_reset(struct virtio_dev *d)
{
	struct vballoon *b = d->priv;

	b->stats_held = false;
	b->st.actual = 0;
}

static const struct virtio_dev_ops balloon_ops = {
	.device_id = BALLOON_ID,
	.pci_class = BALLOON_CLASS,
	.features = 1ull << F_STATS_VQ | 1ull << F_DEFLATE_ON_OOM | 1ull << F_REPORTING,
	.nqueues = 4,
	.queue_size = BALLOON_QUEUE_SIZE,
	.cfg_len = CFG_LEN,
	.cfg_read = balloon_cfg_read,
	.cfg_write = balloon_cfg_write,
	.notify = balloon_notify,
	.reset = balloon_reset,
};

bool virtio_balloon_stats(struct vm *vm, struct balloon_stats *st)
{
	struct vballoon *b = balloons[vm->id];

	if (!vm->cfg.balloon || !b)
		return false;
	spin_lock(&b->dev.lock);
	*st = b->st;
	spin_unlock(&b->dev.lock);
	return true;
}

int virtio_balloon_set(struct vm *vm, uint64_t bytes)
{
	struct vballoon *b = balloons[vm->id];

	if (!vm->cfg.balloon || !b)
		return -1;
	if (bytes > vm->cfg.memory)
		bytes = vm->cfg.memory;
	spin_lock(&b->dev.lock);
	b->st.target = (uint32_t)(bytes >> 12);
	if (b->dev.status & VIRTIO_STATUS_DRIVER_OK)
		virtio_config_changed(&b->dev);
	spin_unlock(&b->dev.lock);
	return 0;
}

int virtio_balloon_refresh(struct vm *vm)
{
	struct vballoon *b = balloons[vm->id];

	if (!vm->cfg.balloon || !b)
		return -1;
	spin_lock(&b->dev.lock);
	/* Giving the buffer back is the request: the driver refills it with fresh figures. */
	if (b->stats_held && virtio_live(&b->dev)) {
		b->stats_held = false;
		virtio_push(&b->dev, Q_STATS, b->stats_head, 0);
		virtio_flush(&b->dev, Q_STATS);
	}
	spin_unlock(&b->dev.lock);
	return 0;
}

static int balloon_attach(struct vm *vm)
{
	struct vballoon *b = balloons[vm->id];

	if (!vm->cfg.balloon)
		return 0;
	if (!b)
		b = balloons[vm->id] = virtio_zalloc(sizeof(*b));
	return b ? virtio_pci_add(vm, &b->dev, &balloon_ops, b, "virtio-balloon", "") : -1;
}

static void balloon_vm_reset(struct vm *vm)
{
	struct vballoon *b = balloons[vm->id];

	if (!vm->cfg.balloon)
		return;
	virtio_reset(&b->dev);
	spin_lock(&b->dev.lock);
	memset(&b->st, 0, sizeof(b->st));
	for (unsigned int i = 0; i < BALLOON_NSTATS; i++)
		b->st.stat[i] = ~0ull;
	spin_unlock(&b->dev.lock);
}

DEFINE_VDEV_UNIT(virtio_balloon, .vm_create = balloon_attach, .vm_reset = balloon_vm_reset);
