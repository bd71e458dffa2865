/* SPDX-License-Identifier: MIT */
/* Reading numbers as users type them (hv.cfg, the shell).  Portable: host-tested. */
#ifndef HV_LIB_PARSE_H
#define HV_LIB_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/**
 * parse_u64 - read decimal or 0x-prefixed hex, with an optional K, M or
 * G (also k, m, g) suffix for 2^10, 2^20, 2^30.  The whole string must be the
 * number: empty strings, signs, spaces, trailing junk and values above
 * UINT64_MAX (suffix included) are rejected.  *@out is set only on success.
 */
bool parse_u64(const char *s, uint64_t *out);

/** hex_digit - the value of a hex digit (either case), or -1. */
static inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/** parse_int - parse_u64() with an optional + or - sign, in long range. */
bool parse_int(const char *s, long *out);

#endif
