/* SPDX-License-Identifier: MIT */
/* Numbers as users type them: in hv.cfg and at the shell. */
#include "hv/lib/parse.h"

static int digit_value(char c)
{
	int d = hex_digit(c);

	return d < 0 ? 99 : d;
}

static unsigned int suffix_shift(char c)
{
	switch (c) {
	case 'k': case 'K': return 10;
	case 'm': case 'M': return 20;
	case 'g': case 'G': return 30;
	case 't': case 'T': return 40;
	}
	return 0;
}

bool parse_u64(const char *s, uint64_t *out)
{
	unsigned int base = 10, shift;
	uint64_t v = 0;
	const char *p = s;
	int d;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (digit_value(*p) >= (int)base)
		return false;
	for (; (d = digit_value(*p)) < (int)base; p++) {
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	shift = suffix_shift(*p);
	if (shift) {
		if (v > UINT64_MAX >> shift)
			return false;
		v <<= shift;
		p++;
	}
	if (*p)
		return false;
	*out = v;
	return true;
}

bool parse_int(const char *s, long *out)
{
	const uint64_t max = __LONG_MAX__;
	bool neg = *s == '-';
	uint64_t v;

	if (*s == '-' || *s == '+')
		s++;
	if (!parse_u64(s, &v))
		return false;
	if (v > max + neg)
		return false;
	/* -(max + 1) is not representable before the cast; go through unsigned. */
	*out = neg ? (long)(0 - v) : (long)v;
	return true;
}
