/* SPDX-License-Identifier: MIT */
/* Text symbols of the monolith, generated at link time (see Makefile). */
#ifndef HV_SYMBOLS_H
#define HV_SYMBOLS_H

#include <stdint.h>

struct ksym {
	uint64_t addr;
	const char *name;
};

/* Name of the function containing addr and the offset into it, or NULL. */
const char *symbol_lookup(uint64_t addr, uint64_t *offset);

#endif
