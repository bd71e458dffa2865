/* SPDX-License-Identifier: MIT */
/* A learning Ethernet switch; the rules are in hv/virtio/netswitch.h. */
#include "hv/virtio/netswitch.h"
#include "lib/string.h"

#define TOKEN			1000000ull	/* one frame */

void netsw_init(struct netsw *sw, const char *name, uint32_t rate, uint32_t burst)
{
	memset(sw, 0, sizeof(*sw));
	strncpy(sw->name, name, NETSW_NAME_MAX - 1);
	sw->rate = rate;
	sw->burst = burst;
}

int netsw_add_port(struct netsw *sw, struct netsw_port *p)
{
	if (sw->nports == NETSW_PORTS)
		return -1;
	p->attached = false;
	p->index = sw->nports;
	sw->ports[sw->nports++] = p;
	return (int)p->index;
}

void netsw_attach(struct netsw *sw, struct netsw_port *p, uint64_t now_us)
{
	(void)sw;
	p->tokens = (uint64_t)sw->burst * TOKEN;
	p->last_us = now_us;
	p->attached = true;
}

void netsw_detach(struct netsw *sw, struct netsw_port *p)
{
	p->attached = false;
	for (unsigned int i = 0; i < NETSW_FDB; i++)
		if (sw->fdb[i].used && sw->fdb[i].port == p->index)
			sw->fdb[i].used = false;
}

static bool is_group(const uint8_t *mac)
{
	return mac[0] & 1;		/* broadcast or multicast */
}

static bool is_zero(const uint8_t *mac)
{
	return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

/* Take one frame's token from @p's bucket, topped up at its rate since the last frame. */
static bool take_token(const struct netsw *sw, struct netsw_port *p, uint64_t now_us)
{
	uint64_t cap = (uint64_t)sw->burst * TOKEN;

	if (now_us > p->last_us) {
		uint64_t add = (now_us - p->last_us) * sw->rate;

		/* Saturate: a port quiet for a long time has a full bucket, no more. */
		p->tokens = add >= cap || cap - add < p->tokens ? cap : p->tokens + add;
		p->last_us = now_us;
	}
	if (p->tokens < TOKEN)
		return false;
	p->tokens -= TOKEN;
	return true;
}

static struct netsw_fdb_entry *lookup(struct netsw *sw, const uint8_t *mac, uint64_t now_us)
{
	for (unsigned int i = 0; i < NETSW_FDB; i++) {
		struct netsw_fdb_entry *e = &sw->fdb[i];

		if (e->used && !memcmp(e->mac, mac, 6))
			return now_us - e->seen_us < NETSW_AGE_US ? e : NULL;
	}
	return NULL;
}

/* Remember that @mac sits behind @port; a full table gives up its oldest entry. */
static void learn(struct netsw *sw, const uint8_t *mac, unsigned int port, uint64_t now_us)
{
	struct netsw_fdb_entry *e = NULL, *oldest = &sw->fdb[0];

	for (unsigned int i = 0; i < NETSW_FDB && !e; i++) {
		struct netsw_fdb_entry *f = &sw->fdb[i];

		if (f->used && !memcmp(f->mac, mac, 6))
			e = f;
		else if (!f->used || (oldest->used && f->seen_us < oldest->seen_us))
			oldest = f;
	}
	if (!e) {
		e = oldest;
		memcpy(e->mac, mac, 6);
		e->used = true;
	}
	e->port = (uint8_t)port;
	e->seen_us = now_us;
}

uint32_t netsw_route(struct netsw *sw, struct netsw_port *in, const uint8_t *frame, size_t len,
		     uint64_t now_us)
{
	const uint8_t *dst = frame, *src = frame + 6;
	struct netsw_fdb_entry *e;
	uint32_t out = 0;

	if (!in->attached)
		return 0;
	if (len < NETSW_FRAME_MIN || len > NETSW_FRAME_MAX) {
		in->drop_bad++;
		return 0;
	}
	if (!take_token(sw, in, now_us)) {
		in->drop_rate++;
		return 0;
	}
	in->in_frames++;
	in->in_bytes += len;
	if (!is_group(src) && !is_zero(src))
		learn(sw, src, in->index, now_us);
	e = is_group(dst) ? NULL : lookup(sw, dst, now_us);
	if (e && e->port != in->index && sw->ports[e->port]->attached) {
		out = 1u << e->port;
	} else if (!e) {
		for (unsigned int i = 0; i < sw->nports; i++)
			if (i != in->index && sw->ports[i]->attached)
				out |= 1u << i;
		sw->flooded += out != 0;
	}
	if (!out)
		in->drop_nowhere++;
	return out;
}

void netsw_count_out(struct netsw_port *p, size_t len)
{
	p->out_frames++;
	p->out_bytes += len;
}
