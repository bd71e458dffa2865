/* SPDX-License-Identifier: MIT */
/*
 * The hosted environment of the EPT MMU for unit tests: table pages from
 * aligned_alloc(), a resolver over an array of fake host addresses, counters
 * for flushes, kicks and cleared leaves, and knobs to fail allocations, cap
 * some CPUs' faults at 4 KiB or hook the resolver.
 */
#ifndef TESTS_EPT_EPT_ENV_H
#define TESTS_EPT_EPT_ENV_H

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ept/fault.h"
#include "ept/invalidate.h"
#include "ept/iter.h"
#include "ept/root.h"
#include "ept/vm.h"
#include "ept/zap.h"
#include "smp/grace.h"

struct env {
	long tables_alive;
	long frees;		/* free_table() calls */
	long alloc_budget;	/* < 0: unlimited */
	long flushes, kicks;
	bool resolve_fail;
	int max_level;		/* what the resolver allows */
	uint64_t cpus_4k;	/* ...except to these CPUs' faults: 1 */
	uint64_t hpa_base;	/* gfn g is backed by hpa_base + g * 4096, unless hpa_override */
	uint64_t hpa_override;
	uint64_t alias_pages;	/* if set, by hpa_base + (g % alias_pages) * 4096 */
	void (*resolve_hook)(struct ept_vm *vm, uint64_t gfn);
	uint64_t resolved;
	long leaf_sets, leaf_clears;
	long table_clears;	/* leaf_clear() of a table: a table was replaced */
	/* Optional: called after every flush. */
	void (*flush_hook)(struct ept_vm *vm, struct ept_root *root);
};

static struct env env;

static void *env_alloc(struct ept_vm *vm)
{
	void *p;

	(void)vm;
	if (__atomic_load_n(&env.alloc_budget, __ATOMIC_RELAXED) == 0)
		return NULL;
	if (env.alloc_budget > 0)
		__atomic_fetch_sub(&env.alloc_budget, 1, __ATOMIC_RELAXED);
	p = aligned_alloc(4096, 4096);
	memset(p, 0, 4096);
	__atomic_fetch_add(&env.tables_alive, 1, __ATOMIC_RELAXED);
	return p;
}

static void env_free(struct ept_vm *vm, void *p)
{
	(void)vm;
	memset(p, 0x5a, 4096);	/* poison: a walker reading it would see garbage */
	free(p);
	__atomic_fetch_sub(&env.tables_alive, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&env.frees, 1, __ATOMIC_RELAXED);
}

static void env_flush(struct ept_vm *vm, struct ept_root *root)
{
	__atomic_fetch_add(&env.flushes, 1, __ATOMIC_RELAXED);
	if (env.flush_hook)
		env.flush_hook(vm, root);
}

static void env_kick(struct ept_vm *vm)
{
	(void)vm;
	__atomic_fetch_add(&env.kicks, 1, __ATOMIC_RELAXED);
}

static bool env_resolve(struct ept_vm *vm, uint64_t gfn, uint64_t *hpa, int *max_level)
{
	if (env.resolve_hook)
		env.resolve_hook(vm, gfn);
	if (env.resolve_fail)
		return false;
	__atomic_fetch_add(&env.resolved, 1, __ATOMIC_RELAXED);
	*hpa = env.hpa_override ? env.hpa_override :
	       env.hpa_base + ((env.alias_pages ? gfn % env.alias_pages : gfn) << 12);
	*max_level = env.cpus_4k & (1ull << smp_processor_id()) ? 1 : env.max_level;
	return true;
}

static void env_leaf_set(struct ept_vm *vm, uint64_t gfn, int level, uint64_t *sptep)
{
	(void)vm;
	(void)gfn;
	(void)level;
	(void)sptep;
	__atomic_fetch_add(&env.leaf_sets, 1, __ATOMIC_RELAXED);
}

static void env_leaf_clear(struct ept_vm *vm, uint64_t gfn, int level, uint64_t *sptep,
			   uint64_t old)
{
	(void)vm;
	(void)gfn;
	(void)sptep;
	__atomic_fetch_add(ept_spte_is_leaf(old, level) ? &env.leaf_clears : &env.table_clears,
			   1, __ATOMIC_RELAXED);
}

static uint64_t env_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static const struct ept_ops env_ops = {
	.alloc_table = env_alloc,
	.free_table = env_free,
	.flush = env_flush,
	.kick_vcpus = env_kick,
	.resolve = env_resolve,
	.now_ns = env_now,
	.leaf_set = env_leaf_set,
	.leaf_clear = env_leaf_clear,
};

/* A VM with @ops and one region [0, npages) on CPU 0; hpa of gfn g is 1 GiB + g pages. */
static inline void env_setup_ops(struct ept_vm *vm, uint64_t npages, const struct ept_ops *ops)
{
	struct ept_region r = { 0, npages };

	memset(&env, 0, sizeof(env));
	env.alloc_budget = -1;
	env.max_level = 1;
	env.hpa_base = 1ull << 30;
	hosted_cpu_id = 0;
	grace_cpu_online(0);
	ept_vm_init(vm, ops, NULL);
	if (npages)
		ept_set_regions(vm, &r, 1);
}

static inline void env_setup(struct ept_vm *vm, uint64_t npages)
{
	env_setup_ops(vm, npages, &env_ops);
}

/* Tear down: every root freed, every table page back, no table cleared as a leaf. */
static inline bool env_teardown(struct ept_vm *vm)
{
	ept_vm_destroy(vm);
	grace_cpu_offline(0);
	return vm->roots == NULL && env.tables_alive == 0 && env.table_clears == 0;
}

static inline bool env_mapped(struct ept_vm *vm, struct ept_root *root, uint64_t gfn, uint64_t *hpa,
		       int *level)
{
	struct ept_walk w;
	bool m = ept_walk(vm, root, gfn << 12, &w);

	if (hpa)
		*hpa = w.hpa;
	if (level)
		*level = w.leaf_level;
	return m;
}

#endif
