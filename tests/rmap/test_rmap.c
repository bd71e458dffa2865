/* SPDX-License-Identifier: MIT */
/*
 * rmap/rmap.c: head encoding across the empty -> single -> many -> single ->
 * empty transitions, descriptor accounting, the iterators, and the bit lock
 * semantics of DESIGN "MMU contract" 5 (read-only lock on an empty head locks
 * nothing, its unlock writes the old value back, it keeps modifiers out).
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rmap/rmap.h"
#include "tests/host/test.h"

#define NSPTES	64

static uint64_t sptes[NSPTES];
static rwlock_t mmu_lock = RWLOCK_INIT;

/* A counting descriptor allocator; frees are immediate here (no walkers). */
static long nr_alloc, nr_free;
static bool fail_alloc;

static struct rmap_desc *test_alloc(void *priv)
{
	(void)priv;
	if (fail_alloc)
		return NULL;
	__atomic_add_fetch(&nr_alloc, 1, __ATOMIC_RELAXED);
	return aligned_alloc(64, sizeof(struct rmap_desc));
}

static void test_free(void *priv, struct rmap_desc *d)
{
	(void)priv;
	__atomic_add_fetch(&nr_free, 1, __ATOMIC_RELAXED);
	memset(d, 0x5a, sizeof(*d));
	free(d);
}

static const struct rmap_ops ops = { test_alloc, test_free, NULL };

/* A broken bit lock can corrupt a chain into a loop. */
TEST_WATCHDOG(10);

static void reset(void)
{
	nr_alloc = nr_free = 0;
	fail_alloc = false;
	for (int i = 0; i < NSPTES; i++)
		sptes[i] = RMAP_SPTE_PRESENT_MASK | ((uint64_t)i << 12);
}

static bool add(struct rmap_head *h, int i)
{
	bool ok;

	write_lock(&mmu_lock);
	ok = rmap_add(&ops, &mmu_lock, h, &sptes[i]);
	write_unlock(&mmu_lock);
	return ok;
}

static void del(struct rmap_head *h, int i)
{
	write_lock(&mmu_lock);
	rmap_remove(&ops, &mmu_lock, h, &sptes[i]);
	write_unlock(&mmu_lock);
}

/*
 * The chain holds exactly the entries flagged in @want, each once; every
 * descriptor after the first is full and tail_count adds up.
 */
static bool chain_is(struct rmap_head *h, const bool want[NSPTES])
{
	int seen[NSPTES] = { 0 };
	struct rmap_iter it;
	uint64_t *sptep;
	unsigned int n = 0, expect = 0;
	unsigned long val = h->val;

	write_lock(&mmu_lock);
	rmap_for_each(&mmu_lock, h, &it, sptep) {
		long i = sptep - sptes;

		if (i < 0 || i >= NSPTES || seen[i]++)
			goto bad;
		n++;
	}
	if (n != rmap_count(&mmu_lock, h))
		goto bad;
	if (val & RMAP_MANY) {
		struct rmap_desc *d = rmap_val_desc(val);

		if (n < 2)
			goto bad;	/* one entry must live in the head word */
		for (; d; d = d->more) {
			unsigned int tail = 0;

			for (struct rmap_desc *t = d->more; t; t = t->more)
				tail += t->count;
			if (d->tail_count != tail || !d->count ||
			    (d != rmap_val_desc(val) && d->count != RMAP_DESC_ENTRIES))
				goto bad;
		}
	}
	write_unlock(&mmu_lock);
	for (int i = 0; i < NSPTES; i++) {
		if (seen[i] != want[i])
			return false;
		expect += want[i];
	}
	return n == expect;
bad:
	write_unlock(&mmu_lock);
	return false;
}

