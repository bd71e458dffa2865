/* SPDX-License-Identifier: MIT */
/*
 * The lock order of smp/lock_order.h, as the primitives check it: locks
 * taken outermost first pass silently; one taken against the order warns,
 * naming both locks; trylocks may go against it; an unordered lock is not
 * checked; lockdep_assert_held() knows who holds a spinlock.  Each scenario
 * runs in a child process whose stderr the parent reads.
 */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smp/cpu.h"
#include "smp/lockdep.h"
#include "smp/rwlock.h"
#include "smp/spinlock.h"
#include "tests/host/test.h"

/* CHECK() with the child's output in the message. */
#define CHECK_MSG(cond, fmt, ...)					\
	do {								\
		if (!(cond)) {						\
			test_fail(__FILE__, __LINE__, "CHECK(%s): " fmt, #cond, __VA_ARGS__); \
			return;						\
		}							\
	} while (0)

static spinlock_t vm_lock = SPINLOCK_INIT_ORDER(LOCK_ORDER_VM);
static spinlock_t memslot_lock = SPINLOCK_INIT_ORDER(LOCK_ORDER_MEMSLOT);
static spinlock_t console_lock = SPINLOCK_INIT_ORDER(LOCK_ORDER_CONSOLE);
static spinlock_t plain_lock = SPINLOCK_INIT;
static rwlock_t mmu_lock = RWLOCK_INIT_ORDER(LOCK_ORDER_MMU);

/* Run fn in a child; its stderr into out; true if it exited 0. */
static bool run_child(void (*fn)(void), char *out, size_t len)
{
	int fds[2], status;
	ssize_t n, got = 0;
	pid_t pid;

	if (pipe(fds))
		return false;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		fn();
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], out + got, len - 1 - (size_t)got)) > 0)
		got += n;
	out[got] = 0;
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void in_order(void)
{
	spin_lock(&vm_lock);
	write_lock(&mmu_lock);
	spin_lock(&memslot_lock);
	spin_lock(&console_lock);
	spin_unlock(&console_lock);
	spin_unlock(&memslot_lock);
	write_unlock(&mmu_lock);
	read_lock(&mmu_lock);
	spin_lock(&memslot_lock);
	spin_unlock(&memslot_lock);
	read_unlock(&mmu_lock);
	spin_unlock(&vm_lock);
	/* Released means released: the outer lock may be taken again. */
	spin_lock(&vm_lock);
	spin_unlock(&vm_lock);
}

static void memslot_then_mmu(void)
{
	spin_lock(&memslot_lock);
	read_lock(&mmu_lock);
	read_unlock(&mmu_lock);
	spin_unlock(&memslot_lock);
}

static void console_then_vm(void)
{
	spin_lock(&console_lock);
	spin_lock(&vm_lock);
	spin_unlock(&vm_lock);
	spin_unlock(&console_lock);
}

static void trylock_against_order(void)
{
	spin_lock(&memslot_lock);
	if (spin_trylock(&vm_lock))
		spin_unlock(&vm_lock);
	if (write_trylock(&mmu_lock))
		write_unlock(&mmu_lock);
	spin_unlock(&memslot_lock);
}

static void unordered_anywhere(void)
{
	spin_lock(&console_lock);
	spin_lock(&plain_lock);
	spin_unlock(&plain_lock);
	spin_unlock(&console_lock);
}

TEST(locks_in_order_pass_silently)
{
	char out[1024];

	CHECK(run_child(in_order, out, sizeof(out)));
	CHECK_MSG(!strstr(out, "lock order"), "%s", out);
}

TEST(rwlock_taken_inside_a_later_lock_warns_naming_both)
{
	char out[1024];

	CHECK(run_child(memslot_then_mmu, out, sizeof(out)));
	CHECK_MSG(strstr(out, "lock order: taking mmu_lock while holding memslot age_lock"), "%s", out);
}

TEST(spinlock_taken_inside_the_console_lock_warns)
{
	char out[1024];

	CHECK(run_child(console_then_vm, out, sizeof(out)));
	CHECK_MSG(strstr(out, "taking vm_lock while holding console_lock"), "%s", out);
}

TEST(trylocks_may_go_against_the_order)
{
	char out[1024];

	CHECK(run_child(trylock_against_order, out, sizeof(out)));
	CHECK_MSG(!strstr(out, "lock order"), "%s", out);
}

TEST(unordered_locks_are_not_checked)
{
	char out[1024];

	CHECK(run_child(unordered_anywhere, out, sizeof(out)));
	CHECK_MSG(!strstr(out, "lock order"), "%s", out);
}

static void *hold_vm_lock(void *arg)
{
	int *stage = arg;

	hosted_cpu_id = 1;
	spin_lock(&vm_lock);
	__atomic_store_n(stage, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(stage, __ATOMIC_ACQUIRE) != 2)
		cpu_relax();
	spin_unlock(&vm_lock);
	return NULL;
}

static void assert_held_by_other_cpu(void)
{
	static int stage;
	pthread_t t;

	pthread_create(&t, NULL, hold_vm_lock, &stage);
	while (__atomic_load_n(&stage, __ATOMIC_ACQUIRE) != 1)
		cpu_relax();
	lockdep_assert_held(&vm_lock);		/* held, but not by this CPU: aborts */
	__atomic_store_n(&stage, 2, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
}

static void assert_held_by_me(void)
{
	spin_lock(&vm_lock);
	lockdep_assert_held(&vm_lock);
	spin_unlock(&vm_lock);
	write_lock(&mmu_lock);
	lockdep_assert_held(&mmu_lock);
	write_unlock(&mmu_lock);
}

TEST(lockdep_assert_held_knows_the_holder)
{
	char out[1024];

	CHECK(run_child(assert_held_by_me, out, sizeof(out)));
	CHECK(!run_child(assert_held_by_other_cpu, out, sizeof(out)));
	CHECK_MSG(strstr(out, "ASSERT(") != NULL, "%s", out);
}

TEST(every_order_has_a_name)
{
	for (unsigned int o = 0; o < LOCK_ORDER_MAX; o++)
		CHECK_MSG(lock_order_names[o] != NULL, "order %u", o);
}
