/* SPDX-License-Identifier: MIT */
/*
 * Reverse map: from a host page to the EPT entries (sptes) that map it, so
 * that reclaim can age a page and zap every mapping of it.
 *
 * A head is one word:
 *   0                    no mapping;
 *   sptep                exactly one, a pointer to the 64-bit entry (bits 0-1 clear);
 *   desc | RMAP_MANY     a chain of struct rmap_desc;
 * and bit 1, RMAP_LOCKED, on top of either of the last two, is a bit lock.
 *
 * Locking (the lock order is mmu_lock -> rmap bit lock; never take mmu_lock,
 * nor wait for anything that does, while holding a bit lock):
 *  - Modifiers (rmap_add(), rmap_remove()) hold the VM's mmu_lock, in either
 *    mode, and read and write the chain only under the bit lock, which they
 *    take even on an empty head (0 -> RMAP_LOCKED).  Under mmu_lock for read
 *    several faults may change one head at once (one host page mapped by two
 *    gfns, or through two roots): the bit lock alone serialises them, the
 *    empty -> one transition included.  So only mmu_lock held for write keeps
 *    the chain still without the bit lock: rmap_for_each().  The fault path
 *    adds the entry for a leaf it just installed by cmpxchg, before it drops
 *    mmu_lock, so no zap (write) can come between the two.
 *  - Lockless walkers (aging) hold no mmu_lock, only the bit lock, taken with
 *    rmap_lock_readonly(): it keeps modifiers out, changes nothing, and is
 *    given back by writing the old value.  It does not lock an empty head:
 *    an empty-to-one change under such a walker is harmless, since it only
 *    cares about mappings that already existed.
 *  - The bit lock guards the chain, not the entries: an entry in it may be
 *    zapped (made non-present) at any time by a holder of mmu_lock that has
 *    not yet removed it from the chain.  rmap_for_each_readonly() reads each
 *    entry once and skips the non-present ones.
 */
#ifndef RMAP_RMAP_H
#define RMAP_RMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/check.h"
#include "rmap/spte_bits.h"
#include "smp/atomic.h"
#include "smp/lockdep.h"
#include "smp/rwlock.h"

#define RMAP_MANY	0x1ul	/* val points to a struct rmap_desc */
#define RMAP_LOCKED	0x2ul	/* the bit lock */
#define RMAP_FLAGS	(RMAP_MANY | RMAP_LOCKED)

struct rmap_head {
	/* See the top of this file; changed only by atomic RMWs and release stores. */
	unsigned long val;
};

/* Six entries make a descriptor one 64-byte cache line. */
#define RMAP_DESC_ENTRIES	6

/*
 * A chain of descriptors.  New entries go into the first one (the head
 * descriptor); every descriptor after it is full, so removal moves the head
 * descriptor's last entry into the hole, and tail_count never changes.
 * Written under mmu_lock (write) and the head's bit lock; read under either.
 */
struct rmap_desc {
	/* The next, full descriptor, or NULL. */
	struct rmap_desc *more;
	/* Entries used here: 1..RMAP_DESC_ENTRIES. */
	uint32_t count;
	/* Entries in all descriptors after this one. */
	uint32_t tail_count;
	uint64_t *sptes[RMAP_DESC_ENTRIES];
};

/*
 * Where descriptors come from.  Both are called with mmu_lock held (either mode)
 * and the bit lock not held.
 */
struct rmap_ops {
	/*
	 * A descriptor aligned to at least 4 bytes, or NULL.  Must not block
	 * nor reclaim (reclaim takes mmu_lock): draw from a cache topped up
	 * before mmu_lock was taken.
	 */
	struct rmap_desc *(*alloc_desc)(void *priv);
	/*
	 * Must defer the reuse of @desc past a grace period, never free it
	 * on the spot, as for all MMU metadata that lockless walkers reach.
	 * The bit lock already keeps a walker off a descriptor being unlinked
	 * (rmap_remove() unlinks under it); the grace period also covers
	 * readers that peek at a chain without the lock (debug dumps).
	 */
	void (*free_desc)(void *priv, struct rmap_desc *desc);
	void *priv;
};

