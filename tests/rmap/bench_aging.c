/* SPDX-License-Identifier: MIT */
/*
 * `make bench-aging`: what aging and reclaim cost, in one process.
 *
 * 1. After KVM's access_tracking_perf_test: T vCPU threads (1, 2, 4) own
 *    disjoint parts of 64 MiB of guest memory.  Each populates its part
 *    (first-touch faults), re-maps it after every root was invalidated
 *    (faults on resident pages), then touches every page PASSES times (no
 *    faults: walk, accessed bit, a write), while an ager thread loops
 *    (a) nothing, (b) memslot_age_locked() (mmu_lock held for write), or
 *    (c) memslot_age() (lockless).  Reported: the slowest thread's time per
 *    phase and per touch pass, and (b), (c) against (a).
 * 2. One aging pass over 64 MiB, all old and all young, against a plain read
 *    of as many EPT entries.
 * 3. Evict and refault cost per page and the store's compression, for zero,
 *    text-like and random pages, and random pages the store refuses (an
 *    attempt that frees nothing; the refault column is then a re-map).
 * 4. Metadata bytes per 4 KiB guest page.
 *
 * Timings: median of REPEAT runs.  The lockless ager runs back to back (no
 * sleep between passes, as KVM's access_tracking_perf_test -p); the
 * mmu_lock baseline, and both agers of the old design, sleep as long as each
 * pass took, and at least 200 us, or faults would hardly get the lock (the
 * old lockless pass back to back made a 64 MiB populate take 42 s instead
 * of 19 ms).  On a host with fewer CPUs than
 * threads + the ager, the rows with more threads also measure CPU sharing.
 *
 * The last lines are `figure NAME VALUE`.  Built with -DBENCH_V1 against the
 * memslot of commit cf5f9e8 (per-page generation lists under ms->lock; see
 * tests/rmap/rmap.mk), the same program measures that design, and prefixes
 * its figures with baseline_.
 */
#define _GNU_SOURCE
#include <sched.h>

#include <lz4.h>

#include "store/lz.h"
#include "tests/store/zpages.h"
#include "tests/rmap/ms_env.h"

#define MEM_PAGES	(64u << 20 >> EPT_PAGE_SHIFT)
#define PASSES		100
#define REPEAT		5
#define MAX_T		4
#define EVICT_PAGES	4096

enum ager_mode { AGE_NONE, AGE_LOCKED, AGE_LOCKLESS, NR_MODES };
static const char *const mode_name[NR_MODES] = { "no aging", "mmu_lock", "lockless" };

#ifdef BENCH_V1
#define FIGURE_PREFIX	"baseline_"
#define BENCH_V1_PACED	1
#else
#define FIGURE_PREFIX	""
#define BENCH_V1_PACED	0
#endif

static struct zstore zs;
static struct tvm vm;

/* The `figure` lines, printed at the end. */
static char figures[4096];

static void figure(const char *name, double v)
{
	size_t n = strlen(figures);

	snprintf(figures + n, sizeof(figures) - n, "figure %s%s %.2f\n", FIGURE_PREFIX, name, v);
}

/* ---- part 1: vCPUs touching their memory while the ager runs ---- */

enum phase { POPULATE, REMAP, TOUCH, NR_PHASES };

struct vcpu {
	pthread_t tid;
	unsigned int id, nr;
	struct ept_root *root;
	double secs[NR_PHASES];
	double cpu[NR_PHASES];	/* the thread's CPU time: without the time others took the CPU */
} __attribute__((aligned(64)));

static struct vcpu vcpus[MAX_T];
#ifndef BENCH_V1
static bool bench_huge;		/* run() maps with 2 MiB leaves */
#endif
static pthread_barrier_t barrier;
static int ager_stop;
static long ager_passes;

