/* SPDX-License-Identifier: MIT */
/*
 * Reader-writer spinlock, writer-preferring and queued (after Linux's qrwlock).
 * Built for the per-VM mmu_lock: faults take it for read, zaps and root
 * invalidation for write.  A waiting writer turns new readers away, so a zap
 * cannot starve behind a stream of faults; with no writer about, a reader gets
 * in with one atomic add.  Contended arrivals of either mode queue FIFO on a
 * ticket spinlock, so neither mode starves once queued, and a long zap that
 * yields with rwlock_cond_yield_write() really lets the queued faults in
 * before it takes the lock again.
 *
 * Read locks do not nest: a second read_lock() on the same CPU deadlocks once
 * a writer waits between the two.
 */
#ifndef SMP_RWLOCK_H
#define SMP_RWLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/check.h"
#include "smp/atomic.h"
#include "smp/cpu.h"
#include "smp/spinlock.h"

#define RWLOCK_WLOCKED		0x1u	/* a writer holds the lock */
#define RWLOCK_WWAITING		0x2u	/* the head writer waits for readers to drain */
#define RWLOCK_WMASK		(RWLOCK_WLOCKED | RWLOCK_WWAITING)
#define RWLOCK_READER		0x4u	/* one reader; readers count from bit 2 up */

typedef struct {
	/* Writer bits and reader count; changed only by atomic RMWs below. */
	uint32_t cnts;
	/*
	 * Serialises the slow paths: its holder is the one waiter allowed to
	 * act on cnts, the others queue behind it in arrival order.
	 */
	spinlock_t wait_lock;
#ifdef DEBUG
	/* smp_processor_id() + 1 of the write holder, 0 if none; written only by it. */
	uint32_t owner_cpu;
#endif
#ifdef LOCK_ORDER_CHECK
	uint32_t order;		/* enum lock_order (smp/lock_order.h); 0: unchecked */
#endif
} rwlock_t;

#ifdef LOCK_ORDER_CHECK
#define RWLOCK_INIT_ORDER(o)	{ .cnts = 0, .wait_lock = SPINLOCK_INIT, .order = (o) }
#else
#define RWLOCK_INIT_ORDER(o)	{ .cnts = 0, .wait_lock = SPINLOCK_INIT }
#endif
#define RWLOCK_INIT		RWLOCK_INIT_ORDER(LOCK_ORDER_NONE)

static inline unsigned int rwlock_order(const rwlock_t *l)
{
#ifdef LOCK_ORDER_CHECK
	return l->order;
#else
	(void)l;
	return 0;
#endif
}

static inline uint32_t rwlock_cnts(const rwlock_t *l)
{
	return __atomic_load_n(&l->cnts, __ATOMIC_RELAXED);
}

static inline void rwlock_set_owner(rwlock_t *l, uint32_t owner)
{
#ifdef DEBUG
	WRITE_ONCE(l->owner_cpu, owner);
#else
	(void)l;
	(void)owner;
#endif
}

/* A lock of @order in the table of smp/lock_order.h. */
static inline void rwlock_init_order(rwlock_t *l, unsigned int order)
{
	l->cnts = 0;
	spin_lock_init(&l->wait_lock);
	rwlock_set_owner(l, 0);
#ifdef LOCK_ORDER_CHECK
	l->order = order;
#else
	(void)order;
#endif
}

static inline void rwlock_init(rwlock_t *l)
{
	rwlock_init_order(l, LOCK_ORDER_NONE);
}

/*
 * Readers that found a writer: queue on wait_lock, then count ourselves in and
 * wait only for the holding writer to leave.  While we hold wait_lock no writer
 * can be between WAITING and LOCKED (that happens under wait_lock too), and our
 * count keeps a newly arriving writer's fast path out.
 */
static inline void rwlock_read_slowpath(rwlock_t *l)
{
	/* Relaxed: backing out of a count that entered nothing. */
	__atomic_fetch_sub(&l->cnts, RWLOCK_READER, __ATOMIC_RELAXED);
	spin_lock(&l->wait_lock);
	__atomic_fetch_add(&l->cnts, RWLOCK_READER, __ATOMIC_RELAXED);
	/* Acquire pairs with the release in write_unlock(). */
	while (__atomic_load_n(&l->cnts, __ATOMIC_ACQUIRE) & RWLOCK_WLOCKED)
		cpu_relax();
	spin_unlock(&l->wait_lock);
}

/** read_lock - take @l shared; waits while a writer holds or waits for it. */
static inline void read_lock(rwlock_t *l)
{
	uint32_t c;

	lock_order_acquire(rwlock_order(l), false);
	/* Acquire pairs with the release in write_unlock(). */
	c = __atomic_add_fetch(&l->cnts, RWLOCK_READER, __ATOMIC_ACQUIRE);

	if (__builtin_expect(c & RWLOCK_WMASK, 0))
		rwlock_read_slowpath(l);
}

