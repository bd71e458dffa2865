/* SPDX-License-Identifier: MIT */
/*
 * A software TLB per vCPU for the stress tests.  Translations stay cached
 * until the test's flush (its INVEPT) drops them, as on the CPU: a zap that
 * skips or delays its flush leaves the vCPU using a host page that may since
 * have been freed, and a root freed without a flush leaves cached walks
 * through table pages that are about to be reused.
 *
 * An entry caches one walk of one gfn through one root: the table pages it
 * read (the CPU's paging-structure caches; kept even when the leaf was not
 * present) and, if the leaf was present, the host page (the TLB proper).  An
 * access holds its vCPU's TLB lock from the lookup to the last use of the
 * page; a flush takes each vCPU's lock in turn and drops the root's entries,
 * so it returns only once the accesses in flight have ended, as INVEPT does.
 *
 * What the tests check with it:
 *  - soft_tlb_cached(), from the free_table op: a table page (or root) being
 *    freed is cached by no vCPU: the root's free flushed it first;
 *  - soft_tlb_check_quiescent(), with nothing running: every cached leaf is
 *    still the leaf in its root, a listed root: every zap flushed what it
 *    cleared;
 *  - the pages that cached leaves lead to (the test's own checks).
 */
#ifndef TESTS_EPT_SOFT_TLB_H
#define TESTS_EPT_SOFT_TLB_H

#include <pthread.h>
#include <string.h>

#include "ept/vm.h"
#include "smp/grace.h"

#define SOFT_TLB_ENTRIES	64	/* direct-mapped by gfn */

struct soft_tlb_entry {
	struct ept_root *root;		/* NULL: empty */
	uint64_t gfn;
	int leaf_level;			/* 0: no leaf was present, the tables only */
	uint64_t hpa;			/* the host page of gfn, if leaf_level */
	ept_spte_t *tables[EPT_ROOT_LEVEL + 1];	/* [level]: the table read there, or NULL */
};

struct soft_tlb {
	/* The entries and counters; held by the vCPU across an access, by flushes. */
	pthread_mutex_t lock;
	struct soft_tlb_entry e[SOFT_TLB_ENTRIES];
	long hits, walks, dropped;
};

static inline void soft_tlb_init(struct soft_tlb *tlb)
{
	memset(tlb, 0, sizeof(*tlb));
	pthread_mutex_init(&tlb->lock, NULL);
}

/* Around one access: lookups, the use of the page they return. */
static inline void soft_tlb_begin(struct soft_tlb *tlb)
{
	pthread_mutex_lock(&tlb->lock);
}

static inline void soft_tlb_end(struct soft_tlb *tlb)
{
	pthread_mutex_unlock(&tlb->lock);
}

/*
 * The CPU's walk of @gfn through @root, caching what it read; sets the
 * accessed bit of a present leaf (by cmpxchg, only while it is still that
 * leaf) as the CPU does when it fills the TLB.  Under a grace read section:
 * the caller holds a reference on @root, but lockless walkers are.
 */
static inline bool soft_tlb_walk(struct soft_tlb_entry *e, struct ept_root *root, uint64_t gfn)
{
	ept_spte_t *table = ept_pa_to_va(root->table_pa), *sptep, s;

	memset(e, 0, sizeof(*e));
	e->root = root;
	e->gfn = gfn;
	grace_read_lock();
	for (int level = EPT_ROOT_LEVEL; level >= 1; level--) {
		e->tables[level] = table;
		sptep = &table[ept_index(gfn, level)];
		s = ept_spte_read(sptep);
		if (!ept_spte_present(s))
			break;
		if (ept_spte_is_leaf(s, level)) {
			while (!(s & EPT_ACCESSED) &&
			       !__atomic_compare_exchange_n(sptep, &s, s | EPT_ACCESSED, false,
							    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) &&
			       ept_spte_is_leaf(s, level))
				;
			if (!ept_spte_is_leaf(s, level))
				break;
			e->leaf_level = level;
			e->hpa = ept_spte_addr(s) +
				 ((gfn & (ept_level_pages(level) - 1)) << EPT_PAGE_SHIFT);
			break;
		}
		table = ept_pa_to_va(ept_spte_addr(s));
	}
	grace_read_unlock();
	return e->leaf_level != 0;
}

