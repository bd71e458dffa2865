/* SPDX-License-Identifier: MIT */
/*
 * Checks of an ept_vm at a quiescent point, for the EPT and memslot tests:
 * nothing runs on the VM but the caller, who holds mmu_lock for write and has
 * let queued grace callbacks run (grace_barrier(), before taking the lock).
 *
 *  - every table page allocated is reachable from a listed root: none was
 *    orphaned (a table replaced by a large leaf), none is left behind by a
 *    root that was freed;
 *  - every leaf the MMU announced (leaf_set() not yet undone by leaf_clear())
 *    is in a listed root: none went with its root's tables unannounced, which
 *    would leave a reverse map pointing into freed tables;
 *  - no frozen entry outlives the fault that froze it;
 *  - roots (DESIGN.md, MMU contract 3): at most one valid root; an invalid
 *    root no longer owes its zap; each refcount is the MMU's reference (valid
 *    roots only) plus the vCPUs'; a root a vCPU holds is still listed;
 *    roots_alive counts exactly the listed roots.
 */
#ifndef TESTS_EPT_EPT_CHECK_H
#define TESTS_EPT_EPT_CHECK_H

#include "ept/root.h"
#include "ept/vm.h"
#include "smp/lockdep.h"

/* What a walk of tables found. */
struct ept_check_count {
	long tables, leaves, frozen;
};

static inline void ept_check_subtree(ept_spte_t *table, int level, struct ept_check_count *c)
{
	c->tables++;
	for (unsigned int i = 0; i < EPT_PTES; i++) {
		ept_spte_t s = ept_spte_read(&table[i]);

		c->frozen += ept_spte_frozen(s);
		if (ept_spte_is_leaf(s, level))
			c->leaves++;
		else if (level > 1 && ept_spte_present(s))
			ept_check_subtree(ept_pa_to_va(ept_spte_addr(s)), level - 1, c);
	}
}

/* Table pages reachable from @root, its top table included; its frozen entries in *frozen. */
static inline long ept_check_tables(struct ept_root *root, long *frozen)
{
	struct ept_check_count c = { 0 };

	ept_check_subtree(ept_pa_to_va(root->table_pa), EPT_ROOT_LEVEL, &c);
	*frozen += c.frozen;
	return c.tables;
}

/*
 * The rules above for @vm.  @held[0..@nheld) are the references the vCPUs
 * hold (NULL: none).  @pages_out is what the environment's alloc_table()
 * handed out and free_table() did not take back: table pages and root
 * structures alike; @leaves_out, the leaf_set() calls not undone by a
 * leaf_clear(); either negative to skip its check.  Calls @report once per
 * broken rule; returns how many.
 */
static inline int ept_check_quiescent(struct ept_vm *vm, struct ept_root *const *held, int nheld,
				      long pages_out, long leaves_out,
				      void (*report)(const char *fmt, ...)
				      __attribute__((format(printf, 1, 2))))
{
	struct ept_check_count c = { 0 };
	long listed = 0, valid = 0;
	int bad = 0;

	lockdep_assert_held_write(&vm->mmu_lock);
	spin_lock(&vm->roots_lock);
	for (struct ept_root *r = vm->roots; r; r = r->next) {
		int refs = !r->invalid;

		for (int i = 0; i < nheld; i++)
			refs += held[i] == r;
		listed++;
		valid += !r->invalid;
		ept_check_subtree(ept_pa_to_va(r->table_pa), EPT_ROOT_LEVEL, &c);
		if (r->refcount != refs)
			bad++, report("root %p: refcount %d, %d references held", (void *)r,
				      r->refcount, refs);
		if (r->zap_pending)
			bad++, report("root %p: invalid and still not zapped", (void *)r);
	}
	for (int i = 0; i < nheld; i++) {
		struct ept_root *r = vm->roots;

		while (held[i] && r && r != held[i])
			r = r->next;
		if (held[i] && !r)
			bad++, report("root %p: held by a vCPU, no longer listed", (void *)held[i]);
	}
	spin_unlock(&vm->roots_lock);
	if (valid > 1)
		bad++, report("%ld valid roots", valid);
	if (c.frozen)
		bad++, report("%ld frozen entries left", c.frozen);
	if ((long)READ_ONCE(vm->roots_alive) != listed)
		bad++, report("roots_alive %llu, %ld roots listed",
			      (unsigned long long)READ_ONCE(vm->roots_alive), listed);
	if ((long)READ_ONCE(vm->table_pages) != c.tables)
		bad++, report("%llu table pages allocated, %ld reachable from the roots",
			      (unsigned long long)READ_ONCE(vm->table_pages), c.tables);
	if (pages_out >= 0 && pages_out != c.tables + listed)
		bad++, report("%ld pages out for %ld tables and %ld roots", pages_out, c.tables,
			      listed);
	if (leaves_out >= 0 && leaves_out != c.leaves)
		bad++, report("%ld leaves announced, %ld in the roots", leaves_out, c.leaves);
	return bad;
}

#endif