TEST(add_remove_single_many_single_empty)
{
	struct rmap_head h = { 0 };
	bool want[NSPTES] = { 0 };

	reset();
	CHECK(add(&h, 3));
	CHECK_EQ(h.val, (unsigned long)&sptes[3]);
	want[3] = true;
	CHECK(chain_is(&h, want));
	CHECK_EQ(nr_alloc, 0);

	CHECK(add(&h, 5));
	CHECK(h.val & RMAP_MANY);
	CHECK(!(h.val & RMAP_LOCKED));
	CHECK_EQ(nr_alloc, 1);
	want[5] = true;
	CHECK(chain_is(&h, want));

	del(&h, 3);
	want[3] = false;
	CHECK_EQ(h.val, (unsigned long)&sptes[5]);
	CHECK_EQ(nr_free, 1);
	CHECK(chain_is(&h, want));

	del(&h, 5);
	CHECK_EQ(h.val, 0);
	CHECK_EQ(nr_alloc, nr_free);
}

/* Many descriptors, removals in a scrambled order, back down to empty. */
TEST(add_remove_across_descriptors)
{
	struct rmap_head h = { 0 };
	bool want[NSPTES] = { 0 };
	const int n = 4 * RMAP_DESC_ENTRIES + 3;

	reset();
	for (int i = 0; i < n; i++) {
		CHECK(add(&h, i));
		want[i] = true;
		CHECK(chain_is(&h, want));
	}
	/* Descriptors hold all the entries, only the first one partly filled. */
	CHECK_EQ(nr_alloc, (n + RMAP_DESC_ENTRIES - 1) / RMAP_DESC_ENTRIES);
	for (int k = 0; k < n - 1; k++) {
		int i = (k * 7) % n;	/* 7 is prime to n = 27 */

		del(&h, i);
		want[i] = false;
		CHECK(chain_is(&h, want));
	}
	CHECK(!(h.val & RMAP_MANY));
	CHECK(h.val);
	CHECK_EQ(nr_alloc, nr_free);
	del(&h, (int)((uint64_t *)h.val - sptes));
	CHECK_EQ(h.val, 0);
}

TEST(add_fails_cleanly_without_a_descriptor)
{
	struct rmap_head h = { 0 };
	bool want[NSPTES] = { 0 };

	reset();
	CHECK(add(&h, 1));
	fail_alloc = true;
	CHECK(!add(&h, 2));
	CHECK_EQ(h.val, (unsigned long)&sptes[1]);
	fail_alloc = false;
	for (int i = 2; i < 2 + RMAP_DESC_ENTRIES - 1; i++)
		CHECK(add(&h, i));
	fail_alloc = true;	/* the head descriptor is full now */
	unsigned long before = h.val;
	CHECK(!add(&h, 40));
	CHECK_EQ(h.val, before);
	for (int i = 1; i < 2 + RMAP_DESC_ENTRIES - 1; i++)
		want[i] = true;
	CHECK(chain_is(&h, want));
	fail_alloc = false;
	for (int i = 1; i < 2 + RMAP_DESC_ENTRIES - 1; i++)
		del(&h, i);
	CHECK_EQ(h.val, 0);
	CHECK_EQ(nr_alloc, nr_free);
}

TEST(readonly_lock_on_empty_head_returns_zero_and_locks_nothing)
{
	struct rmap_head h = { 0 };

	CHECK_EQ(rmap_lock_readonly(&h), 0);
	CHECK_EQ(h.val, 0);
	/* Nothing was locked: a second one does not spin either. */
	CHECK_EQ(rmap_lock_readonly(&h), 0);
	rmap_unlock_readonly(&h, 0);
	CHECK_EQ(h.val, 0);
}

TEST(empty_to_one_under_readonly_lock_is_harmless)
{
	struct rmap_head h = { 0 };
	unsigned long old;

	reset();
	old = rmap_lock_readonly(&h);
	CHECK_EQ(old, 0);
	CHECK(add(&h, 7));	/* must not spin: nothing is locked */
	rmap_unlock_readonly(&h, old);
	CHECK_EQ(h.val, (unsigned long)&sptes[7]);
	del(&h, 7);
}

