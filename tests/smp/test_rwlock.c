/* SPDX-License-Identifier: MIT */
/*
 * Reader-writer lock (smp/rwlock.h) on real threads: exclusion, concurrent
 * readers, no lost updates, writer preference, trylock, contention detection
 * and yielding, and the lockdep assertions (a forked child must abort).
 * Each thread is a CPU of its own (hosted_cpu_id).  The stress loop stops at
 * an iteration cap or a time budget (but only after a minimum of work), so
 * the TSan build on two cores stays fast.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "smp/lockdep.h"
#include "smp/rwlock.h"
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

static void sleep_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

struct worker {
	pthread_t tid;
	unsigned int cpu;
	void *(*fn)(struct worker *w);
	long reads, writes, errors;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	hosted_cpu_id = w->cpu;
	return w->fn(w);
}

static void start(struct worker *w, unsigned int cpu, void *(*fn)(struct worker *w))
{
	*w = (struct worker){ .cpu = cpu, .fn = fn };
	if (pthread_create(&w->tid, NULL, worker_main, w))
		abort();
}

static int load(int *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Yield the host CPU until *p == v or WAIT_S passes. */
static bool wait_eq(int *p, int v)
{
	double end = now() + WAIT_S;

	while (load(p) != v) {
		if (now() > end)
			return false;
		sched_yield();
	}
	return true;
}

static bool wait_contended(rwlock_t *l)
{
	double end = now() + WAIT_S;

	while (!rwlock_is_contended(l)) {
		if (now() > end)
			return false;
		sched_yield();
	}
	return true;
}

static rwlock_t lock = RWLOCK_INIT;
static int readers_in, writers_in;	/* occupancy, atomic */
static int max_readers;
/* Protected by lock (write); plain so a broken lock loses updates. */
static unsigned long counter;
static double deadline;

static bool keep_going(long done)
{
	return done < MAX_ITERS && (done < MIN_ITERS || now() < deadline);
}

TEST(rwlock_trylock_semantics)
{
	rwlock_init(&lock);
	CHECK(!rwlock_held_read(&lock) && !rwlock_held_write(&lock));

	CHECK(read_trylock(&lock));
	CHECK(read_trylock(&lock));		/* shared */
	CHECK(rwlock_held_read(&lock));
	CHECK(!write_trylock(&lock));
	read_unlock(&lock);
	CHECK(!write_trylock(&lock));		/* one reader left */
	read_unlock(&lock);
	CHECK(!rwlock_held_read(&lock));

	CHECK(write_trylock(&lock));
	CHECK(rwlock_held_write(&lock));
	CHECK(!read_trylock(&lock));
	CHECK(!write_trylock(&lock));
	write_unlock(&lock);
	CHECK(!rwlock_held_write(&lock));

	write_lock(&lock);
	CHECK(!read_trylock(&lock));
	write_unlock(&lock);
	read_lock(&lock);
	CHECK(!write_trylock(&lock));
	CHECK(read_trylock(&lock));
	read_unlock(&lock);
	read_unlock(&lock);
	CHECK(write_trylock(&lock));
	write_unlock(&lock);
}

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void write_side(struct worker *w)
{
	if (__atomic_add_fetch(&writers_in, 1, __ATOMIC_RELAXED) != 1 ||
	    __atomic_load_n(&readers_in, __ATOMIC_RELAXED) != 0)
		w->errors++;
	unsigned long v = counter;

	/* Widen the read-modify-write window so a broken lock shows. */
	for (int i = 0; i < 4; i++)
		cpu_relax();
	counter = v + 1;
	__atomic_sub_fetch(&writers_in, 1, __ATOMIC_RELAXED);
	w->writes++;
}

