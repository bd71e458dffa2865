/* SPDX-License-Identifier: MIT */
/*
 * Root lifecycle (ept/root.c), the rules of tests/models/root.pml on the real
 * code: references, invalid roots refused, zero final, invalidation zaps
 * while reachable and drops only the MMU's reference, grace-deferred free.
 */
#include "tests/ept/ept_env.h"
#include "tests/host/test.h"

TEST(load_creates_then_shares_one_valid_root)
{
	struct ept_vm vm;
	struct ept_root *a, *b;

	env_setup(&vm, 64);
	a = ept_root_load_for_vcpu(&vm);
	CHECK(a);
	CHECK_EQ(a->refcount, 2);	/* the MMU's and ours */
	CHECK(a->cpu_mask & 1);
	b = ept_root_load_for_vcpu(&vm);
	CHECK(a == b);
	CHECK_EQ(a->refcount, 3);
	ept_root_put(&vm, a);
	ept_root_put(&vm, b);
	CHECK_EQ(a->refcount, 1);	/* valid: the MMU keeps it */
	CHECK(vm.roots == a);
	CHECK(env_teardown(&vm));
}

TEST(tryget_refuses_zero_and_get_refuses_invalid)
{
	struct ept_vm vm;
	struct ept_root *r;

	env_setup(&vm, 64);
	r = ept_root_load_for_vcpu(&vm);
	read_lock(&vm.mmu_lock);
	CHECK(ept_root_get(r));
	read_unlock(&vm.mmu_lock);
	ept_root_put(&vm, r);
	ept_invalidate_all_roots(&vm);
	CHECK(r->invalid);
	CHECK_EQ(r->refcount, 1);	/* only ours: the MMU dropped its own */
	read_lock(&vm.mmu_lock);
	CHECK(!ept_root_get(r));	/* a vCPU never takes an invalid root */
	read_unlock(&vm.mmu_lock);
	CHECK(ept_root_tryget(r));	/* a zapper still may */
	ept_root_put(&vm, r);
	ept_root_put(&vm, r);		/* ours: zero, unlinked, free queued */
	CHECK(vm.roots == NULL);
	/* A reference taken at zero would revive a root on its way out. */
	CHECK_EQ(r->refcount, 0);
	CHECK(!ept_root_tryget(r));
	CHECK_EQ(r->refcount, 0);
	CHECK(env_teardown(&vm));
}

TEST(invalidation_kicks_zaps_while_reachable_and_keeps_vcpu_reference)
{
	struct ept_vm vm;
	struct ept_root *old, *fresh;
	long kicks;

	env_setup(&vm, 64);
	old = ept_root_load_for_vcpu(&vm);
	for (int g = 0; g < 64; g++)
		ept_fault(&vm, old, (uint64_t)g << 12, EPT_R);
	kicks = env.kicks;
	ept_invalidate_all_roots(&vm);
	CHECK_EQ(env.kicks, kicks + 1);
	/* Still held by the vCPU, still listed, and already empty. */
	CHECK(vm.roots == old);
	CHECK_EQ(old->refcount, 1);
	for (int g = 0; g < 64; g++)
		CHECK(!env_mapped(&vm, old, g, NULL, NULL));
	/* The vCPU reloads: a new root, the old one goes after a grace period. */
	fresh = ept_root_load_for_vcpu(&vm);
	CHECK(fresh && fresh != old && !fresh->invalid);
	ept_root_put(&vm, old);
	CHECK(vm.roots == fresh && fresh->next == NULL);
	struct ept_stats st;
	ept_vm_stats(&vm, &st);
	CHECK_EQ(st.roots_alive, 2);	/* the free waits for the grace period */
	CHECK(grace_pending() > 0);
	grace_barrier();
	ept_vm_stats(&vm, &st);
	CHECK_EQ(st.roots_alive, 1);
	ept_root_put(&vm, fresh);
	CHECK(env_teardown(&vm));
}

TEST(second_invalidation_does_not_drop_the_mmu_reference_twice)
{
	struct ept_vm vm;
	struct ept_root *r;

	env_setup(&vm, 64);
	r = ept_root_load_for_vcpu(&vm);
	ept_invalidate_all_roots(&vm);
	ept_invalidate_all_roots(&vm);
	CHECK_EQ(r->refcount, 1);
	CHECK(vm.roots == r);
	ept_root_put(&vm, r);
	CHECK(env_teardown(&vm));
}

