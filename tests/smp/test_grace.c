/* SPDX-License-Identifier: MIT */
/*
 * Grace periods (smp/grace.c) on real threads, each thread a CPU of its own:
 * readers never see an object freed under them while writers replace and
 * defer-free it (poison check); grace_synchronize() waits for a nested read
 * section and only for it; idle and quiet CPUs do not block; callbacks wait
 * for sections open at queueing time and run in order.
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "smp/atomic.h"
#include "smp/cpu.h"
#include "smp/grace.h"
#include "tests/host/test.h"

#define LIVE		0x11111111u
#define POISON		0xdeaddeadu
#define NREADERS	3
#define NWRITERS	2
#define BUDGET_S	1.5
#define MAX_REPLACE	200000

__attribute__((constructor)) static void watchdog(void)
{
	alarm(120);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

struct obj {
	struct grace_head gh;
	unsigned int magic;
	struct obj *grave;	/* kept until the test ends, so poison stays readable */
};

static struct obj *shared_obj;
static struct obj *graveyard;
static pthread_mutex_t grave_lock = PTHREAD_MUTEX_INITIALIZER;
static int stop;
static long violations, reads, replaced;

static void bury(struct obj *o)
{
	__atomic_store_n(&o->magic, POISON, __ATOMIC_RELAXED);
	pthread_mutex_lock(&grave_lock);
	o->grave = graveyard;
	graveyard = o;
	pthread_mutex_unlock(&grave_lock);
}

static void obj_free_cb(struct grace_head *h)
{
	bury((struct obj *)h);
}

static struct obj *obj_new(void)
{
	struct obj *o = calloc(1, sizeof(*o));

	o->magic = LIVE;
	return o;
}

struct thr {
	pthread_t tid;
	unsigned int cpu;
	void *(*fn)(struct thr *t);
	long n;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;

	hosted_cpu_id = t->cpu;
	grace_cpu_online(t->cpu);
	t->fn(t);
	grace_cpu_offline(t->cpu);
	return NULL;
}

static void thr_start(struct thr *t, unsigned int cpu, void *(*fn)(struct thr *t))
{
	*t = (struct thr){ .cpu = cpu, .fn = fn };
	if (pthread_create(&t->tid, NULL, thr_main, t))
		abort();
}

static void *reader(struct thr *t)
{
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		grace_read_lock();
		struct obj *o = load_acquire(&shared_obj);

		if (__atomic_load_n(&o->magic, __ATOMIC_RELAXED) != LIVE)
			__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
		/* A nested section, and a second look after some time. */
		grace_read_lock();
		for (int i = 0; i < 50; i++)
			cpu_relax();
		if (__atomic_load_n(&o->magic, __ATOMIC_RELAXED) != LIVE)
			__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
		grace_read_unlock();
		grace_read_unlock();
		if (++t->n % 64 == 0)
			grace_quiescent();
	}
	__atomic_fetch_add(&reads, t->n, __ATOMIC_RELAXED);
	return NULL;
}

/* Writer: replace the object; even CPUs defer the free, odd ones synchronize. */
static void *writer(struct thr *t)
{
	double end = now() + BUDGET_S;

	while (t->n < MAX_REPLACE && now() < end) {
		struct obj *old = atomic_xchg(&shared_obj, obj_new());

		if (t->cpu % 2 == 0) {
			grace_call(&old->gh, obj_free_cb);
			grace_poll();
		} else {
			if (t->n % 8 == 0) {
				grace_synchronize();
				bury(old);
			} else {
				grace_call(&old->gh, obj_free_cb);
			}
		}
		t->n++;
	}
	__atomic_fetch_add(&replaced, t->n, __ATOMIC_RELAXED);
	return NULL;
}

TEST(reader_never_sees_freed_object)
{
	struct thr r[NREADERS], w[NWRITERS];

	hosted_cpu_id = 0;
	grace_cpu_online(0);
	shared_obj = obj_new();
	stop = 0;
	for (int i = 0; i < NREADERS; i++)
		thr_start(&r[i], 1 + i, reader);
	for (int i = 0; i < NWRITERS; i++)
		thr_start(&w[i], 10 + i, writer);
	for (int i = 0; i < NWRITERS; i++)
		pthread_join(w[i].tid, NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < NREADERS; i++)
		pthread_join(r[i].tid, NULL);
	grace_barrier();
	printf("# %ld reads, %ld replacements, %ld violations\n", reads, replaced, violations);
	CHECK_EQ(violations, 0);
	CHECK(replaced > 1000);
	CHECK(reads > 1000);
	CHECK_EQ(grace_pending(), 0);
	/* Every replaced object was poisoned: defer-free really runs. */
	long n = 0;
	for (struct obj *o = graveyard; o; o = o->grave)
		n++;
	CHECK_EQ(n, replaced);
	grace_cpu_offline(0);
}

