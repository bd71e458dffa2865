/* SPDX-License-Identifier: MIT */
/* Split virtqueues, the device's side; the rules are in hv/virtio/virtq.h. */
#include "hv/virtio/virtq.h"
#include "smp/atomic.h"

/* Offsets in the available and used rings. */
#define AVAIL_FLAGS	0
#define AVAIL_IDX	2
#define AVAIL_RING	4
#define USED_IDX	2
#define USED_RING	4

static const char *const error_names[VIRTQ_NR_ERRORS] = {
	[VIRTQ_OK] = "no error",
	[VIRTQ_E_RING] = "ring misaligned or outside guest memory",
	[VIRTQ_E_AVAIL_IDX] = "more buffers available than the queue holds",
	[VIRTQ_E_HEAD] = "head index past the queue",
	[VIRTQ_E_NEXT] = "next index past the queue",
	[VIRTQ_E_LOOP] = "descriptor chain loops",
	[VIRTQ_E_ADDR] = "buffer outside guest memory",
	[VIRTQ_E_LEN] = "chain longer than 1 GiB",
	[VIRTQ_E_SEGS] = "too many buffers in a chain",
	[VIRTQ_E_ORDER] = "readable buffer after a writable one",
	[VIRTQ_E_INDIRECT] = "indirect descriptor not negotiated or with NEXT",
	[VIRTQ_E_INDIRECT_LEN] = "bad indirect table length",
	[VIRTQ_E_NESTED] = "nested indirect descriptor",
	[VIRTQ_E_MEM] = "guest memory unreadable",
	[VIRTQ_E_USED] = "used entry for a chain not taken",
};

const char *virtq_strerror(int err)
{
	if (err < 0)
		err = -err;
	return err < VIRTQ_NR_ERRORS ? error_names[err] : "?";
}

/* [@addr, @addr + @len) lies in guest memory. */
static bool in_memory(const struct virtq_mem *m, uint64_t addr, uint64_t len)
{
	return addr <= m->size && len <= m->size - addr;
}

static int read16(const struct virtq_mem *m, uint64_t gpa, uint16_t *v)
{
	uint8_t b[2];

	if (m->read(m->ctx, gpa, b, 2))
		return -1;
	*v = (uint16_t)(b[0] | b[1] << 8);
	return 0;
}

static int write16(const struct virtq_mem *m, uint64_t gpa, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	return m->write(m->ctx, gpa, b, 2);
}

static uint64_t le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

