/* SPDX-License-Identifier: MIT */
/*
 * Grace periods, epoch based (see smp/grace.h for the contract).
 *
 * grace_epoch counts grace periods started.  A CPU opening its outermost read
 * section publishes the epoch it read in its ctr word; closing it publishes 0.
 * Grace period gp (started by raising the epoch to gp) has ended once every
 * online CPU was seen, after the start, with ctr == 0 (outside any section)
 * or ctr >= gp (a section opened after the start, which sees whatever was
 * unpublished before it).  The two full barriers make that a store-buffering
 * pair: the reader stores ctr then reads the object, the updater unpublishes
 * then reads ctr; at least one of them sees the other's store.
 */
#include <stddef.h>

#include "smp/grace.h"

#include "lib/check.h"
#include "smp/atomic.h"
#include "smp/cpu.h"
#include "smp/spinlock.h"

struct grace_cpu {
	/*
	 * 0 outside read sections; inside, the epoch read when the outermost
	 * section opened.  Written by the owner CPU only (release stores), read
	 * by grace-period waiters (acquire loads).
	 */
	unsigned long ctr;
	/* Section depth and the idle flag: the owner CPU only. */
	unsigned int nesting;
	bool idle;
} __attribute__((aligned(64)));

static struct grace_cpu grace_cpus[SMP_MAX_CPUS];

/* Bit n set: CPU n is online.  Atomic or/and; read by grace-period waiters. */
static uint64_t grace_online;

/*
 * grace_lock protects the callback queue and orders every raise of
 * grace_epoch after the unpublishing done by the callers of grace_call()
 * before it.  grace_epoch is read locklessly by readers; grace_done (the
 * newest grace period known to have ended) only grows, by cmpxchg.
 */
static spinlock_t grace_lock = SPINLOCK_INIT_ORDER(LOCK_ORDER_GRACE);
static unsigned long grace_epoch = 1;
static unsigned long grace_done = 1;
/* Queued callbacks, oldest first (their gp never decreases along the list). */
static struct grace_head *cb_head;
static struct grace_head **cb_tail = &cb_head;
/* Queued, and detached but still running: written under grace_lock or atomically. */
static unsigned long cb_queued;
static unsigned long cb_running;
/* The gp of the newest queued callback (grace_lock). */
static unsigned long cb_newest_gp;

static struct grace_cpu *this_cpu(void)
{
	return &grace_cpus[smp_processor_id()];
}

void grace_cpu_online(unsigned int cpu)
{
	BUG_ON(cpu >= SMP_MAX_CPUS);
	__atomic_fetch_or(&grace_online, 1ull << cpu, __ATOMIC_SEQ_CST);
	/*
	 * Pairs with smp_mb() in gp_start(): a waiter that did not see our bit
	 * set started before it, so our sections (which open after this
	 * barrier) see what it unpublished.
	 */
	smp_mb();
}

void grace_cpu_offline(unsigned int cpu)
{
	BUG_ON(cpu >= SMP_MAX_CPUS);
	ASSERT(READ_ONCE(grace_cpus[cpu].ctr) == 0);
	__atomic_fetch_and(&grace_online, ~(1ull << cpu), __ATOMIC_SEQ_CST);
}

void grace_read_lock(void)
{
	struct grace_cpu *c = this_cpu();

	if (c->nesting++)
		return;
	ASSERT(READ_ONCE(grace_online) & (1ull << smp_processor_id()));
	ASSERT(!c->idle);
	/*
	 * Release: whatever this CPU did before (its earlier sections) happens
	 * before a waiter's acquire load that reads the new value.
	 */
	store_release(&c->ctr, READ_ONCE(grace_epoch));
	/*
	 * Pairs with smp_mb() in gp_start(): either the waiter reads our ctr
	 * (and waits for this section), or our reads below see what it
	 * unpublished before starting the grace period.
	 */
	smp_mb();
}

void grace_read_unlock(void)
{
	struct grace_cpu *c = this_cpu();

	ASSERT(c->nesting > 0);
	if (--c->nesting)
		return;
	/* Release pairs with the acquire in cpu_passed(): the section's reads come first. */
	store_release(&c->ctr, 0);
}

bool grace_read_held(void)
{
	return this_cpu()->nesting > 0;
}

static bool cpu_passed(unsigned int cpu, unsigned long gp)
{
	unsigned long v = load_acquire(&grace_cpus[cpu].ctr);

	return v == 0 || v >= gp;
}

