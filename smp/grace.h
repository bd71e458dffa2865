/* SPDX-License-Identifier: MIT */
/*
 * Grace periods (RCU-like, epoch based) for lockless walkers of EPT tables and
 * rmaps.  A reader brackets its walk with grace_read_lock()/grace_read_unlock()
 * (nestable, per CPU, never sleeping); an updater unpublishes an object and
 * then either waits with grace_synchronize() or defers the free with
 * grace_call().
 *
 * Quiescent states.  A CPU outside every read section is quiescent at that
 * instant, and it publishes this in its per-CPU word, so grace_synchronize()
 * never waits for a CPU that merely spins on a lock or runs a guest: only for
 * read sections that began before the grace period.  grace_quiescent() is the
 * explicit report the hypervisor makes at VM exit, in the idle loop and in
 * the shell loop: it checks that no section is open and runs the callbacks
 * whose grace period ended.  grace_idle_enter()/grace_idle_exit() bracket a
 * halt (an extended quiescent state: no section may be opened inside).
 *
 * Only CPUs brought online with grace_cpu_online() may open read sections;
 * grace_synchronize() looks at online CPUs only.  Never call
 * grace_synchronize() inside a read section or while holding a lock that a
 * reader may wait for (mmu_lock): it would wait for itself.
 */
#ifndef SMP_GRACE_H
#define SMP_GRACE_H

#include <stdbool.h>
#include <stdint.h>

struct grace_head {
	struct grace_head *next;
	void (*fn)(struct grace_head *h);
	/* The grace period (epoch) that must complete before fn runs. */
	unsigned long gp;
};

/** grace_cpu_online - let @cpu open read sections and make synchronize wait for them. */
void grace_cpu_online(unsigned int cpu);
/** grace_cpu_offline - @cpu opens no more sections (it must hold none). */
void grace_cpu_offline(unsigned int cpu);

/** grace_read_lock - open (or nest) a read section on this CPU. */
void grace_read_lock(void);
/** grace_read_unlock - close the innermost read section on this CPU. */
void grace_read_unlock(void);
/** grace_read_held - this CPU is inside a read section (for assertions). */
bool grace_read_held(void);

/** grace_quiescent - report a quiescent state (no open section) and run expired callbacks. */
void grace_quiescent(void);
/** grace_idle_enter - this CPU halts, waiting for work; no section may be open. */
void grace_idle_enter(void);
/** grace_idle_exit - this CPU runs again. */
void grace_idle_exit(void);

/**
 * grace_synchronize - wait until every read section open on an online CPU at
 * the call has closed.  Objects unpublished before the call may then be freed.
 */
void grace_synchronize(void);

/**
 * grace_call - run @fn(@h) once every read section open at the call has
 * closed.  @h is embedded in the object to free.  Callbacks run from
 * grace_poll() (and so grace_quiescent()) on any CPU, in queueing order.
 */
void grace_call(struct grace_head *h, void (*fn)(struct grace_head *h));

/**
 * grace_poll - never waits: start a grace period if callbacks need one, see
 * whether it ended, and run the callbacks whose grace period ended.
 * Returns how many callbacks it ran.  Not inside a read section.
 */
unsigned int grace_poll(void);

/**
 * grace_barrier - wait for a grace period and run every callback queued before
 * the call (not those the callbacks queue).  Not inside a read section.
 */
void grace_barrier(void);

/** grace_pending - callbacks queued and not yet run (for tests and the shell). */
unsigned long grace_pending(void);

#endif
