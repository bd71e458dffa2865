/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for store/zstore.c (`make fuzz`).  The input is a program:
 * each operation byte puts, gets, drops or forges a handle, and an oracle
 * keeps a copy of every page put.  Pages come from tests/store/zpages.h or
 * from the input itself; the page callbacks fail when the input says so.
 * At the end everything is dropped and every page must be back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/zstore.h"
#include "tests/store/zpages.h"

#define SLOTS	32

struct pool {
	long live;
	int fail_every;		/* 0: never fail */
	int count;
};

static void *pool_alloc(void *ctx)
{
	struct pool *p = ctx;
	void *pg;

	if (p->fail_every && ++p->count % p->fail_every == 0)
		return NULL;
	pg = aligned_alloc(ZSTORE_PAGE_SIZE, ZSTORE_PAGE_SIZE);
	memset(pg, 0xa5, ZSTORE_PAGE_SIZE);
	p->live++;
	return pg;
}

static void pool_free(void *ctx, void *pg)
{
	struct pool *p = ctx;

	p->live--;
	free(pg);
}

static const struct zstore_ops pool_ops = { pool_alloc, pool_free };

static struct zstore zs;
static struct zstore_scratch scratch;
static uint8_t oracle[SLOTS][ZP_SIZE];
static uint64_t handle[SLOTS];
static int live[SLOTS];

static void fail(const char *why, int slot)
{
	fprintf(stderr, "fuzz_zstore: %s (slot %d)\n", why, slot);
	abort();
}

/* Next input byte, 0 once the input is used up. */
static uint8_t next(const uint8_t **d, size_t *n)
{
	if (!*n)
		return 0;
	(*n)--;
	return *(*d)++;
}

/* A page from the input: up to 64 bytes tiled with a twist, or a generated one. */
static void make_page(uint8_t *p, const uint8_t **d, size_t *n)
{
	uint8_t sel = next(d, n);

	if (sel & 0x80) {
		size_t len = 1 + (sel & 63), fill = 1 + next(d, n) * 16;

		if (len > *n)
			len = *n ? *n : 1;
		memset(p, 0, ZP_SIZE);
		for (size_t i = 0; i < fill && i < ZP_SIZE; i++)
			p[i] = *n ? (*d)[i % len] ^ (uint8_t)(i / len) : 0;
		*d += len <= *n ? len : *n;
		*n -= len <= *n ? len : *n;
	} else {
		zp_fill(p, (enum zp_kind)(sel % ZP_NR_KINDS), next(d, n) % 8);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct pool pool = { 0 };
	struct zstore_stats st;
	uint8_t page[ZP_SIZE];

	pool.fail_every = next(&d, &n) % 16;
	zstore_init(&zs, &pool_ops, &pool);
	memset(live, 0, sizeof(live));
	while (n) {
		uint8_t op = next(&d, &n);
		int i = (op >> 2) % SLOTS, r;
		uint64_t forged;

		switch (op & 3) {
		case 0:
			if (live[i])
				break;
			make_page(oracle[i], &d, &n);
			r = zstore_put(&zs, oracle[i], &scratch, &handle[i]);
			if (r && r != ZSTORE_ERR_NOMEM)
				fail("put", i);
			live[i] = r == 0;
			break;
		case 1:
			if (!live[i])
				break;
			memset(page, 0xcc, sizeof(page));
			if (zstore_get(&zs, handle[i], page, &scratch) ||
			    memcmp(page, oracle[i], ZP_SIZE))
				fail("get differs", i);
			break;
		case 2:
			if (!live[i])
				break;
			if (zstore_drop(&zs, handle[i]))
				fail("drop", i);
			live[i] = 0;
			break;
		default:
			/* Handles no put gave: wrong type bits, or past the table. */
			forged = next(&d, &n) & 1 ? (uint64_t)(zs.nr_entry_slots + next(&d, &n)) << 2 | 2
						   : (uint64_t)next(&d, &n) << 2 | (op & 0x80 ? 3 : 0);
			if (zstore_get(&zs, forged, page, &scratch) != ZSTORE_ERR_HANDLE ||
			    zstore_drop(&zs, forged) != ZSTORE_ERR_HANDLE)
				fail("forged handle accepted", i);
			break;
		}
	}
	for (int i = 0; i < SLOTS; i++) {
		if (!live[i])
			continue;
		if (zstore_get(&zs, handle[i], page, &scratch) || memcmp(page, oracle[i], ZP_SIZE))
			fail("final get differs", i);
		if (zstore_drop(&zs, handle[i]))
			fail("final drop", i);
	}
	zstore_get_stats(&zs, &st);
	if (st.handles || st.entries || st.data_pages || st.compressed_bytes)
		fail("not empty after dropping all", -1);
	if (pool.live != (long)st.meta_pages)
		fail("data pages leaked", -1);
	zstore_destroy(&zs);
	if (pool.live)
		fail("pages leaked after destroy", -1);
	return 0;
}
