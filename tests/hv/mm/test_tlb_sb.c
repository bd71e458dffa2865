/* SPDX-License-Identifier: MIT */
/*
 * The store-buffering pair of hv/mm/tlb.c, and the order of its flusher,
 * staged on the simulated x86-TSO machine of tests/host/tso.h.
 *
 * KVM's vcpu->mode protocol: the entering CPU stores IN_GUEST_MODE and then
 * reads its request queue; the flusher queues and then reads the modes.
 * Each side's smp_mb() keeps its store from waiting in the store buffer
 * while its load goes ahead; without either, both may miss the other's
 * store, and the CPU runs the guest on a translation the flusher believes
 * gone.  Real threads almost never hit that window; here it is staged, one
 * thread playing every CPU: CPU 0 flushes, CPUs 1 and 2 run guests.  Where
 * the flusher waits (cpu_relax()), every CPU in guest mode that an IPI
 * reached exits, and its stores drain.
 */
#include "tests/host/tso.h"

#include "hv/mm/tlb.c"

#include "tests/host/test.h"
#include "tests/hv/mm/tlb_env.h"

/* A flusher that waits for a CPU that never exits spins. */
TEST_WATCHDOG(30);

#define EPTP_E		0x5000005eull
#define KEY		7

static bool in_guest[TSO_CPUS];

static void on_cpu(unsigned int cpu)
{
	hosted_cpu_id = cpu;
}

static void guest_enter(unsigned int cpu)
{
	unsigned int me = smp_processor_id();

	on_cpu(cpu);
	tlb_guest_enter();
	in_guest[cpu] = true;
	on_cpu(me);
}

static void guest_exit(unsigned int cpu)
{
	unsigned int me = smp_processor_id();

	on_cpu(cpu);
	in_guest[cpu] = false;
	tlb_guest_exit();
	hw_take_interrupts();
	on_cpu(me);
}

/* The flusher waits: CPUs in guest mode that got an IPI exit, and time passes for them. */
static void ipi_exits(void)
{
	unsigned int me = smp_processor_id();

	for (unsigned int cpu = 1; cpu < TSO_CPUS; cpu++) {
		if (!in_guest[cpu] || !__atomic_load_n(&hw_cpus[cpu].ipi, __ATOMIC_RELAXED))
			continue;
		guest_exit(cpu);
		on_cpu(cpu);
		tso_drain();
	}
	on_cpu(me);
	tso_relax_hook = ipi_exits;
}

/* CPUs 1 and 2 have EPTP_E's translation cached, all run outside guest mode; nothing buffered. */
static void setup(void)
{
	tso_on = false;
	for (unsigned int cpu = 1; cpu < TSO_CPUS; cpu++) {
		on_cpu(cpu);
		tlb_guest_enter();	/* nothing left queued from an earlier case */
		tlb_guest_exit();
		in_guest[cpu] = false;
	}
	hw_init(TSO_CPUS);
	for (unsigned int cpu = 1; cpu < TSO_CPUS; cpu++) {
		on_cpu(cpu);
		hw_tlb_fill(EPTP_E, KEY, 1);
	}
	on_cpu(0);
	tso_relax_hook = ipi_exits;
	tso_on = true;
}

/* After the flush returned: may @cpu still use the old translation? */
static bool stale(unsigned int cpu)
{
	return in_guest[cpu] && hw_tlb_cached(cpu, EPTP_E);
}

/* Every CPU out of guest mode, every buffer drained. */
static void teardown(void)
{
	for (unsigned int cpu = 1; cpu < TSO_CPUS; cpu++)
		if (in_guest[cpu])
			guest_exit(cpu);
	for (unsigned int cpu = 0; cpu < TSO_CPUS; cpu++) {
		on_cpu(cpu);
		tso_drain();
	}
	tso_on = false;
	tso_relax_hook = NULL;
	hw_ipi_hook = NULL;
	on_cpu(0);
}

/*
 * Entry side (tlb_guest_enter()'s smp_mb()): CPU 1 enters, finding nothing
 * queued, then CPU 0 flushes.  If CPU 1's IN_GUEST_MODE still sat in its
 * store buffer, the flusher would see it outside, not wait, and CPU 1 would
 * run on with the old translation.
 */
