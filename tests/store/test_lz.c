/* SPDX-License-Identifier: MIT */
/*
 * store/lz.c: round trips over zero, text, random, repetitive and adversarial
 * inputs, exact output bounds, and a decompressor that rejects (and never
 * overruns on) malformed blocks.  Built plain and under ASan/UBSan.
 */
#include "store/lz.h"
#include "tests/host/test.h"
#include "tests/store/zpages.h"

static uint16_t work[LZ_WORK_SIZE / 2];

/* Compress @n bytes, decompress into an exactly sized heap buffer, compare. */
static bool roundtrip(const uint8_t *src, size_t n, size_t *clen_out)
{
	size_t cap = LZ_BOUND(n), clen, out = 12345;
	uint8_t *c = malloc(cap), *d = malloc(n ? n : 1);
	bool ok;

	clen = lz_compress(src, n, c, cap, work);
	ok = clen > 0 && clen <= cap &&
	     lz_decompress(c, clen, d, n, &out) == 0 && out == n && memcmp(src, d, n) == 0;
	if (!ok)
		fprintf(stderr, "roundtrip failed: n %zu clen %zu out %zu\n", n, clen, out);
	if (clen_out)
		*clen_out = clen;
	free(c);
	free(d);
	return ok;
}

TEST(lz_zero_inputs_shrink_to_a_few_bytes)
{
	static uint8_t z[LZ_MAX_INPUT];
	size_t sizes[] = { 0, 1, 3, 4, 5, 15, 16, 19, 20, 100, 4095, 4096, 4097, 65535, 65536 };
	size_t clen;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		CHECK(roundtrip(z, sizes[i], &clen));
	CHECK(roundtrip(z, 4096, &clen));
	/* One literal, one long match, the 5 literals LZ4's format ends on. */
	CHECK(clen <= 32);
	CHECK(roundtrip(z, 0, &clen));
	CHECK_EQ(clen, 1);
}

TEST(lz_text_pages_compress_to_under_65_percent)
{
	uint8_t p[ZP_SIZE];
	size_t clen, total = 0;

	for (uint64_t seed = 0; seed < 300; seed++) {
		zp_fill(p, ZP_TEXT, seed);
		CHECK(roundtrip(p, ZP_SIZE, &clen));
		total += clen;
	}
	CHECK(total < 300 * ZP_SIZE * 65 / 100);
}

TEST(lz_every_kind_and_size_round_trips)
{
	uint8_t p[ZP_SIZE];

	for (int kind = 0; kind < ZP_NR_KINDS; kind++)
		for (uint64_t seed = 0; seed < 100; seed++) {
			zp_fill(p, kind, seed);
			CHECK(roundtrip(p, ZP_SIZE, NULL));
			CHECK(roundtrip(p, seed * 37 % ZP_SIZE, NULL));
		}
}

TEST(lz_random_page_does_not_fit_below_page_size)
{
	uint8_t p[ZP_SIZE], c[LZ_BOUND(ZP_SIZE)];
	size_t clen;

	for (uint64_t seed = 0; seed < 50; seed++) {
		zp_fill(p, ZP_RANDOM, seed);
		CHECK_EQ(lz_compress(p, ZP_SIZE, c, ZP_SIZE - 64, work), 0);
		CHECK(roundtrip(p, ZP_SIZE, &clen));
		CHECK(clen > ZP_SIZE && clen <= LZ_BOUND(ZP_SIZE));
	}
}

TEST(lz_output_fits_cap_exactly_or_is_refused)
{
	uint8_t p[ZP_SIZE], c[LZ_BOUND(ZP_SIZE)], d[ZP_SIZE];
	size_t out;

	for (int kind = 0; kind < ZP_NR_KINDS; kind++)
		for (uint64_t seed = 0; seed < 20; seed++) {
			size_t clen;

			zp_fill(p, kind, seed);
			clen = lz_compress(p, ZP_SIZE, c, sizeof(c), work);
			CHECK(clen > 0);
			/* Every cap below the size is refused; the size itself fits. */
			for (size_t cap = clen > 40 ? clen - 40 : 0; cap < clen; cap++)
				CHECK_EQ(lz_compress(p, ZP_SIZE, c, cap, work), 0);
			CHECK_EQ(lz_compress(p, ZP_SIZE, c, clen, work), clen);
			CHECK_EQ(lz_decompress(c, clen, d, ZP_SIZE, &out), 0);
			CHECK(out == ZP_SIZE && !memcmp(p, d, ZP_SIZE));
			/* One byte short of room for the output is an overflow. */
			CHECK_EQ(lz_decompress(c, clen, d, ZP_SIZE - 1, &out), LZ_ERR_OVERFLOW);
		}
}