/* A guest write to @gfn: the CPU's walk, or a fault and again. */
static void guest_write(struct vcpu *v, uint64_t gfn, uint64_t val)
{
	for (;;) {
		enum ept_fault_result r;
		uint64_t *page;

		grace_read_lock();
		page = hw_access(v->root, gfn);
		if (page)
			WRITE_ONCE(*page, val);
		grace_read_unlock();
		if (page)
			return;
		r = ept_fault(&vm.ept, v->root, gfn << EPT_PAGE_SHIFT, EPT_W);
		if (r == EPT_NOMEM || r == EPT_NO_MEMSLOT) {
			fprintf(stderr, "bench: fault on gfn %llu: %d\n", (unsigned long long)gfn,
				r);
			exit(1);
		}
		if (READ_ONCE(v->root->invalid)) {
			ept_root_put(&vm.ept, v->root);
			v->root = ept_root_load_for_vcpu(&vm.ept);
		}
	}
}

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Every page of this vCPU's part once; seconds, and CPU seconds added to *cpu. */
static double pass(struct vcpu *v, uint64_t val, double *cpu, double scale)
{
	uint64_t per = MEM_PAGES / v->nr, first = v->id * per;
	double t0 = now_s(), c0 = thread_cpu_s();

	for (uint64_t g = first; g < first + per; g++)
		guest_write(v, g, val);
	*cpu += (thread_cpu_s() - c0) * scale;
	return now_s() - t0;
}

static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;

	hosted_cpu_id = 1 + v->id;
	grace_cpu_online(hosted_cpu_id);
	v->root = ept_root_load_for_vcpu(&vm.ept);
	pthread_barrier_wait(&barrier);
	v->secs[POPULATE] = pass(v, 1, &v->cpu[POPULATE], 1);
	pthread_barrier_wait(&barrier);		/* main invalidates every root */
	pthread_barrier_wait(&barrier);
	v->secs[REMAP] = pass(v, 2, &v->cpu[REMAP], 1);
	for (int i = 0; i < PASSES; i++)
		v->secs[TOUCH] += pass(v, 3 + i, &v->cpu[TOUCH], 1.0 / PASSES) / PASSES;
	pthread_barrier_wait(&barrier);
	ept_root_put(&vm.ept, v->root);
	grace_cpu_offline(hosted_cpu_id);
	return NULL;
}

static void *ager_main(void *arg)
{
	enum ager_mode mode = (enum ager_mode)(uintptr_t)arg;

	hosted_cpu_id = 1 + MAX_T;
	grace_cpu_online(hosted_cpu_id);
	while (!__atomic_load_n(&ager_stop, __ATOMIC_RELAXED)) {
		double t0 = now_s();

		if (mode == AGE_LOCKED)
			memslot_age_locked(&vm.ms);
		else
			memslot_age(&vm.ms);
		ager_passes++;
		grace_quiescent();
		/*
		 * The mmu_lock baseline, and every ager of the old design (its ms->lock
		 * back to back starves first touches for seconds): at most half the
		 * time, passes at least 200 us apart.
		 */
		if (mode == AGE_LOCKED || BENCH_V1_PACED)
			usleep((useconds_t)((now_s() - t0) * 1e6) + 200);
	}
	grace_cpu_offline(hosted_cpu_id);
	return NULL;
}

