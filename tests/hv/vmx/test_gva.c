/* SPDX-License-Identifier: MIT */
/*
 * Tests for hv/vmx/gva.c: page tables built in a fake guest-physical memory
 * for each paging mode; translations, large pages, every fault and its #PF
 * error code, accessed/dirty bits and the debugger's walk.
 */
#include "tests/host/test.h"
#include "hv/vmx/gva.h"

#include "tests/hv/vmx/paging_bits.h"

/* Guest-physical 0..RAM_SIZE: page tables only; pages are handed out from 1. */
#define RAM_SIZE (64 * 4096)
static uint8_t ram[RAM_SIZE];
static uint64_t next_page;
static int cmpxchg_calls, cmpxchg_fail;

#include "tests/hv/vmx/guest_ram.h"

/* A compare-exchange that counts calls and can be told to lose races. */
static int cmpxchg_phys(void *opaque, uint64_t gpa, uint64_t old, uint64_t new,
			unsigned int len)
{
	cmpxchg_calls++;
	if (cmpxchg_fail && ram_has(gpa, len)) {
		cmpxchg_fail--;
		return 1;
	}
	return ram_cmpxchg(opaque, gpa, old, new, len);
}

static uint64_t entry_at(uint64_t gpa, unsigned int size)
{
	uint64_t v = 0;

	memcpy(&v, ram + gpa, size);
	return v;
}

static uint64_t alloc_page(void)
{
	uint64_t gpa = next_page++ * 4096;

	memset(ram + gpa, 0, 4096);
	return gpa;
}

struct pt {
	unsigned int levels;		/* 2: 32-bit paging, 3: PAE, 4, 5 */
	struct gva_mmu mmu;
};

static void pt_init(struct pt *pt, unsigned int levels)
{
	memset(ram, 0, sizeof(ram));
	next_page = 1;
	cmpxchg_calls = cmpxchg_fail = 0;
	*pt = (struct pt){ .levels = levels };
	pt->mmu.cr0 = CR0_PE | CR0_PG | CR0_WP;
	pt->mmu.cr4 = levels == 2 ? CR4_PSE : CR4_PAE | (levels == 5 ? CR4_LA57 : 0);
	pt->mmu.efer = (levels >= 4 ? EFER_LMA : 0) | EFER_NXE;
	pt->mmu.cr3 = alloc_page();
	if (levels == 3)
		pt->mmu.cr3 += 0x20;	/* PAE: a 32-byte aligned PDPT anywhere */
	pt->mmu.read_phys = ram_read;
	pt->mmu.cmpxchg_phys = cmpxchg_phys;
}

static unsigned int shift_of(const struct pt *pt, unsigned int level)
{
	return pt->levels == 2 ? (level == 2 ? 22 : 12) : 12 + 9 * (level - 1);
}

static uint64_t entry_gpa(const struct pt *pt, uint64_t table, uint64_t la, unsigned int level)
{
	unsigned int bits = pt->levels == 2 ? 10 : pt->levels == 3 && level == 3 ? 2 : 9;
	uint64_t idx = (la >> shift_of(pt, level)) & ((1u << bits) - 1);

	return table + idx * (pt->levels == 2 ? 4 : 8);
}

static void put(const struct pt *pt, uint64_t gpa, uint64_t v)
{
	memcpy(ram + gpa, &v, pt->levels == 2 ? 4 : 8);
}

/*
 * Map la to pa with a leaf at leaf_level (1: 4K, 2: 2M/4M, 3: 1G) holding
 * leaf_flags; new directory entries get dir_flags.  Returns the leaf's gpa.
 */
static uint64_t map(const struct pt *pt, uint64_t la, uint64_t pa, unsigned int leaf_level,
		    uint64_t leaf_flags, uint64_t dir_flags)
{
	uint64_t table = pt->levels == 2 ? pt->mmu.cr3 & ~0xfffULL : pt->mmu.cr3, gpa, e;

	for (unsigned int level = pt->levels; level > leaf_level; level--) {
		gpa = entry_gpa(pt, table, la, level);
		e = entry_at(gpa, pt->levels == 2 ? 4 : 8);
		if (!(e & P)) {
			e = alloc_page() | (pt->levels == 3 && level == 3 ? P : dir_flags);
			put(pt, gpa, e);
		}
		table = e & 0x000ffffffffff000ULL;
	}
	gpa = entry_gpa(pt, table, la, leaf_level);
	if (leaf_level > 1 && pt->levels == 2)
		e = (pa & 0xffc00000ULL) | ((pa >> 32) << 13) | PS;
	else
		e = pa | (leaf_level > 1 ? PS : 0);
	put(pt, gpa, e | leaf_flags);
	return gpa;
}