static int phase;

static void *nested_reader(struct thr *t)
{
	(void)t;
	grace_read_lock();
	grace_read_lock();
	__atomic_store_n(&phase, 1, __ATOMIC_RELEASE);
	sleep_ms(100);
	grace_read_unlock();	/* still inside the outer section */
	sleep_ms(100);
	__atomic_store_n(&phase, 2, __ATOMIC_RELEASE);
	grace_read_unlock();
	return NULL;
}

TEST(synchronize_waits_for_nested_reader)
{
	struct thr r;
	double t0;

	hosted_cpu_id = 0;
	grace_cpu_online(0);
	phase = 0;
	thr_start(&r, 1, nested_reader);
	while (__atomic_load_n(&phase, __ATOMIC_ACQUIRE) != 1)
		sched_yield();
	t0 = now();
	grace_synchronize();
	CHECK_EQ(__atomic_load_n(&phase, __ATOMIC_ACQUIRE), 2);
	CHECK(now() - t0 > 0.15);
	pthread_join(r.tid, NULL);
	grace_cpu_offline(0);
}

static void *idler(struct thr *t)
{
	(void)t;
	grace_idle_enter();
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
		sched_yield();
	grace_idle_exit();
	return NULL;
}

/* Online, never reports anything, never opens a section (spins on a lock, runs a guest). */
static void *busy(struct thr *t)
{
	(void)t;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
		sched_yield();
	return NULL;
}

TEST(idle_and_busy_cpus_do_not_block)
{
	struct thr a, b;
	double t0;

	hosted_cpu_id = 0;
	grace_cpu_online(0);
	stop = 0;
	thr_start(&a, 1, idler);
	thr_start(&b, 2, busy);
	sleep_ms(20);
	t0 = now();
	for (int i = 0; i < 1000; i++)
		grace_synchronize();
	CHECK(now() - t0 < 2.0);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(a.tid, NULL);
	pthread_join(b.tid, NULL);
	grace_cpu_offline(0);
}

static int order[4];
static int norder;

static void order_cb(struct grace_head *h)
{
	order[norder++] = (int)((struct obj *)h)->magic;
}

static void *holder(struct thr *t)
{
	(void)t;
	grace_read_lock();
	__atomic_store_n(&phase, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&phase, __ATOMIC_ACQUIRE) != 2)
		sched_yield();
	grace_read_unlock();
	__atomic_store_n(&phase, 3, __ATOMIC_RELEASE);
	return NULL;
}

TEST(callbacks_wait_for_open_sections_and_run_in_order)
{
	struct obj o[3] = { { .magic = 1 }, { .magic = 2 }, { .magic = 3 } };
	struct thr h;

	hosted_cpu_id = 0;
	grace_cpu_online(0);
	grace_barrier();
	phase = 0;
	norder = 0;
	thr_start(&h, 1, holder);
	while (__atomic_load_n(&phase, __ATOMIC_ACQUIRE) != 1)
		sched_yield();
	for (int i = 0; i < 3; i++)
		grace_call(&o[i].gh, order_cb);
	CHECK_EQ(grace_pending(), 3);
	for (int i = 0; i < 100; i++)
		CHECK_EQ(grace_poll(), 0);
	CHECK_EQ(norder, 0);
	__atomic_store_n(&phase, 2, __ATOMIC_RELEASE);
	while (__atomic_load_n(&phase, __ATOMIC_ACQUIRE) != 3)
		sched_yield();
	grace_quiescent();
	CHECK_EQ(norder, 3);
	CHECK(order[0] == 1 && order[1] == 2 && order[2] == 3);
	CHECK_EQ(grace_pending(), 0);
	pthread_join(h.tid, NULL);
	grace_cpu_offline(0);
}

TEST(section_opened_after_call_does_not_delay_callback)
{
	struct obj o = { .magic = 7 };

	hosted_cpu_id = 0;
	grace_cpu_online(0);
	norder = 0;
	grace_call(&o.gh, order_cb);
	/* The poll starts the grace period; a section opened now reads the new epoch. */
	CHECK_EQ(grace_poll(), 1);
	grace_read_lock();
	grace_read_unlock();
	CHECK_EQ(norder, 1);
	CHECK_EQ(order[0], 7);
	grace_cpu_offline(0);
}
