/* SPDX-License-Identifier: MIT */
/*
 * store/lz.c against Debian's liblz4, the well-kept implementation of the same
 * block format: every block we write is read back by LZ4_decompress_safe(),
 * every block LZ4 writes is read back by lz_decompress(), and our compressed
 * sizes stay within LZ4's (the reclaim store's ratio; `make bench-store`
 * measures speed side by side).
 */
#include <lz4.h>

#include "store/lz.h"
#include "tests/host/test.h"
#include "tests/store/zpages.h"

static uint16_t work[LZ_WORK_SIZE / 2];

/* Input sizes around the format's end-of-block limits (12 and 5 bytes). */
static const size_t sizes[] = { 0, 1, 4, 5, 11, 12, 13, 16, 17, 18, 31, 100, 1000, 4095, 4096 };

TEST(lz4_reads_every_block_we_write)
{
	uint8_t p[ZP_SIZE], c[LZ_BOUND(ZP_SIZE)], d[ZP_SIZE];

	for (int kind = 0; kind < ZP_NR_KINDS; kind++)
		for (uint64_t seed = 0; seed < 60; seed++)
			for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
				size_t n = sizes[i], clen;
				int got;

				zp_fill(p, kind, seed);
				clen = lz_compress(p, n, c, sizeof(c), work);
				CHECK(clen > 0);
				got = LZ4_decompress_safe((const char *)c, (char *)d, (int)clen, (int)n);
				CHECK_EQ(got, n);
				CHECK(memcmp(p, d, n) == 0);
			}
}

TEST(we_read_every_block_lz4_writes)
{
	uint8_t p[ZP_SIZE], c[LZ4_COMPRESSBOUND(ZP_SIZE)], d[ZP_SIZE];

	for (int kind = 0; kind < ZP_NR_KINDS; kind++)
		for (uint64_t seed = 0; seed < 60; seed++)
			for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
				size_t n = sizes[i], out = 0;
				int clen;

				zp_fill(p, kind, seed);
				clen = LZ4_compress_default((const char *)p, (char *)c, (int)n, sizeof(c));
				CHECK(clen > 0);
				CHECK_EQ(lz_decompress(c, (size_t)clen, d, n, &out), 0);
				CHECK_EQ(out, n);
				CHECK(memcmp(p, d, n) == 0);
			}
}

TEST(our_pages_are_no_larger_than_lz4s)
{
	uint8_t p[ZP_SIZE], c[LZ4_COMPRESSBOUND(ZP_SIZE)];

	for (int kind = 0; kind < ZP_NR_KINDS; kind++) {
		size_t ours = 0, theirs = 0;

		for (uint64_t seed = 0; seed < 200; seed++) {
			zp_fill(p, kind, seed);
			ours += lz_compress(p, ZP_SIZE, c, sizeof(c), work);
			theirs += (size_t)LZ4_compress_default((const char *)p, (char *)c, ZP_SIZE,
							       sizeof(c));
		}
		/* Within 0.5%: the same greedy single-probe parse, give or take a hash. */
		CHECK(ours * 1000 <= theirs * 1005);
	}
}