/* Translate; the result, with gpa or the error code in *out. */
static enum gva_result xlate(const struct pt *pt, uint64_t la, unsigned int access,
			     uint64_t *out)
{
	struct gva_walk w = { 0 };
	enum gva_result r = gva_translate(&pt->mmu, la, access, &w);

	*out = r == GVA_OK ? w.gpa : r == GVA_FAULT ? w.error_code : ~0ULL;
	return r;
}

#define CHECK_GPA(pt, la, acc, want)					\
	do {								\
		uint64_t _o;						\
		CHECK_EQ(xlate(pt, la, acc, &_o), GVA_OK);		\
		CHECK_EQ(_o, want);					\
	} while (0)

#define CHECK_PF(pt, la, acc, ec)					\
	do {								\
		uint64_t _o;						\
		CHECK_EQ(xlate(pt, la, acc, &_o), GVA_FAULT);		\
		CHECK_EQ(_o, ec);					\
	} while (0)

TEST(paging_off_is_identity_truncated_to_32_bits)
{
	struct gva_mmu mmu = { .cr0 = CR0_PE, .read_phys = ram_read };
	struct gva_walk w;

	CHECK_EQ(gva_translate(&mmu, 0x1234567890ULL, GVA_WRITE, &w), GVA_OK);
	CHECK_EQ(w.gpa, 0x34567890);
}

TEST(two_level_4k_and_4m_pages)
{
	struct pt pt;

	pt_init(&pt, 2);
	map(&pt, 0x00401000, 0x00abc000, 1, P | RW, P | RW);
	map(&pt, 0x80000000, 0x12c00000, 2, P | RW, 0);
	map(&pt, 0x80400000, 0, 2, P | RW, 0);
	CHECK_GPA(&pt, 0x00401234, 0, 0x00abc234);
	CHECK_GPA(&pt, 0x803fffff, 0, 0x12ffffff);
	CHECK_GPA(&pt, 0x80400123, 0, 0x123);
	/* Without CR4.PSE the PS bit is ignored: the PDE points to a page table. */
	pt.mmu.cr4 &= ~CR4_PSE;
	CHECK_PF(&pt, 0x80400000, 0, 0);	/* page 0 as a table: all zero */
}

TEST(two_level_pse36_and_reserved_bit_21)
{
	struct pt pt;
	uint64_t leaf;

	pt_init(&pt, 2);
	leaf = map(&pt, 0xc0000000, 0x3400400000ULL, 2, P | RW, 0);
	CHECK_GPA(&pt, 0xc0000010, 0, 0x3400400010ULL);
	/* MAXPHYADDR 36: address bits 39:36 (PDE bits 20:17) become reserved. */
	pt.mmu.maxphyaddr = 36;
	CHECK_PF(&pt, 0xc0000000, 0, GVA_PF_P | GVA_PF_RSVD);
	pt.mmu.maxphyaddr = 0;
	put(&pt, leaf, entry_at(leaf, 4) | (1u << 21));
	CHECK_PF(&pt, 0xc0000000, GVA_WRITE, GVA_PF_P | GVA_PF_RSVD | GVA_PF_W);
}

TEST(pae_4k_2m_and_pdptes_from_the_cpu)
{
	struct pt pt;
	uint64_t pdptes[4] = { 0 };

	pt_init(&pt, 3);
	map(&pt, 0x00200000, 0x7fe00000, 2, P | RW, P | RW);
	map(&pt, 0xc0001000, 0x00005000, 1, P, P | RW);
	CHECK_GPA(&pt, 0x00212345, 0, 0x7fe12345);
	CHECK_GPA(&pt, 0xc0001ffc, 0, 0x00005ffc);
	CHECK_PF(&pt, 0x40000000, 0, 0);	/* PDPTE 1 not present */
	/* With the PDPTEs the CPU loaded, memory at CR3 is not read. */
	memcpy(pdptes, ram + pt.mmu.cr3, sizeof(pdptes));
	pt.mmu.pdptes = pdptes;
	memset(ram + pt.mmu.cr3, 0, 32);
	CHECK_GPA(&pt, 0x00212345, 0, 0x7fe12345);
	pdptes[3] |= 1ULL << 5;			/* bits 8:5 are reserved in a PDPTE */
	CHECK_PF(&pt, 0xc0001000, 0, GVA_PF_P | GVA_PF_RSVD);
}

