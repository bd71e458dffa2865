/* SPDX-License-Identifier: MIT */
/*
 * Saying which lock a function needs: lockdep_assert_held() and friends,
 * checked in debug builds (ASSERT).  The order between locks is checked by
 * the primitives themselves (smp/lock_order.h).
 */
#ifndef SMP_LOCKDEP_H
#define SMP_LOCKDEP_H

#include "lib/check.h"
#include "smp/rwlock.h"
#include "smp/spinlock.h"

/*
 * Expressions, not statements, so that iterators can use them in a for-init.
 * lockdep_assert_held() takes a spinlock_t or an rwlock_t (either mode).
 */
#define lockdep_assert_held_write(l)	((void)({ ASSERT(rwlock_held_write(l)); 0; }))
#define lockdep_assert_held_read(l)	((void)({ ASSERT(rwlock_held_read(l)); 0; }))
#define lockdep_assert_held(l)						\
	((void)({ ASSERT(_Generic((l),					\
		spinlock_t *: spin_held_by_me,				\
		rwlock_t *: rwlock_held,				\
		const rwlock_t *: rwlock_held)(l)); 0; }))

#endif
