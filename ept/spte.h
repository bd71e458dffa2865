/* SPDX-License-Identifier: MIT */
/*
 * EPT entries (Intel SDM vol. 3C, 29.3.2): bits, predicates, constructors.
 * Entries are read with acquire loads and changed with compare-and-exchange
 * by faults (mmu_lock read) or with plain atomic stores under mmu_lock write;
 * a lockless walker (grace read section) may also clear the accessed bit with
 * compare-and-exchange, nothing else.
 */
#ifndef EPT_SPTE_H
#define EPT_SPTE_H

#include <stdbool.h>
#include <stdint.h>

#define EPT_R			(1ull << 0)
#define EPT_W			(1ull << 1)
#define EPT_X			(1ull << 2)
#define EPT_RWX			(EPT_R | EPT_W | EPT_X)
#define EPT_MT_SHIFT		3
#define EPT_MT_MASK		(7ull << EPT_MT_SHIFT)
#define EPT_MT_WB		(6ull << EPT_MT_SHIFT)
#define EPT_IPAT		(1ull << 6)
#define EPT_LARGE		(1ull << 7)
#define EPT_ACCESSED		(1ull << 8)
#define EPT_DIRTY		(1ull << 9)
#define EPT_ADDR_MASK		0x000ffffffffff000ull

/*
 * An entry being zapped or replaced by a fault under mmu_lock (read): not
 * present (no RWX bit), so the CPU and lockless walkers treat it as a hole,
 * and tagged with an ignored software bit so that other faults see someone
 * owns it and retry.  Like KVM's FROZEN_SPTE; never seen under the write lock.
 */
#define EPT_SW_FROZEN		(1ull << 59)
#define EPT_FROZEN_SPTE		(EPT_SW_FROZEN | 0x5a0ull)

/* 4-level EPT: level 4 is the PML4 (what the EPTP points to), level 1 maps 4 KiB. */
#define EPT_ROOT_LEVEL		4
#define EPT_PTES		512
#define EPT_PAGE_SHIFT		12
#define EPT_PAGE_SIZE		(1ull << EPT_PAGE_SHIFT)
#define EPT_MAX_HUGE_LEVEL	2	/* 2 MiB leaves; 1 GiB ones are not built */
#define EPT_GFN_LIMIT		(1ull << 40)	/* gfns covered by a 4-level root */

typedef uint64_t ept_spte_t;

/* Pages (4 KiB) one entry at @level covers: 1, 512, 512^2, 512^3. */
static inline uint64_t ept_level_pages(int level)
{
	return 1ull << (9 * (level - 1));
}

static inline unsigned int ept_index(uint64_t gfn, int level)
{
	return (gfn >> (9 * (level - 1))) & (EPT_PTES - 1);
}

static inline bool ept_spte_present(ept_spte_t s)
{
	return (s & EPT_RWX) != 0;
}

static inline bool ept_spte_frozen(ept_spte_t s)
{
	return s == EPT_FROZEN_SPTE;
}

/* A present entry that maps memory (4 KiB at level 1, or a large page). */
static inline bool ept_spte_is_leaf(ept_spte_t s, int level)
{
	return ept_spte_present(s) && (level == 1 || (s & EPT_LARGE));
}

static inline bool ept_spte_is_large(ept_spte_t s, int level)
{
	return level > 1 && ept_spte_present(s) && (s & EPT_LARGE);
}

static inline uint64_t ept_spte_addr(ept_spte_t s)
{
	return s & EPT_ADDR_MASK;
}

/* A leaf mapping @hpa (aligned to the level's size) with @perm (RWX bits), write-back. */
static inline ept_spte_t ept_make_leaf(uint64_t hpa, int level, uint64_t perm)
{
	return (hpa & EPT_ADDR_MASK) | (perm & EPT_RWX) | EPT_MT_WB | EPT_IPAT |
	       (level > 1 ? EPT_LARGE : 0);
}

/* A non-leaf entry pointing to the table at @table_pa; RWX so leaves decide. */
static inline ept_spte_t ept_make_nonleaf(uint64_t table_pa)
{
	return (table_pa & EPT_ADDR_MASK) | EPT_RWX;
}

static inline ept_spte_t ept_spte_read(ept_spte_t *p)
{
	/* Acquire pairs with the cmpxchg that published a child table or a leaf. */
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Compare-and-exchange; on failure *old receives the current value. */
static inline bool ept_spte_try_cmpxchg(ept_spte_t *p, ept_spte_t *old, ept_spte_t new)
{
	return __atomic_compare_exchange_n(p, old, new, false, __ATOMIC_SEQ_CST,
					   __ATOMIC_ACQUIRE);
}

/* Exchange: mmu_lock held for write; returns the last value (A/D bits included). */
static inline ept_spte_t ept_spte_xchg(ept_spte_t *p, ept_spte_t v)
{
	return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

/* Plain store: mmu_lock held for write, or the table is not yet published. */
static inline void ept_spte_write(ept_spte_t *p, ept_spte_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

#endif