TEST(entering_cpu_is_seen_in_guest_mode_by_a_later_flush)
{
	bool bad;

	setup();
	guest_enter(1);
	tlb_flush_ept(1ull << 1, EPTP_E);
	bad = stale(1);
	teardown();
	CHECK(!bad);
	CHECK_EQ(hw_cpus[1].ipis, 1);
	/* Its next entry runs the INVEPT. */
	guest_enter(1);
	bad = hw_tlb_cached(1, EPTP_E);
	teardown();
	CHECK(!bad);
}

/*
 * Flusher side (tlb_flush_ept()'s smp_mb()): CPU 0 queues, sees CPU 1
 * outside guest mode and returns; then CPU 1 enters.  If the request still
 * sat in CPU 0's store buffer, CPU 1 would find nothing queued.
 */
TEST(request_is_visible_before_the_flusher_reads_the_modes)
{
	bool bad;

	setup();
	tlb_flush_ept(1ull << 1, EPTP_E);
	guest_enter(1);
	bad = stale(1);
	teardown();
	CHECK(!bad);
	CHECK_EQ(hw_cpus[1].ipis, 0);
	CHECK_EQ(hw_cpus[1].invept_single, 1);
}

/* CPU 1 enters while the flusher sends CPU 2 its IPI. */
static void cpu1_enters(unsigned int cpu)
{
	hw_ipi_hook = NULL;
	if (cpu == 2)
		guest_enter(1);
}

/*
 * The flusher's order: queue, then read the modes.  CPU 2 is in guest mode;
 * CPU 1 enters between the flusher's look at CPU 1 (outside) and its IPI
 * to CPU 2.  Had the flusher read the modes before queueing, CPU 1 would
 * find nothing queued and not be waited for.
 */
TEST(flusher_queues_before_it_reads_the_modes)
{
	bool bad1, bad2;

	setup();
	guest_enter(2);
	hw_ipi_hook = cpu1_enters;
	tlb_flush_ept(1ull << 1 | 1ull << 2, EPTP_E);
	bad1 = stale(1);
	bad2 = stale(2);
	teardown();
	CHECK(!bad1);
	CHECK(!bad2);
	CHECK_EQ(hw_cpus[2].ipis, 1);
}

/* A CPU in guest mode gets an IPI, and the flush returns only once it left. */
TEST(flusher_waits_for_a_cpu_in_guest_mode)
{
	bool bad;

	setup();
	guest_enter(1);
	guest_enter(2);
	tlb_flush_ept(1ull << 1, EPTP_E);
	bad = stale(1);
	teardown();
	CHECK(!bad);
	CHECK_EQ(hw_cpus[1].ipis, 1);
	CHECK_EQ(hw_cpus[2].ipis, 0);	/* not in the mask */
}

/* The flusher waits for CPU 1, which left guest mode: it takes the IPI outside and goes back in. */
static int idle_waits;

static void flusher_idles(void)
{
	if (++idle_waits < 1000) {
		tso_relax_hook = flusher_idles;
		return;
	}
	/* It waits for the end of the stay after the one it saw: end it. */
	guest_exit(1);
	on_cpu(1);
	tso_drain();
	on_cpu(0);
}

static void cpu1_takes_the_ipi_and_goes_back_in(void)
{
	on_cpu(1);
	tso_drain();
	hw_take_interrupts();
	on_cpu(0);
	guest_enter(1);
	tso_relax_hook = flusher_idles;
}

/*
 * A flusher that sees a CPU in guest mode waits for the end of that stay,
 * not of the next.  CPU 1 is leaving guest mode: the first of its exit's
 * stores has reached memory when the flusher looks.  Whatever the flusher
 * makes of it, once CPU 1 has taken the IPI (outside guest mode) and gone
 * back in, the flush must not wait for CPU 1's next exit: the new stay
 * began after the request was queued.
 */
TEST(flusher_does_not_wait_for_a_stay_that_began_after_it_queued)
{
	bool bad;

	setup();
	guest_enter(1);
	on_cpu(1);
	in_guest[1] = false;
	tlb_guest_exit();
	tso_drain_one();
	on_cpu(0);
	idle_waits = 0;
	tso_relax_hook = cpu1_takes_the_ipi_and_goes_back_in;
	tlb_flush_ept(1ull << 1, EPTP_E);
	if (tso_relax_hook == cpu1_takes_the_ipi_and_goes_back_in)
		cpu1_takes_the_ipi_and_goes_back_in();	/* the flush returned at once */
	bad = stale(1);
	teardown();
	CHECK_EQ(idle_waits, 0);
	CHECK(!bad);
}
