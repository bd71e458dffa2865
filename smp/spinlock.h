/* SPDX-License-Identifier: MIT */
/*
 * Ticket spinlock: FIFO, so a CPU spinning on a contended lock (the console,
 * the page allocator) is served in arrival order and never starves.
 * Not for interrupt context unless every holder runs with interrupts off.
 */
#ifndef SMP_SPINLOCK_H
#define SMP_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "smp/atomic.h"
#include "smp/cpu.h"
#include "smp/lock_order.h"

typedef struct {
	/* next: the ticket the next arrival takes; owner: the ticket now served. */
	uint32_t next;
	uint32_t owner;
#ifdef LOCK_ORDER_CHECK
	uint32_t order;		/* enum lock_order (smp/lock_order.h); 0: unchecked */
	/* smp_processor_id() + 1 of the holder, 0 if none; written only by it. */
	uint32_t holder;
#endif
} spinlock_t;

#ifdef LOCK_ORDER_CHECK
#define SPINLOCK_INIT_ORDER(o)	{ .next = 0, .owner = 0, .order = (o), .holder = 0 }
#else
#define SPINLOCK_INIT_ORDER(o)	{ .next = 0, .owner = 0 }
#endif
#define SPINLOCK_INIT		SPINLOCK_INIT_ORDER(LOCK_ORDER_NONE)

static inline unsigned int spin_order(const spinlock_t *l)
{
#ifdef LOCK_ORDER_CHECK
	return l->order;
#else
	(void)l;
	return 0;
#endif
}

static inline void spin_set_holder(spinlock_t *l, uint32_t holder)
{
#ifdef LOCK_ORDER_CHECK
	WRITE_ONCE(l->holder, holder);
#else
	(void)l;
	(void)holder;
#endif
}

/* A lock of @order in the table of smp/lock_order.h. */
static inline void spin_lock_init_order(spinlock_t *l, unsigned int order)
{
	l->next = 0;
	l->owner = 0;
#ifdef LOCK_ORDER_CHECK
	l->order = order;
	l->holder = 0;
#else
	(void)order;
#endif
}

static inline void spin_lock_init(spinlock_t *l)
{
	spin_lock_init_order(l, LOCK_ORDER_NONE);
}

static inline void spin_lock(spinlock_t *l)
{
	uint32_t ticket;

	lock_order_acquire(spin_order(l), false);
	ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	/* Acquire pairs with the release in spin_unlock(): the critical section starts here. */
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
		cpu_relax();
	spin_set_holder(l, smp_processor_id() + 1);
}

static inline bool spin_trylock(spinlock_t *l)
{
	uint32_t owner = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);
	uint32_t expect = owner;

	if (!__atomic_compare_exchange_n(&l->next, &expect, owner + 1, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return false;
	lock_order_acquire(spin_order(l), true);
	spin_set_holder(l, smp_processor_id() + 1);
	return true;
}

static inline void spin_unlock(spinlock_t *l)
{
	/* Only the holder writes owner, so a plain read of it is stable here. */
	uint32_t owner = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);

	spin_set_holder(l, 0);
	lock_order_release(spin_order(l));
	__atomic_store_n(&l->owner, owner + 1, __ATOMIC_RELEASE);
}

static inline bool spin_is_locked(spinlock_t *l)
{
	return __atomic_load_n(&l->owner, __ATOMIC_RELAXED) !=
	       __atomic_load_n(&l->next, __ATOMIC_RELAXED);
}

/* @l is held, by this CPU where the holder is tracked (LOCK_ORDER_CHECK). */
static inline bool spin_held_by_me(spinlock_t *l)
{
#ifdef LOCK_ORDER_CHECK
	return READ_ONCE(l->holder) == smp_processor_id() + 1;
#else
	return spin_is_locked(l);
#endif
}

#endif