/** read_trylock - take @l shared if no writer holds or waits for it. */
static inline bool read_trylock(rwlock_t *l)
{
	uint32_t c = rwlock_cnts(l);

	/* Retry only while readers alone move the count; acquire as in read_lock(). */
	while (!(c & RWLOCK_WMASK)) {
		if (__atomic_compare_exchange_n(&l->cnts, &c, c + RWLOCK_READER, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			lock_order_acquire(rwlock_order(l), true);
			return true;
		}
	}
	return false;
}

/** read_unlock - drop a shared hold of @l. */
static inline void read_unlock(rwlock_t *l)
{
	uint32_t old;

	lock_order_release(rwlock_order(l));
	/* Release pairs with the acquire cmpxchg that takes the lock in write_lock(). */
	old = __atomic_fetch_sub(&l->cnts, RWLOCK_READER, __ATOMIC_RELEASE);

	ASSERT(old >= RWLOCK_READER);
	(void)old;
}

/*
 * Writers that found the lock busy: as head of the queue, announce WAITING so
 * no new reader enters, then wait for the readers (and a holding writer) to
 * leave and turn WAITING into LOCKED.
 */
static inline void rwlock_write_slowpath(rwlock_t *l)
{
	uint32_t c;

	spin_lock(&l->wait_lock);
	c = 0;
	/* Acquire pairs with the release in read_unlock()/write_unlock(). */
	if (!__atomic_compare_exchange_n(&l->cnts, &c, RWLOCK_WLOCKED, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		__atomic_fetch_or(&l->cnts, RWLOCK_WWAITING, __ATOMIC_RELAXED);
		do {
			while ((c = rwlock_cnts(l)) != RWLOCK_WWAITING)
				cpu_relax();
			/* Acquire pairs with the release in read_unlock()/write_unlock(). */
		} while (!__atomic_compare_exchange_n(&l->cnts, &c, RWLOCK_WLOCKED, false,
						      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED));
	}
	spin_unlock(&l->wait_lock);
}

/** write_lock - take @l exclusive. */
static inline void write_lock(rwlock_t *l)
{
	uint32_t c = 0;

	lock_order_acquire(rwlock_order(l), false);
	/* Acquire pairs with the release in read_unlock()/write_unlock(). */
	if (!__atomic_compare_exchange_n(&l->cnts, &c, RWLOCK_WLOCKED, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		rwlock_write_slowpath(l);
	rwlock_set_owner(l, smp_processor_id() + 1);
}

/** write_trylock - take @l exclusive if nobody holds or waits for it. */
static inline bool write_trylock(rwlock_t *l)
{
	uint32_t c = 0;

	/* Acquire pairs with the release in read_unlock()/write_unlock(). */
	if (!__atomic_compare_exchange_n(&l->cnts, &c, RWLOCK_WLOCKED, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return false;
	lock_order_acquire(rwlock_order(l), true);
	rwlock_set_owner(l, smp_processor_id() + 1);
	return true;
}

/** rwlock_held_write - @l is held for write, by this CPU where DEBUG tracks it. */
static inline bool rwlock_held_write(const rwlock_t *l)
{
	if (!(rwlock_cnts(l) & RWLOCK_WLOCKED))
		return false;
#ifdef DEBUG
	return READ_ONCE(l->owner_cpu) == smp_processor_id() + 1;
#else
	return true;
#endif
}

/*
 * rwlock_held_read - some CPU holds @l for read.  Readers are not tracked per
 * CPU, so this is necessary, not sufficient, for "this CPU holds it".
 */
static inline bool rwlock_held_read(const rwlock_t *l)
{
	return rwlock_cnts(l) >= RWLOCK_READER;
}

/** write_unlock - drop the exclusive hold of @l. */
static inline void write_unlock(rwlock_t *l)
{
	ASSERT(rwlock_held_write(l));
	rwlock_set_owner(l, 0);
	lock_order_release(rwlock_order(l));
	/*
	 * Release pairs with the acquire in read_lock()/rwlock_read_slowpath()/
	 * read_trylock() and the acquire cmpxchg of the next writer.  Subtract,
	 * not store: a queued writer may have set WAITING meanwhile.
	 */
	__atomic_fetch_sub(&l->cnts, RWLOCK_WLOCKED, __ATOMIC_RELEASE);
}

/*
 * rwlock_is_contended - another CPU waits for @l (the slow-path queue is not
 * empty).  Meant for the holder: a long zap polls it to decide to yield.
 */
static inline bool rwlock_is_contended(rwlock_t *l)
{
	return spin_is_locked(&l->wait_lock);
}

/** rwlock_needbreak - the holder of @l should yield it soon; see rwlock_is_contended(). */
static inline bool rwlock_needbreak(rwlock_t *l)
{
	return rwlock_is_contended(l);
}

/*
 * rwlock_cond_yield_write - if others wait, drop the write hold of @l and take
 * it again behind them.  Returns true if it yielded: whatever the caller read
 * under the lock may have changed.  Re-entering through the queue, not the fast
 * path, is what guarantees the waiters that made us yield get in first.
 */
static inline bool rwlock_cond_yield_write(rwlock_t *l)
{
	if (!rwlock_needbreak(l))
		return false;
	write_unlock(l);
	cpu_relax();
	lock_order_acquire(rwlock_order(l), false);
	rwlock_write_slowpath(l);
	rwlock_set_owner(l, smp_processor_id() + 1);
	return true;
}

/*
 * rwlock_cond_yield_read - if a writer waits, drop the read hold of @l and
 * take it again after the writer.  Returns true if it yielded.
 */
static inline bool rwlock_cond_yield_read(rwlock_t *l)
{
	if (!rwlock_needbreak(l))
		return false;
	read_unlock(l);
	cpu_relax();
	read_lock(l);
	return true;
}

static inline bool rwlock_held(const rwlock_t *l)
{
	return rwlock_held_write(l) || rwlock_held_read(l);
}

#endif