TEST(pae_xd_is_reserved_without_nxe)
{
	struct pt pt;

	pt_init(&pt, 3);
	map(&pt, 0x1000, 0x2000, 1, P | RW | XD, P | RW);
	CHECK_GPA(&pt, 0x1000, 0, 0x2000);
	CHECK_PF(&pt, 0x1000, GVA_FETCH, GVA_PF_P | GVA_PF_ID);
	pt.mmu.efer &= ~EFER_NXE;
	CHECK_PF(&pt, 0x1000, 0, GVA_PF_P | GVA_PF_RSVD);
	/* PAE: bits 62:MAXPHYADDR are reserved too (in 4-level paging 62:52 are not). */
	pt.mmu.efer |= EFER_NXE;
	map(&pt, 0x3000, 0x4000 | (1ULL << 55), 1, P, P | RW);
	CHECK_PF(&pt, 0x3000, 0, GVA_PF_P | GVA_PF_RSVD);
}

TEST(four_level_4k_2m_1g)
{
	struct pt pt;
	uint64_t la1g = 0x00007f8040000000ULL;

	pt_init(&pt, 4);
	map(&pt, 0xffffffff81000000ULL, 0x01000000, 2, P | RW, P | RW);
	map(&pt, 0x0000000000403000ULL, 0xfee00000, 1, P | RW, P | RW);
	map(&pt, la1g, 0x80000000ULL, 3, P | RW, P | RW);
	CHECK_GPA(&pt, 0xffffffff81123456ULL, 0, 0x01123456);
	CHECK_GPA(&pt, 0x0000000000403abcULL, GVA_WRITE, 0xfee00abc);
	CHECK_GPA(&pt, la1g + 0x3fffffff, 0, 0xbfffffffULL);
	pt.mmu.no_1g_pages = true;
	CHECK_PF(&pt, la1g, 0, GVA_PF_P | GVA_PF_RSVD);
}

TEST(four_level_reserved_bits)
{
	struct pt pt;
	uint64_t leaf;

	pt_init(&pt, 4);
	leaf = map(&pt, 0x200000, 0x400000, 2, P | RW, P | RW);
	put(&pt, leaf, entry_at(leaf, 8) | (1ULL << 13));	/* 2M page: bits 20:13 */
	CHECK_PF(&pt, 0x200000, 0, GVA_PF_P | GVA_PF_RSVD);
	put(&pt, leaf, 0x400000 | P | PS | (1ULL << 40));
	CHECK_GPA(&pt, 0x200000, 0, 0x10000400000ULL);
	pt.mmu.maxphyaddr = 40;
	CHECK_PF(&pt, 0x200000, 0, GVA_PF_P | GVA_PF_RSVD);
	pt.mmu.maxphyaddr = 0;
	/* Bits 62:52 are ignored in 4-level paging. */
	put(&pt, leaf, 0x400000 | P | PS | (1ULL << 60));
	CHECK_GPA(&pt, 0x200000, 0, 0x400000);
	/* PS in a PML4E is reserved. */
	put(&pt, pt.mmu.cr3, entry_at(pt.mmu.cr3, 8) | PS);
	CHECK_PF(&pt, 0x200000, GVA_FETCH, GVA_PF_P | GVA_PF_RSVD | GVA_PF_ID);
}

TEST(five_level_la57)
{
	struct pt pt;
	uint64_t la = 0x00f1234567891000ULL;

	pt_init(&pt, 5);
	map(&pt, la, 0x3000, 1, P | RW, P | RW);
	CHECK_GPA(&pt, la + 0x10, 0, 0x3010);
	CHECK_PF(&pt, la ^ (1ULL << 50), 0, 0);
}

