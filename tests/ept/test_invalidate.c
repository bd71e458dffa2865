/* SPDX-License-Identifier: MIT */
/*
 * Range invalidations and layout changes (ept/invalidate.c): counts, range
 * widening, zap and flush at begin, seq at end, the lock-free skip over holes
 * (seed 001), and layout changes that wait for open invalidations.
 */
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "tests/ept/ept_env.h"
#include "tests/host/test.h"

__attribute__((constructor)) static void watchdog(void)
{
	alarm(60);
}

TEST(begin_counts_widens_zaps_and_flushes_end_moves_seq)
{
	struct ept_vm vm;
	struct ept_root *root;
	unsigned long seq;
	long flushes;
	bool a, b;

	env_setup(&vm, 1024);
	root = ept_root_load_for_vcpu(&vm);
	for (int g = 0; g < 64; g++)
		ept_fault(&vm, root, (uint64_t)g << 12, EPT_R);
	seq = vm.inval_seq;
	flushes = env.flushes;
	a = ept_invalidate_begin(&vm, 10, 20);
	CHECK(a);
	CHECK_EQ(vm.inval_in_progress, 1);
	CHECK(vm.inval_start == 10 && vm.inval_end == 20);
	CHECK(env.flushes > flushes);
	for (int g = 0; g < 64; g++)
		CHECK_EQ(env_mapped(&vm, root, g, NULL, NULL), g < 10 || g >= 20);
	b = ept_invalidate_begin(&vm, 30, 40);
	CHECK_EQ(vm.inval_in_progress, 2);
	CHECK(vm.inval_start == 10 && vm.inval_end == 40);	/* widened, not replaced */
	read_lock(&vm.mmu_lock);
	CHECK(ept_inval_retry(&vm, 25, 26, seq));	/* inside the widened range */
	CHECK(!ept_inval_retry(&vm, 5, 6, seq));
	CHECK(ept_inval_retry(&vm, 0, 11, seq));	/* a block overlapping it */
	CHECK(!ept_inval_retry(&vm, 40, 512, seq));
	read_unlock(&vm.mmu_lock);
	ept_invalidate_end(&vm, 10, 20, a);
	CHECK_EQ(vm.inval_seq, seq + 1);
	CHECK_EQ(vm.inval_in_progress, 1);
	ept_invalidate_end(&vm, 30, 40, b);
	CHECK_EQ(vm.inval_seq, seq + 2);
	CHECK_EQ(vm.inval_in_progress, 0);
	read_lock(&vm.mmu_lock);
	CHECK(ept_inval_retry(&vm, 5, 6, seq));	/* seq moved */
	CHECK(!ept_inval_retry(&vm, 5, 6, seq + 2));
	read_unlock(&vm.mmu_lock);
	ept_root_put(&vm, root);
	CHECK(env_teardown(&vm));
}

/*
 * Hold @l for write on a thread of its own until called again with false.
 * (Holding it here and calling code that takes locks ordered before it
 * would break the lock order, which the primitives check.)
 */
static void *holder_thread(void *arg)
{
	struct holder { rwlock_t *l; int stage; } *h = arg;

	write_lock(h->l);
	__atomic_store_n(&h->stage, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&h->stage, __ATOMIC_ACQUIRE) != 2)
		cpu_relax();
	write_unlock(h->l);
	return NULL;
}

static void hold_write_lock(rwlock_t *l, bool on)
{
	static struct { rwlock_t *l; int stage; } h;
	static pthread_t t;

	if (on) {
		h.l = l;
		h.stage = 0;
		pthread_create(&t, NULL, holder_thread, &h);
		while (__atomic_load_n(&h.stage, __ATOMIC_ACQUIRE) != 1)
			cpu_relax();
	} else {
		__atomic_store_n(&h.stage, 2, __ATOMIC_RELEASE);
		pthread_join(t, NULL);
	}
}

TEST(hole_is_skipped_without_the_lock)
{
	struct ept_vm vm;
	struct ept_region r[2] = { { 0, 100 }, { 200, 300 } };
	unsigned long seq;
	bool opened;

	env_setup(&vm, 0);
	ept_set_regions(&vm, r, 2);
	seq = vm.inval_seq;
	/* Held for write by another thread: a begin that wanted the lock would never return. */
	hold_write_lock(&vm.mmu_lock, true);
	opened = ept_invalidate_begin(&vm, 100, 200);
	ept_invalidate_end(&vm, 100, 200, opened);
	hold_write_lock(&vm.mmu_lock, false);
	CHECK(!opened);
	CHECK_EQ(vm.inval_seq, seq);
	CHECK_EQ(vm.inval_in_progress, 0);
	/* A range that only starts in a hole still covers memory (MUT_SKIP_BY_START). */
	CHECK(ept_regions_overlap(&vm, 150, 201));
	CHECK(!ept_regions_overlap(&vm, 300, 400));
	opened = ept_invalidate_begin(&vm, 150, 250);
	CHECK(opened);
	ept_invalidate_end(&vm, 150, 250, opened);
	CHECK_EQ(vm.inval_seq, seq + 1);
	CHECK(env_teardown(&vm));
}

