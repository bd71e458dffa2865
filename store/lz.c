/* SPDX-License-Identifier: MIT */
/*
 * LZ compression in the LZ4 block style; the format is described in store/lz.h.
 * The compressor is greedy with one hash probe per position and skips ahead
 * faster the longer it finds nothing, so incompressible pages cost little.
 * The decompressor checks every length and offset before it copies.
 */
#include <stdbool.h>

#include "lib/string.h"
#include "store/lz.h"

#define MIN_MATCH	4
/*
 * LZ4's end-of-block rules, so that any LZ4 decoder reads our blocks: the
 * last match starts at least MFLIMIT bytes before the end, and the last
 * LAST_LITERALS bytes are literals.  (The decoder below does not need them.)
 */
#define MFLIMIT		12
#define LAST_LITERALS	5
/* After this many misses in a row the compressor steps 2 bytes, then 3... */
#define SKIP_SHIFT	6

static inline uint32_t load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline unsigned int hash4(uint32_t v)
{
	return (v * 2654435761u) >> (32 - LZ_HASH_BITS);
}

/* Bytes equal at @a and @b (@b before @a), counting up to @end. */
static size_t common_len(const uint8_t *a, const uint8_t *b, const uint8_t *end)
{
	const uint8_t *start = a;

	while (end - a >= 8) {
		uint64_t x = load64(a) ^ load64(b);

		if (x)
			return (size_t)(a - start) + (__builtin_ctzll(x) >> 3);
		a += 8;
		b += 8;
	}
	while (a < end && *a == *b) {
		a++;
		b++;
	}
	return (size_t)(a - start);
}

/* Bytes a length takes beyond its nibble. */
static inline size_t ext_bytes(size_t len)
{
	return len < 15 ? 0 : (len - 15) / 255 + 1;
}

static uint8_t *put_ext(uint8_t *op, size_t len)
{
	for (len -= 15; len >= 255; len -= 255)
		*op++ = 255;
	*op++ = (uint8_t)len;
	return op;
}

/*
 * Emit @nlit literals at @lit and, if @mlen is not 0, a match of @mlen bytes
 * at @off.  Returns the new output end, NULL when it would pass @oend.
 */
static uint8_t *put_seq(uint8_t *op, uint8_t *oend, const uint8_t *lit, size_t nlit,
			size_t off, size_t mlen)
{
	size_t mcode = mlen ? mlen - MIN_MATCH : 0;
	size_t need = 1 + ext_bytes(nlit) + nlit + (mlen ? 2 + ext_bytes(mcode) : 0);

	if (need > (size_t)(oend - op))
		return NULL;
	*op++ = (uint8_t)((nlit < 15 ? nlit : 15) << 4 | (mcode < 15 ? mcode : 15));
	if (nlit >= 15)
		op = put_ext(op, nlit);
	memcpy(op, lit, nlit);
	op += nlit;
	if (!mlen)
		return op;
	*op++ = (uint8_t)off;
	*op++ = (uint8_t)(off >> 8);
	if (mcode >= 15)
		op = put_ext(op, mcode);
	return op;
}

size_t lz_compress(const void *src, size_t n, void *dst, size_t cap, void *work)
{
	const uint8_t *base = src, *ip = base, *anchor = base, *end = base + n;
	const uint8_t *match_end = end - LAST_LITERALS, *last_start = end - MFLIMIT;
	uint8_t *op = dst, *oend = op + cap;
	uint16_t *table = work;
	unsigned int misses = 0;

	if (n > LZ_MAX_INPUT)
		return 0;
	/* A clean table keeps the output a function of the input alone. */
	memset(table, 0, LZ_WORK_SIZE);
	while (n > MFLIMIT && ip < last_start) {
		uint32_t seq = load32(ip);
		unsigned int h = hash4(seq);
		const uint8_t *ref = base + table[h];
		size_t mlen;

		table[h] = (uint16_t)(ip - base);
		/* Positions fit 16 bits, so ip - ref <= 65535 fits an offset. */
		if (ref >= ip || load32(ref) != seq) {
			ip += 1 + (misses++ >> SKIP_SHIFT);
			continue;
		}
		while (ip > anchor && ref > base && ip[-1] == ref[-1]) {
			ip--;
			ref--;
		}
		mlen = MIN_MATCH + common_len(ip + MIN_MATCH, ref + MIN_MATCH, match_end);
		op = put_seq(op, oend, anchor, (size_t)(ip - anchor), (size_t)(ip - ref), mlen);
		if (!op)
			return 0;
		ip += mlen;
		anchor = ip;
		misses = 0;
		/* Positions inside the match were never hashed; one near its end helps most. */
		if (ip - 2 < last_start)
			table[hash4(load32(ip - 2))] = (uint16_t)(ip - 2 - base);
	}
	op = put_seq(op, oend, anchor, (size_t)(end - anchor), 0, 0);
	return op ? (size_t)(op - (uint8_t *)dst) : 0;
}