TEST(not_present_error_codes)
{
	struct pt pt;

	pt_init(&pt, 4);
	pt.mmu.cpl = 3;
	CHECK_PF(&pt, 0x1000, 0, GVA_PF_U);
	CHECK_PF(&pt, 0x1000, GVA_WRITE, GVA_PF_U | GVA_PF_W);
	CHECK_PF(&pt, 0x1000, GVA_FETCH, GVA_PF_U | GVA_PF_ID);
	CHECK_PF(&pt, 0x1000, GVA_IMPLICIT, 0);
	pt.mmu.cpl = 0;
	CHECK_PF(&pt, 0x1000, GVA_WRITE, GVA_PF_W);
}

TEST(fetch_error_code_id_needs_smep_or_nxe)
{
	struct pt pt;

	pt_init(&pt, 2);
	CHECK_PF(&pt, 0x1000, GVA_FETCH, 0);
	pt.mmu.cr4 |= CR4_SMEP;
	CHECK_PF(&pt, 0x1000, GVA_FETCH, GVA_PF_ID);
	pt_init(&pt, 3);
	pt.mmu.efer &= ~EFER_NXE;
	CHECK_PF(&pt, 0x1000, GVA_FETCH, 0);
	pt.mmu.efer |= EFER_NXE;
	CHECK_PF(&pt, 0x1000, GVA_FETCH, GVA_PF_ID);
}

/* One access against one mapping: which fault, if any. */
struct perm_case {
	uint64_t leaf, dir;		/* flags of the leaf and of every directory entry */
	uint64_t cr0, cr4, rflags;
	unsigned int cpl, access;
	int ec;				/* -1: allowed */
};

#define SUP	0
#define USR	3
#define WP	CR0_WP
#define PF(x)	(GVA_PF_P | (x))

static const struct perm_case perm_cases[] = {
	/* U/S: user accesses need US at every level. */
	{ P | RW | US, P | RW | US, WP, 0, 0, USR, 0, -1 },
	{ P | RW, P | RW | US, WP, 0, 0, USR, 0, PF(GVA_PF_U) },
	{ P | RW | US, P | RW, WP, 0, 0, USR, GVA_WRITE, PF(GVA_PF_U | GVA_PF_W) },
	/* R/W: user writes need RW everywhere, whatever CR0.WP. */
	{ P | US, P | RW | US, 0, 0, 0, USR, GVA_WRITE, PF(GVA_PF_U | GVA_PF_W) },
	{ P | RW | US, P | US, 0, 0, 0, USR, GVA_WRITE, PF(GVA_PF_U | GVA_PF_W) },
	{ P | US, P | RW | US, 0, 0, 0, USR, 0, -1 },
	/* Supervisor writes to read-only pages: only with CR0.WP clear. */
	{ P, P | RW, 0, 0, 0, SUP, GVA_WRITE, -1 },
	{ P, P | RW, WP, 0, 0, SUP, GVA_WRITE, PF(GVA_PF_W) },
	{ P | RW, P, WP, 0, 0, SUP, GVA_WRITE, PF(GVA_PF_W) },
	{ P | US, P | RW | US, 0, 0, 0, SUP, GVA_WRITE, -1 },
	/* XD with NXE, at any level, for fetches only. */
	{ P | RW | XD, P | RW, WP, 0, 0, SUP, GVA_FETCH, PF(GVA_PF_ID) },
	{ P | RW, P | RW | XD, WP, 0, 0, SUP, GVA_FETCH, PF(GVA_PF_ID) },
	{ P | RW | US, P | RW | US | XD, WP, 0, 0, USR, GVA_FETCH,
	  PF(GVA_PF_ID | GVA_PF_U) },
	{ P | RW | XD, P | RW, WP, 0, 0, SUP, GVA_WRITE, -1 },
	/* SMEP: no supervisor fetch from a user page. */
	{ P | RW | US, P | RW | US, WP, 0, 0, SUP, GVA_FETCH, -1 },
	{ P | RW | US, P | RW | US, WP, CR4_SMEP, 0, SUP, GVA_FETCH, PF(GVA_PF_ID) },
	{ P | RW | US, P | RW, WP, CR4_SMEP, 0, SUP, GVA_FETCH, -1 },
	/* SMAP: supervisor data access to user pages only with EFLAGS.AC, never implicit. */
	{ P | RW | US, P | RW | US, WP, CR4_SMAP, 0, SUP, 0, PF(0) },
	{ P | RW | US, P | RW | US, WP, CR4_SMAP, 0, SUP, GVA_WRITE, PF(GVA_PF_W) },
	{ P | RW | US, P | RW | US, WP, CR4_SMAP, RFLAGS_AC, SUP, GVA_WRITE, -1 },
	{ P | RW | US, P | RW | US, WP, CR4_SMAP, RFLAGS_AC, SUP, GVA_IMPLICIT, PF(0) },
	{ P | RW | US, P | RW | US, WP, CR4_SMAP, RFLAGS_AC, USR, GVA_IMPLICIT, PF(0) },
	{ P | RW | US, P | RW | US, WP, CR4_SMAP, 0, USR, GVA_WRITE, -1 },
	{ P | US, P | RW | US, 0, CR4_SMAP, RFLAGS_AC, SUP, GVA_WRITE, -1 },
	/* Implicit accesses are supervisor-mode at CPL 3: no U bit, WP applies. */
	{ P | RW, P | RW, WP, 0, 0, USR, GVA_IMPLICIT, -1 },
	{ P, P | RW, WP, 0, 0, USR, GVA_IMPLICIT | GVA_WRITE, PF(GVA_PF_W) },
	/* The debugger's walk ignores every permission, not presence. */
	{ P, P, WP, CR4_SMAP | CR4_SMEP, 0, USR, GVA_DEBUG | GVA_WRITE, -1 },
	{ P | XD, P, WP, 0, 0, SUP, GVA_DEBUG | GVA_FETCH, -1 },
	{ RW | US, P | RW | US, 0, 0, 0, SUP, GVA_DEBUG, 0 },
};

