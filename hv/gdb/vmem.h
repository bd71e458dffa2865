/* SPDX-License-Identifier: MIT */
/*
 * Guest-virtual memory as a debugger sees it: each page through the guest's
 * own page tables (hv/vmx/gva.h with GVA_DEBUG: user, write and NX bits do
 * not stop it, accessed and dirty bits stay as they are), then guest-physical
 * memory through the caller.  Portable: host-tested.
 */
#ifndef HV_GDB_VMEM_H
#define HV_GDB_VMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/vmx/gva.h"

struct gdb_vmem {
	struct gva_mmu mmu;	/* the vCPU's paging state; read_phys reads its tables */
	/* @n bytes of guest RAM at @gpa (within one page); nonzero if it is not RAM. */
	int (*phys)(void *opaque, uint64_t gpa, void *buf, size_t n, bool write);
	void *opaque;
};

/*
 * Copy @n bytes between @buf and guest-virtual @la; the bytes done, fewer
 * than @n from the first address that is not mapped (not present, reserved
 * bits, not canonical, not RAM).  Outside long mode addresses are 32 bits.
 */
size_t gdb_vmem_access(const struct gdb_vmem *m, uint64_t la, void *buf, size_t n, bool write);

#endif