TEST(lz_every_match_and_literal_length_round_trips)
{
	static uint8_t buf[8192];
	uint64_t s = 7;
	size_t clen;

	/* A match of exactly @m bytes: random head, its copy, a different byte. */
	for (size_t m = 4; m < 2000; m++) {
		zp_random_bytes(buf, sizeof(buf), &s);
		memcpy(buf + 3000, buf + 100, m);
		buf[3000 + m] = buf[100 + m] ^ 0x5a;
		CHECK(roundtrip(buf, 3000 + m + 50, NULL));
	}
	/* @l literals between two matches, across the 15 and 15 + 255 edges. */
	for (size_t l = 0; l < 600; l++) {
		zp_random_bytes(buf, sizeof(buf), &s);
		memset(buf, 'a', 64);
		memset(buf + 64 + l, 'a', 64);
		CHECK(roundtrip(buf, 64 + l + 64 + 8, &clen));
		CHECK(clen < 64 + l + 64 + 8);
	}
}

TEST(lz_every_short_period_and_offset_round_trips)
{
	static uint8_t buf[LZ_MAX_INPUT];
	uint64_t s = 99;
	size_t clen;

	for (size_t period = 1; period <= 300; period++) {
		zp_random_bytes(buf, period, &s);
		for (size_t i = period; i < 5000; i++)
			buf[i] = buf[i - period];
		CHECK(roundtrip(buf, 5000, &clen));
		CHECK(clen < period + 200);
	}
	/*
	 * Far offsets up to the 65535 limit, in a whole 64 KiB input: 256
	 * random bytes at 0 and again at @off, zeros between and after.
	 */
	for (size_t off = 256; off <= 65535 - 256; off += 997) {
		memset(buf, 0, sizeof(buf));
		zp_random_bytes(buf, 256, &s);
		memcpy(buf + off, buf, 256);
		CHECK(roundtrip(buf, sizeof(buf), &clen));
		CHECK(clen < 256 + 600);
	}
	CHECK_EQ(lz_compress(buf, LZ_MAX_INPUT + 1, buf, 0, work), 0);
}

TEST(lz_output_ignores_workspace_garbage)
{
	uint8_t p[ZP_SIZE], c1[LZ_BOUND(ZP_SIZE)], c2[LZ_BOUND(ZP_SIZE)];
	size_t n1, n2;

	for (uint64_t seed = 0; seed < 30; seed++) {
		zp_fill(p, (enum zp_kind)(seed % ZP_NR_KINDS), seed);
		memset(work, 0x5a, sizeof(work));
		n1 = lz_compress(p, ZP_SIZE, c1, sizeof(c1), work);
		for (size_t i = 0; i < LZ_WORK_SIZE / 2; i++)
			work[i] = (uint16_t)(i * 7919);
		n2 = lz_compress(p, ZP_SIZE, c2, sizeof(c2), work);
		CHECK(n1 == n2 && !memcmp(c1, c2, n1));
	}
}

/* Decompress @n bytes into a heap buffer of exactly @cap bytes (ASan sees overruns). */
static int decode(const uint8_t *src, size_t n, size_t cap, size_t *out)
{
	uint8_t *in = calloc(1, n ? n : 1), *d = malloc(cap ? cap : 1);
	int r;

	if (n)
		memcpy(in, src, n);
	r = lz_decompress(in, n, d, cap, out);
	free(in);
	free(d);
	return r;
}