static void read_side(struct worker *w, unsigned long *last)
{
	int r = __atomic_add_fetch(&readers_in, 1, __ATOMIC_RELAXED);
	int m = __atomic_load_n(&max_readers, __ATOMIC_RELAXED);

	while (r > m && !__atomic_compare_exchange_n(&max_readers, &m, r, false,
						     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	if (__atomic_load_n(&writers_in, __ATOMIC_RELAXED) != 0)
		w->errors++;
	/* Writers only count up, and the lock orders their updates before us. */
	if (counter < *last)
		w->errors++;
	*last = counter;
	__atomic_sub_fetch(&readers_in, 1, __ATOMIC_RELAXED);
	w->reads++;
}

/* One in four operations writes; one in eight goes through a trylock. */
static void *mixed_worker(struct worker *w)
{
	uint32_t seed = 0x9e3779b9u * w->cpu;
	unsigned long last = 0;

	for (long i = 0; keep_going(i); i++) {
		uint32_t r = xorshift(&seed);
		bool try = (r >> 8) % 8 == 0;

		if (r % 4 == 0) {
			if (try) {
				if (!write_trylock(&lock))
					continue;
			} else {
				write_lock(&lock);
			}
			lockdep_assert_held_write(&lock);
			write_side(w);
			write_unlock(&lock);
		} else {
			if (try) {
				if (!read_trylock(&lock))
					continue;
			} else {
				read_lock(&lock);
			}
			lockdep_assert_held_read(&lock);
			read_side(w, &last);
			read_unlock(&lock);
		}
	}
	return NULL;
}

TEST(rwlock_writer_excludes_all_and_loses_no_update)
{
	struct worker w[NTHREADS];
	long reads = 0, writes = 0, errors = 0;

	rwlock_init(&lock);
	counter = 0;
	readers_in = writers_in = max_readers = 0;
	deadline = now() + BUDGET_S;
	for (int i = 0; i < NTHREADS; i++)
		start(&w[i], i + 1, mixed_worker);
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(w[i].tid, NULL);
		reads += w[i].reads;
		writes += w[i].writes;
		errors += w[i].errors;
	}
	CHECK_EQ(errors, 0);
	CHECK_EQ(counter, writes);
	CHECK(writes > 0 && reads > 0);
	CHECK(!rwlock_held_read(&lock) && !rwlock_held_write(&lock));
	CHECK(!rwlock_is_contended(&lock));
}

/* Hold the read lock until another reader is seen inside, or time runs out. */
static void *overlap_reader(struct worker *w)
{
	read_lock(&lock);
	int r = __atomic_add_fetch(&readers_in, 1, __ATOMIC_RELAXED);
	int m = __atomic_load_n(&max_readers, __ATOMIC_RELAXED);

	while (r > m && !__atomic_compare_exchange_n(&max_readers, &m, r, false,
						     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	while (__atomic_load_n(&max_readers, __ATOMIC_RELAXED) < 2 && now() < deadline)
		sched_yield();
	__atomic_sub_fetch(&readers_in, 1, __ATOMIC_RELAXED);
	read_unlock(&lock);
	w->reads++;
	return NULL;
}

TEST(rwlock_readers_run_concurrently)
{
	struct worker w[4];

	rwlock_init(&lock);
	readers_in = max_readers = 0;
	deadline = now() + WAIT_S;
	for (int i = 0; i < 4; i++)
		start(&w[i], i + 1, overlap_reader);
	for (int i = 0; i < 4; i++)
		pthread_join(w[i].tid, NULL);
	CHECK(max_readers >= 2);
}

static int seq;		/* order in which threads got the lock */
static int entered;	/* set by a thread once it holds the lock */

static void *seq_writer(struct worker *w)
{
	write_lock(&lock);
	w->writes = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&entered, 1, __ATOMIC_RELEASE);
	write_unlock(&lock);
	return NULL;
}

static void *seq_reader(struct worker *w)
{
	read_lock(&lock);
	w->reads = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&entered, 1, __ATOMIC_RELEASE);
	read_unlock(&lock);
	return NULL;
}

/* Wait until a writer is visibly queued: read_trylock starts failing. */
static bool wait_writer_waiting(void)
{
	double end = now() + WAIT_S;

	while (read_trylock(&lock)) {
		read_unlock(&lock);
		if (now() > end)
			return false;
		sched_yield();
	}
	return true;
}

TEST(rwlock_reader_enters_beside_reader)
{
	struct worker r;

	rwlock_init(&lock);
	entered = 0;
	read_lock(&lock);
	start(&r, 1, seq_reader);
	bool in = wait_eq(&entered, 1);

	read_unlock(&lock);
	pthread_join(r.tid, NULL);
	CHECK(in);
}

TEST(rwlock_waiting_writer_blocks_new_readers)
{
	struct worker wr, rd;
	bool queued, quiet, contended;

	rwlock_init(&lock);
	seq = 0;
	read_lock(&lock);
	start(&wr, 1, seq_writer);
	queued = wait_writer_waiting();
	contended = rwlock_is_contended(&lock);
	start(&rd, 2, seq_reader);
	/* A reader-preferring lock would let rd in beside us right away. */
	sleep_ms(50);
	quiet = load(&seq) == 0;
	read_unlock(&lock);
	pthread_join(wr.tid, NULL);
	pthread_join(rd.tid, NULL);
	CHECK(queued);
	CHECK(contended);
	CHECK(quiet);
	CHECK_EQ(wr.writes, 1);
	CHECK_EQ(rd.reads, 2);
}

TEST(rwlock_contention_detected)
{
	struct worker t;
	bool seen, needbreak, early;

	rwlock_init(&lock);
	entered = 0;
	write_lock(&lock);
	CHECK(!rwlock_is_contended(&lock) && !rwlock_needbreak(&lock));
	start(&t, 1, seq_reader);
	seen = wait_contended(&lock);
	needbreak = rwlock_needbreak(&lock);
	early = load(&entered);
	write_unlock(&lock);
	pthread_join(t.tid, NULL);
	CHECK(seen && needbreak);
	CHECK(!early);
	CHECK(!rwlock_is_contended(&lock));

	entered = 0;
	read_lock(&lock);
	CHECK(!rwlock_is_contended(&lock));
	start(&t, 1, seq_writer);
	seen = wait_contended(&lock);
	early = load(&entered);
	read_unlock(&lock);
	pthread_join(t.tid, NULL);
	CHECK(seen);
	CHECK(!early);
	CHECK(!rwlock_is_contended(&lock));
}

/*
 * The yield must let the waiter that made us yield in before we are back:
 * a queued reader, then a queued writer.
 */
TEST(rwlock_cond_yield_write_lets_waiters_in)
{
	struct worker t;
	bool seen, yielded, in;

	rwlock_init(&lock);
	write_lock(&lock);
	CHECK(!rwlock_cond_yield_write(&lock));	/* nobody waits */
	CHECK(rwlock_held_write(&lock));

	for (int pass = 0; pass < 2; pass++) {
		entered = 0;
		start(&t, 1, pass ? seq_writer : seq_reader);
		seen = wait_contended(&lock);
		yielded = rwlock_cond_yield_write(&lock);
		in = load(&entered);
		if (!seen) {
			write_unlock(&lock);
			pthread_join(t.tid, NULL);
		}
		CHECK(seen);
		CHECK(yielded);
		CHECK(in);
		CHECK(rwlock_held_write(&lock));
		pthread_join(t.tid, NULL);
	}
	write_unlock(&lock);
}

TEST(rwlock_cond_yield_read_lets_writer_in)
{
	struct worker t;
	bool queued, yielded, in;

	rwlock_init(&lock);
	entered = 0;
	read_lock(&lock);
	CHECK(!rwlock_cond_yield_read(&lock));	/* nobody waits */
	start(&t, 1, seq_writer);
	queued = wait_writer_waiting();
	yielded = rwlock_cond_yield_read(&lock);
	in = load(&entered);
	read_unlock(&lock);
	pthread_join(t.tid, NULL);
	CHECK(queued);
	CHECK(yielded);
	CHECK(in);
}

TEST(lockdep_held_write_tracks_owner_cpu)
{
	rwlock_init(&lock);
	hosted_cpu_id = 3;
	write_lock(&lock);
	lockdep_assert_held_write(&lock);
	lockdep_assert_held(&lock);
	CHECK(rwlock_held_write(&lock));
	hosted_cpu_id = 4;
	bool other = rwlock_held_write(&lock);

	hosted_cpu_id = 3;
	write_unlock(&lock);
	hosted_cpu_id = 0;
	CHECK(!other);
	CHECK(!rwlock_held_write(&lock));

	read_lock(&lock);
	lockdep_assert_held_read(&lock);
	lockdep_assert_held(&lock);
	CHECK(!rwlock_held_write(&lock));
	read_unlock(&lock);
}

/* What a forked child does to the lock; each must abort except CHILD_OK. */
enum child_case {
	CHILD_OK,		/* asserts on locks it holds: must exit 0 */
	WRITE_UNHELD,
	READ_UNHELD,
	EITHER_UNHELD,
	WRITE_OTHER_CPU,	/* lock write-held by another CPU */
	READ_WHILE_WRITE_HELD,
	WRITE_UNLOCK_OTHER_CPU,
	READ_UNLOCK_UNHELD,
};

static void child_body(enum child_case c)
{
	rwlock_t l = RWLOCK_INIT;

	hosted_cpu_id = 1;
	switch (c) {
	case CHILD_OK:
		write_lock(&l);
		lockdep_assert_held_write(&l);
		lockdep_assert_held(&l);
		write_unlock(&l);
		read_lock(&l);
		lockdep_assert_held_read(&l);
		lockdep_assert_held(&l);
		read_unlock(&l);
		break;
	case WRITE_UNHELD:
		lockdep_assert_held_write(&l);
		break;
	case READ_UNHELD:
		lockdep_assert_held_read(&l);
		break;
	case EITHER_UNHELD:
		lockdep_assert_held(&l);
		break;
	case WRITE_OTHER_CPU:
		write_lock(&l);
		hosted_cpu_id = 2;
		lockdep_assert_held_write(&l);
		break;
	case READ_WHILE_WRITE_HELD:
		write_lock(&l);
		lockdep_assert_held_read(&l);
		break;
	case WRITE_UNLOCK_OTHER_CPU:
		write_lock(&l);
		hosted_cpu_id = 2;
		write_unlock(&l);
		break;
	case READ_UNLOCK_UNHELD:
		read_unlock(&l);
		break;
	}
}

/* Run child_body(c) in a child; return its wait status. */
static int run_child(enum child_case c)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		int null = open("/dev/null", O_WRONLY);

		setrlimit(RLIMIT_CORE, &no_core);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		child_body(c);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

static bool aborted(int status)
{
	return status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

TEST(lockdep_assert_on_unheld_lock_aborts)
{
	int st = run_child(CHILD_OK);

	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(aborted(run_child(WRITE_UNHELD)));
	CHECK(aborted(run_child(READ_UNHELD)));
	CHECK(aborted(run_child(EITHER_UNHELD)));
	CHECK(aborted(run_child(WRITE_OTHER_CPU)));
	CHECK(aborted(run_child(READ_WHILE_WRITE_HELD)));
	CHECK(aborted(run_child(WRITE_UNLOCK_OTHER_CPU)));
	CHECK(aborted(run_child(READ_UNLOCK_UNHELD)));
}