/* One run: the slowest thread's seconds per phase (touch: per pass); aging passes made. */
static void run(unsigned int nr, enum ager_mode mode, double secs[NR_PHASES],
		double cpu[NR_PHASES], long *passes)
{
	pthread_t ager;

	if (tvm_init(&vm, &zs, MEM_PAGES))
		exit(1);
#ifndef BENCH_V1
	vm.ms.huge = bench_huge;
#endif
	pthread_barrier_init(&barrier, NULL, nr + 1);
	ager_stop = 0;
	ager_passes = 0;
	for (unsigned int i = 0; i < nr; i++) {
		vcpus[i] = (struct vcpu){ .id = i, .nr = nr };
		pthread_create(&vcpus[i].tid, NULL, vcpu_main, &vcpus[i]);
	}
	if (mode != AGE_NONE)
		pthread_create(&ager, NULL, ager_main, (void *)(uintptr_t)mode);
	pthread_barrier_wait(&barrier);
	pthread_barrier_wait(&barrier);
	ept_invalidate_all_roots(&vm.ept);
	pthread_barrier_wait(&barrier);
	pthread_barrier_wait(&barrier);
	__atomic_store_n(&ager_stop, 1, __ATOMIC_RELAXED);
	if (mode != AGE_NONE)
		pthread_join(ager, NULL);
	for (unsigned int i = 0; i < nr; i++)
		pthread_join(vcpus[i].tid, NULL);
	for (int p = 0; p < NR_PHASES; p++) {
		secs[p] = cpu[p] = 0;
		for (unsigned int i = 0; i < nr; i++) {
			secs[p] = vcpus[i].secs[p] > secs[p] ? vcpus[i].secs[p] : secs[p];
			cpu[p] = vcpus[i].cpu[p] > cpu[p] ? vcpus[i].cpu[p] : cpu[p];
		}
	}
	*passes = ager_passes;
	pthread_barrier_destroy(&barrier);
	tvm_destroy(&vm);
	grace_barrier();
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#ifndef BENCH_V1
/* One vCPU thread over memory mapped by 2 MiB leaves, without and with the lockless ager. */
static void part1_huge(void)
{
	static const char *const key[NR_PHASES] = { "populate", "remap", "touch" };
	static const enum ager_mode modes[] = { AGE_NONE, AGE_LOCKLESS };
	double med[2][NR_PHASES];

	bench_huge = true;
	for (int m = 0; m < 2; m++) {
		double secs[NR_PHASES][REPEAT];

		for (int r = 0; r < REPEAT; r++) {
			double s[NR_PHASES], c[NR_PHASES];
			long n;

			run(1, modes[m], s, c, &n);
			for (int p = 0; p < NR_PHASES; p++)
				secs[p][r] = s[p];
		}
		for (int p = 0; p < NR_PHASES; p++) {
			qsort(secs[p], REPEAT, sizeof(double), cmp_double);
			med[m][p] = secs[p][REPEAT / 2];
		}
	}
	bench_huge = false;
	printf("\n1b. the same, 1 vCPU thread, memory mapped by 2 MiB leaves (ms): ");
	for (int p = 0; p < NR_PHASES; p++) {
		char name[64];

		printf("%s %.3f / %.3f (%+.1f%%)%s", key[p], med[0][p] * 1e3, med[1][p] * 1e3,
		       (med[1][p] / med[0][p] - 1) * 100, p + 1 < NR_PHASES ? ", " : "\n");
		snprintf(name, sizeof(name), "aging_slowdown_%s_2m_pct", key[p]);
		figure(name, (med[1][p] / med[0][p] - 1) * 100);
	}
}
#endif

static void part1(void)
{
#ifdef BENCH_V1
	/* Only what the figures need: the old design's rows with more threads take minutes. */
	static const unsigned int threads[] = { 1 };
#else
	static const unsigned int threads[] = { 1, 2, 4 };
#endif
	long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	static const char *const phase_name[NR_PHASES] = {
		"populate (ms)", "re-map (ms)", "touch pass (ms)"
	};

	printf("1. %u MiB of guest memory, %d touch passes; slowest vCPU thread, median of %d; "
	       "%ld host CPUs\n", MEM_PAGES >> 8, PASSES, REPEAT, ncpus);
	printf("%-3s %-16s", "T", "phase");
	for (int m = 0; m < NR_MODES; m++)
		printf(" %12s", mode_name[m]);
	printf(" %10s %10s\n", "(b)/(a)", "(c)/(a)");
	for (size_t ti = 0; ti < sizeof(threads) / sizeof(threads[0]); ti++) {
		double med[NR_MODES][NR_PHASES], medcpu[NR_MODES][NR_PHASES];
		long passes[NR_MODES] = { 0 };

		for (int m = 0; m < NR_MODES; m++) {
			double secs[NR_PHASES][REPEAT], cpus[NR_PHASES][REPEAT];

			for (int r = 0; r < REPEAT; r++) {
				double s[NR_PHASES], c[NR_PHASES];
				long n;

				run(threads[ti], m, s, c, &n);
				passes[m] += n;
				for (int p = 0; p < NR_PHASES; p++) {
					secs[p][r] = s[p];
					cpus[p][r] = c[p];
				}
			}
			for (int p = 0; p < NR_PHASES; p++) {
				qsort(secs[p], REPEAT, sizeof(double), cmp_double);
				qsort(cpus[p], REPEAT, sizeof(double), cmp_double);
				med[m][p] = secs[p][REPEAT / 2];
				medcpu[m][p] = cpus[p][REPEAT / 2];
			}
		}
		for (int p = 0; threads[ti] == 1 && p < NR_PHASES; p++) {
			static const char *const key[NR_PHASES] = { "populate", "remap", "touch" };
			char name[64];

			snprintf(name, sizeof(name), "aging_slowdown_%s_pct", key[p]);
			figure(name, (med[AGE_LOCKLESS][p] / med[AGE_NONE][p] - 1) * 100);
			/* The same in the vCPU thread's CPU time: without the CPU the ager took from it. */
			snprintf(name, sizeof(name), "aging_slowdown_%s_cpu_pct", key[p]);
			figure(name, (medcpu[AGE_LOCKLESS][p] / medcpu[AGE_NONE][p] - 1) * 100);
		}
		if (threads[ti] == 1)
			figure("aging_passes_per_run", (double)passes[AGE_LOCKLESS] / REPEAT);
		for (int p = 0; p < NR_PHASES; p++) {
			printf("%u%-2s %-16s", threads[ti], threads[ti] + 1 > ncpus ? "*" : "",
			       phase_name[p]);
			for (int m = 0; m < NR_MODES; m++)
				printf(" %12.3f", med[m][p] * 1e3);
			printf(" %+9.1f%% %+9.1f%%\n",
			       (med[AGE_LOCKED][p] / med[AGE_NONE][p] - 1) * 100,
			       (med[AGE_LOCKLESS][p] / med[AGE_NONE][p] - 1) * 100);
		}
		printf("%u%-2s %-16s %12s %12ld %12ld\n", threads[ti],
		       threads[ti] + 1 > ncpus ? "*" : "", "aging passes/run", "-",
		       passes[AGE_LOCKED] / REPEAT, passes[AGE_LOCKLESS] / REPEAT);
	}
	printf("*: more threads (vCPUs + ager) than host CPUs: spinning waiters (ticket locks) "
	       "and preempted holders dominate these rows\n");
}

/* ---- part 2: one aging pass against a plain read of the entries ---- */

static volatile uint64_t sink;

/* The leaf tables behind gfns [0, MEM_PAGES) of @root, read end to end. */
static double plain_read(struct ept_root *root)
{
	static ept_spte_t *tables[MEM_PAGES / EPT_PTES];
	uint64_t sum = 0;
	double t0;

	for (uint64_t i = 0; i < MEM_PAGES / EPT_PTES; i++)
		tables[i] = hw_sptep(root, i * EPT_PTES);
	t0 = now_s();
	for (uint64_t i = 0; i < MEM_PAGES / EPT_PTES; i++)
		for (unsigned int j = 0; j < EPT_PTES; j++)
			sum += READ_ONCE(tables[i][j]);
	sink = sum;
	return now_s() - t0;
}

static void set_young(struct ept_root *root)
{
	grace_read_lock();
	for (uint64_t g = 0; g < MEM_PAGES; g++)
		hw_access(root, g);
	grace_read_unlock();
}

static void part2(void)
{
	double best[4] = { 1e9, 1e9, 1e9, 1e9 };
	const char *const names[4] = {
		"plain read of the entries", "memslot_age, all old", "memslot_age, all young",
		"memslot_age_locked, all young"
	};
	struct ept_root *root;

	if (tvm_init(&vm, &zs, MEM_PAGES))
		exit(1);
	root = ept_root_load_for_vcpu(&vm.ept);
	for (uint64_t g = 0; g < MEM_PAGES; g++)
		tvm_touch(&vm, &root, g);
	for (int r = 0; r < 10; r++) {
		double t0, s;

		s = plain_read(root);
		best[0] = s < best[0] ? s : best[0];
		memslot_age(&vm.ms);		/* all old now */
		t0 = now_s();
		memslot_age(&vm.ms);
		s = now_s() - t0;
		best[1] = s < best[1] ? s : best[1];
		set_young(root);
		t0 = now_s();
		memslot_age(&vm.ms);
		s = now_s() - t0;
		best[2] = s < best[2] ? s : best[2];
		set_young(root);
		t0 = now_s();
		memslot_age_locked(&vm.ms);
		s = now_s() - t0;
		best[3] = s < best[3] ? s : best[3];
	}
	printf("\n2. one aging pass over %u pages (%u MiB), best of 10\n", MEM_PAGES,
	       MEM_PAGES >> 8);
	printf("%-32s %10s %14s %10s\n", "", "us", "Mpages/s", "x plain");
	figure("aging_pass_x_plain", best[1] / best[0]);
	figure("aging_pass_young_x_plain", best[2] / best[0]);
	figure("aging_pass_us", best[1] * 1e6);
	figure("plain_read_us", best[0] * 1e6);
	for (int i = 0; i < 4; i++)
		printf("%-32s %10.1f %14.1f %10.1f\n", names[i], best[i] * 1e6,
		       MEM_PAGES / best[i] / 1e6, best[i] / best[0]);
	ept_root_put(&vm.ept, root);
	tvm_destroy(&vm);
	grace_barrier();
}

/* ---- part 3: evict and refault, per kind of page ---- */

struct evict_result {
	double evict_us, refault_us;
	size_t evicted;
	struct zstore_stats st;
};

/* EVICT_PAGES pages of @kind, mapped, aged, one eviction attempt each, then touched again. */
static struct evict_result evict_kind(enum zp_kind kind, bool reject)
{
	struct evict_result res = { 0 };
	struct ept_root *root;
	double t0;

	zstore_init(&zs, &env_store_ops, NULL);
	zs.reject_incompressible = reject;
	if (tvm_init(&vm, &zs, EVICT_PAGES))
		exit(1);
	root = ept_root_load_for_vcpu(&vm.ept);
	for (uint64_t g = 0; g < EVICT_PAGES; g++)
		zp_fill(tvm_touch(&vm, &root, g), kind, g);
	for (int i = 0; i < GEN_NR; i++)
		memslot_age(&vm.ms);
	t0 = now_s();
	for (int i = 0; i < EVICT_PAGES / MEMSLOT_EVICT_BATCH; i++)
		res.evicted += memslot_evict_oldest(&vm.ms, MEMSLOT_EVICT_BATCH, GEN_OLDEST);
	res.evict_us = (now_s() - t0) * 1e6 / EVICT_PAGES;
	zstore_get_stats(&zs, &res.st);
	t0 = now_s();
	for (uint64_t g = 0; g < EVICT_PAGES; g++)
		tvm_touch(&vm, &root, g);
	res.refault_us = (now_s() - t0) * 1e6 / EVICT_PAGES;
	ept_root_put(&vm.ept, root);
	tvm_destroy(&vm);
	grace_barrier();
	zstore_destroy(&zs);
	return res;
}

static void part3(struct zstore_stats *text)
{
	static const struct {
		const char *name;
		enum zp_kind kind;
		bool reject;
	} kinds[] = {
		{ "zero", ZP_ZERO, false },
		{ "text", ZP_TEXT, false },
		{ "random", ZP_RANDOM, false },
		{ "random, refused", ZP_RANDOM, true },	/* the hypervisor's store */
	};
	double base = 0;

	printf("\n3. evict (age, invalidate, store, free) and refault (EPT fault, restore, map), "
	       "%d pages each\n", EVICT_PAGES);
	printf("%-16s %8s %9s %11s %7s %8s %11s %7s\n", "pages", "evicted", "evict us",
	       "refault us", "x zero", "entries", "data pages", "ratio");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct evict_result r = evict_kind(kinds[i].kind, kinds[i].reject);
		char ratio[16];

		if (!i)
			base = r.evict_us + r.refault_us;
		if (r.st.data_pages)
			snprintf(ratio, sizeof(ratio), "%.2f",
				 (double)r.evicted / r.st.data_pages);
		else
			snprintf(ratio, sizeof(ratio), "-");
		printf("%-16s %8zu %9.2f %11.2f %7.1f %8llu %11llu %7s\n", kinds[i].name,
		       r.evicted, r.evict_us, r.refault_us, (r.evict_us + r.refault_us) / base,
		       (unsigned long long)r.st.entries, (unsigned long long)r.st.data_pages,
		       ratio);
		if (kinds[i].kind == ZP_TEXT) {
			*text = r.st;
			figure("evict_text_us", r.evict_us);
			figure("refault_text_us", r.refault_us);
		}
	}
}

