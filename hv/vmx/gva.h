/* SPDX-License-Identifier: MIT */
/*
 * Guest page-table walks: guest linear to guest physical address under the
 * guest's own paging mode (none, 32-bit with PSE and PSE-36, PAE, 4-level,
 * 5-level), with the permission checks and the #PF error code the CPU would
 * give.  Portable: the caller reads guest-physical memory; no hv/ headers.
 */
#ifndef HV_VMX_GVA_H
#define HV_VMX_GVA_H

#include <stdbool.h>
#include <stdint.h>

/* #PF error-code bits (SDM 4.7). */
#define GVA_PF_P	(1u << 0)	/* a protection fault, not a non-present entry */
#define GVA_PF_W	(1u << 1)	/* the access was a write */
#define GVA_PF_U	(1u << 2)	/* a user-mode access */
#define GVA_PF_RSVD	(1u << 3)	/* a reserved bit was set in an entry */
#define GVA_PF_ID	(1u << 4)	/* an instruction fetch (with SMEP or PAE+NXE) */
#define GVA_PF_PK	(1u << 5)	/* a protection-key violation */

/* Kinds of access, or-ed; none of them is a supervisor/user data read. */
#define GVA_WRITE	(1u << 0)
#define GVA_FETCH	(1u << 1)
#define GVA_IMPLICIT	(1u << 2)	/* supervisor-mode whatever the CPL (GDT, IDT, TSS) */
#define GVA_DEBUG	(1u << 3)	/* a debugger's: no permission checks, A/D untouched */

/* Guest paging state and how to reach guest-physical memory. */
struct gva_mmu {
	uint64_t cr0, cr3, cr4, efer;	/* EFER.LMA picks 4/5-level paging */
	uint64_t rflags;		/* AC lifts SMAP for explicit accesses */
	unsigned int cpl;		/* 3: explicit accesses are user-mode */
	unsigned int maxphyaddr;	/* the guest's MAXPHYADDR; 0 means 52 */
	bool no_1g_pages;		/* the guest's CPUID lacks PDPE1GB: PS is reserved there */
	uint32_t pkru;			/* protection keys, with CR4.PKE */
	/*
	 * PAE paging: the four PDPTEs the CPU holds (loaded by MOV CR3, or by VM
	 * entry from the VMCS with EPT); NULL reads them at CR3 instead.
	 */
	const uint64_t *pdptes;
	/* len bytes of guest RAM at gpa; nonzero if gpa is not RAM. */
	int (*read_phys)(void *opaque, uint64_t gpa, void *buf, unsigned int len);
	/*
	 * Optional: replace the len-byte (4 or 8) entry at gpa with new if it
	 * still holds old, atomically; 0 done, 1 it changed, <0 not RAM.  NULL:
	 * accessed and dirty bits are left as they are.
	 */
	int (*cmpxchg_phys)(void *opaque, uint64_t gpa, uint64_t old, uint64_t new,
			    unsigned int len);
	void *opaque;
};

enum gva_result {
	GVA_OK,
	GVA_FAULT,	/* inject #PF with walk->error_code, CR2 = the linear address */
	GVA_BAD_PHYS,	/* a paging-structure entry is not in RAM (read_phys failed) */
	GVA_RETRY,	/* an entry changed while its A/D bits were set: walk again */
};

struct gva_walk {
	uint64_t gpa;
	uint64_t page_size;		/* 4 KiB, 2/4 MiB or 1 GiB; 4 GiB with paging off */
	uint32_t error_code;		/* GVA_FAULT: the #PF error code */
};

/*
 * Translate la for an access of the given kind (GVA_* flags).  Checks
 * reserved bits, present bits and, unless GVA_DEBUG, U/S, R/W, XD, CR0.WP,
 * SMEP, SMAP and protection keys; on success sets accessed bits along the
 * walk and the dirty bit for a write, when mmu->cmpxchg_phys is given.
 * Canonical checks are the caller's: only the bits paging uses are looked at.
 */
enum gva_result gva_translate(const struct gva_mmu *mmu, uint64_t la, unsigned int access,
			      struct gva_walk *walk);

#endif
