/* SPDX-License-Identifier: MIT */
/*
 * Ticket spinlock (smp/spinlock.h) on real threads: mutual exclusion under
 * contention, trylock, and FIFO hand-over.  Each thread is a CPU of its own
 * (hosted_cpu_id).  The stress loop stops at an iteration cap or a time budget
 * (but only after a minimum of work), so the TSan build on two cores stays fast.
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "smp/cpu.h"
#include "smp/spinlock.h"
#include "tests/host/test.h"

#define NTHREADS	8
#define MAX_ITERS	20000
#define MIN_ITERS	100	/* per thread, even past the budget */
#define BUDGET_S	1.0
#define WAIT_S		5.0

/* A broken lock hangs rather than fails: turn a hang into a failure. */
__attribute__((constructor)) static void watchdog(void)
{
	alarm(60);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct worker {
	pthread_t tid;
	unsigned int cpu;
	void *(*fn)(struct worker *w);
	long done;	/* iterations this thread completed */
	int order;	/* when it got the lock, for the FIFO test */
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	hosted_cpu_id = w->cpu;
	return w->fn(w);
}

static void start(struct worker *w, unsigned int cpu, void *(*fn)(struct worker *w))
{
	w->cpu = cpu;
	w->fn = fn;
	w->done = 0;
	w->order = 0;
	if (pthread_create(&w->tid, NULL, worker_main, w))
		abort();
}

static spinlock_t lock = SPINLOCK_INIT;
/* Protected by lock; deliberately plain so a broken lock loses updates. */
static unsigned long counter;
static int inside;
static int violations;
static double deadline;

static bool keep_going(long done)
{
	return done < MAX_ITERS && (done < MIN_ITERS || now() < deadline);
}

/* Tickets out beyond the one being served: the holder plus its waiters. */
static uint32_t queued(void)
{
	return __atomic_load_n(&lock.next, __ATOMIC_RELAXED) -
	       __atomic_load_n(&lock.owner, __ATOMIC_RELAXED);
}

static void *excl_worker(struct worker *w)
{
	while (keep_going(w->done)) {
		/*
		 * Queue only behind at most one waiter: a ticket lock hands over
		 * in order, and with more threads than host CPUs a long queue
		 * waits a host timeslice for every descheduled ticket holder.
		 * Bounded, so a broken lock that never drains fails, not hangs.
		 */
		for (int n = 0; n < 1000 && queued() > 1; n++)
			sched_yield();
		spin_lock(&lock);
		if (__atomic_exchange_n(&inside, 1, __ATOMIC_RELAXED))
			__atomic_add_fetch(&violations, 1, __ATOMIC_RELAXED);
		unsigned long v = counter;

		/* Widen the read-modify-write window so a broken lock shows. */
		for (int i = 0; i < 4; i++)
			cpu_relax();
		counter = v + 1;
		__atomic_store_n(&inside, 0, __ATOMIC_RELAXED);
		spin_unlock(&lock);
		w->done++;
	}
	return NULL;
}

TEST(spinlock_excludes_and_loses_no_update)
{
	struct worker w[NTHREADS];
	long total = 0;

	spin_lock_init(&lock);
	counter = 0;
	violations = 0;
	deadline = now() + BUDGET_S;
	for (int i = 0; i < NTHREADS; i++)
		start(&w[i], i + 1, excl_worker);
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(w[i].tid, NULL);
		total += w[i].done;
	}
	CHECK_EQ(violations, 0);
	CHECK_EQ(counter, total);
	CHECK(total >= NTHREADS * MIN_ITERS);
	CHECK(!spin_is_locked(&lock));
}

static int other_result;

static void *trylock_other(struct worker *w)
{
	(void)w;
	__atomic_store_n(&other_result, spin_trylock(&lock) ? 1 : 2, __ATOMIC_RELEASE);
	return NULL;
}

TEST(spinlock_trylock_fails_only_while_held)
{
	struct worker w;

	spin_lock_init(&lock);
	CHECK(!spin_is_locked(&lock));
	CHECK(spin_trylock(&lock));
	CHECK(spin_is_locked(&lock));
	CHECK(!spin_trylock(&lock));

	other_result = 0;
	start(&w, 1, trylock_other);
	pthread_join(w.tid, NULL);
	CHECK_EQ(other_result, 2);

	spin_unlock(&lock);
	CHECK(!spin_is_locked(&lock));
	other_result = 0;
	start(&w, 1, trylock_other);
	pthread_join(w.tid, NULL);
	CHECK_EQ(other_result, 1);
	CHECK(spin_is_locked(&lock));
	spin_unlock(&lock);

	spin_lock(&lock);
	CHECK(!spin_trylock(&lock));
	spin_unlock(&lock);
	CHECK(!spin_is_locked(&lock));
}

static int fifo_seq;

static void *fifo_worker(struct worker *w)
{
	spin_lock(&lock);
	w->order = __atomic_add_fetch(&fifo_seq, 1, __ATOMIC_RELAXED);
	spin_unlock(&lock);
	return NULL;
}

/* Wait until n tickets are out: the thread started last is queued. */
static bool wait_tickets(uint32_t n)
{
	double end = now() + WAIT_S;

	while (__atomic_load_n(&lock.next, __ATOMIC_RELAXED) != n) {
		if (now() > end)
			return false;
		sched_yield();
	}
	return true;
}

TEST(spinlock_serves_waiters_in_arrival_order)
{
	struct worker w[4];

	spin_lock_init(&lock);
	fifo_seq = 0;
	spin_lock(&lock);
	/* Queue the threads one by one, so arrival order is known. */
	for (int i = 0; i < 4; i++) {
		start(&w[i], i + 1, fifo_worker);
		CHECK(wait_tickets(i + 2));
	}
	CHECK_EQ(__atomic_load_n(&fifo_seq, __ATOMIC_RELAXED), 0);
	spin_unlock(&lock);
	for (int i = 0; i < 4; i++)
		pthread_join(w[i].tid, NULL);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(w[i].order, i + 1);
}