static struct ept_root *freed_root;
static long frees_at_flush;

static void note_flush(struct ept_vm *vm, struct ept_root *root)
{
	(void)vm;
	if (root == freed_root && frees_at_flush < 0)
		frees_at_flush = env.frees;
}

/*
 * A vCPU that ran on a root may cache translations through its tables (the
 * CPU's paging-structure caches), even where no leaf was ever present, so
 * that the invalidation's zap had nothing to flush.  Those table pages get
 * reused: the root's free must flush it before the first of them goes.
 */
TEST(root_free_flushes_before_its_tables_are_freed)
{
	struct ept_vm vm;
	long flushes, frees;

	env_setup(&vm, 64);
	freed_root = ept_root_load_for_vcpu(&vm);
	flushes = env.flushes;
	ept_invalidate_all_roots(&vm);
	CHECK_EQ(env.flushes, flushes);		/* the zap found nothing to flush */
	frees_at_flush = -1;
	env.flush_hook = note_flush;
	frees = env.frees;
	ept_root_put(&vm, freed_root);
	grace_barrier();
	env.flush_hook = NULL;
	CHECK(env.frees > frees);		/* the root and its table are gone */
	CHECK_EQ(frees_at_flush, frees);	/* flushed, before the first free */
	CHECK(env_teardown(&vm));
}

static void *reader_of_old_root(void *arg)
{
	struct ept_root *r = arg;
	int *stage = (int *)&env.hpa_override;	/* spare field as a flag */

	hosted_cpu_id = 1;
	grace_cpu_online(1);
	grace_read_lock();
	__atomic_store_n(stage, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(stage, __ATOMIC_ACQUIRE) != 2)
		;
	/* The root's tables must still be readable: no free inside our section. */
	ept_spte_t *t = ept_pa_to_va(r->table_pa);
	__atomic_store_n(stage, ept_spte_read(&t[0]) == 0x5a5a5a5a5a5a5a5aull ? 4 : 3,
			 __ATOMIC_RELEASE);
	grace_read_unlock();
	grace_cpu_offline(1);
	return NULL;
}

TEST(last_put_frees_only_after_readers_leave)
{
	struct ept_vm vm;
	struct ept_root *r;
	pthread_t t;
	int *stage = (int *)&env.hpa_override;
	long alive;

	env_setup(&vm, 64);
	r = ept_root_load_for_vcpu(&vm);
	pthread_create(&t, NULL, reader_of_old_root, r);
	while (__atomic_load_n(stage, __ATOMIC_ACQUIRE) != 1)
		;
	ept_invalidate_all_roots(&vm);
	ept_root_put(&vm, r);		/* last: free queued */
	alive = env.tables_alive;
	for (int i = 0; i < 100; i++)
		grace_poll();
	CHECK_EQ(env.tables_alive, alive);	/* the reader is still inside */
	__atomic_store_n(stage, 2, __ATOMIC_RELEASE);
	while (__atomic_load_n(stage, __ATOMIC_ACQUIRE) == 2)
		;
	CHECK_EQ(__atomic_load_n(stage, __ATOMIC_ACQUIRE), 3);
	pthread_join(t, NULL);
	grace_barrier();
	CHECK(env.tables_alive < alive);
	env.hpa_override = 0;
	CHECK(env_teardown(&vm));
}

TEST(next_root_walks_every_listed_root_with_a_reference)
{
	struct ept_vm vm;
	struct ept_root *a, *b, *r;
	int n = 0, valid = 0;

	env_setup(&vm, 64);
	a = ept_root_load_for_vcpu(&vm);
	ept_invalidate_all_roots(&vm);
	b = ept_root_load_for_vcpu(&vm);
	for_each_ept_root(&vm, r) {
		CHECK(r == a || r == b);
		CHECK(r->refcount >= 2);	/* ours plus the holder's */
		n++;
	}
	for_each_valid_ept_root(&vm, r)
		valid += r == b;
	CHECK_EQ(n, 2);
	CHECK_EQ(valid, 1);
	CHECK_EQ(a->refcount, 1);
	CHECK_EQ(b->refcount, 2);
	ept_root_put(&vm, a);
	ept_root_put(&vm, b);
	CHECK(env_teardown(&vm));
}
