/* SPDX-License-Identifier: MIT */
/*
 * A simulated x86-TSO machine for the store-buffering pairs of the portable
 * code (tests/smp/test_grace_sb.c, tests/hv/mm/test_tlb_sb.c).
 *
 * A test includes this header, then the .c file under test, whose accessors
 * are redefined here: every READ_ONCE/WRITE_ONCE, acquire load or release
 * store goes through the calling CPU's (hosted_cpu_id's) FIFO store buffer;
 * loads look there first, then at memory; smp_mb() and the atomic RMW
 * macros drain the buffer to memory.  Buffers drain at nothing else: each
 * store lingers as long as TSO lets it.  One thread plays each CPU in turn,
 * so every step is in the order written; where the code waits
 * (cpu_relax()), tso_relax_hook plays the other CPUs' next steps.  Plain
 * accesses and the __atomic builtins the code calls directly go straight to
 * memory.
 */
#ifndef TESTS_HOST_TSO_H
#define TESTS_HOST_TSO_H

#include <stddef.h>
#include <string.h>

#include "smp/atomic.h"
#include "smp/cpu.h"

#define TSO_CPUS	4
#define TSO_DEPTH	64

struct tso_store {
	void *addr;
	int size;
	uint64_t val;
};

static struct tso_buffer {
	struct tso_store s[TSO_DEPTH];
	int n;
} tso_buf[TSO_CPUS];

/* Off while setting up and checking: stores go straight to memory. */
static bool tso_on;

static void tso_mem_write(void *addr, int size, uint64_t v)
{
	switch (size) {
	case 1: __atomic_store_n((uint8_t *)addr, (uint8_t)v, __ATOMIC_RELAXED); break;
	case 2: __atomic_store_n((uint16_t *)addr, (uint16_t)v, __ATOMIC_RELAXED); break;
	case 4: __atomic_store_n((uint32_t *)addr, (uint32_t)v, __ATOMIC_RELAXED); break;
	default: __atomic_store_n((uint64_t *)addr, v, __ATOMIC_RELAXED); break;
	}
}

static uint64_t tso_mem_read(const void *addr, int size)
{
	switch (size) {
	case 1: return __atomic_load_n((const uint8_t *)addr, __ATOMIC_RELAXED);
	case 2: return __atomic_load_n((const uint16_t *)addr, __ATOMIC_RELAXED);
	case 4: return __atomic_load_n((const uint32_t *)addr, __ATOMIC_RELAXED);
	default: return __atomic_load_n((const uint64_t *)addr, __ATOMIC_RELAXED);
	}
}

/* This CPU's stores reach memory, oldest first (MFENCE, a locked instruction). */
static void tso_drain(void)
{
	struct tso_buffer *b = &tso_buf[smp_processor_id()];

	for (int i = 0; i < b->n; i++)
		tso_mem_write(b->s[i].addr, b->s[i].size, b->s[i].val);
	b->n = 0;
}

/* Only the oldest of this CPU's buffered stores reaches memory: a buffer may drain at any time. */
static inline void tso_drain_one(void)
{
	struct tso_buffer *b = &tso_buf[smp_processor_id()];

	if (!b->n)
		return;
	tso_mem_write(b->s[0].addr, b->s[0].size, b->s[0].val);
	memmove(b->s, b->s + 1, --b->n * sizeof(b->s[0]));
}

static void tso_store(void *addr, int size, uint64_t v)
{
	struct tso_buffer *b = &tso_buf[smp_processor_id()];

	if (!tso_on) {
		tso_mem_write(addr, size, v);
		return;
	}
	if (b->n == TSO_DEPTH)
		tso_drain();
	b->s[b->n++] = (struct tso_store){ addr, size, v };
}

/* Store forwarding: the CPU's own newest buffered store to @addr, else memory. */
static uint64_t tso_load(const void *addr, int size)
{
	struct tso_buffer *b = &tso_buf[smp_processor_id()];

	for (int i = b->n - 1; i >= 0; i--)
		if (b->s[i].addr == addr && b->s[i].size == size)
			return b->s[i].val;
	return tso_mem_read(addr, size);
}

/* What the other CPUs do while this one waits in the code under test: run once. */
static void (*tso_relax_hook)(void);

static void tso_relax(void)
{
	void (*hook)(void) = tso_relax_hook;
	unsigned int cpu = smp_processor_id();

	tso_relax_hook = NULL;
	if (hook)
		hook();
	hosted_cpu_id = cpu;
	__builtin_ia32_pause();
}

#undef READ_ONCE
#undef WRITE_ONCE
#undef load_acquire
#undef store_release
#undef smp_mb
#undef smp_rmb
#undef smp_wmb
#undef atomic_add
#undef atomic_try_cmpxchg
#define READ_ONCE(x)		((__typeof__(x))tso_load(&(x), sizeof(x)))
#define WRITE_ONCE(x, v)	tso_store(&(x), sizeof(x), (uint64_t)(v))
#define load_acquire(p)		((__typeof__(*(p)))tso_load((p), sizeof(*(p))))
#define store_release(p, v)	tso_store((p), sizeof(*(p)), (uint64_t)(v))
#define smp_mb()		tso_drain()
/* TSO keeps load-load and store-store order: these only stop the compiler. */
#define smp_rmb()		barrier()
#define smp_wmb()		barrier()
#define cpu_relax()		tso_relax()
#define atomic_add(p, v)	(tso_drain(), (void)__atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST))
#define atomic_try_cmpxchg(p, old, new)					\
	(tso_drain(), __atomic_compare_exchange_n((p), (old), (new), false,	\
						  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))

#endif
