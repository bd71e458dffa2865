/* SPDX-License-Identifier: MIT */
/*
 * The three tiers of checks (docs/style.md): ASSERT() in debug builds only,
 * WARN_ONCE() always on and printed once, and, for guests, guest_fail() in
 * hv/.  panic() is for the hypervisor's own state only.  The hosted build
 * implements hv_panic()/hv_warn() in tests/host/hosted.c.
 */
#ifndef HV_CHECK_H
#define HV_CHECK_H

#include <stdbool.h>
#include <stddef.h>

__attribute__((noreturn, format(printf, 3, 4)))
void hv_panic(const char *file, int line, const char *fmt, ...);
__attribute__((format(printf, 3, 4)))
void hv_warn(const char *file, int line, const char *fmt, ...);

#define panic(...)	hv_panic(__FILE__, __LINE__, __VA_ARGS__)

#define BUG_ON(cond)							\
	do {								\
		if (__builtin_expect(!!(cond), 0))			\
			panic("BUG_ON(%s)", #cond);			\
	} while (0)

#define WARN_ONCE(cond, ...)						\
	({								\
		static bool __warned;					\
		bool __c = !!(cond);					\
		if (__builtin_expect(__c, 0) &&				\
		    !__atomic_exchange_n(&__warned, true, __ATOMIC_RELAXED)) \
			hv_warn(__FILE__, __LINE__, __VA_ARGS__);	\
		__c;							\
	})

#ifdef DEBUG
#define ASSERT(cond)							\
	do {								\
		if (__builtin_expect(!(cond), 0))			\
			panic("ASSERT(%s)", #cond);			\
	} while (0)
#else
#define ASSERT(cond)	do { (void)sizeof(!(cond)); } while (0)
#endif

#define BUILD_BUG_ON(cond)	_Static_assert(!(cond), #cond)

/* The structure embedding @p as its @member. */
#define container_of(p, type, member)	((type *)((char *)(p) - offsetof(type, member)))

#endif
