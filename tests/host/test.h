/* SPDX-License-Identifier: MIT */
/*
 * A small host test framework.  Each TEST() is one case; the binary prints one
 * TAP-style line per case ("ok - NAME" / "not ok - NAME: why"), which
 * tests/run.py counts.  CHECK() fails the current case and returns from the
 * test function; helpers that check should return bool and be CHECK()ed.
 */
#ifndef TESTS_HOST_TEST_H
#define TESTS_HOST_TEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef void (*test_fn_t)(void);

/* tests/host/hosted.c: warnings printed so far, and the text of the latest in @last. */
unsigned long hosted_warnings(char *last, size_t size);

struct test_case {
	const char *name;
	test_fn_t fn;
};

#define TEST_MAX_CASES 256
static struct test_case test_cases[TEST_MAX_CASES];
static int test_ncases;
static bool test_failed_current;
static char test_fail_msg[512];
static unsigned long test_warnings_allowed;

static inline void test_register(const char *name, test_fn_t fn)
{
	if (test_ncases < TEST_MAX_CASES)
		test_cases[test_ncases++] = (struct test_case){ name, fn };
}

__attribute__((format(printf, 3, 4)))
static inline void test_fail(const char *file, int line, const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!test_failed_current)
		snprintf(test_fail_msg, sizeof(test_fail_msg), "%s:%d: %s", file, line, buf);
	test_failed_current = true;
}

/* Warnings printed by the process so far (WARN_ONCE() prints once per site and process). */
static inline unsigned long test_warnings(void)
{
	return hosted_warnings(NULL, 0);
}

/*
 * The current case may print up to @n more warnings without failing: for a
 * case that provokes a WARN_ONCE() on purpose.  A case that must see the
 * warning checks test_warnings() itself (an earlier case may have fired the
 * same site already).
 */
static inline void test_allow_warnings(unsigned long n)
{
	test_warnings_allowed += n;
}

/*
 * TEST_WATCHDOG(secs): the program is killed (SIGALRM) after @secs seconds of
 * wall time, so that a test a bug makes spin fails instead of hanging.
 */
#define TEST_WATCHDOG(secs)						\
	__attribute__((constructor)) static void test_watchdog(void)	\
	{ alarm(secs); }

#define TEST(name)							\
	static void name(void);						\
	__attribute__((constructor)) static void test_reg_##name(void)	\
	{ test_register(#name, name); }					\
	static void name(void)

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); \
			return;						\
		}							\
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		long long _a = (long long)(a), _b = (long long)(b);	\
		if (_a != _b) {						\
			test_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", \
				  #a, _a, #b, _b);			\
			return;						\
		}							\
	} while (0)

#define CHECK_STR(a, b)							\
	do {								\
		const char *_a = (a), *_b = (b);			\
		if (strcmp(_a, _b) != 0) {				\
			test_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", \
				  #a, _a, _b);				\
			return;						\
		}							\
	} while (0)

#ifndef TEST_NO_MAIN
int main(int argc, char **argv)
{
	int failed = 0;
	const char *only = argc > 1 ? argv[1] : NULL;
	unsigned long seen = test_warnings(), now, outside = 0;
	char last[256];

	for (int i = 0; i < test_ncases; i++) {
		if (only && strcmp(only, test_cases[i].name) != 0)
			continue;
		test_failed_current = false;
		test_fail_msg[0] = 0;
		test_warnings_allowed = 0;
		now = test_warnings();
		outside += now - seen;
		seen = now;
		test_cases[i].fn();
		now = hosted_warnings(last, sizeof(last));
		if (now - seen > test_warnings_allowed && !test_failed_current) {
			test_failed_current = true;
			snprintf(test_fail_msg, sizeof(test_fail_msg),
				 "%lu warning(s), %lu allowed; the latest at %s", now - seen,
				 test_warnings_allowed, last);
		}
		seen = now;
		if (test_failed_current) {
			printf("not ok - %s: %s\n", test_cases[i].name, test_fail_msg);
			failed++;
		} else {
			printf("ok - %s\n", test_cases[i].name);
		}
		fflush(stdout);
	}
	now = hosted_warnings(last, sizeof(last));
	outside += now - seen;
	if (outside) {
		printf("not ok - warnings_outside_cases: %lu, the latest: %s\n", outside, last);
		failed++;
	}
	return failed ? 1 : 0;
}
#endif

#endif