/*
 * The host page of @gfn for an access through @root: from the TLB if cached,
 * else walked (and cached).  False where the access would take an EPT
 * violation.  Between soft_tlb_begin() and soft_tlb_end().
 */
static inline bool soft_tlb_translate(struct soft_tlb *tlb, struct ept_root *root, uint64_t gfn,
				      uint64_t *hpa)
{
	struct soft_tlb_entry *e = &tlb->e[gfn % SOFT_TLB_ENTRIES];

	if (e->root == root && e->gfn == gfn && e->leaf_level) {
		tlb->hits++;
		*hpa = e->hpa;
		return true;
	}
	tlb->walks++;
	if (!soft_tlb_walk(e, root, gfn))
		return false;
	*hpa = e->hpa;
	return true;
}

/* INVEPT single-context of @root on @n vCPUs: waits for their accesses, drops the entries. */
static inline void soft_tlb_flush(struct soft_tlb *tlbs, int n, struct ept_root *root)
{
	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&tlbs[i].lock);
		for (int j = 0; j < SOFT_TLB_ENTRIES; j++) {
			if (tlbs[i].e[j].root == root) {
				tlbs[i].e[j].root = NULL;
				tlbs[i].dropped++;
			}
		}
		pthread_mutex_unlock(&tlbs[i].lock);
	}
}

/* Entries of @n vCPUs that still go through @page (a table page or a root being freed). */
static inline int soft_tlb_cached(struct soft_tlb *tlbs, int n, const void *page)
{
	int found = 0;

	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&tlbs[i].lock);
		for (int j = 0; j < SOFT_TLB_ENTRIES; j++) {
			const struct soft_tlb_entry *e = &tlbs[i].e[j];

			if (!e->root)
				continue;
			found += (const void *)e->root == page;
			for (int l = 1; l <= EPT_ROOT_LEVEL; l++)
				found += (const void *)e->tables[l] == page;
		}
		pthread_mutex_unlock(&tlbs[i].lock);
	}
	return found;
}

/*
 * With nothing running and mmu_lock held for write (lock order: mmu_lock ->
 * TLB lock, as for a flush under the lock): every cached entry's root is
 * listed, and every cached leaf is the leaf its root has now.  Calls
 * @report per stale entry; returns how many.
 */
static inline int soft_tlb_check_quiescent(struct ept_vm *vm, struct soft_tlb *tlbs, int n,
					   void (*report)(const char *fmt, ...)
					   __attribute__((format(printf, 1, 2))))
{
	struct soft_tlb_entry now;
	int bad = 0;

	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&tlbs[i].lock);
		for (int j = 0; j < SOFT_TLB_ENTRIES; j++) {
			const struct soft_tlb_entry *e = &tlbs[i].e[j];
			struct ept_root *r = vm->roots;

			if (!e->root)
				continue;
			while (r && r != e->root)
				r = r->next;
			if (!r) {
				bad++, report("vCPU %d caches gfn %llu through root %p, not listed", i,
					      (unsigned long long)e->gfn, (void *)e->root);
				continue;
			}
			if (!e->leaf_level)
				continue;
			soft_tlb_walk(&now, e->root, e->gfn);
			if (now.leaf_level != e->leaf_level || now.hpa != e->hpa)
				bad++, report("vCPU %d caches gfn %llu -> %#llx (level %d), the root "
					      "maps %#llx (level %d): zapped without a flush", i,
					      (unsigned long long)e->gfn,
					      (unsigned long long)e->hpa, e->leaf_level,
					      (unsigned long long)now.hpa, now.leaf_level);
		}
		pthread_mutex_unlock(&tlbs[i].lock);
	}
	return bad;
}

#endif
