/* SPDX-License-Identifier: MIT */
/*
 * Guest page-table walks (SDM 4.3-4.7).  Reserved bits and present bits are
 * checked level by level as the CPU does; permissions are checked on the
 * combined rights of the whole walk; accessed and dirty bits are set only
 * once the access is known to be allowed, as KVM's walker does.
 */
#include "hv/lib/x86.h"
#include "hv/vmx/gva.h"

enum paging { PG_32, PG_PAE, PG_4, PG_5 };

struct walker {
	const struct gva_mmu *mmu;
	enum paging paging;
	unsigned int levels;
	uint64_t la;
	unsigned int access;
	uint64_t entry_gpa[5], entry[5];	/* by level - 1 */
	bool user, writable, nx;
};

/* Bits hi..lo set; none when lo > hi. */
static uint64_t bits(unsigned int hi, unsigned int lo)
{
	if (lo > hi)
		return 0;
	return (~0ULL >> (63 - hi)) & ~((1ULL << lo) - 1);
}

static unsigned int maxphyaddr(const struct walker *w)
{
	return w->mmu->maxphyaddr ? w->mmu->maxphyaddr : 52;
}

static unsigned int level_shift(const struct walker *w, unsigned int level)
{
	if (w->paging == PG_32)
		return level == 2 ? 22 : 12;
	return 12 + 9 * (level - 1);
}

static unsigned int level_index(const struct walker *w, unsigned int level)
{
	unsigned int mask = w->paging == PG_32 ? 1023 :
			    w->paging == PG_PAE && level == 3 ? 3 : 511;

	return (unsigned int)(w->la >> level_shift(w, level)) & mask;
}

static bool nxe(const struct walker *w)
{
	return w->paging != PG_32 && (w->mmu->efer & EFER_NXE);
}

/* The bits that must be clear in a present entry at this level. */
static uint64_t reserved_bits(const struct walker *w, unsigned int level, uint64_t pte)
{
	unsigned int m = maxphyaddr(w);
	uint64_t high;

	if (w->paging == PG_32) {
		unsigned int m36 = m < 40 ? m : 40;	/* PSE-36: up to 8 more address bits */

		if (level == 2 && (pte & PTE_PS) && (w->mmu->cr4 & CR4_PSE))
			return bits(21, m36 - 19);
		return 0;
	}
	if (w->paging == PG_PAE && level == 3)
		return bits(63, m) | bits(8, 5) | bits(2, 1);
	high = w->paging == PG_PAE ? bits(62, m) : bits(51, m);
	if (!nxe(w))
		high |= PTE_XD;
	if (level >= 4 || (level == 3 && w->mmu->no_1g_pages))
		return high | PTE_PS;
	if (!(pte & PTE_PS) || level == 1)
		return high;
	return high | bits(level == 3 ? 29 : 20, 13);
}

static bool is_leaf(const struct walker *w, unsigned int level, uint64_t pte)
{
	if (level == 1)
		return true;
	if (!(pte & PTE_PS))
		return false;
	if (w->paging == PG_32)
		return level == 2 && (w->mmu->cr4 & CR4_PSE);
	return level == 2 || (level == 3 && w->paging != PG_PAE);
}

static uint64_t leaf_base(const struct walker *w, unsigned int level, uint64_t pte)
{
	if (w->paging != PG_32)
		return pte & bits(51, level_shift(w, level));
	if (level == 2)
		return (pte & 0xffc00000ULL) | (((pte >> 13) & 0xff) << 32);
	return pte & 0xfffff000ULL;
}

static uint64_t root_table(const struct walker *w)
{
	uint64_t cr3 = w->mmu->cr3;

	if (w->paging == PG_32)
		return cr3 & 0xfffff000ULL;
	if (w->paging == PG_PAE)
		return cr3 & 0xffffffe0ULL;
	return cr3 & bits(51, 12);
}

static enum gva_result read_entry(struct walker *w, unsigned int level, uint64_t table,
				  uint64_t *pte)
{
	unsigned int size = w->paging == PG_32 ? 4 : 8;
	uint64_t gpa = table + (uint64_t)level_index(w, level) * size;
	uint32_t v32;

	w->entry_gpa[level - 1] = gpa;
	if (w->paging == PG_PAE && level == 3 && w->mmu->pdptes) {
		*pte = w->mmu->pdptes[level_index(w, level)];
	} else if (size == 4) {
		if (w->mmu->read_phys(w->mmu->opaque, gpa, &v32, 4))
			return GVA_BAD_PHYS;
		*pte = v32;
	} else if (w->mmu->read_phys(w->mmu->opaque, gpa, pte, 8)) {
		return GVA_BAD_PHYS;
	}
	w->entry[level - 1] = *pte;
	return GVA_OK;
}

static uint32_t access_bits(const struct walker *w, bool user_access)
{
	bool fetch = w->access & GVA_FETCH;
	uint32_t ec = 0;

	if (w->access & GVA_WRITE)
		ec |= GVA_PF_W;
	if (user_access)
		ec |= GVA_PF_U;
	/* The I/D bit exists only where fetches can fault on their own. */
	if (fetch && ((w->mmu->cr4 & CR4_SMEP) || nxe(w)))
		ec |= GVA_PF_ID;
	return ec;
}