TEST(permissions_table)
{
	for (unsigned int levels = 3; levels <= 4; levels++) {
		for (size_t i = 0; i < sizeof(perm_cases) / sizeof(perm_cases[0]); i++) {
			const struct perm_case *c = &perm_cases[i];
			struct pt pt;
			uint64_t out;
			enum gva_result r;

			pt_init(&pt, levels);
			map(&pt, 0x40000000, 0x5000, 1, c->leaf, c->dir);
			pt.mmu.cr0 = CR0_PE | CR0_PG | c->cr0;
			pt.mmu.cr4 |= c->cr4;
			pt.mmu.rflags = c->rflags;
			pt.mmu.cpl = c->cpl;
			r = xlate(&pt, 0x40000123, c->access, &out);
			if (c->ec < 0) {
				if (r != GVA_OK || out != 0x5123)
					printf("# case %zu levels %u: %d %llx\n", i, levels, r,
					       (unsigned long long)out);
				CHECK_EQ(r, GVA_OK);
				CHECK_EQ(out, 0x5123);
			} else {
				if (r != GVA_FAULT || out != (uint64_t)c->ec)
					printf("# case %zu levels %u: %d %llx\n", i, levels, r,
					       (unsigned long long)out);
				CHECK_EQ(r, GVA_FAULT);
				CHECK_EQ(out, c->ec);
			}
		}
	}
}

TEST(two_level_has_no_xd_and_reserved_only_in_4m_pages)
{
	struct pt pt;

	pt_init(&pt, 2);
	/* Bit 31 of a 32-bit PTE is an address bit, not XD. */
	map(&pt, 0x1000, 0x80002000, 1, P | RW, P | RW);
	CHECK_GPA(&pt, 0x1000, GVA_FETCH, 0x80002000);
}

TEST(protection_keys_deny_user_pages_only)
{
	struct pt pt;
	uint64_t leaf;

	pt_init(&pt, 4);
	leaf = map(&pt, 0x1000, 0x2000, 1, P | RW | US | (5ULL << 59), P | RW | US);
	pt.mmu.cpl = 3;
	pt.mmu.pkru = 1u << 10;				/* key 5: access disabled */
	CHECK_GPA(&pt, 0x1000, 0, 0x2000);		/* CR4.PKE off */
	pt.mmu.cr4 |= CR4_PKE;
	CHECK_PF(&pt, 0x1000, 0, PF(GVA_PF_PK | GVA_PF_U));
	CHECK_GPA(&pt, 0x1000, GVA_FETCH, 0x2000);	/* fetches are not checked */
	pt.mmu.pkru = 2u << 10;				/* key 5: write disabled */
	CHECK_GPA(&pt, 0x1000, 0, 0x2000);
	CHECK_PF(&pt, 0x1000, GVA_WRITE, PF(GVA_PF_PK | GVA_PF_W | GVA_PF_U));
	pt.mmu.cpl = 0;
	CHECK_PF(&pt, 0x1000, GVA_WRITE, PF(GVA_PF_PK | GVA_PF_W));
	pt.mmu.cr0 &= ~CR0_WP;
	CHECK_GPA(&pt, 0x1000, GVA_WRITE, 0x2000);
	/* A supervisor page's key is not checked (that would be PKS). */
	put(&pt, leaf, entry_at(leaf, 8) & ~US);
	pt.mmu.cr0 |= CR0_WP;
	CHECK_GPA(&pt, 0x1000, GVA_WRITE, 0x2000);
}