/*
 * The store's compressor against Debian's liblz4 on the same text pages
 * (those part 3 evicted), one page after the other, best of 5 rounds: time
 * per page and compression ratio (bytes in / bytes out).
 */
static void part3_lz4(void)
{
	static uint8_t pages[EVICT_PAGES][4096], out[2][8192];
	static uint16_t work[LZ_WORK_SIZE / 2];
	double best[2] = { 1e30, 1e30 };
	size_t bytes[2] = { 0, 0 };

	for (uint64_t g = 0; g < EVICT_PAGES; g++)
		zp_fill(pages[g], ZP_TEXT, g);
	for (int round = 0; round < 5; round++) {
		double t0, t1;

		bytes[0] = bytes[1] = 0;
		t0 = now_s();
		for (uint64_t g = 0; g < EVICT_PAGES; g++)
			bytes[0] += lz_compress(pages[g], 4096, out[0], sizeof(out[0]), work);
		t1 = now_s();
		if ((t1 - t0) / EVICT_PAGES < best[0])
			best[0] = (t1 - t0) / EVICT_PAGES;
		for (uint64_t g = 0; g < EVICT_PAGES; g++)
			bytes[1] += (size_t)LZ4_compress_default((const char *)pages[g], (char *)out[1],
								4096, sizeof(out[1]));
		t0 = now_s();
		if ((t0 - t1) / EVICT_PAGES < best[1])
			best[1] = (t0 - t1) / EVICT_PAGES;
	}
	printf("\n3b. compressing the same %d text pages: ours %.2f us/page, ratio %.3f; "
	       "liblz4 %.2f us/page, ratio %.3f\n", EVICT_PAGES, best[0] * 1e6,
	       (double)EVICT_PAGES * 4096 / bytes[0], best[1] * 1e6,
	       (double)EVICT_PAGES * 4096 / bytes[1]);
	figure("lz_compress_text_us", best[0] * 1e6);
	figure("lz4_compress_text_us", best[1] * 1e6);
	figure("ratio_text", (double)EVICT_PAGES * 4096 / bytes[0]);
	figure("lz4_ratio_text", (double)EVICT_PAGES * 4096 / bytes[1]);
	figure("lz_speed_vs_lz4_text", best[1] / best[0]);
}

