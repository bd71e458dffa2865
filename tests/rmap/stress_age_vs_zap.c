/* SPDX-License-Identifier: MIT */
/*
 * Lockless aging racing zaps, faults and guest accesses, on real threads.
 *
 *  - agers walk every page's rmap with only the read-only bit lock: half the
 *    passes run rmap_test_clear_young(), half a checking walk that validates
 *    every descriptor and entry it meets;
 *  - a zapper (mmu_lock for write) zaps single entries, whole pages, and
 *    write-protects entries (clears W), then removes the rmaps; descriptors
 *    it frees are poisoned at once and reused only after an epoch-based grace
 *    period local to this test;
 *  - a faulter (mmu_lock for write, as the rmap contract wants of modifiers)
 *    installs entries in free slots and adds their rmaps;
 *  - guests set the accessed bit of present entries with compare-and-exchange.
 *
 * Entries carry a copy of their R/W/X bits in software bits 52-54 and their
 * page in the address field, so anyone can check that aging never changed
 * R/W/X and that a chain holds only its own page's entries.  A freed slot
 * must stay zero until the next fault (nothing resurrects a zapped entry).
 * At the end every chain must hold exactly the slots its page owns.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>

#include "rmap/age.h"
#include "smp/lockdep.h"
#include "tests/host/test.h"

#define NPAGES		16
#define NSLOTS		256
#define NAGERS		2
#define NGUESTS		2
#define MAX_DESCS	(NSLOTS + 64)

#define W_BIT		0x2ull
#define PFN_SHIFT	12
#define PFN_MASK	(0xffffull << PFN_SHIFT)
#define SIG_SHIFT	52
#define SIG_MASK	(RMAP_SPTE_PRESENT_MASK << SIG_SHIFT)

#define POISON_BYTE	0x6b
#define POISON_WORD	0x6b6b6b6b6b6b6b6bull

#ifdef __SANITIZE_THREAD__
#define RUN_S		15.0
#else
#define RUN_S		10.0
#endif

static uint64_t slots[NSLOTS];
static struct rmap_head heads[NPAGES];
static rwlock_t mmu_lock = RWLOCK_INIT;

/* Protected by mmu_lock (write): the page each slot maps, -1 if free; how many map one. */
static int owner[NSLOTS];
static int nr_mapped;

static int stop;
static char failure[256];
static int failed;

__attribute__((format(printf, 1, 2)))
static void fail(const char *fmt, ...)
{
	va_list ap;

	if (__atomic_exchange_n(&failed, 1, __ATOMIC_SEQ_CST))
		return;
	va_start(ap, fmt);
	vsnprintf(failure, sizeof(failure), fmt, ap);
	va_end(ap);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
}

