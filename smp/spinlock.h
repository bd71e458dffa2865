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

typedef struct {
	/* next: the ticket the next arrival takes; owner: the ticket now served. */
	uint32_t next;
	uint32_t owner;
} spinlock_t;

#define SPINLOCK_INIT	{ 0, 0 }

static inline void spin_lock_init(spinlock_t *l)
{
	l->next = 0;
	l->owner = 0;
}

static inline void spin_lock(spinlock_t *l)
{
	uint32_t ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);

	/* Acquire pairs with the release in spin_unlock(): the critical section starts here. */
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
		cpu_relax();
}

static inline bool spin_trylock(spinlock_t *l)
{
	uint32_t owner = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);
	uint32_t expect = owner;

	return __atomic_compare_exchange_n(&l->next, &expect, owner + 1, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline void spin_unlock(spinlock_t *l)
{
	/* Only the holder writes owner, so a plain read of it is stable here. */
	uint32_t owner = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);

	__atomic_store_n(&l->owner, owner + 1, __ATOMIC_RELEASE);
}

static inline bool spin_is_locked(spinlock_t *l)
{
	return __atomic_load_n(&l->owner, __ATOMIC_RELAXED) !=
	       __atomic_load_n(&l->next, __ATOMIC_RELAXED);
}

#endif