/* ---- part 4: metadata per guest page ---- */

static void part4(const struct zstore_stats *text)
{
	struct ept_root *root;
	struct ept_stats est;
	double tables, store;

	zstore_init(&zs, &env_store_ops, NULL);
	if (tvm_init(&vm, &zs, MEM_PAGES))
		exit(1);
	root = ept_root_load_for_vcpu(&vm.ept);
	for (uint64_t g = 0; g < MEM_PAGES; g++)
		tvm_touch(&vm, &root, g);
	ept_vm_stats(&vm.ept, &est);
	tables = (double)est.table_pages * EPT_PAGE_SIZE / MEM_PAGES;
	store = (double)text->meta_pages * EPT_PAGE_SIZE / text->handles;
	printf("\n4. metadata per 4 KiB guest page (%u MiB mapped by one root; store: %d text "
	       "pages evicted)\n", MEM_PAGES >> 8, EVICT_PAGES);
#ifdef BENCH_V1
	double per_gfn = sizeof(uint64_t) + sizeof(struct gen_page);
	const char *what = "struct gen_page (rmap head, lru link, gen)";
#else
	/* The rmap head of 2 MiB leaves is per block: 1/512 of one per gfn. */
	double per_gfn = sizeof(uint64_t) + sizeof(struct rmap_head) +
			 (double)sizeof(struct rmap_head) / MS_HUGE_PAGES;
	const char *what = "rmap head (4 KiB leaves; 2 MiB: per block)";
#endif
	double desc = (double)desc_live * sizeof(struct env_desc) / MEM_PAGES;

	printf("%-44s %8zu\n", "slot word (page or handle, state, generation)", sizeof(uint64_t));
	printf("%-44s %8.2f\n", what, per_gfn - sizeof(uint64_t));
	printf("%-44s %8.2f\n", "EPT tables (measured)", tables);
	printf("%-44s %8.2f\n", "rmap descriptors (one mapping: none)", desc);
	printf("%-44s %8.2f\n", "resident page, total", per_gfn + tables + desc);
	printf("%-44s %8.2f\n", "evicted page: store bookkeeping (measured)", store);
	printf("%-44s %8.2f\n", "evicted page, total (without its data)", per_gfn + store);
	figure("metadata_bytes_resident_4k", per_gfn + tables + desc);
	figure("metadata_bytes_per_gfn", per_gfn);
	ept_root_put(&vm.ept, root);
	tvm_destroy(&vm);
	grace_barrier();
#ifndef BENCH_V1
	/* The same memory mapped by 2 MiB leaves. */
	if (tvm_init(&vm, &zs, MEM_PAGES))
		exit(1);
	vm.ms.huge = true;
	root = ept_root_load_for_vcpu(&vm.ept);
	for (uint64_t g = 0; g < MEM_PAGES; g++)
		tvm_touch(&vm, &root, g);
	ept_vm_stats(&vm.ept, &est);
	struct memslot_stats mst;

	memslot_stats(&vm.ms, &mst, NULL);
	tables = (double)est.table_pages * EPT_PAGE_SIZE / MEM_PAGES;
	desc = (double)desc_live * sizeof(struct env_desc) / MEM_PAGES;
	double per_gfn_2m = per_gfn;

	printf("\nmapped by 2 MiB leaves (%llu of %u MiB):\n",
	       (unsigned long long)mst.leaves_2m * 2, MEM_PAGES >> 8);
	printf("%-44s %8.2f\n", "slot word, rmap head, 2 MiB rmap head / 512", per_gfn_2m);
	printf("%-44s %8.2f\n", "EPT tables (measured)", tables);
	printf("%-44s %8.2f\n", "resident page, total", per_gfn_2m + tables + desc);
	if (mst.leaves_2m == MEM_PAGES / MS_HUGE_PAGES)
		figure("metadata_bytes_resident_2m", per_gfn_2m + tables + desc);
	ept_root_put(&vm.ept, root);
	tvm_destroy(&vm);
	grace_barrier();
#endif
	zstore_destroy(&zs);
}

int main(void)
{
	struct zstore_stats text = { 0 };

	setvbuf(stdout, NULL, _IOLBF, 0);
	pool_init(MEM_PAGES + 64, -1, false);
	hosted_cpu_id = 0;
	grace_cpu_online(0);
	zstore_init(&zs, &env_store_ops, NULL);
	part1();
#ifndef BENCH_V1
	part1_huge();
#endif
	part2();
	zstore_destroy(&zs);
	part3(&text);
	part3_lz4();
	part4(&text);
	printf("\n%s", figures);
	return 0;
}