static bool user_mode(const struct walker *w)
{
	return w->mmu->cpl == 3 && !(w->access & GVA_IMPLICIT);
}

static enum gva_result fault(const struct walker *w, struct gva_walk *walk, uint32_t why)
{
	walk->error_code = why | access_bits(w, user_mode(w));
	return GVA_FAULT;
}

/* The protection-key rights check (SDM 4.6.2); true if it forbids the access. */
static bool pkey_denies(const struct walker *w, uint64_t leaf)
{
	unsigned int key = (unsigned int)(leaf >> 59) & 15;
	bool ad = (w->mmu->pkru >> (2 * key)) & 1, wd = (w->mmu->pkru >> (2 * key + 1)) & 1;

	if (w->paging < PG_4 || !(w->mmu->cr4 & CR4_PKE) || !w->user ||
	    (w->access & GVA_FETCH))
		return false;
	if (ad)
		return true;
	return wd && (w->access & GVA_WRITE) && (user_mode(w) || (w->mmu->cr0 & CR0_WP));
}

/* Whether the combined rights of the walk allow the access (SDM 4.6.1). */
static bool allowed(const struct walker *w)
{
	const struct gva_mmu *mmu = w->mmu;
	bool write = w->access & GVA_WRITE, fetch = w->access & GVA_FETCH;

	if (user_mode(w))
		return w->user && !(write && !w->writable) && !(fetch && w->nx);
	if (fetch)
		return !w->nx && !(w->user && (mmu->cr4 & CR4_SMEP));
	if (w->user && (mmu->cr4 & CR4_SMAP) &&
	    ((w->access & GVA_IMPLICIT) || !(mmu->rflags & RFLAGS_AC)))
		return false;
	return !(write && !w->writable && (mmu->cr0 & CR0_WP));
}

/* Accessed bits top-down, then the dirty bit of the leaf for a write. */
static enum gva_result set_accessed_dirty(const struct walker *w, unsigned int leaf_level)
{
	unsigned int size = w->paging == PG_32 ? 4 : 8;

	for (unsigned int level = w->levels; level >= leaf_level; level--) {
		uint64_t old = w->entry[level - 1], new = old | PTE_A;
		int r;

		if (w->paging == PG_PAE && level == 3)
			continue;	/* PAE PDPTEs have no accessed bit */
		if (level == leaf_level && (w->access & GVA_WRITE))
			new |= PTE_D;
		if (new == old)
			continue;
		r = w->mmu->cmpxchg_phys(w->mmu->opaque, w->entry_gpa[level - 1], old, new, size);
		if (r < 0)
			return GVA_BAD_PHYS;
		if (r > 0)
			return GVA_RETRY;
	}
	return GVA_OK;
}

static void pick_paging(struct walker *w)
{
	const struct gva_mmu *mmu = w->mmu;

	if (mmu->efer & EFER_LMA) {
		w->paging = (mmu->cr4 & CR4_LA57) ? PG_5 : PG_4;
		w->levels = w->paging == PG_5 ? 5 : 4;
	} else if (mmu->cr4 & CR4_PAE) {
		w->paging = PG_PAE;
		w->levels = 3;
	} else {
		w->paging = PG_32;
		w->levels = 2;
	}
}

enum gva_result gva_translate(const struct gva_mmu *mmu, uint64_t la, unsigned int access,
			      struct gva_walk *walk)
{
	struct walker w = { .mmu = mmu, .la = la, .access = access, .user = true,
			    .writable = true };
	uint64_t table, pte = 0;
	unsigned int level;
	enum gva_result r;

	walk->error_code = 0;
	if (!(mmu->cr0 & CR0_PG)) {
		walk->gpa = la & 0xffffffffULL;
		walk->page_size = 1ULL << 32;
		return GVA_OK;
	}
	pick_paging(&w);
	table = root_table(&w);
	for (level = w.levels;; level--) {
		r = read_entry(&w, level, table, &pte);
		if (r != GVA_OK)
			return r;
		if (!(pte & PTE_P))
			return fault(&w, walk, 0);
		if (pte & reserved_bits(&w, level, pte))
			return fault(&w, walk, GVA_PF_P | GVA_PF_RSVD);
		if (!(w.paging == PG_PAE && level == 3)) {
			w.user &= !!(pte & PTE_US);
			w.writable &= !!(pte & PTE_RW);
			w.nx |= nxe(&w) && (pte & PTE_XD);
		}
		if (is_leaf(&w, level, pte))
			break;
		table = w.paging == PG_32 ? pte & 0xfffff000ULL : pte & bits(51, 12);
	}
	if (!(access & GVA_DEBUG)) {
		if (!allowed(&w))
			return fault(&w, walk, GVA_PF_P);
		if (pkey_denies(&w, pte))
			return fault(&w, walk, GVA_PF_P | GVA_PF_PK);
		if (mmu->cmpxchg_phys) {
			r = set_accessed_dirty(&w, level);
			if (r != GVA_OK)
				return r;
		}
	}
	walk->page_size = 1ULL << level_shift(&w, level);
	walk->gpa = leaf_base(&w, level, pte) | (la & (walk->page_size - 1));
	return GVA_OK;
}