/*
 * Add @sptep to @head.  Caller holds @mmu_lock (either mode).  Returns false,
 * with @head unchanged, if a descriptor was needed and alloc_desc() failed.
 */
bool rmap_add(const struct rmap_ops *ops, rwlock_t *mmu_lock, struct rmap_head *head,
	      uint64_t *sptep);

/*
 * Remove @sptep from @head (WARNs if absent).  Caller holds @mmu_lock
 * (either mode), and has normally zapped *sptep first.
 */
void rmap_remove(const struct rmap_ops *ops, rwlock_t *mmu_lock, struct rmap_head *head,
		 uint64_t *sptep);

/* Entries in @head: exact under @mmu_lock held for write, a snapshot under read. */
unsigned int rmap_count(rwlock_t *mmu_lock, const struct rmap_head *head);

/*
 * The modifiers' bit lock, for a holder of @mmu_lock (either mode) that changes
 * the chain itself: returns the value without RMAP_LOCKED.  An empty head is
 * locked too (and 0 returned), so that modifiers serialise on its first entry.
 * rmap_unlock() publishes @new_val (release) and drops the bit.
 */
unsigned long rmap_lock(rwlock_t *mmu_lock, struct rmap_head *head);
void rmap_unlock(rwlock_t *mmu_lock, struct rmap_head *head, unsigned long new_val);

/*
 * The lockless walkers' lock: returns 0 and locks nothing if @head is
 * empty, else spins for the bit and returns the value without it.
 * rmap_unlock_readonly() gets that return value back.
 */
unsigned long rmap_lock_readonly(struct rmap_head *head);
void rmap_unlock_readonly(struct rmap_head *head, unsigned long old);

/* A position in a chain; the walk is only valid under one of the locks above. */
struct rmap_iter {
	struct rmap_desc *desc;		/* NULL for a single entry */
	unsigned int pos;
};

static inline struct rmap_desc *rmap_val_desc(unsigned long val)
{
	return (struct rmap_desc *)(val & ~RMAP_FLAGS);
}

/* The first entry of the chain @val (a head value, lock bit ignored), or NULL. */
static inline uint64_t *rmap_iter_first(struct rmap_iter *it, unsigned long val)
{
	val &= ~RMAP_LOCKED;
	it->desc = NULL;
	it->pos = 0;
	if (!(val & RMAP_MANY))
		return (uint64_t *)val;
	it->desc = rmap_val_desc(val);
	return it->desc->sptes[0];
}

/* The entry after the one rmap_iter_first/next() last returned, or NULL. */
static inline uint64_t *rmap_iter_next(struct rmap_iter *it)
{
	struct rmap_desc *d = it->desc;

	if (!d)
		return NULL;
	if (++it->pos < d->count)
		return d->sptes[it->pos];
	it->desc = d = d->more;
	it->pos = 0;
	return d ? d->sptes[0] : NULL;
}

/*
 * rmap_for_each - every entry of @head, under @mmu_lock held for write
 * (which keeps modifiers out; a lockless walker may hold the bit meanwhile,
 * it changes nothing).  Do not modify @head inside the loop.
 */
#define rmap_for_each(mmu_lock, head, it, sptep)				\
	for (lockdep_assert_held_write(mmu_lock),				\
	     (sptep) = rmap_iter_first((it), READ_ONCE((head)->val));		\
	     (sptep); (sptep) = rmap_iter_next(it))

#define rmap_assert_locked_readonly(head, old)					\
	((void)({ ASSERT(!(old) || READ_ONCE((head)->val) == ((old) | RMAP_LOCKED)); 0; }))

/*
 * rmap_for_each_readonly - the present entries of @head, locked by
 * rmap_lock_readonly() that returned @old; @spte gets each entry's value, read
 * once.  Entries zapped under the walk are skipped, or seen as they were just
 * before: the caller must tolerate both.
 */
#define rmap_for_each_readonly(head, old, it, sptep, spte)			\
	for (rmap_assert_locked_readonly(head, old),				\
	     (sptep) = rmap_iter_first((it), (old));				\
	     (sptep); (sptep) = rmap_iter_next(it))				\
		if (!rmap_spte_present((spte) = READ_ONCE(*(sptep)))) {} else

#endif
