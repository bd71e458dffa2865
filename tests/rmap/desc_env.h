/* SPDX-License-Identifier: MIT */
/*
 * rmap descriptors for the hosted tests (struct rmap_ops): counted in
 * desc_live, and freed only after a grace period, as rmap/rmap.h asks of
 * every descriptor a lockless walker may still be reading.
 */
#ifndef TESTS_RMAP_DESC_ENV_H
#define TESTS_RMAP_DESC_ENV_H

#include <stdlib.h>

#include "lib/check.h"
#include "rmap/rmap.h"
#include "smp/grace.h"

struct env_desc {
	struct rmap_desc desc;
	struct grace_head grace;
} __attribute__((aligned(64)));

static long desc_live;

static inline struct rmap_desc *env_desc_alloc(void *priv)
{
	struct env_desc *d = aligned_alloc(64, sizeof(*d));

	(void)priv;
	__atomic_fetch_add(&desc_live, 1, __ATOMIC_RELAXED);
	return &d->desc;
}

static inline void env_desc_free_cb(struct grace_head *h)
{
	__atomic_fetch_sub(&desc_live, 1, __ATOMIC_RELAXED);
	free(container_of(h, struct env_desc, grace));
}

static inline void env_desc_free(void *priv, struct rmap_desc *desc)
{
	(void)priv;
	grace_call(&container_of(desc, struct env_desc, desc)->grace, env_desc_free_cb);
}

static const struct rmap_ops env_rmap_ops = { env_desc_alloc, env_desc_free, NULL };

#endif