TEST(readonly_lock_sets_the_bit_and_unlock_restores_the_old_value)
{
	struct rmap_head h = { 0 };
	unsigned long v, old;

	reset();
	CHECK(add(&h, 1));
	v = h.val;
	old = rmap_lock_readonly(&h);
	CHECK_EQ(old, v);
	CHECK_EQ(h.val, v | RMAP_LOCKED);
	rmap_unlock_readonly(&h, old);
	CHECK_EQ(h.val, v);

	CHECK(add(&h, 2));
	v = h.val;
	CHECK(v & RMAP_MANY);
	old = rmap_lock_readonly(&h);
	CHECK_EQ(old, v);
	CHECK_EQ(h.val, v | RMAP_LOCKED);
	rmap_unlock_readonly(&h, old);
	CHECK_EQ(h.val, v);
	del(&h, 1);
	del(&h, 2);
}

/* ---- the bit lock against a second thread ---- */

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

struct side {
	struct rmap_head *h;
	int started, done;
	unsigned long got;
};

static void *modifier_thread(void *arg)
{
	struct side *s = arg;

	hosted_cpu_id = 1;
	__atomic_store_n(&s->started, 1, __ATOMIC_RELEASE);
	write_lock(&mmu_lock);
	rmap_add(&ops, &mmu_lock, s->h, &sptes[40]);
	rmap_remove(&ops, &mmu_lock, s->h, &sptes[1]);
	write_unlock(&mmu_lock);
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static bool wait_done(struct side *s)
{
	double end = now() + 5.0;

	while (!__atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) {
		if (now() > end)
			return false;
		sched_yield();
	}
	return true;
}

static bool readonly_excludes_modifier(int initial)
{
	struct rmap_head h = { 0 };
	struct side s = { .h = &h };
	bool want[NSPTES] = { 0 };
	unsigned long old, v;
	pthread_t t;
	bool ok = true;

	reset();
	for (int i = 1; i <= initial; i++) {
		add(&h, i);
		want[i] = true;
	}
	v = h.val;
	old = rmap_lock_readonly(&h);
	pthread_create(&t, NULL, modifier_thread, &s);
	while (!__atomic_load_n(&s.started, __ATOMIC_ACQUIRE))
		sched_yield();
	sleep_ms(100);
	/* The modifier spins for the bit; the chain is untouched. */
	ok &= !__atomic_load_n(&s.done, __ATOMIC_ACQUIRE);
	ok &= __atomic_load_n(&h.val, __ATOMIC_RELAXED) == (v | RMAP_LOCKED);
	rmap_unlock_readonly(&h, old);
	ok &= wait_done(&s);
	pthread_join(t, NULL);
	want[40] = true;
	want[1] = false;
	ok &= chain_is(&h, want);
	for (int i = 2; i <= initial; i++)
		del(&h, i);
	del(&h, 40);
	ok &= h.val == 0 && nr_alloc == nr_free;
	return ok;
}

TEST(readonly_lock_on_single_head_excludes_modifiers)
{
	CHECK(readonly_excludes_modifier(1));
}

TEST(readonly_lock_on_many_head_excludes_modifiers)
{
	CHECK(readonly_excludes_modifier(2 * RMAP_DESC_ENTRIES));
}

static void *reader_thread(void *arg)
{
	struct side *s = arg;
	unsigned long old;

	hosted_cpu_id = 2;
	__atomic_store_n(&s->started, 1, __ATOMIC_RELEASE);
	old = rmap_lock_readonly(s->h);
	__atomic_store_n(&s->got, old, __ATOMIC_RELAXED);
	rmap_unlock_readonly(s->h, old);
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* The modifiers' lock keeps walkers out, and they see the chain it published. */
TEST(modifier_lock_excludes_readonly_walkers)
{
	struct rmap_head h = { 0 };
	struct side s = { .h = &h };
	unsigned long old;
	pthread_t t;

	reset();
	CHECK(add(&h, 1));
	write_lock(&mmu_lock);
	old = rmap_lock(&mmu_lock, &h);
	CHECK_EQ(old, (unsigned long)&sptes[1]);
	pthread_create(&t, NULL, reader_thread, &s);
	while (!__atomic_load_n(&s.started, __ATOMIC_ACQUIRE))
		sched_yield();
	sleep_ms(100);
	bool early = __atomic_load_n(&s.done, __ATOMIC_ACQUIRE);
	rmap_unlock(&mmu_lock, &h, (unsigned long)&sptes[2]);
	write_unlock(&mmu_lock);
	CHECK(wait_done(&s));
	pthread_join(t, NULL);
	CHECK(!early);
	CHECK_EQ(s.got, (unsigned long)&sptes[2]);
	CHECK_EQ(h.val, (unsigned long)&sptes[2]);
}

/* A walker that waited for a lock holder who emptied the chain gets 0. */
TEST(readonly_lock_after_the_holder_emptied_the_head_returns_zero)
{
	struct rmap_head h = { 0 };
	struct side s = { .h = &h };
	pthread_t t;

	reset();
	CHECK(add(&h, 1));
	write_lock(&mmu_lock);
	rmap_lock(&mmu_lock, &h);
	pthread_create(&t, NULL, reader_thread, &s);
	while (!__atomic_load_n(&s.started, __ATOMIC_ACQUIRE))
		sched_yield();
	sleep_ms(50);
	rmap_unlock(&mmu_lock, &h, 0);
	write_unlock(&mmu_lock);
	CHECK(wait_done(&s));
	pthread_join(t, NULL);
	CHECK_EQ(s.got, 0);
	CHECK_EQ(h.val, 0);
}

/* A fault's add under mmu_lock for read: the bit alone must order it after the holder's. */
static void *read_locked_adder(void *arg)
{
	struct side *s = arg;

	hosted_cpu_id = 3;
	__atomic_store_n(&s->started, 1, __ATOMIC_RELEASE);
	read_lock(&mmu_lock);
	rmap_add(&ops, &mmu_lock, s->h, &sptes[40]);
	read_unlock(&mmu_lock);
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Two modifiers under mmu_lock for read on an empty head: the first one's empty -> one is seen. */
TEST(modifier_lock_on_empty_head_excludes_other_modifiers)
{
	struct rmap_head h = { 0 };
	struct side s = { .h = &h };
	bool want[NSPTES] = { 0 };
	unsigned long old;
	pthread_t t;
	bool early;

	reset();
	read_lock(&mmu_lock);
	old = rmap_lock(&mmu_lock, &h);
	CHECK_EQ(old, 0);
	CHECK_EQ(h.val, RMAP_LOCKED);
	pthread_create(&t, NULL, read_locked_adder, &s);
	while (!__atomic_load_n(&s.started, __ATOMIC_ACQUIRE))
		sched_yield();
	sleep_ms(100);
	early = __atomic_load_n(&s.done, __ATOMIC_ACQUIRE);
	rmap_unlock(&mmu_lock, &h, (unsigned long)&sptes[1]);
	read_unlock(&mmu_lock);
	CHECK(wait_done(&s));
	pthread_join(t, NULL);
	CHECK(!early);
	want[1] = want[40] = true;
	CHECK(chain_is(&h, want));
	del(&h, 1);
	del(&h, 40);
	CHECK_EQ(h.val, 0);
	CHECK_EQ(nr_alloc, nr_free);
}

/* Faults mapping one page through several gfns: adds and removes under mmu_lock for read. */
#define NCHURN		3
#define CHURN_SPTES	(RMAP_DESC_ENTRIES + 2)

static struct rmap_head churn_head;
static int churn_go;
static long churn_failed;

static void *churner(void *arg)
{
	long id = (long)arg;

	hosted_cpu_id = 4 + id;
	while (!__atomic_load_n(&churn_go, __ATOMIC_ACQUIRE))
		sched_yield();
	for (int round = 0; round < 20000; round++) {
		/* One to all of this thread's entries: the head crosses empty, one and many. */
		int n = 1 + round % CHURN_SPTES;

		read_lock(&mmu_lock);
		for (int i = 0; i < n; i++)
			if (!rmap_add(&ops, &mmu_lock, &churn_head, &sptes[id * CHURN_SPTES + i]))
				__atomic_fetch_add(&churn_failed, 1, __ATOMIC_RELAXED);
		for (int i = 0; i < n; i++)
			rmap_remove(&ops, &mmu_lock, &churn_head, &sptes[id * CHURN_SPTES + i]);
		read_unlock(&mmu_lock);
	}
	return NULL;
}

/* A lost entry makes its remove WARN (which fails the case); a lost descriptor, a leak. */
TEST(modifiers_under_read_lock_lose_nothing)
{
	pthread_t t[NCHURN];
	bool want[NSPTES] = { 0 };

	BUILD_BUG_ON(NCHURN * CHURN_SPTES > NSPTES);
	reset();
	churn_head.val = 0;
	for (long i = 0; i < NCHURN; i++)
		pthread_create(&t[i], NULL, churner, (void *)i);
	__atomic_store_n(&churn_go, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < NCHURN; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(churn_failed, 0);
	CHECK(chain_is(&churn_head, want));
	CHECK_EQ(churn_head.val, 0);
	CHECK_EQ(nr_alloc, nr_free);
}

/* ---- iterators ---- */

TEST(readonly_walk_skips_zapped_entries)
{
	struct rmap_head h = { 0 };
	struct rmap_iter it;
	uint64_t *sptep, spte;
	unsigned long old;
	int n = 0, bad = 0;

	reset();
	for (int i = 0; i < 10; i++)
		CHECK(add(&h, i));
	sptes[3] = 0;					/* zapped, still in the chain */
	sptes[4] = RMAP_SPTE_ACCESSED;			/* not present either */
	old = rmap_lock_readonly(&h);
	rmap_for_each_readonly(&h, old, &it, sptep, spte) {
		n++;
		bad += sptep == &sptes[3] || sptep == &sptes[4] || spte != *sptep;
	}
	rmap_unlock_readonly(&h, old);
	CHECK_EQ(n, 8);
	CHECK_EQ(bad, 0);
	for (int i = 0; i < 10; i++)
		del(&h, i);
	CHECK_EQ(h.val, 0);
}

TEST(readonly_walk_of_empty_head_visits_nothing)
{
	struct rmap_head h = { 0 };
	struct rmap_iter it;
	uint64_t *sptep, spte;
	unsigned long old = rmap_lock_readonly(&h);
	int n = 0;

	rmap_for_each_readonly(&h, old, &it, sptep, spte)
		n++;
	rmap_unlock_readonly(&h, old);
	CHECK_EQ(n, 0);
}

/* ---- the modifiers' lock assertion (DEBUG) ---- */

static bool child_aborts(void (*fn)(void))
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no_core);
		freopen("/dev/null", "w", stderr);
		fn();
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void add_without_mmu_lock(void)
{
	struct rmap_head h = { 0 };

	rmap_add(&ops, &mmu_lock, &h, &sptes[0]);
}

static void remove_under_read_lock(void)
{
	struct rmap_head h = { (unsigned long)&sptes[0] };

	read_lock(&mmu_lock);
	rmap_remove(&ops, &mmu_lock, &h, &sptes[0]);
}

static void walk_under_read_lock(void)
{
	struct rmap_head h = { (unsigned long)&sptes[0] };
	struct rmap_iter it;
	uint64_t *sptep;

	read_lock(&mmu_lock);
	rmap_for_each(&mmu_lock, &h, &it, sptep)
		(void)sptep;
}

static void add_under_write_lock(void)
{
	struct rmap_head h = { 0 };

	write_lock(&mmu_lock);
	rmap_add(&ops, &mmu_lock, &h, &sptes[0]);
	write_unlock(&mmu_lock);
}

/* Modifiers need mmu_lock in either mode (faults add under read); unlocked walks need write. */
TEST(modifiers_assert_mmu_lock_held)
{
	CHECK(child_aborts(add_without_mmu_lock));
	CHECK(!child_aborts(remove_under_read_lock));
	CHECK(!child_aborts(add_under_write_lock));
	CHECK(child_aborts(walk_under_read_lock));
}
