/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk over the virtio-pci transport (see hv/virtio/blk.h): one
 * request queue of 128, requests handled in the notifying vCPU's exit, one
 * 4 KiB block at a time through a bounce page.  Every length and sector the
 * driver gives is checked against the disk; a request that does not fit is
 * an I/O error, a chain without room for its status breaks the device.
 */
#include "hv/core/config.h"
#include "hv/core/unit.h"
#include "hv/core/vm.h"
#include "hv/cpu/hv.h"
#include "hv/cpu/page_alloc.h"
#include "hv/lib/format.h"
#include "hv/virtio/blk.h"
#include "hv/virtio/virtio_pci.h"
#include "lib/le.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "smp/lockdep.h"
#include "store/zdisk.h"

#define BLK_ID			2
#define BLK_CLASS		0x010000	/* mass storage, SCSI: what Linux's tools expect */
#define BLK_QUEUE_SIZE		128
#define BLK_SEG_MAX		(BLK_QUEUE_SIZE - 2)
#define BLK_DISCARD_SEG_MAX	32
#define SECTOR			512

#define F_SEG_MAX		2
#define F_RO			5
#define F_BLK_SIZE		6
#define F_FLUSH			9
#define F_DISCARD		13

#define T_IN			0
#define T_OUT			1
#define T_FLUSH			4
#define T_GET_ID		8
#define T_DISCARD		11
#define S_OK			0
#define S_IOERR			1
#define S_UNSUPP		2
#define ID_BYTES		20
#define HDR_BYTES		16

/* Device configuration (struct virtio_blk_config). */
#define CFG_CAPACITY		0x00
#define CFG_SEG_MAX		0x0c
#define CFG_BLK_SIZE		0x14
#define CFG_MAX_DISCARD		0x24
#define CFG_DISCARD_SEG		0x28
#define CFG_DISCARD_ALIGN	0x2c
#define CFG_LEN			0x3c

struct vblk {
	struct virtio_dev dev;
	/* Below: the device lock (dev.lock), but for the set-up at start and release. */
	const struct guest_disk *cfg;
	struct zdisk disk;
	bool loaded, keep;		/* keep: the guest resets, its writes stay */
	uint64_t size;			/* bytes, a multiple of 4 KiB */
	unsigned int handles_order;
	struct zstore_scratch *scratch;
	uint8_t *bounce;		/* one 4 KiB block */
	uint8_t cfg_space[CFG_LEN];
	struct blk_stats st;
};

/* Allocated when the guest is created. */
static struct vblk *disks[VM_MAX][CFG_DISKS_MAX];

/* The disks' blocks: compressed, deduplicated, zero blocks free; pages from the allocator. */
static struct zstore disk_store;
static bool disk_store_ready;

static void *store_alloc(void *ctx)
{
	(void)ctx;
	return (void *)(uintptr_t)page_alloc(0);
}

static void store_free(void *ctx, void *page)
{
	(void)ctx;
	page_free((uint64_t)(uintptr_t)page, 0);
}

static const struct zstore_ops disk_store_ops = { store_alloc, store_free };

void virtio_blk_store_stats(struct zstore_stats *st)
{
	if (disk_store_ready)
		zstore_get_stats(&disk_store, st);
	else
		memset(st, 0, sizeof(*st));
}

static unsigned int order_of(uint64_t bytes)
{
	unsigned int order = 0;

	while ((PAGE_SIZE << order) < bytes)
		order++;
	return order;
}

static const struct boot_module *find_file(const char *name)
{
	for (uint32_t i = 0; i < boot_info->nmodules; i++)
		if (!strcmp(boot_info->modules[i].name, name))
			return &boot_info->modules[i];
	return NULL;
}

/* ---- requests ---- */

/* The request's data range [@off, @off + @len) lies on the disk. */
static bool on_disk(struct vblk *b, uint64_t sector, uint64_t len)
{
	uint64_t end = b->size / SECTOR;

	return sector <= end && len <= (end - sector) * SECTOR;
}