static bool stopping(void)
{
	return __atomic_load_n(&stop, __ATOMIC_RELAXED);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t make_spte(int page, uint64_t perms)
{
	return perms | ((uint64_t)page << PFN_SHIFT) | (perms << SIG_SHIFT);
}

/* A present entry of @page whose R/W/X bits agree with their copy. */
static bool spte_ok(uint64_t v, int page)
{
	return (int)((v & PFN_MASK) >> PFN_SHIFT) == page &&
	       (v & RMAP_SPTE_PRESENT_MASK) == ((v & SIG_MASK) >> SIG_SHIFT);
}

/* ---- descriptors: a pool, poisoned when freed, reused after a grace period ---- */

static struct rmap_desc pool[MAX_DESCS] __attribute__((aligned(64)));

/* All protected by mmu_lock (write): every alloc and free runs under it. */
static struct rmap_desc *free_stack[MAX_DESCS];
static int nr_free;
static struct retired {
	struct rmap_desc *desc;
	uint64_t epoch;
} retired[MAX_DESCS];
static int nr_retired;
static long nr_reclaimed, nr_allocs;

/* Epochs: a walker publishes the epoch it entered in, 0 when quiescent. */
static uint64_t global_epoch = 1;
static uint64_t walker_epoch[NAGERS];

static void walker_enter(int id)
{
	/* SC store, then the walker loads heads: pairs with the SC loads in reclaim(). */
	__atomic_store_n(&walker_epoch[id], __atomic_load_n(&global_epoch, __ATOMIC_SEQ_CST),
			 __ATOMIC_SEQ_CST);
}

static void walker_exit(int id)
{
	/* Release: our reads of descriptors are done before reclaim sees us leave. */
	__atomic_store_n(&walker_epoch[id], 0, __ATOMIC_RELEASE);
}

static bool is_poisoned(const struct rmap_desc *d)
{
	const unsigned char *p = (const unsigned char *)d;

	for (size_t i = 0; i < sizeof(*d); i++)
		if (p[i] != POISON_BYTE)
			return false;
	return true;
}

/* Move descriptors no walker can still see to the free stack. */
static void reclaim(void)
{
	uint64_t oldest = UINT64_MAX;
	int keep = 0;

	for (int i = 0; i < NAGERS; i++) {
		uint64_t e = __atomic_load_n(&walker_epoch[i], __ATOMIC_SEQ_CST);

		if (e && e < oldest)
			oldest = e;
	}
	for (int i = 0; i < nr_retired; i++) {
		/* Walkers that entered after the retire's epoch cannot reach it. */
		if (retired[i].epoch < oldest) {
			free_stack[nr_free++] = retired[i].desc;
			nr_reclaimed++;
		} else {
			retired[keep++] = retired[i];
		}
	}
	nr_retired = keep;
}

static struct rmap_desc *stress_alloc(void *priv)
{
	struct rmap_desc *d;

	(void)priv;
	lockdep_assert_held_write(&mmu_lock);
	if (!nr_free)
		reclaim();
	if (!nr_free)
		return NULL;
	d = free_stack[--nr_free];
	/* Anyone who wrote it after its free (a walker included) spoiled the poison. */
	if (!is_poisoned(d))
		fail("descriptor %p written after it was freed", (void *)d);
	nr_allocs++;
	return d;
}

static void stress_free(void *priv, struct rmap_desc *d)
{
	(void)priv;
	lockdep_assert_held_write(&mmu_lock);
	/* Poison now: a walker that still reads it sees garbage and says so. */
	memset(d, POISON_BYTE, sizeof(*d));
	retired[nr_retired].desc = d;
	retired[nr_retired].epoch = __atomic_load_n(&global_epoch, __ATOMIC_SEQ_CST);
	nr_retired++;
	__atomic_add_fetch(&global_epoch, 1, __ATOMIC_SEQ_CST);
}

static const struct rmap_ops ops = { stress_alloc, stress_free, NULL };

/* ---- threads ---- */

/*
 * Take mmu_lock for write, yielding the host CPU while it is busy: with more
 * threads than CPUs, spinning on a preempted holder would burn whole time
 * slices and starve the modifiers.
 */
static void mmu_write_lock(void)
{
	while (!write_trylock(&mmu_lock))
		sched_yield();
}

struct worker {
	pthread_t tid;
	int id;
	unsigned int cpu;
	void *(*fn)(struct worker *w);
	uint64_t seed;
	long ops, young, entries, skipped;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	hosted_cpu_id = w->cpu;
	return w->fn(w);
}

/*
 * The checking walk of page @p: every descriptor unpoisoned and sane, every
 * entry one of our slots, at most once, and if present, of page @p with its
 * R/W/X intact.  The head must not change while we hold its bit.
 */
static void check_walk(struct worker *w, int p)
{
	uint64_t seen[NSLOTS / 64] = { 0 };
	struct rmap_head *h = &heads[p];
	unsigned long old = rmap_lock_readonly(h);
	struct rmap_iter it;
	uint64_t *sptep;
	int n = 0;

	for (sptep = rmap_iter_first(&it, old); sptep; sptep = rmap_iter_next(&it)) {
		long s = sptep - slots;
		uint64_t v;

		if (it.desc && (it.desc->more == (void *)POISON_WORD ||
				it.desc->count > RMAP_DESC_ENTRIES)) {
			fail("page %d: walked into a freed descriptor %p", p, (void *)it.desc);
			break;
		}
		if (s < 0 || s >= NSLOTS || (uint64_t *)((uintptr_t)sptep & ~7ul) != sptep) {
			fail("page %d: bad entry pointer %p", p, (void *)sptep);
			break;
		}
		if (seen[s / 64] & (1ull << (s % 64))) {
			fail("page %d: slot %ld twice in the chain", p, s);
			break;
		}
		seen[s / 64] |= 1ull << (s % 64);
		v = READ_ONCE(*sptep);
		if (rmap_spte_present(v) && !spte_ok(v, p))
			fail("page %d: slot %ld holds %#llx", p, s, (unsigned long long)v);
		if (++n > NSLOTS)
			break;
	}
	w->entries += n;
	if (old && READ_ONCE(h->val) != (old | RMAP_LOCKED))
		fail("page %d: head changed under the read-only lock", p);
	rmap_unlock_readonly(h, old);
}

static void *ager(struct worker *w)
{
	for (long pass = 0; !stopping(); pass++) {
		for (int p = 0; p < NPAGES && !stopping(); p++) {
			walker_enter(w->id);
			if (pass % 2)
				check_walk(w, p);
			else
				w->young += rmap_test_clear_young(&heads[p]);
			walker_exit(w->id);
		}
		w->ops++;
		sched_yield();
	}
	return NULL;
}

static void *guest(struct worker *w)
{
	while (!stopping()) {
		uint64_t *sp = &slots[rnd(&w->seed) % NSLOTS];
		uint64_t v = __atomic_load_n(sp, __ATOMIC_RELAXED);

		/* The CPU sets A on a walk through a present entry, never otherwise. */
		while (rmap_spte_present(v) && !(v & RMAP_SPTE_ACCESSED) &&
		       !__atomic_compare_exchange_n(sp, &v, v | RMAP_SPTE_ACCESSED, false,
						    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
		if (!(++w->ops % 256))
			sched_yield();
	}
	return NULL;
}

static void *faulter(struct worker *w)
{
	while (!stopping()) {
		int s = rnd(&w->seed) % NSLOTS, p = rnd(&w->seed) % NPAGES;
		uint64_t perms = rnd(&w->seed) % 7 + 1, expect = 0;

		mmu_write_lock();
		if (nr_mapped > NSLOTS * 3 / 4) {
			write_unlock(&mmu_lock);
			sched_yield();
			continue;
		}
		/* Look for a free slot under the lock, so that each hold does work. */
		for (int tries = 0; owner[s] >= 0 && tries < 64; tries++)
			s = rnd(&w->seed) % NSLOTS;
		if (owner[s] < 0) {
			uint64_t v = make_spte(p, perms) | RMAP_SPTE_ACCESSED;

			/* A free slot is zero: nothing may have resurrected it. */
			if (!__atomic_compare_exchange_n(&slots[s], &expect, v, false,
							 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
				fail("free slot %d holds %#llx", s, (unsigned long long)expect);
			if (rmap_add(&ops, &mmu_lock, &heads[p], &slots[s])) {
				owner[s] = p;
				nr_mapped++;
				w->ops++;
			} else {
				__atomic_store_n(&slots[s], 0, __ATOMIC_RELAXED);
				w->skipped++;
			}
		}
		write_unlock(&mmu_lock);
	}
	return NULL;
}

/* Zap slot @s (mapped), then drop its rmap. */
static void zap_slot(int s)
{
	int p = owner[s];
	uint64_t v = __atomic_exchange_n(&slots[s], 0, __ATOMIC_RELAXED);

	if (!rmap_spte_present(v) || !spte_ok(v, p))
		fail("zap: slot %d of page %d held %#llx", s, p, (unsigned long long)v);
	rmap_remove(&ops, &mmu_lock, &heads[p], &slots[s]);
	owner[s] = -1;
	nr_mapped--;
}

/* Take W away from slot @s (and from its copy), as dirty logging would. */
static void write_protect(int s)
{
	uint64_t v = __atomic_load_n(&slots[s], __ATOMIC_RELAXED);

	/* Leave R/X-less entries alone: clearing W would make them non-present. */
	while ((v & W_BIT) && (v & RMAP_SPTE_PRESENT_MASK & ~W_BIT) &&
	       !__atomic_compare_exchange_n(&slots[s], &v, v & ~(W_BIT | (W_BIT << SIG_SHIFT)),
					    false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static void *zapper(struct worker *w)
{
	uint64_t *batch[NSLOTS];

	while (!stopping()) {
		uint64_t r = rnd(&w->seed);
		int s = r % NSLOTS;

		mmu_write_lock();
		for (int tries = 0; owner[s] < 0 && tries < 64; tries++)
			s = rnd(&w->seed) % NSLOTS;
		if (nr_mapped < NSLOTS / 2) {
			/* Leave the faulter enough to age: just write-protect. */
			if (owner[s] >= 0)
				write_protect(s);
			write_unlock(&mmu_lock);
			sched_yield();
			continue;
		}
		if ((r >> 32) % 128 == 0) {
			/* Zap every mapping of one page, as reclaim does. */
			int p = (r >> 40) % NPAGES, n = 0;
			struct rmap_iter it;
			uint64_t *sptep;

			rmap_for_each(&mmu_lock, &heads[p], &it, sptep)
				batch[n++] = sptep;
			for (int i = 0; i < n; i++)
				zap_slot((int)(batch[i] - slots));
			if (READ_ONCE(heads[p].val))
				fail("page %d not empty after zapping all", p);
		} else if (owner[s] >= 0) {
			if ((r >> 32) % 4 == 0)
				write_protect(s);
			else
				zap_slot(s);
		}
		reclaim();
		write_unlock(&mmu_lock);
		w->ops++;
	}
	return NULL;
}

/* ---- the final check ---- */

static bool final_check(void)
{
	static int count[NSLOTS];

	memset(count, 0, sizeof(count));
	write_lock(&mmu_lock);
	for (int p = 0; p < NPAGES; p++) {
		struct rmap_iter it;
		uint64_t *sptep;
		unsigned int n = 0;

		if (heads[p].val & RMAP_LOCKED)
			fail("page %d left locked", p);
		rmap_for_each(&mmu_lock, &heads[p], &it, sptep) {
			int s = (int)(sptep - slots);

			if (s < 0 || s >= NSLOTS || owner[s] != p || count[s]++)
				fail("page %d: slot %d wrongly in its chain", p, s);
			if (++n > NSLOTS)
				break;
		}
		if (n != rmap_count(&mmu_lock, &heads[p]))
			fail("page %d: count %u, walked %u", p,
			     rmap_count(&mmu_lock, &heads[p]), n);
		if (heads[p].val & RMAP_MANY) {
			for (struct rmap_desc *d = rmap_val_desc(heads[p].val); d; d = d->more)
				if (is_poisoned(d) ||
				    (d != rmap_val_desc(heads[p].val) && d->count != RMAP_DESC_ENTRIES))
					fail("page %d: bad descriptor %p", p, (void *)d);
		}
	}
	for (int s = 0; s < NSLOTS; s++) {
		uint64_t v = slots[s];

		if (owner[s] < 0 && v)
			fail("free slot %d holds %#llx", s, (unsigned long long)v);
		if (owner[s] >= 0 && (!count[s] || !rmap_spte_present(v) || !spte_ok(v, owner[s])))
			fail("slot %d of page %d lost or bad: %#llx", s, owner[s],
			     (unsigned long long)v);
	}
	write_unlock(&mmu_lock);
	return !failed;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

TEST(aging_races_zaps_faults_and_guests)
{
	struct worker w[NAGERS + NGUESTS + 2];
	int nw = 0;
	double t0, budget = RUN_S;
	const char *env = getenv("RMAP_STRESS_S");
	long young = 0, walked = 0;

	if (env)
		budget = atof(env);
	for (int s = 0; s < NSLOTS; s++)
		owner[s] = -1;
	for (int i = 0; i < MAX_DESCS; i++) {
		memset(&pool[i], POISON_BYTE, sizeof(pool[i]));
		free_stack[nr_free++] = &pool[i];
	}
	for (int i = 0; i < NAGERS; i++)
		w[nw++] = (struct worker){ .id = i, .fn = ager };
	for (int i = 0; i < NGUESTS; i++)
		w[nw++] = (struct worker){ .fn = guest };
	w[nw++] = (struct worker){ .fn = faulter };
	w[nw++] = (struct worker){ .fn = zapper };
	for (int i = 0; i < nw; i++) {
		w[i].cpu = i + 1;
		w[i].seed = 0x9e3779b97f4a7c15ull * (i + 1);
		pthread_create(&w[i].tid, NULL, worker_main, &w[i]);
	}
	t0 = now();
	while (now() - t0 < budget && !stopping()) {
		struct timespec ts = { 0, 50 * 1000000L };

		nanosleep(&ts, NULL);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < nw; i++)
		pthread_join(w[i].tid, NULL);
	for (int i = 0; i < NAGERS; i++) {
		young += w[i].young;
		walked += w[i].entries;
	}
	final_check();
	printf("# %d of %d slots mapped at the end\n", nr_mapped, NSLOTS);
	printf("# %.1fs: %ld aging passes (%ld young pages, %ld entries checked), "
	       "%ld faults, %ld zap ops, %ld guest touches, %ld descriptors allocated, "
	       "%ld reclaimed\n", now() - t0, w[0].ops + w[1].ops, young, walked,
	       w[NAGERS + NGUESTS].ops, w[NAGERS + NGUESTS + 1].ops,
	       w[NAGERS].ops + w[NAGERS + 1].ops, nr_allocs, nr_reclaimed);
	if (failed)
		test_fail(__FILE__, __LINE__, "%s", failure);
	/* The race must have happened for the pass to mean anything. */
	CHECK(young > 0 && walked > 0 && nr_reclaimed > 0);
	CHECK(w[0].ops + w[1].ops >= 2);
}