TEST(layout_change_rejects_bad_regions)
{
	struct ept_vm vm;
	struct ept_region overlap[2] = { { 0, 100 }, { 50, 150 } }, empty = { 5, 5 };

	env_setup(&vm, 0);
	CHECK_EQ(ept_set_regions(&vm, overlap, 2), -1);
	CHECK_EQ(ept_set_regions(&vm, &empty, 1), -1);
	CHECK_EQ(ept_add_region(&vm, 0, 100), 0);
	CHECK_EQ(ept_add_region(&vm, 99, 120), -1);
	CHECK_EQ(ept_add_region(&vm, 100, 120), 0);
	CHECK_EQ(vm.nr_regions, 2);
	CHECK_EQ(ept_remove_region(&vm, 7), -1);
	CHECK_EQ(ept_remove_region(&vm, 0), 0);
	CHECK_EQ(vm.nr_regions, 1);
	CHECK(env_teardown(&vm));
}

TEST(removed_region_is_unmapped_and_faults_no_memslot)
{
	struct ept_vm vm;
	struct ept_root *root, *again;

	env_setup(&vm, 0);
	ept_add_region(&vm, 0, 64);
	ept_add_region(&vm, 64, 128);
	root = ept_root_load_for_vcpu(&vm);
	for (int g = 0; g < 128; g++)
		CHECK_EQ(ept_fault(&vm, root, (uint64_t)g << 12, EPT_R), EPT_FIXED);
	CHECK_EQ(ept_remove_region(&vm, 64), 0);
	/* Every root was invalidated and zapped: nothing of the old layout stays. */
	CHECK(root->invalid);
	for (int g = 0; g < 128; g++)
		CHECK(!env_mapped(&vm, root, g, NULL, NULL));
	CHECK_EQ(ept_fault(&vm, root, 5 << 12, EPT_R), EPT_RETRY);	/* kicked */
	again = ept_root_load_for_vcpu(&vm);
	CHECK(again != root);
	ept_root_put(&vm, root);
	CHECK_EQ(ept_fault(&vm, again, 100 << 12, EPT_R), EPT_NO_MEMSLOT);
	CHECK_EQ(ept_fault(&vm, again, 5 << 12, EPT_R), EPT_FIXED);
	ept_root_put(&vm, again);
	CHECK(env_teardown(&vm));
}

/*
 * A fault that read the regions before an add took mmu_lock after it: the
 * "no region" it would answer comes from a layout that is gone.  The add
 * moves inval_seq, so the fault retries (contract 2).  Staged on the real
 * lock: we hold mmu_lock for write while the add queues for it, then the
 * fault (having read the regions) queues behind the add.
 */
static struct ept_vm avm;
static struct ept_root *aroot;
static enum ept_fault_result aresult;

static void *region_adder(void *arg)
{
	(void)arg;
	hosted_cpu_id = 1;
	ept_add_region(&avm, 64, 128);
	return NULL;
}

static void *faulter_of_added_region(void *arg)
{
	(void)arg;
	hosted_cpu_id = 2;
	aresult = ept_fault(&avm, aroot, 100 << 12, EPT_R);
	return NULL;
}

/* Threads queued on mmu_lock's slow path: its ticket lock's holder and waiters. */
static unsigned int queued(rwlock_t *l)
{
	return __atomic_load_n(&l->wait_lock.next, __ATOMIC_RELAXED) -
	       __atomic_load_n(&l->wait_lock.owner, __ATOMIC_RELAXED);
}

TEST(fault_that_read_the_layout_before_an_add_retries_after_it)
{
	pthread_t adder, faulter;

	env_setup(&avm, 64);
	aroot = ept_root_load_for_vcpu(&avm);
	write_lock(&avm.mmu_lock);
	pthread_create(&adder, NULL, region_adder, NULL);
	while (queued(&avm.mmu_lock) < 1)
		sched_yield();
	pthread_create(&faulter, NULL, faulter_of_added_region, NULL);
	while (queued(&avm.mmu_lock) < 2)
		sched_yield();
	write_unlock(&avm.mmu_lock);
	pthread_join(adder, NULL);
	pthread_join(faulter, NULL);
	CHECK_EQ(avm.nr_regions, 2);
	CHECK_EQ(aresult, EPT_RETRY);
	/* The vCPU reloads and faults again: now the region is there. */
	ept_root_put(&avm, aroot);
	aroot = ept_root_load_for_vcpu(&avm);
	CHECK_EQ(ept_fault(&avm, aroot, 100 << 12, EPT_R), EPT_FIXED);
	ept_root_put(&avm, aroot);
	CHECK(env_teardown(&avm));
}

static struct ept_vm lvm;
static int layout_done;

static void *layout_changer(void *arg)
{
	(void)arg;
	hosted_cpu_id = 1;
	ept_add_region(&lvm, 1000, 2000);
	__atomic_store_n(&layout_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST(layout_change_waits_for_open_invalidations)
{
	pthread_t t;
	bool opened;

	env_setup(&lvm, 100);
	layout_done = 0;
	opened = ept_invalidate_begin(&lvm, 0, 10);
	pthread_create(&t, NULL, layout_changer, NULL);
	usleep(100000);
	CHECK_EQ(__atomic_load_n(&layout_done, __ATOMIC_ACQUIRE), 0);
	CHECK_EQ(lvm.nr_regions, 1);
	ept_invalidate_end(&lvm, 0, 10, opened);
	pthread_join(t, NULL);
	CHECK_EQ(layout_done, 1);
	CHECK_EQ(lvm.nr_regions, 2);
	CHECK(env_teardown(&lvm));
}
