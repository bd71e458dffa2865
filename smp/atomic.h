/* SPDX-License-Identifier: MIT */
/*
 * Atomics and barriers for the portable core (ept/, rmap/, smp/ locks).
 * GCC __atomic builtins, so the same code is freestanding in the hypervisor
 * and visible to ThreadSanitizer in the hosted build.  x86 is TSO: smp_rmb()
 * and smp_wmb() order nothing the CPU would reorder, but they must still stop
 * the compiler, and the hosted build makes them real fences so TSan sees the
 * ordering we rely on.
 */
#ifndef SMP_ATOMIC_H
#define SMP_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>

#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define load_acquire(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)

#define smp_mb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_rmb()	__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb()	__atomic_thread_fence(__ATOMIC_RELEASE)
#define barrier()	__asm__ __volatile__("" ::: "memory")

#define atomic_inc_return(p)	__atomic_add_fetch((p), 1, __ATOMIC_SEQ_CST)
#define atomic_add_return(p, v)	__atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define atomic_dec_return(p)	__atomic_sub_fetch((p), 1, __ATOMIC_SEQ_CST)
#define atomic_add(p, v)	((void)__atomic_add_fetch((p), (v), __ATOMIC_RELAXED))
#define atomic_xchg(p, v)	__atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)

/* Strong compare-and-exchange; on failure *old receives the current value. */
#define atomic_try_cmpxchg(p, old, new)					\
	__atomic_compare_exchange_n((p), (old), (new), false,		\
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)

static inline void cpu_relax(void)
{
	__builtin_ia32_pause();
}

#endif
