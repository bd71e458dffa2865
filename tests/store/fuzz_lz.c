/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for store/lz.c (`make fuzz`).  The input is both a block
 * for lz_decompress(), into an exactly sized buffer under ASan, with a cap
 * taken from its first bytes, and data to round-trip through lz_compress().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/lz.h"

static uint16_t work[LZ_WORK_SIZE / 2];

static void fail(const char *why, size_t n)
{
	fprintf(stderr, "fuzz_lz: %s (input %zu bytes)\n", why, n);
	abort();
}

static void hostile_block(const uint8_t *data, size_t n)
{
	size_t cap = n >= 2 ? ((size_t)data[0] | (size_t)data[1] << 8) % 16384 : 64;
	uint8_t *in = malloc(n ? n : 1), *out = malloc(cap ? cap : 1);
	size_t out_len = 0;
	int r;

	if (n)
		memcpy(in, data, n);
	r = lz_decompress(in, n, out, cap, &out_len);
	if (r != 0 && r != LZ_ERR_TRUNCATED && r != LZ_ERR_OFFSET && r != LZ_ERR_OVERFLOW)
		fail("unknown result", n);
	if (r == 0 && out_len > cap)
		fail("output past cap", n);
	free(in);
	free(out);
}

static void round_trip(const uint8_t *data, size_t n)
{
	size_t cap = LZ_BOUND(n), clen, out_len = 0;
	uint8_t *c = malloc(cap), *d = malloc(n ? n : 1);

	clen = lz_compress(data, n, c, cap, work);
	if (!clen)
		fail("did not fit LZ_BOUND", n);
	if (lz_decompress(c, clen, d, n, &out_len) || out_len != n || memcmp(d, data, n))
		fail("round trip differs", n);
	if (lz_compress(data, n, c, clen - 1, work))
		fail("fit in less than its own size", n);
	free(c);
	free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	hostile_block(data, n);
	if (n <= LZ_MAX_INPUT)
		round_trip(data, n);
	return 0;
}
