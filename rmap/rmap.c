/* SPDX-License-Identifier: MIT */
/*
 * Reverse map chains and their bit lock (after Linux KVM's pte_list and
 * kvm_rmap_lock()).  The locking rules are in rmap/rmap.h.
 *
 * Modifiers hold mmu_lock for write, so the chain cannot change under them
 * except for the RMAP_LOCKED bit that lockless walkers set and clear: a
 * modifier may read the head and plan the change (search, allocate) before it
 * takes the bit lock, and needs the bit only for the writes that a lockless
 * walker could otherwise see half done.
 */
#include "rmap/rmap.h"
#include "smp/lockdep.h"

BUILD_BUG_ON(sizeof(struct rmap_desc) != 64);

/*
 * Spin for the bit lock of a non-empty head.  Returns 0 with nothing locked
 * if the head is (or, after waiting, has become) empty.
 */
static unsigned long rmap_lock_bit(struct rmap_head *head)
{
	unsigned long old = READ_ONCE(head->val);

	do {
		/* Wait for the holder without bouncing the line with cmpxchg. */
		while (old & RMAP_LOCKED) {
			cpu_relax();
			old = READ_ONCE(head->val);
		}
		/* The holder may have emptied the chain. */
		if (!old)
			return 0;
		/*
		 * Acquire pairs with the release store in rmap_unlock() and
		 * rmap_unlock_readonly(): the previous holder's writes to the
		 * chain are visible before we walk it.
		 */
	} while (!__atomic_compare_exchange_n(&head->val, &old, old | RMAP_LOCKED, false,
					      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
	return old;
}

unsigned long rmap_lock(rwlock_t *mmu_lock, struct rmap_head *head)
{
	lockdep_assert_held(mmu_lock);
	return rmap_lock_bit(head);
}

void rmap_unlock(rwlock_t *mmu_lock, struct rmap_head *head, unsigned long new_val)
{
	lockdep_assert_held(mmu_lock);
	ASSERT(!(new_val & RMAP_LOCKED));
	/*
	 * Release pairs with the acquire cmpxchg in rmap_lock_bit(): the chain
	 * is complete before a walker can lock it.  For an empty head that was
	 * never locked, it also publishes the new entry or descriptor.
	 */
	store_release(&head->val, new_val);
}

unsigned long rmap_lock_readonly(struct rmap_head *head)
{
	return rmap_lock_bit(head);
}

void rmap_unlock_readonly(struct rmap_head *head, unsigned long old)
{
	if (!old)
		return;
	/* Nobody else can change a locked head, so the old value is the current one. */
	WARN_ONCE((READ_ONCE(head->val) & ~RMAP_LOCKED) != old,
		  "rmap head %p changed under its read-only lock: %lx, was %lx\n",
		  (void *)head, READ_ONCE(head->val), old);
	/* Release pairs with the acquire cmpxchg in rmap_lock_bit(). */
	store_release(&head->val, old);
}

/* The value of @head with the lock bit masked; stable under mmu_lock (write). */
static unsigned long rmap_stable_val(const struct rmap_head *head)
{
	return READ_ONCE(head->val) & ~RMAP_LOCKED;
}

static void desc_init(struct rmap_desc *d, struct rmap_desc *more, uint32_t tail_count)
{
	ASSERT(!((uintptr_t)d & RMAP_FLAGS));
	d->more = more;
	d->count = 0;
	d->tail_count = tail_count;
}

bool rmap_add(const struct rmap_ops *ops, rwlock_t *mmu_lock, struct rmap_head *head,
	      uint64_t *sptep)
{
	unsigned long old, val = rmap_stable_val(head);
	struct rmap_desc *d = NULL, *nd = NULL;

	lockdep_assert_held(mmu_lock);
	ASSERT(sptep && !((uintptr_t)sptep & RMAP_FLAGS));

	if (val & RMAP_MANY)
		d = rmap_val_desc(val);
	/* A second entry, or a full head descriptor: prepare a new one unseen. */
	if (val && (!d || d->count == RMAP_DESC_ENTRIES)) {
		nd = ops->alloc_desc(ops->priv);
		if (!nd)
			return false;
		if (!d) {
			desc_init(nd, NULL, 0);
			nd->sptes[nd->count++] = (uint64_t *)val;
		} else {
			desc_init(nd, d, d->tail_count + d->count);
		}
		nd->sptes[nd->count++] = sptep;
	}

	old = rmap_lock(mmu_lock, head);
	ASSERT(old == val);
	if (nd)
		val = (unsigned long)nd | RMAP_MANY;
	else if (d)
		d->sptes[d->count++] = sptep;
	else
		val = (unsigned long)sptep;
	rmap_unlock(mmu_lock, head, val);
	return true;
}

/* Find @sptep in the chain @val; under mmu_lock (write). */
static bool desc_find(unsigned long val, uint64_t *sptep, struct rmap_desc **dp,
		      unsigned int *ip)
{
	for (struct rmap_desc *d = rmap_val_desc(val); d; d = d->more) {
		for (unsigned int i = 0; i < d->count; i++) {
			if (d->sptes[i] == sptep) {
				*dp = d;
				*ip = i;
				return true;
			}
		}
	}
	return false;
}

void rmap_remove(const struct rmap_ops *ops, rwlock_t *mmu_lock, struct rmap_head *head,
		 uint64_t *sptep)
{
	unsigned long old, val = rmap_stable_val(head);
	struct rmap_desc *h, *d, *gone = NULL;
	unsigned int i, last;

	lockdep_assert_held(mmu_lock);

	if (!(val & RMAP_MANY)) {
		if (WARN_ONCE(val != (unsigned long)sptep,
			      "rmap_remove: %p not in rmap %p (%lx)\n",
			      (void *)sptep, (void *)head, val))
			return;
		old = rmap_lock(mmu_lock, head);
		ASSERT(old == val);
		rmap_unlock(mmu_lock, head, 0);
		return;
	}
	if (WARN_ONCE(!desc_find(val, sptep, &d, &i),
		      "rmap_remove: %p not in rmap %p (%lx)\n",
		      (void *)sptep, (void *)head, val))
		return;

	h = rmap_val_desc(val);
	old = rmap_lock(mmu_lock, head);
	ASSERT(old == val);
	/* Fill the hole from the head descriptor, so the tail stays full. */
	last = h->count - 1;
	d->sptes[i] = h->sptes[last];
	h->sptes[last] = NULL;
	h->count = last;
	if (!last) {
		gone = h;
		val = h->more ? (unsigned long)h->more | RMAP_MANY : 0;
	} else if (last == 1 && !h->more) {
		/* Back to one entry: a head word suffices. */
		gone = h;
		val = (unsigned long)h->sptes[0];
	}
	rmap_unlock(mmu_lock, head, val);
	if (gone)
		ops->free_desc(ops->priv, gone);
}

unsigned int rmap_count(rwlock_t *mmu_lock, const struct rmap_head *head)
{
	unsigned long val = rmap_stable_val(head);
	struct rmap_desc *h;

	lockdep_assert_held(mmu_lock);
	if (!(val & RMAP_MANY))
		return val ? 1 : 0;
	h = rmap_val_desc(val);
	return h->count + h->tail_count;
}