TEST(lz_decompress_rejects_malformed_blocks)
{
	size_t out;
	static const uint8_t lit_short[] = { 0x30, 'a', 'b' };
	static const uint8_t off_zero[] = { 0x10, 'a', 0, 0, 0x00 };
	static const uint8_t off_before[] = { 0x10, 'a', 2, 0, 0x00 };
	static const uint8_t ext_cut[] = { 0xf0, 255, 255 };
	static const uint8_t offset_cut[] = { 0x10, 'a', 1 };
	static const uint8_t last_has_match[] = { 0x14, 'a' };
	static const uint8_t match_ext_cut[] = { 0x1f, 'a', 1, 0, 255 };
	static const uint8_t run[] = { 0x1f, 'a', 1, 0, 255, 10, 0x00 };
	static const uint8_t huge_len[] = { 0xf0, 255, 255, 255, 255, 255, 255, 0, 'x' };

	CHECK_EQ(decode(NULL, 0, 16, &out), LZ_ERR_TRUNCATED);
	CHECK_EQ(decode(lit_short, sizeof(lit_short), 16, &out), LZ_ERR_TRUNCATED);
	CHECK_EQ(decode(off_zero, sizeof(off_zero), 16, &out), LZ_ERR_OFFSET);
	CHECK_EQ(decode(off_before, sizeof(off_before), 16, &out), LZ_ERR_OFFSET);
	CHECK_EQ(decode(ext_cut, sizeof(ext_cut), 1000, &out), LZ_ERR_TRUNCATED);
	CHECK_EQ(decode(offset_cut, sizeof(offset_cut), 16, &out), LZ_ERR_TRUNCATED);
	CHECK_EQ(decode(last_has_match, sizeof(last_has_match), 16, &out), LZ_ERR_TRUNCATED);
	CHECK_EQ(decode(match_ext_cut, sizeof(match_ext_cut), 1000, &out), LZ_ERR_TRUNCATED);
	CHECK_EQ(decode(huge_len, sizeof(huge_len), 4096, &out), LZ_ERR_TRUNCATED);
	/* 1 literal + an offset-1 match of 4 + 15 + 255 + 10 = 284 bytes. */
	CHECK_EQ(decode(run, sizeof(run), 285, &out), 0);
	CHECK_EQ(out, 285);
	CHECK_EQ(decode(run, sizeof(run), 284, &out), LZ_ERR_OVERFLOW);
	CHECK_EQ(decode((const uint8_t[]){ 0x00 }, 1, 0, &out), 0);
	CHECK_EQ(out, 0);
}

TEST(lz_decompress_survives_truncation_and_bit_flips)
{
	uint8_t p[ZP_SIZE], c[LZ_BOUND(ZP_SIZE)];
	uint64_t s = 5;
	size_t out;

	for (int kind = 1; kind < ZP_NR_KINDS; kind++) {
		size_t clen;

		zp_fill(p, kind, 3);
		clen = lz_compress(p, ZP_SIZE, c, sizeof(c), work);
		for (size_t cut = 0; cut < clen; cut++) {
			int r = decode(c, cut, ZP_SIZE, &out);

			CHECK(r < 0 || out < ZP_SIZE);
		}
		for (int i = 0; i < 2000; i++) {
			uint8_t m[LZ_BOUND(ZP_SIZE)];
			int r;

			memcpy(m, c, clen);
			m[zp_rand(&s) % clen] ^= (uint8_t)(1u << (zp_rand(&s) % 8));
			r = decode(m, clen, ZP_SIZE, &out);
			CHECK(r == 0 || r == LZ_ERR_TRUNCATED || r == LZ_ERR_OFFSET ||
			      r == LZ_ERR_OVERFLOW);
			CHECK(r != 0 || out <= ZP_SIZE);
		}
	}
}

TEST(lz_decompress_random_bytes_never_overrun)
{
	uint8_t in[512];
	uint64_t s = 11;
	int ok = 0;
	size_t out;

	for (int i = 0; i < 100000; i++) {
		size_t n = zp_rand(&s) % sizeof(in), cap = zp_rand(&s) % 8192;

		zp_random_bytes(in, n, &s);
		/* Bias towards small lengths and near offsets, to get past the first token. */
		if (n && (i & 1))
			in[0] &= 0x3f;
		if (decode(in, n, cap, &out) == 0) {
			CHECK(out <= cap);
			ok++;
		}
	}
	CHECK(ok > 0);
}