int virtq_start(struct virtq *vq, const struct virtq_mem *m)
{
	unsigned int n = vq->size;

	vq->last_avail = vq->used_idx = vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->in_flight = 0;
	if (!n || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return VIRTQ_E_RING;
	/* The alignments of virtio 1.x, 2.7.10.1: 16, 2 and 4 bytes. */
	if ((vq->desc & 15) || (vq->avail & 1) || (vq->used & 3))
		return VIRTQ_E_RING;
	if (!in_memory(m, vq->desc, virtq_desc_bytes(n)) ||
	    !in_memory(m, vq->avail, virtq_avail_bytes(n)) ||
	    !in_memory(m, vq->used, virtq_used_bytes(n)))
		return VIRTQ_E_RING;
	return VIRTQ_OK;
}

/* Add a buffer of the chain; readable ones must all come before writable ones. */
static int add_seg(struct virtq_chain *c, uint64_t addr, uint32_t len, bool write,
		   bool *seen_write)
{
	if (!write && *seen_write)
		return VIRTQ_E_ORDER;
	*seen_write |= write;
	if (c->read_len + c->write_len + len > VIRTQ_MAX_CHAIN_BYTES)
		return VIRTQ_E_LEN;
	if (!len)
		return VIRTQ_OK;	/* nothing to move: not kept */
	if (c->nseg == VIRTQ_SEG_MAX)
		return VIRTQ_E_SEGS;
	c->seg[c->nseg++] = (struct virtq_seg){ addr, len };
	if (write) {
		c->write_len += len;
	} else {
		c->nread++;
		c->read_len += len;
	}
	return VIRTQ_OK;
}

/*
 * Follow the chain from @head: through the queue's table, or, after an
 * indirect descriptor, through its table starting at entry 0.  Each table
 * may be walked at most its own length of steps, so a loop ends in an error.
 */
static int walk(const struct virtq *vq, const struct virtq_mem *m, uint16_t head,
		struct virtq_chain *c)
{
	uint64_t table = vq->desc;
	unsigned int tsize = vq->size, idx = head, steps = 0;
	bool indirect = false, seen_write = false;
	uint8_t d[16];
	int err;

	c->head = head;
	c->nseg = c->nread = 0;
	c->read_len = c->write_len = 0;
	for (;;) {
		uint64_t addr;
		uint32_t len;
		uint16_t flags;

		if (++steps > tsize)
			return VIRTQ_E_LOOP;
		if (m->read(m->ctx, table + 16ull * idx, d, sizeof(d)))
			return VIRTQ_E_MEM;
		addr = le(d, 8);
		len = (uint32_t)le(d + 8, 4);
		flags = (uint16_t)le(d + 12, 2);
		if (flags & VIRTQ_DESC_F_INDIRECT) {
			if (indirect)
				return VIRTQ_E_NESTED;
			if (!vq->indirect || (flags & VIRTQ_DESC_F_NEXT))
				return VIRTQ_E_INDIRECT;
			if (!len || len % 16 || len / 16 > VIRTQ_MAX_SIZE)
				return VIRTQ_E_INDIRECT_LEN;
			if (!in_memory(m, addr, len))
				return VIRTQ_E_ADDR;
			table = addr;
			tsize = len / 16;
			idx = 0;
			steps = 0;
			indirect = true;
			continue;
		}
		if (len && !in_memory(m, addr, len))
			return VIRTQ_E_ADDR;
		err = add_seg(c, addr, len, flags & VIRTQ_DESC_F_WRITE, &seen_write);
		if (err)
			return err;
		if (!(flags & VIRTQ_DESC_F_NEXT))
			return VIRTQ_OK;
		idx = (uint16_t)le(d + 14, 2);
		if (idx >= tsize)
			return VIRTQ_E_NEXT;
	}
}

int virtq_pop(struct virtq *vq, const struct virtq_mem *m, struct virtq_chain *c)
{
	uint16_t avail_idx, head;
	int err;

	if (read16(m, vq->avail + AVAIL_IDX, &avail_idx))
		return -VIRTQ_E_MEM;
	if (avail_idx == vq->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size)
		return -VIRTQ_E_AVAIL_IDX;
	/* Pairs with the driver's write barrier before it bumps avail->idx. */
	smp_rmb();
	if (read16(m, vq->avail + AVAIL_RING + 2ull * (vq->last_avail & (vq->size - 1)), &head))
		return -VIRTQ_E_MEM;
	if (head >= vq->size)
		return -VIRTQ_E_HEAD;
	err = walk(vq, m, head, c);
	if (err)
		return -err;
	vq->last_avail++;
	vq->in_flight++;
	return 1;
}

int virtq_push(struct virtq *vq, const struct virtq_mem *m, uint16_t head, uint32_t written)
{
	uint64_t elem = vq->used + USED_RING + 8ull * (vq->used_idx & (vq->size - 1));
	uint8_t e[8];

	if (!vq->in_flight || head >= vq->size)
		return -VIRTQ_E_USED;
	for (unsigned int i = 0; i < 4; i++) {
		e[i] = (uint8_t)(head >> (8 * i));
		e[4 + i] = (uint8_t)(written >> (8 * i));
	}
	if (m->write(m->ctx, elem, e, sizeof(e)))
		return -VIRTQ_E_MEM;
	/* The entry is in place before the driver sees the index move (its read barrier). */
	smp_wmb();
	if (write16(m, vq->used + USED_IDX, (uint16_t)(vq->used_idx + 1)))
		return -VIRTQ_E_MEM;
	vq->used_idx++;
	vq->in_flight--;
	return 0;
}

bool virtq_notify_wanted(struct virtq *vq, const struct virtq_mem *m)
{
	uint16_t old = vq->signalled_used, now = vq->used_idx, v;
	bool valid = vq->signalled_valid;

	/* Our used->idx store before we read what the driver asked: it may just have changed it. */
	smp_mb();
	if (!vq->event_idx) {
		if (read16(m, vq->avail + AVAIL_FLAGS, &v))
			return true;
		return !(v & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	vq->signalled_used = now;
	vq->signalled_valid = true;
	if (read16(m, vq->avail + AVAIL_RING + 2ull * vq->size, &v))
		return true;
	/* vring_need_event(): the driver asked to hear when used passes used_event. */
	return !valid || (uint16_t)(now - v - 1) < (uint16_t)(now - old);
}

bool virtq_kick_me(struct virtq *vq, const struct virtq_mem *m)
{
	uint16_t avail_idx;

	if (!vq->event_idx)
		return false;	/* the driver kicks after every buffer it adds */
	if (write16(m, vq->used + USED_RING + 8ull * vq->size, vq->last_avail))
		return false;
	/* The avail_event store before the look at avail->idx: the driver does the reverse. */
	smp_mb();
	return !read16(m, vq->avail + AVAIL_IDX, &avail_idx) && avail_idx != vq->last_avail;
}

/* Copy between @buf and the chain's segments [first, first + n) from byte @off. */
static int chain_copy(const struct virtq_chain *c, const struct virtq_mem *m, unsigned int first,
		      unsigned int n, uint64_t off, void *buf, uint64_t len, bool write)
{
	uint8_t *p = buf;

	for (unsigned int i = first; i < first + n && len; i++) {
		const struct virtq_seg *s = &c->seg[i];
		uint64_t chunk;
		int rc;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		chunk = s->len - off < len ? s->len - off : len;
		rc = write ? m->write(m->ctx, s->addr + off, p, chunk) :
			     m->read(m->ctx, s->addr + off, p, chunk);
		if (rc)
			return -1;
		p += chunk;
		len -= chunk;
		off = 0;
	}
	return len ? -1 : 0;
}

int virtq_chain_read(const struct virtq_chain *c, const struct virtq_mem *m, uint64_t off,
		     void *buf, uint64_t len)
{
	return chain_copy(c, m, 0, c->nread, off, buf, len, false);
}

int virtq_chain_write(const struct virtq_chain *c, const struct virtq_mem *m, uint64_t off,
		      const void *buf, uint64_t len)
{
	return chain_copy(c, m, c->nread, c->nseg - c->nread, off, (void *)buf, len, true);
}