TEST(accessed_bits_on_the_walk_dirty_on_the_leaf_for_writes)
{
	struct pt pt;
	uint64_t leaf, pml4e;

	pt_init(&pt, 4);
	leaf = map(&pt, 0x1000, 0x2000, 1, P | RW, P | RW);
	pml4e = pt.mmu.cr3;
	CHECK_GPA(&pt, 0x1000, 0, 0x2000);
	CHECK_EQ(entry_at(pml4e, 8) & (A | D), A);
	CHECK_EQ(entry_at(leaf, 8) & (A | D), A);
	CHECK_GPA(&pt, 0x1000, GVA_WRITE, 0x2000);
	CHECK_EQ(entry_at(pml4e, 8) & (A | D), A);
	CHECK_EQ(entry_at(leaf, 8) & (A | D), A | D);
	/* Nothing left to set: no more compare-exchanges. */
	cmpxchg_calls = 0;
	CHECK_GPA(&pt, 0x1000, GVA_WRITE, 0x2000);
	CHECK_EQ(cmpxchg_calls, 0);
}

TEST(no_accessed_bits_on_faults_debug_walks_or_pae_pdptes)
{
	struct pt pt;
	uint64_t leaf;

	pt_init(&pt, 4);
	leaf = map(&pt, 0x1000, 0x2000, 1, P, P | RW);
	CHECK_PF(&pt, 0x1000, GVA_WRITE, PF(GVA_PF_W));
	CHECK_EQ(entry_at(leaf, 8) & A, 0);
	CHECK_GPA(&pt, 0x1000, GVA_DEBUG | GVA_WRITE, 0x2000);
	CHECK_EQ(entry_at(leaf, 8) & A, 0);
	CHECK_EQ(cmpxchg_calls, 0);
	pt_init(&pt, 3);
	leaf = map(&pt, 0x1000, 0x2000, 1, P | RW, P | RW);
	CHECK_GPA(&pt, 0x1000, GVA_WRITE, 0x2000);
	CHECK_EQ(entry_at(pt.mmu.cr3, 8) & A, 0);
	CHECK_EQ(entry_at(leaf, 8) & (A | D), A | D);
	pt_init(&pt, 2);
	leaf = map(&pt, 0x1000, 0x2000, 1, P | RW, P | RW);
	CHECK_GPA(&pt, 0x1000, GVA_WRITE, 0x2000);
	CHECK_EQ(entry_at(leaf, 4) & (A | D), A | D);
}

TEST(changed_entry_asks_for_a_retry)
{
	struct pt pt;
	uint64_t out;

	pt_init(&pt, 4);
	map(&pt, 0x1000, 0x2000, 1, P | RW, P | RW);
	cmpxchg_fail = 1;
	CHECK_EQ(xlate(&pt, 0x1000, 0, &out), GVA_RETRY);
	CHECK_GPA(&pt, 0x1000, 0, 0x2000);
	pt.mmu.cmpxchg_phys = NULL;
	CHECK_GPA(&pt, 0x1000, GVA_WRITE, 0x2000);
}

TEST(table_outside_ram_is_bad_phys)
{
	struct pt pt;
	uint64_t out;

	pt_init(&pt, 4);
	put(&pt, pt.mmu.cr3, 0x7000000000ULL | P | RW);
	CHECK_EQ(xlate(&pt, 0x1000, 0, &out), GVA_BAD_PHYS);
	pt.mmu.cr3 = 0x7000000000ULL;
	CHECK_EQ(xlate(&pt, 0x1000, 0, &out), GVA_BAD_PHYS);
}
