/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM at guest-physical 0 for the emulator's and the walker's tests:
 * the callbacks of struct emu_ops and struct gva_mmu over ram[RAM_SIZE],
 * which the including file defines first.
 */
#ifndef TESTS_HV_VMX_GUEST_RAM_H
#define TESTS_HV_VMX_GUEST_RAM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static inline bool ram_has(uint64_t gpa, unsigned int len)
{
	return gpa < RAM_SIZE && len <= RAM_SIZE - gpa;
}

static inline int ram_read(void *opaque, uint64_t gpa, void *buf, unsigned int len)
{
	(void)opaque;
	if (!ram_has(gpa, len))
		return -1;
	memcpy(buf, ram + gpa, len);
	return 0;
}

static inline int ram_write(void *opaque, uint64_t gpa, const void *buf, unsigned int len)
{
	(void)opaque;
	if (!ram_has(gpa, len))
		return -1;
	memcpy(ram + gpa, buf, len);
	return 0;
}

static inline int ram_cmpxchg(void *opaque, uint64_t gpa, uint64_t old, uint64_t new,
			      unsigned int len)
{
	uint64_t cur = 0;

	if (ram_read(opaque, gpa, &cur, len))
		return -1;
	if (cur != old)
		return 1;
	return ram_write(opaque, gpa, &new, len);
}

#endif