/* Read @len bytes at disk offset @pos into the writable part at @dst. */
static int do_read(struct vblk *b, uint64_t pos, uint64_t dst, uint64_t len)
{
	while (len) {
		uint64_t blk = pos / ZDISK_BLOCK, in = pos % ZDISK_BLOCK;
		uint64_t n = ZDISK_BLOCK - in < len ? ZDISK_BLOCK - in : len;

		if (zdisk_read(&b->disk, blk, b->bounce) ||
		    virtio_write(&b->dev, dst, b->bounce + in, n))
			return -1;
		pos += n;
		dst += n;
		len -= n;
	}
	return 0;
}

/* Write @len bytes of the readable part from @src at disk offset @pos. */
static int do_write(struct vblk *b, uint64_t pos, uint64_t src, uint64_t len)
{
	while (len) {
		uint64_t blk = pos / ZDISK_BLOCK, in = pos % ZDISK_BLOCK;
		uint64_t n = ZDISK_BLOCK - in < len ? ZDISK_BLOCK - in : len;

		/* A part of a block: the rest of it as it was. */
		if (n < ZDISK_BLOCK && zdisk_read(&b->disk, blk, b->bounce))
			return -1;
		if (virtio_read(&b->dev, src, b->bounce + in, n) ||
		    zdisk_write(&b->disk, blk, b->bounce))
			return -1;
		pos += n;
		src += n;
		len -= n;
	}
	return 0;
}

/* Drop whole blocks of [@pos, @pos + @len); the parts of blocks at its ends become zeros. */
static int do_discard(struct vblk *b, uint64_t pos, uint64_t len)
{
	while (len) {
		uint64_t blk = pos / ZDISK_BLOCK, in = pos % ZDISK_BLOCK;
		uint64_t n = ZDISK_BLOCK - in < len ? ZDISK_BLOCK - in : len;

		if (n == ZDISK_BLOCK) {
			zdisk_discard(&b->disk, blk);
		} else {
			if (zdisk_read(&b->disk, blk, b->bounce))
				return -1;
			memset(b->bounce + in, 0, n);
			if (zdisk_write(&b->disk, blk, b->bounce))
				return -1;
		}
		pos += n;
		len -= n;
	}
	return 0;
}

static uint8_t discard(struct vblk *b, uint64_t nbytes)
{
	uint8_t seg[16];

	if (b->cfg->ro)
		return S_IOERR;
	if (!nbytes || nbytes % 16 || nbytes / 16 > BLK_DISCARD_SEG_MAX)
		return S_UNSUPP;
	for (uint64_t off = 0; off < nbytes; off += 16) {
		uint64_t sector;
		uint32_t count;

		if (virtio_read(&b->dev, HDR_BYTES + off, seg, sizeof(seg)))
			return S_IOERR;
		sector = le_get64(seg);
		count = le_get32(seg + 8);
		if (le_get32(seg + 12))
			return S_UNSUPP;		/* no flags for discard */
		if (!on_disk(b, sector, (uint64_t)count * SECTOR) ||
		    do_discard(b, sector * SECTOR, (uint64_t)count * SECTOR))
			return S_IOERR;
	}
	b->st.discards++;
	return S_OK;
}

