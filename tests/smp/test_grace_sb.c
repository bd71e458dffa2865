/* SPDX-License-Identifier: MIT */
/*
 * The store-buffering pairs of smp/grace.c, on a simulated x86-TSO machine.
 *
 * A grace period rests on two full barriers: the reader publishes its epoch
 * and then reads the object; the updater unpublishes the object and then
 * reads the reader's epoch.  On x86 a store may wait in the store buffer
 * while a later load goes ahead (store-buffering, the one reordering TSO
 * allows), so without the barrier on either side both may miss the other's
 * store, and the object is freed under the reader.  On real hardware that
 * takes a store to linger at just the right moment; here the moment is
 * staged.
 *
 * This file includes smp/grace.c on the simulated machine of
 * tests/host/tso.h: stores wait in per-CPU FIFO buffers that only smp_mb()
 * and atomic RMWs drain.  One thread plays each CPU in turn; where grace.c
 * waits (cpu_relax()), a hook plays the other CPUs' next steps.
 */
#include "tests/host/tso.h"

#include "smp/grace.c"

#include "tests/host/test.h"

/* A broken barrier can leave a section the teardown waits for. */
TEST_WATCHDOG(30);

#define MAGIC	0x600dull
#define POISON	0x6b6b6b6bull

struct obj {
	uint64_t val;
	struct grace_head grace;
};

static struct obj obj_a, obj_b;
static struct obj *published;

static void free_obj(struct grace_head *h)
{
	/* A free the freeing CPU's later stores cannot hide: straight to memory. */
	tso_mem_write(&container_of(h, struct obj, grace)->val, 8, POISON);
}

static void on_cpu(unsigned int cpu)
{
	hosted_cpu_id = cpu;
}

/* CPUs 0 (updater), 1 (reader) and 2 online, @published = A, nothing buffered. */
static void setup(void)
{
	tso_on = false;
	obj_a.val = obj_b.val = MAGIC;
	published = &obj_a;
	on_cpu(0);
	for (unsigned int cpu = 0; cpu < 3; cpu++)
		grace_cpu_online(cpu);
	tso_on = true;
}

/* Every buffer drained and every callback run: no state left for the next case. */
static void teardown(void)
{
	for (unsigned int cpu = 0; cpu < TSO_CPUS; cpu++) {
		on_cpu(cpu);
		tso_drain();
	}
	tso_on = false;
	on_cpu(0);
	grace_barrier();
	for (unsigned int cpu = 0; cpu < 3; cpu++)
		grace_cpu_offline(cpu);
}

/* The simulator is not sequentially consistent: the classic SB outcome r0 = r1 = 0. */
TEST(simulated_store_buffers_let_a_load_pass_an_earlier_store)
{
	static uint64_t x, y;
	uint64_t r0, r1;

	tso_on = true;
	on_cpu(0);
	tso_store(&x, 8, 1);
	on_cpu(1);
	tso_store(&y, 8, 1);
	r1 = tso_load(&x, 8);
	on_cpu(0);
	r0 = tso_load(&y, 8);
	CHECK_EQ(r0, 0);
	CHECK_EQ(r1, 0);
	CHECK_EQ(tso_load(&x, 8), 1);	/* forwarded from its own buffer */
	/* With a full barrier between store and load on both sides, one sees the other. */
	tso_drain();
	on_cpu(1);
	tso_drain();
	CHECK_EQ(tso_load(&x, 8), 1);
	tso_on = false;
	on_cpu(0);
}

/*
 * Reader side (grace_read_lock()'s smp_mb()): the reader publishes its epoch
 * and reads the pointer; the updater then replaces the pointer and polls.
 * If the epoch still sat in the reader's store buffer, the poll would see the
 * reader outside any section and free A under it.
 */
TEST(reader_epoch_is_visible_before_the_reader_reads_the_object)
{
	struct obj *p;
	uint64_t seen;

	setup();
	on_cpu(1);
	grace_read_lock();
	p = (struct obj *)tso_load(&published, 8);
	on_cpu(0);
	tso_store(&published, 8, (uint64_t)&obj_b);
	grace_call(&obj_a.grace, free_obj);
	grace_poll();
	on_cpu(1);
	seen = tso_load(&p->val, 8);
	grace_read_unlock();
	teardown();
	CHECK(p == &obj_a);
	CHECK_EQ(seen, MAGIC);			/* not freed under the reader */
	CHECK_EQ(obj_a.val, POISON);		/* freed once it left */
}

/* While the updater waits for CPU 2: the reader enters, then CPU 2 leaves. */
static struct obj *hook_p;

static void reader_enters_then_cpu2_leaves(void)
{
	on_cpu(1);
	grace_read_lock();
	hook_p = (struct obj *)tso_load(&published, 8);
	on_cpu(2);
	grace_read_unlock();
	tso_drain();
}

/*
 * Updater side (gp_start()'s smp_mb()): the updater replaces the pointer
 * and waits for a grace period, which must wait for CPU 2's older section.
 * It saw the reader (CPU 1) outside every section; the reader enters while
 * it waits for CPU 2.  That is only safe if the new pointer left the
 * updater's store buffer before it looked at the CPUs: else the reader finds
 * A, and the updater, once CPU 2 has left, frees A under it.
 */
TEST(unpublished_object_is_visible_before_the_updater_reads_reader_epochs)
{
	uint64_t seen;

	setup();
	on_cpu(2);
	grace_read_lock();
	on_cpu(0);
	tso_store(&published, 8, (uint64_t)&obj_b);
	tso_relax_hook = reader_enters_then_cpu2_leaves;
	grace_synchronize();
	free_obj(&obj_a.grace);
	if (tso_relax_hook) {
		/* The updater did not wait for CPU 2: unstage the rest. */
		tso_relax_hook = NULL;
		reader_enters_then_cpu2_leaves();
		on_cpu(1);
		grace_read_unlock();
		teardown();
		CHECK(!"the grace period waited for the section open on CPU 2");
	}
	on_cpu(1);
	seen = tso_load(&hook_p->val, 8);
	grace_read_unlock();
	teardown();
	CHECK(hook_p == &obj_b);
	CHECK_EQ(seen, MAGIC);
}