/* Add the extension bytes of a length at *@ipp to *@len; false if truncated. */
static bool get_ext(const uint8_t **ipp, const uint8_t *iend, size_t *len)
{
	const uint8_t *ip = *ipp;
	uint8_t b;

	do {
		if (ip == iend)
			return false;
		b = *ip++;
		*len += b;
	} while (b == 255);
	*ipp = ip;
	return true;
}

/*
 * Copy @len bytes from @off back; the caller checked both against the buffer,
 * which has @room bytes from @op on.
 */
static void copy_match(uint8_t *op, size_t off, size_t len, size_t room)
{
	const uint8_t *m = op - off;
	size_t dist, i = 0;

	if (off >= len) {
		memcpy(op, m, len);
		return;
	}
	if (off == 1) {
		memset(op, *m, len);
		return;
	}
	/*
	 * The output repeats every @off bytes, so also every @dist >= 8:
	 * after the first dist - off bytes one at a time, 8-byte chunks from
	 * @dist back read only bytes already written.  Chunks run up to 7
	 * bytes past the end where there is room, else stop short of it.
	 */
	dist = off * ((8 + off - 1) / off);
	for (; i < dist - off && i < len; i++)
		op[i] = m[i];
	if (room >= len + 8) {
		for (; i < len; i += 8)
			memcpy(op + i, op + i - dist, 8);
		return;
	}
	for (; i + 8 <= len; i += 8)
		memcpy(op + i, op + i - dist, 8);
	for (; i < len; i++)
		op[i] = m[i];
}

int lz_decompress(const void *src, size_t n, void *dst, size_t cap, size_t *out_len)
{
	const uint8_t *ip = src, *iend = ip + n;
	uint8_t *ostart = dst, *op = ostart, *oend = ostart + cap;

	for (;;) {
		unsigned int token;
		size_t len, off;

		if (ip == iend)
			return LZ_ERR_TRUNCATED;
		token = *ip++;
		len = token >> 4;
		if (len == 15 && !get_ext(&ip, iend, &len))
			return LZ_ERR_TRUNCATED;
		if (len > (size_t)(iend - ip))
			return LZ_ERR_TRUNCATED;
		if (len > (size_t)(oend - op))
			return LZ_ERR_OVERFLOW;
		/* Short runs: one fixed copy past the end, when both buffers have room. */
		if (len <= 16 && iend - ip >= 16 && oend - op >= 16)
			memcpy(op, ip, 16);
		else
			memcpy(op, ip, len);
		op += len;
		ip += len;
		if (ip == iend) {
			/* Only a literal-only token may end the block. */
			if (token & 15)
				return LZ_ERR_TRUNCATED;
			*out_len = (size_t)(op - ostart);
			return 0;
		}
		if (iend - ip < 2)
			return LZ_ERR_TRUNCATED;
		off = (size_t)ip[0] | (size_t)ip[1] << 8;
		ip += 2;
		if (off == 0 || off > (size_t)(op - ostart))
			return LZ_ERR_OFFSET;
		len = token & 15;
		if (len == 15 && !get_ext(&ip, iend, &len))
			return LZ_ERR_TRUNCATED;
		len += MIN_MATCH;
		if (len > (size_t)(oend - op))
			return LZ_ERR_OVERFLOW;
		copy_match(op, off, len, (size_t)(oend - op));
		op += len;
	}
}