/* One request in dev.chain; what was written into its writable part. */
static uint32_t handle(struct vblk *b)
{
	const struct virtq_chain *c = &b->dev.chain;
	uint64_t in_len = c->write_len - 1, out_len = c->read_len - HDR_BYTES;
	uint8_t hdr[HDR_BYTES], status = S_OK, id[ID_BYTES];
	uint32_t written = 0;
	uint64_t sector;

	if (c->read_len < HDR_BYTES || virtio_read(&b->dev, 0, hdr, sizeof(hdr))) {
		status = S_IOERR;
		goto out;
	}
	sector = le_get64(hdr + 8);
	switch (le_get32(hdr)) {
	case T_IN:
		if (!on_disk(b, sector, in_len) || do_read(b, sector * SECTOR, 0, in_len)) {
			status = S_IOERR;
			break;
		}
		written = (uint32_t)in_len;
		b->st.reads++;
		b->st.read_bytes += in_len;
		break;
	case T_OUT:
		if (b->cfg->ro || !on_disk(b, sector, out_len) ||
		    do_write(b, sector * SECTOR, HDR_BYTES, out_len)) {
			status = S_IOERR;
			break;
		}
		b->st.writes++;
		b->st.write_bytes += out_len;
		break;
	case T_FLUSH:
		/* Writes are in the store the moment they complete: nothing is left to flush. */
		b->st.flushes++;
		break;
	case T_GET_ID:
		memset(id, 0, sizeof(id));
		hv_snprintf((char *)id, sizeof(id), "hv-%s", b->cfg->file);
		written = in_len < ID_BYTES ? (uint32_t)in_len : ID_BYTES;
		if (virtio_write(&b->dev, 0, id, written))
			status = S_IOERR;
		b->st.get_ids++;
		break;
	case T_DISCARD:
		status = discard(b, out_len);
		break;
	default:
		status = S_UNSUPP;
	}
out:
	b->st.ioerrs += status == S_IOERR;
	b->st.unsupported += status == S_UNSUPP;
	if (status != S_OK)
		written = 0;
	/* The status is the last byte the driver gave us to write. */
	if (virtio_write(&b->dev, c->write_len - 1, &status, 1))
		virtio_fail(&b->dev, "request without a status byte");
	return written + 1;
}

static void blk_notify(struct virtio_dev *d, unsigned int q)
{
	struct vblk *b = d->priv;

	while (virtio_pop(d, q) > 0) {
		if (!d->chain.write_len) {
			virtio_fail(d, "request without a status byte");
			return;
		}
		virtio_push(d, q, d->chain.head, handle(b));
	}
	virtio_flush(d, q);
}

static uint32_t blk_cfg_read(struct virtio_dev *d, unsigned int off, unsigned int size)
{
	struct vblk *b = d->priv;

	return size == 1 ? b->cfg_space[off] : size == 2 ? le_get16(b->cfg_space + off) :
	       le_get32(b->cfg_space + off);
}

/* Read-only disks offer RO instead of DISCARD (blk_attach() adjusts the offer). */
static const struct virtio_dev_ops blk_ops = {
	.device_id = BLK_ID,
	.pci_class = BLK_CLASS,
	.features = 1ull << F_SEG_MAX | 1ull << F_BLK_SIZE | 1ull << F_FLUSH | 1ull << F_DISCARD,
	.nqueues = 1,
	.queue_size = BLK_QUEUE_SIZE,
	.cfg_len = CFG_LEN,
	.cfg_read = blk_cfg_read,
	.notify = blk_notify,
};

bool virtio_blk_stats(struct virtio_dev *d, struct blk_stats *st)
{
	struct vblk *b = d->priv;
	struct zdisk_stats zs;

	if (d->ops != &blk_ops)
		return false;
	spin_lock(&d->lock);
	*st = b->st;
	st->size = b->size;
	st->file = b->cfg->file;
	st->ro = b->cfg->ro;
	st->zero_blocks = 0;
	if (b->loaded) {
		zdisk_stats(&b->disk, &zs);
		st->zero_blocks = zs.zero_blocks;
	}
	spin_unlock(&d->lock);
	return true;
}

/* ---- the unit ---- */

static void unload(struct vblk *b)
{
	if (!b->loaded)
		return;
	zdisk_destroy(&b->disk);
	page_free((uint64_t)(uintptr_t)b->disk.handles, b->handles_order);
	b->loaded = false;
}