/* Every online CPU passed a quiescent state since grace period @gp started. */
static bool gp_passed(unsigned long gp, bool wait)
{
	uint64_t mask = READ_ONCE(grace_online);

	while (mask) {
		unsigned int cpu = __builtin_ctzll(mask);

		while (!cpu_passed(cpu, gp)) {
			if (!wait)
				return false;
			cpu_relax();
		}
		mask &= mask - 1;
	}
	return true;
}

static void gp_mark_done(unsigned long gp)
{
	unsigned long d = READ_ONCE(grace_done);

	while (d < gp && !atomic_try_cmpxchg(&grace_done, &d, gp))
		;
}

/* Make sure grace period @gp has started (grace_lock held); returns it. */
static unsigned long gp_start_locked(unsigned long gp)
{
	if (grace_epoch < gp)
		WRITE_ONCE(grace_epoch, gp);
	return gp;
}

static void gp_start(void)
{
	/*
	 * Pairs with smp_mb() in grace_read_lock() and grace_cpu_online(): the
	 * epoch raise (and the unpublishing before it) is ordered before our
	 * reads of the CPUs' ctr words and of the online mask.
	 */
	smp_mb();
}

void grace_synchronize(void)
{
	unsigned long gp;

	ASSERT(!grace_read_held());
	spin_lock(&grace_lock);
	gp = gp_start_locked(grace_epoch + 1);
	spin_unlock(&grace_lock);
	gp_start();
	gp_passed(gp, true);
	gp_mark_done(gp);
}

void grace_call(struct grace_head *h, void (*fn)(struct grace_head *h))
{
	h->fn = fn;
	h->next = NULL;
	spin_lock(&grace_lock);
	/*
	 * The next grace period to start: it starts under grace_lock, so after
	 * the caller unpublished the object.
	 */
	h->gp = grace_epoch + 1;
	cb_newest_gp = h->gp;
	*cb_tail = h;
	cb_tail = &h->next;
	WRITE_ONCE(cb_queued, cb_queued + 1);
	spin_unlock(&grace_lock);
}

/* Detach and run the callbacks whose grace period is known to have ended. */
static unsigned int run_done(void)
{
	struct grace_head *list = NULL, **tail = &list, *h;
	unsigned long done = READ_ONCE(grace_done);
	unsigned int n = 0;

	spin_lock(&grace_lock);
	while (cb_head && cb_head->gp <= done) {
		h = cb_head;
		cb_head = h->next;
		*tail = h;
		tail = &h->next;
		n++;
	}
	if (!cb_head)
		cb_tail = &cb_head;
	WRITE_ONCE(cb_queued, cb_queued - n);
	atomic_add(&cb_running, n);
	spin_unlock(&grace_lock);
	*tail = NULL;

	while (list) {
		h = list;
		list = h->next;
		h->fn(h);
		__atomic_fetch_sub(&cb_running, 1, __ATOMIC_RELEASE);
	}
	return n;
}

unsigned int grace_poll(void)
{
	unsigned long oldest, newest;

	if (!READ_ONCE(cb_queued))
		return 0;
	ASSERT(!grace_read_held());
	spin_lock(&grace_lock);
	if (!cb_head) {
		spin_unlock(&grace_lock);
		return 0;
	}
	oldest = cb_head->gp;
	newest = gp_start_locked(cb_newest_gp);
	spin_unlock(&grace_lock);
	gp_start();
	if (gp_passed(newest, false))
		gp_mark_done(newest);
	else if (oldest < newest && gp_passed(oldest, false))
		gp_mark_done(oldest);
	return run_done();
}

void grace_barrier(void)
{
	grace_synchronize();
	run_done();
	/* Callbacks another CPU detached may still run: wait for them too. */
	while (load_acquire(&cb_running))
		cpu_relax();
}

unsigned long grace_pending(void)
{
	return READ_ONCE(cb_queued) + load_acquire(&cb_running);
}

void grace_quiescent(void)
{
	ASSERT(!grace_read_held());
	grace_poll();
}

void grace_idle_enter(void)
{
	struct grace_cpu *c = this_cpu();

	ASSERT(c->nesting == 0);
	c->idle = true;
	grace_poll();
}

void grace_idle_exit(void)
{
	this_cpu()->idle = false;
}
