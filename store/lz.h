/* SPDX-License-Identifier: MIT */
/*
 * A small LZ77 compressor in the LZ4 block style, for pages the reclaim
 * evicts.  Fast rather than tight: one hash probe per position, greedy
 * matches.  The decompressor is safe on any input: it never reads past the
 * input nor writes past @cap, and rejects what it cannot decode.
 *
 * Block format (a sequence of sequences):
 *
 *   token      1 byte: high nibble = literal count L, low nibble = match
 *              length M - 4.  A nibble of 15 means more length follows.
 *   [L more]   if L == 15: bytes added to L, each 0-255, until one < 255.
 *   literals   L bytes, copied as they are.
 *   -- the stream may end here, and must end here on its last token,
 *      whose low nibble is then 0 --
 *   offset     2 bytes little-endian, 1..65535: the match starts that many
 *              bytes before the current end of the output.  Never before
 *              the start of the output; may overlap what it produces (an
 *              offset of 1 repeats one byte).
 *   [M more]   if the low nibble is 15: bytes added to M as for L.
 *
 * The last token always exists, so an empty input compresses to one zero
 * byte.  There are no headers: the caller keeps the compressed length.
 */
#ifndef HV_LZ_H
#define HV_LZ_H

#include <stddef.h>
#include <stdint.h>

/* Hash table of the compressor: 8192 16-bit positions (as LZ4 for small inputs), the caller's memory. */
#define LZ_HASH_BITS	13
#define LZ_WORK_SIZE	((1u << LZ_HASH_BITS) * sizeof(uint16_t))
/* Positions are 16-bit, so one call compresses at most 64 KiB. */
#define LZ_MAX_INPUT	65536u
/* Worst-case output for @n input bytes (all literals), for sizing buffers. */
#define LZ_BOUND(n)	((n) + (n) / 255 + 16)

/* lz_decompress() results: 0 or one of these. */
#define LZ_ERR_TRUNCATED	(-1)	/* input ends inside a sequence */
#define LZ_ERR_OFFSET		(-2)	/* offset 0 or before the output start */
#define LZ_ERR_OVERFLOW		(-3)	/* output would pass @cap */

/*
 * Compress @n bytes at @src into at most @cap bytes at @dst, with @work a
 * scratch area of LZ_WORK_SIZE bytes (any alignment of 2) that only this call
 * uses.  Returns the compressed length, or 0 when it does not fit in @cap or
 * @n exceeds LZ_MAX_INPUT (store the data raw then).  The output depends only
 * on the input and @cap, so equal inputs compress to equal bytes.
 */
size_t lz_compress(const void *src, size_t n, void *dst, size_t cap, void *work);

/*
 * Decompress the @n-byte block at @src into @dst, at most @cap bytes, and set
 * *@out_len to the bytes produced.  Returns 0, or LZ_ERR_* for a malformed or
 * oversized block; then *@out_len is undefined and so is dst[0..cap).  May
 * write anywhere in dst[0..cap), also past *@out_len.
 */
int lz_decompress(const void *src, size_t n, void *dst, size_t cap, size_t *out_len);

#endif