/* The disk from its file, as the guest starts; -1 leaves it empty (every read fails). */
static int load(struct vm *vm, struct vblk *b)
{
	const struct boot_module *m = find_file(b->cfg->file);
	uint64_t nblocks;
	uint32_t *handles;
	int rc;

	if (!m) {
		pr_err("guest %s: disk %s: no such file on the boot medium\n", vm->cfg.name,
		       b->cfg->file);
		return -1;
	}
	nblocks = (m->size + ZDISK_BLOCK - 1) / ZDISK_BLOCK;
	b->handles_order = order_of(zdisk_handles_bytes(nblocks));
	handles = b->handles_order <= PAGE_MAX_ORDER ?
		  (uint32_t *)(uintptr_t)page_alloc(b->handles_order) : NULL;
	if (!handles) {
		pr_err("guest %s: disk %s: %llu MiB is more than this hypervisor can hold\n",
		       vm->cfg.name, b->cfg->file, (unsigned long long)(m->size >> 20));
		return -1;
	}
	rc = zdisk_init(&b->disk, &disk_store, b->scratch, b->bounce, handles, nblocks,
			(const void *)(uintptr_t)m->pa, m->size);
	if (rc) {
		page_free((uint64_t)(uintptr_t)handles, b->handles_order);
		pr_err("guest %s: disk %s: out of memory for its blocks\n", vm->cfg.name,
		       b->cfg->file);
		return -1;
	}
	b->size = nblocks * ZDISK_BLOCK;
	b->loaded = true;
	return 0;
}

static void fill_config(struct vblk *b)
{
	memset(b->cfg_space, 0, sizeof(b->cfg_space));
	le_put64(b->cfg_space + CFG_CAPACITY, b->size / SECTOR);
	le_put32(b->cfg_space + CFG_SEG_MAX, BLK_SEG_MAX);
	le_put32(b->cfg_space + CFG_BLK_SIZE, ZDISK_BLOCK);
	le_put32(b->cfg_space + CFG_MAX_DISCARD, (uint32_t)(b->size / SECTOR));
	le_put32(b->cfg_space + CFG_DISCARD_SEG, BLK_DISCARD_SEG_MAX);
	le_put32(b->cfg_space + CFG_DISCARD_ALIGN, ZDISK_BLOCK / SECTOR);
}

static int blk_attach(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg.ndisks; i++) {
		struct vblk *b = disks[vm->id][i];

		if (!b)
			b = disks[vm->id][i] = virtio_zalloc(sizeof(*b));
		if (!b)
			return -1;
		b->cfg = &vm->cfg.disks[i];
		if (!b->scratch)
			b->scratch = virtio_zalloc(sizeof(struct zstore_scratch));
		if (!b->bounce)
			b->bounce = virtio_zalloc(ZDISK_BLOCK);
		if (!b->scratch || !b->bounce ||
		    virtio_pci_add(vm, &b->dev, &blk_ops, b, "virtio-blk", b->cfg->file))
			return -1;
		if (b->cfg->ro)
			b->dev.features = (b->dev.features & ~(1ull << F_DISCARD)) | 1ull << F_RO;
	}
	if (vm->cfg.ndisks && !disk_store_ready) {
		zstore_init(&disk_store, &disk_store_ops, NULL);
		disk_store_ready = true;
	}
	return 0;
}

static void blk_reset(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg.ndisks; i++) {
		struct vblk *b = disks[vm->id][i];

		virtio_reset(&b->dev);
		spin_lock(&b->dev.lock);
		/* A guest that reset itself finds its disk as it left it. */
		if (!b->keep) {
			unload(b);
			memset(&b->st, 0, sizeof(b->st));
			load(vm, b);
		}
		b->keep = false;
		fill_config(b);
		spin_unlock(&b->dev.lock);
	}
}

static void blk_release(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg.ndisks; i++) {
		struct vblk *b = disks[vm->id][i];

		spin_lock(&b->dev.lock);
		b->keep = READ_ONCE(vm->restart_request) && b->loaded;
		if (!b->keep)
			unload(b);
		spin_unlock(&b->dev.lock);
	}
}

DEFINE_VDEV_UNIT(virtio_blk, .vm_create = blk_attach, .vm_reset = blk_reset,
		 .vm_release = blk_release);
