/* SPDX-License-Identifier: MIT */
/*
 * Page contents for the tests, fuzzers and benchmark of store/lz.c and
 * store/zstore.c: zero, text-like, random, repetitive and sparse pages, each a
 * function of a seed so that a test can regenerate what it stored.
 */
#ifndef TESTS_HV_ZPAGES_H
#define TESTS_HV_ZPAGES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ZP_SIZE	4096

enum zp_kind {
	ZP_ZERO,
	ZP_TEXT,	/* words and numbers, like logs or source */
	ZP_RANDOM,	/* incompressible */
	ZP_REPEAT,	/* a short pattern repeated, period 1..64 */
	ZP_SPARSE,	/* mostly zero with a few words set, like page tables */
	ZP_HALF,	/* random first half, zero second half */
	ZP_NR_KINDS,
};

static inline uint64_t zp_rand(uint64_t *s)
{
	/* splitmix64: good enough and seedable with anything. */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void zp_random_bytes(uint8_t *p, size_t n, uint64_t *s)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t r = zp_rand(s);

		memcpy(p + i, &r, n - i < 8 ? n - i : 8);
	}
}

static inline void zp_text(uint8_t *p, size_t n, uint64_t *s)
{
	static const char *const words[] = {
		"the ", "guest ", "page ", "memory ", "static ", "int ", "return ",
		"if (", "err", ") {\n", "}\n", "\t", "struct ", "0x", "kvm_", "lock",
		"unlock(", "; ", "= ", "NULL", "for ", "size_t ", "ERROR: ", "ok\n",
		"2024-05-17 ", "INFO ", "request ", "handled ", "in ", "ms\n",
	};
	size_t i = 0;

	while (i < n) {
		uint64_t r = zp_rand(s);
		const char *w;
		char num[24];

		if ((r & 7) == 0) {
			int len = 0;
			uint64_t v = (r >> 8) % 100000;

			do {
				num[len++] = (char)('0' + v % 10);
				v /= 10;
			} while (v);
			num[len] = 0;
			w = num;
		} else {
			w = words[(r >> 8) % (sizeof(words) / sizeof(words[0]))];
		}
		for (; *w && i < n; w++)
			p[i++] = (uint8_t)*w;
	}
}

static inline void zp_fill(uint8_t *p, enum zp_kind kind, uint64_t seed)
{
	uint64_t s = seed * 0x2545f4914f6cdd1dull + kind;
	unsigned int period;

	switch (kind) {
	case ZP_ZERO:
		memset(p, 0, ZP_SIZE);
		break;
	case ZP_TEXT:
		zp_text(p, ZP_SIZE, &s);
		break;
	case ZP_RANDOM:
		zp_random_bytes(p, ZP_SIZE, &s);
		break;
	case ZP_REPEAT:
		period = 1 + zp_rand(&s) % 64;
		zp_random_bytes(p, period, &s);
		for (unsigned int i = period; i < ZP_SIZE; i++)
			p[i] = p[i - period];
		break;
	case ZP_SPARSE:
		memset(p, 0, ZP_SIZE);
		for (int i = 0, n = 1 + zp_rand(&s) % 40; i < n; i++) {
			uint64_t v = zp_rand(&s);

			memcpy(p + (zp_rand(&s) % (ZP_SIZE / 8)) * 8, &v, 8);
		}
		break;
	case ZP_HALF:
	default:
		memset(p, 0, ZP_SIZE);
		zp_random_bytes(p, ZP_SIZE / 2, &s);
		break;
	}
}

#endif
