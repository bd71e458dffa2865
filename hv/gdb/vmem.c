/* SPDX-License-Identifier: MIT */
/* Debugger accesses to guest-virtual memory, a page at a time (see vmem.h). */
#include "hv/gdb/vmem.h"
#include "hv/lib/x86.h"

#define PAGE		4096ULL

/* An address the CPU could use in the current mode. */
static bool addressable(const struct gva_mmu *mmu, uint64_t la)
{
	unsigned int bits;
	int64_t s;

	if (!(mmu->efer & EFER_LMA))
		return la <= 0xffffffffULL;
	bits = mmu->cr4 & CR4_LA57 ? 57 : 48;
	s = (int64_t)(la << (64 - bits)) >> (64 - bits);	/* sign-extended from bit bits-1 */
	return (uint64_t)s == la;
}

size_t gdb_vmem_access(const struct gdb_vmem *m, uint64_t la, void *buf, size_t n, bool write)
{
	uint8_t *b = buf;
	size_t done = 0;

	while (done < n) {
		uint64_t at = la + done;
		size_t chunk = PAGE - (at & (PAGE - 1));
		struct gva_walk walk;

		if (at < la || !addressable(&m->mmu, at))
			break;		/* wrapped around, or not canonical */
		if (gva_translate(&m->mmu, at, GVA_DEBUG, &walk) != GVA_OK)
			break;
		if (chunk > n - done)
			chunk = n - done;
		if (m->phys(m->opaque, walk.gpa, b + done, chunk, write))
			break;
		done += chunk;
	}
	return done;
}
