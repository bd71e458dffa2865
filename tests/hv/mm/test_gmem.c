/* SPDX-License-Identifier: MIT */
/*
 * Guest memory in the hypervisor (hv/mm/gmem.c) on host threads: the real
 * glue between the EPT MMU, memslots, the store, reclaim, hv/mm/tlb.c and
 * the page allocator (hv/cpu/page_alloc.c, over a fake RAM region whose
 * physical addresses are its host addresses, as the hypervisor's identity
 * map makes them).
 *
 * Stubbed: what gmem.c needs from above (struct vm's table, guest_fail(),
 * vm_fail_nodump(), vm_kick_all() as hv/core/request.c sends it, the VT-x
 * capabilities, the clock), and the machine of tests/hv/mm/tlb_env.h: each
 * thread is a CPU with an EPT TLB that only INVEPT empties, IPIs make a CPU
 * in guest mode exit.  A vCPU thread runs the loop of hv/vmx/vcpu.c: load a
 * root (gmem_vcpu_load_root(), INVEPT of a new EPTP), enter guest mode,
 * access guest pages through the TLB (a miss walks the root, as the CPU
 * does, accessed bit included; no leaf is an EPT violation), leave at an
 * IPI, a violation or after a while, and handle a violation with
 * gmem_fault().
 *
 * The stress case runs vCPUs over more guest memory than the guests' limit
 * against the control CPU's background reclaim and root invalidations;
 * every access checks the page's content and that the memslot still backs
 * the gfn with the page the TLB gave.  GMEM_STRESS_S sets its run time
 * (default 2 s, 4 s under TSan).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <sys/mman.h>

#include "tests/ept/soft_tlb.h"
#include "tests/host/affinity.h"
#include "tests/host/stress.h"
#include "tests/host/test.h"
#include "tests/hv/mm/tlb_env.h"

#include "ept/invalidate.h"
#include "hv/core/request.h"
#include "hv/core/vm.h"
#include "hv/cpu/page_alloc.h"
#include "hv/cpu/vmx_caps.h"
#include "hv/mm/gmem.h"
#include "hv/mm/tlb.h"
#include "smp/grace.h"
#include "smp/time.h"
#include "smp/vectors.h"

TEST_WATCHDOG(120);

#define NCPUS		4		/* 0: the control CPU; 1..3: vCPUs */
#define RAM_PAGES	4096		/* 16 MiB */
#define LIMIT_PAGES	512		/* the guests' memory limit: 2 MiB */

/* ---- what gmem.c needs from above ---- */

struct vm vms[VM_MAX];
struct vmx_caps vmx_caps = { .valid = true, .ept_vpid = EPT_CAP_AD };

uint64_t time_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * hv/cpu/vmap.c edits the live page tables: here the metadata's area is a
 * PROT_NONE reservation, made readable and writable where it is backed.
 */
static struct { void *va; uint64_t len; } vmaps[64];
static pthread_mutex_t vmaps_lock = PTHREAD_MUTEX_INITIALIZER;

void *vmap_reserve(uint64_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	pthread_mutex_lock(&vmaps_lock);
	for (unsigned int i = 0; i < 64; i++) {
		if (!vmaps[i].va) {
			vmaps[i].va = p;
			vmaps[i].len = bytes;
			break;
		}
	}
	pthread_mutex_unlock(&vmaps_lock);
	return p;
}

int vmap_populate(void *va, uint64_t bytes)
{
	return mprotect(va, bytes, PROT_READ | PROT_WRITE) ? -1 : 0;
}

void vmap_release(void *va)
{
	pthread_mutex_lock(&vmaps_lock);
	for (unsigned int i = 0; i < 64; i++) {
		if (vmaps[i].va == va) {
			munmap(va, vmaps[i].len);
			vmaps[i].va = NULL;
		}
	}
	pthread_mutex_unlock(&vmaps_lock);
}

/* As hv/core/request.c: an IPI to each vCPU's CPU but this one. */
void vm_kick_all(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg.vcpus; i++)
		if (vm->vcpus[i].cpu != smp_processor_id())
			apic_send_fixed(per_cpu(vm->vcpus[i].cpu)->apic_id, VEC_KICK);
}

static long fails;	/* guests stopped */

static void vm_stop(struct vm *vm, const char *why)
{
	snprintf(vm->fail_reason, sizeof(vm->fail_reason), "%s", why);
	__atomic_fetch_add(&fails, 1, __ATOMIC_RELAXED);
	WRITE_ONCE(vm->stop_request, true);
	vm_kick_all(vm);
}

void guest_fail(struct vcpu *v, const char *fmt, ...)
{
	char why[sizeof(v->vm->fail_reason)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	vm_stop(v->vm, why);
}

void vm_fail_nodump(struct vm *vm, const char *reason)
{
	vm_stop(vm, reason);
}

/* ---- RAM, gmem's global state (once: it lives as long as the hypervisor) ---- */

static uint8_t *ram;

static void on_cpu(unsigned int cpu)
{
	hosted_cpu_id = cpu;
}

static void boot(void)
{
	static bool done;
	uint64_t start;

	on_cpu(0);
	if (done)
		return;
	done = true;
	hw_init(NCPUS);
	ram = aligned_alloc(4 << 20, RAM_PAGES * PAGE_SIZE);
	start = (uintptr_t)ram >> PAGE_SHIFT;
	page_alloc_init(malloc(page_alloc_meta_size(start, start + RAM_PAGES)), start,
			start + RAM_PAGES);
	page_alloc_add_free(start, RAM_PAGES);
	for (unsigned int c = 0; c < NCPUS; c++)
		grace_cpu_online(c);
	gmem_global_init(LIMIT_PAGES * PAGE_SIZE);
}

static uint64_t charged(void)
{
	uint64_t c, limit, reserve;

	gmem_limits(&c, &limit, &reserve);
	return c;
}

/* No guest memory: nothing charged but the store's bookkeeping, which it keeps. */
static bool nothing_charged(void)
{
	struct zstore_stats st;

	zstore_get_stats(&gmem_store, &st);
	return st.handles == 0 && st.data_pages == 0 && charged() == st.meta_pages;
}

/* Guest @id: @pages of memory, @nvcpus vCPUs on CPUs 1, 2, ... */
static struct vm *guest(int id, uint64_t pages, unsigned int nvcpus)
{
	struct vm *vm = &vms[id];
	char err[160];

	/* Left by a case that failed half-way. */
	if (vm->mem_ready) {
		for (unsigned int i = 0; i < VCPU_MAX; i++)
			gmem_vcpu_put_root(&vm->vcpus[i]);
		gmem_destroy(vm);
	}
	memset(vm, 0, sizeof(*vm));
	vm->id = id;
	snprintf(vm->cfg.name, sizeof(vm->cfg.name), "vm%d", id);
	vm->cfg.memory = pages << PAGE_SHIFT;
	vm->cfg.vcpus = nvcpus;
	for (unsigned int i = 0; i < nvcpus; i++)
		vm->vcpus[i] = (struct vcpu){ .vm = vm, .id = i, .cpu = 1 + i };
	vm->state = VM_RUNNING;
	if (gmem_init(vm, err, sizeof(err))) {
		printf("# gmem_init: %s\n", err);
		return NULL;
	}
	return vm;
}

/* Everything back: no root, no table, nothing charged, the allocator intact. */
static bool guest_end(struct vm *vm)
{
	struct ept_stats st;

	gmem_destroy(vm);
	ept_vm_stats(&vm->ept, &st);
	grace_barrier();
	for (unsigned int c = 0; c < NCPUS; c++)
		page_alloc_drain_cpu(c);
	return st.roots_alive == 0 && st.table_pages == 0 && page_alloc_check();
}

/* Every free page, taken: the next allocation fails until something is freed. */
static uint64_t *held;
static size_t nheld;

static void take_all_free_pages(void)
{
	uint64_t pa;

	for (unsigned int c = 0; c < NCPUS; c++)
		page_alloc_drain_cpu(c);
	held = realloc(held, RAM_PAGES * sizeof(*held));
	nheld = 0;
	while ((pa = page_alloc(0)))
		held[nheld++] = pa;
}

static void give_back_pages(void)
{
	while (nheld)
		page_free(held[--nheld], 0);
}

/* @v (CPU 1) loads a root with no page free but what reclaim frees. */
static int load_root_with_no_free_page(struct vcpu *v)
{
	int rc;

	take_all_free_pages();
	on_cpu(1);
	rc = gmem_vcpu_load_root(v);
	on_cpu(0);
	give_back_pages();
	return rc;
}

static bool page_is_zero(const void *p)
{
	const uint64_t *w = p;

	for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
		if (w[i])
			return false;
	return true;
}

/* ---- the vCPU side of hv/vmx/vcpu.c ---- */

/* vcpu_load_root(): a new root's EPTP goes in, and INVEPT drops what an older root left. */
static int load_root(struct vcpu *v)
{
	int rc = gmem_vcpu_load_root(v);

	if (rc <= 0)
		return rc;
	invept_single(v->eptp);
	return 0;
}

/* The CPU's walk of @gfn through @root, accessed bit included; false: an EPT violation. */
static bool hw_walk(struct ept_root *root, uint64_t gfn, uint64_t *hpa)
{
	struct soft_tlb_entry e;

	if (!soft_tlb_walk(&e, root, gfn))
		return false;
	*hpa = e.hpa;
	return true;
}

static struct reclaim_stats reclaim_stats(void)
{
	struct reclaim_stats st;

	reclaim_get_stats(&gmem_reclaim, &st);
	return st;
}

static struct memslot_stats ms_stats(struct vm *vm)
{
	struct memslot_stats st;

	memslot_stats(&vm->mem, &st, NULL);
	return st;
}

static unsigned int rmap_entries(struct vm *vm, uint64_t gfn)
{
	unsigned int n;

	read_lock(&vm->ept.mmu_lock);
	n = rmap_count(&vm->ept.mmu_lock, &vm->mem.rmaps[gfn]);
	read_unlock(&vm->ept.mmu_lock);
	return n;
}

/* Guest 0, 64 pages, one vCPU: on its CPU (1), with its first root loaded. */
static struct vcpu *vcpu_with_root(void)
{
	struct vm *vm;

	boot();
	if (!(vm = guest(0, 64, 1)))
		return NULL;
	on_cpu(1);
	return gmem_vcpu_load_root(&vm->vcpus[0]) == 1 ? &vm->vcpus[0] : NULL;
}

/* The vCPU leaves its CPU, its guest ends: everything back. */
static bool vcpu_end(struct vcpu *v)
{
	on_cpu(1);
	gmem_vcpu_put_root(v);
	on_cpu(0);
	return guest_end(v->vm);
}

TEST(fault_maps_a_zeroed_page_and_keeps_the_rmap_in_step)
{
	struct ept_root *old;
	struct vcpu *v;
	struct vm *vm;
	uint64_t hpa, c0 = charged();

	CHECK((v = vcpu_with_root()));
	vm = v->vm;
	CHECK(v->root && v->eptp == gmem_eptp(v->root));
	/* Write-back, 4-level walk, accessed/dirty bits (the CPU has them). */
	CHECK_EQ(v->eptp & 0xfff, 6 | 3 << 3 | 1 << 6);
	CHECK_EQ(gmem_vcpu_load_root(v), 0);
	CHECK(!hw_walk(v->root, 5, &hpa));
	CHECK_EQ(gmem_fault(v, 5 << PAGE_SHIFT, 3), 0);
	CHECK(hw_walk(v->root, 5, &hpa));
	CHECK_EQ(ms_slot_state(vm->mem.slots[5]), MS_RESIDENT);
	CHECK_EQ(vm->mem.slots[5] & MS_ADDR_MASK, hpa);
	CHECK(page_is_zero((void *)(uintptr_t)hpa));
	CHECK_EQ(charged(), c0 + 1);
	CHECK_EQ(rmap_entries(vm, 5), 1);
	/* Every root invalid and zapped: the rmap is empty, the vCPU loads another root. */
	on_cpu(0);
	ept_invalidate_all_roots(&vm->ept);
	on_cpu(1);
	CHECK_EQ(rmap_entries(vm, 5), 0);
	old = v->root;
	CHECK(READ_ONCE(old->invalid));
	CHECK_EQ(gmem_vcpu_load_root(v), 1);
	CHECK(v->root != old && !v->root->invalid);
	CHECK_EQ(gmem_fault(v, 5 << PAGE_SHIFT, 1), 0);
	CHECK(hw_walk(v->root, 5, &hpa) && hpa == (vm->mem.slots[5] & MS_ADDR_MASK));
	CHECK_EQ(rmap_entries(vm, 5), 1);
	/* Outside guest memory: the guest is stopped. */
	CHECK_EQ(gmem_fault(v, 64 << PAGE_SHIFT, 1), -1);
	CHECK(vm->stop_request && strstr(vm->fail_reason, "outside guest memory"));
	CHECK(vcpu_end(v));
	CHECK(nothing_charged());
	fails = 0;
}

/*
 * The largest guest this CPU's address width allows, up to 1 TiB: RAM to 3
 * GiB and from 4 GiB up, costing the metadata of the blocks touched.  The
 * APIC-access page in the hole gets a leaf but no rmap (its chunk is never
 * backed); the rest of the hole is outside guest memory.
 */
TEST(big_guest_has_ram_above_4g_and_metadata_only_where_touched)
{
	unsigned int bits = gmem_phys_bits();
	uint64_t memory = bits > 40 ? 1ULL << 40 : (1ULL << bits) - (2ULL << 30);
	uint64_t top = memory + (1ULL << 30), hpa, apic_page;
	struct vcpu *v;
	struct vm *vm;
	char err[160], want[80];

	boot();
	printf("# %u address bits: a guest of %llu GiB\n", bits, (unsigned long long)(memory >> 30));
	CHECK((vm = guest(0, memory >> PAGE_SHIFT, 1)));
	v = &vm->vcpus[0];
	on_cpu(1);
	CHECK_EQ(gmem_vcpu_load_root(v), 1);
	CHECK_EQ(vm->mem.nr_pages, top >> PAGE_SHIFT);
	/* Only the bitmap: a bit per chunk, a bit per page of 2 MiB rmap heads (per 512 chunks). */
	uint64_t chunks = (top >> PAGE_SHIFT) / MEMSLOT_META_CHUNK;

	CHECK_EQ(ms_stats(vm).meta_bytes, ((chunks + 63) / 64 + ((chunks + 511) / 512 + 63) / 64) * 8);
	for (uint64_t gpa = 0; gpa < 2; gpa++) {
		uint64_t at = gpa ? top - PAGE_SIZE : 4ULL << 30;

		CHECK_EQ(gmem_fault(v, at, 3), 0);
		CHECK(hw_walk(v->root, at >> PAGE_SHIFT, &hpa));
		CHECK_EQ(rmap_entries(vm, at >> PAGE_SHIFT), 1);
	}
	/* Two chunks, each with the page of 2 MiB rmap heads of its GiB. */
	CHECK_EQ(ms_stats(vm).meta_bytes, ((chunks + 63) / 64 + ((chunks + 511) / 512 + 63) / 64) * 8 +
					   2 * (MEMSLOT_META_CHUNK * 16 + PAGE_SIZE));
	apic_page = (uint64_t)(uintptr_t)aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	vm->apic_access_pa = apic_page;
	CHECK_EQ(gmem_fault(v, GUEST_LAPIC_BASE, 3), 0);
	CHECK(hw_walk(v->root, GUEST_LAPIC_BASE >> PAGE_SHIFT, &hpa) && hpa == apic_page);
	CHECK(!memslot_meta_backed(&vm->mem, GUEST_LAPIC_BASE >> PAGE_SHIFT));
	CHECK_EQ(gmem_fault(v, 3ULL << 30, 1), -1);
	CHECK(vm->stop_request && strstr(vm->fail_reason, "outside guest memory"));
	CHECK(vcpu_end(v));
	free((void *)(uintptr_t)apic_page);

	/* One bit more than the CPU has: refused with the numbers. */
	memset(vm, 0, sizeof(*vm));
	vm->cfg.memory = (1ULL << bits) - (1ULL << 30) + (2ULL << 20);
	CHECK_EQ(gmem_init(vm, err, sizeof(err)), -1);
	printf("# %s\n", err);
	snprintf(want, sizeof(want), "needs %u physical address bits, this CPU has %u", bits + 1,
		 bits);
	CHECK(strstr(err, want));
	CHECK(nothing_charged());
	fails = 0;
}

TEST(aging_finds_young_the_pages_the_guest_touched)
{
	struct vcpu *v;
	uint64_t hpa;

	CHECK((v = vcpu_with_root()));
	for (uint64_t g = 0; g < 8; g++)
		CHECK_EQ(gmem_fault(v, g << PAGE_SHIFT, 3), 0);
	on_cpu(0);
	reclaim_age_all(&gmem_reclaim);
	/* The CPU sets the accessed bits of what it walks; aging reaches them through the rmap. */
	for (uint64_t g = 0; g < 4; g++)
		CHECK(hw_walk(v->root, g, &hpa));
	CHECK_EQ(reclaim_age_all(&gmem_reclaim), 4);
	CHECK_EQ(reclaim_age_all(&gmem_reclaim), 0);
	CHECK(vcpu_end(v));
}

/* A vCPU that entered guest mode on its first root, mapping nothing, and stays until an IPI. */
struct idle_vcpu {
	struct vcpu *v;
	struct ept_root *first;
	int in_guest, done, stop;
	bool reloaded;
};

static void *idle_vcpu_main(void *arg)
{
	struct idle_vcpu *t = arg;
	struct vcpu *v = t->v;

	on_cpu(v->cpu);
	if (!load_root(v)) {
		t->first = v->root;
		/* An IPI left pending by an earlier case only makes it go round once more. */
		while (!__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE)) {
			tlb_guest_enter();
			__atomic_store_n(&t->in_guest, 1, __ATOMIC_RELEASE);
			while (!hw_kicked() && !__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE))
				cpu_relax();
			tlb_guest_exit();
			hw_take_interrupts();
			grace_quiescent();
			if (load_root(v))
				break;
			if (v->root != t->first) {
				t->reloaded = true;
				break;
			}
		}
		gmem_vcpu_put_root(v);
	}
	__atomic_store_n(&t->in_guest, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A vCPU in guest mode on a root that gets invalidated must leave guest
 * mode and load a valid root, also when the zap had nothing to flush (so no
 * shootdown IPI): the kick (ept_ops.kick_vcpus) is what tells it.
 */
TEST(invalidated_root_kicks_a_vcpu_out_of_guest_mode_even_with_nothing_mapped)
{
	struct idle_vcpu t = { 0 };
	struct vm *vm;
	pthread_t tid;
	double t0;
	int done;

	boot();
	CHECK((vm = guest(0, 64, 1)));
	t.v = &vm->vcpus[0];
	pthread_create(&tid, NULL, idle_vcpu_main, &t);
	while (!__atomic_load_n(&t.in_guest, __ATOMIC_ACQUIRE))
		usleep(100);
	ept_invalidate_all_roots(&vm->ept);
	t0 = stress_now();
	while (!(done = __atomic_load_n(&t.done, __ATOMIC_ACQUIRE)) && stress_now() - t0 < 2)
		usleep(1000);
	__atomic_store_n(&t.stop, 1, __ATOMIC_RELEASE);
	pthread_join(tid, NULL);
	CHECK(t.first);
	CHECK(done);
	CHECK(t.reloaded);
	CHECK(guest_end(vm));
}

TEST(root_allocation_that_failed_is_retried_after_reclaim)
{
	static uint8_t zero[PAGE_SIZE];
	struct reclaim_stats st0 = reclaim_stats();
	struct memslot_stats ms0;
	struct vm *vm;
	struct vcpu *v;
	int rc;

	boot();
	CHECK((vm = guest(0, 256, 1)));
	v = &vm->vcpus[0];
	/* Pages reclaim can free: zero pages need no room in the store. */
	for (uint64_t g = 0; g < 128; g++)
		CHECK_EQ(gmem_write(vm, g << PAGE_SHIFT, zero, PAGE_SIZE), 0);
	ms0 = ms_stats(vm);
	rc = load_root_with_no_free_page(v);
	CHECK_EQ(rc, 1);
	CHECK(v->root);
	CHECK(reclaim_stats().direct_runs > st0.direct_runs);
	CHECK(ms_stats(vm).evictions > ms0.evictions);
	CHECK(!vm->stop_request);
	CHECK_EQ(fails, 0);
	on_cpu(1);
	gmem_vcpu_put_root(v);
	on_cpu(0);
	CHECK(guest_end(vm));
}

/* Pages of @vm's gfns [0, n) that the store refuses: reclaim cannot free them. */
static bool fill_incompressible(struct vm *vm, uint64_t n)
{
	static uint64_t page[PAGE_SIZE / 8];
	uint64_t seed = 0x1234567 + n;

	for (uint64_t g = 0; g < n; g++) {
		for (unsigned int i = 0; i < PAGE_SIZE / 8; i++)
			page[i] = stress_rnd(&seed);
		if (gmem_write(vm, g << PAGE_SHIFT, page, PAGE_SIZE))
			return false;
	}
	return true;
}

TEST(guest_is_stopped_for_want_of_a_root_only_when_reclaim_cannot_help)
{
	struct reclaim_stats st0 = reclaim_stats();
	struct vm *vm0, *vm1;
	struct vcpu *v;
	int rc;

	boot();
	fails = 0;
	CHECK((vm0 = guest(0, 64, 1)));
	CHECK((vm1 = guest(1, 256, 1)));
	v = &vm0->vcpus[0];
	CHECK(fill_incompressible(vm1, 128));
	/* Nothing to evict: the largest guest, vm1, is stopped; vm0 waits for its memory. */
	rc = load_root_with_no_free_page(v);
	CHECK_EQ(rc, -1);
	CHECK(reclaim_stats().direct_runs > st0.direct_runs);
	CHECK(vm1->stop_request && strstr(vm1->fail_reason, "largest guest"));
	CHECK(!vm0->stop_request);
	CHECK(guest_end(vm1));
	on_cpu(1);
	CHECK_EQ(gmem_vcpu_load_root(v), 1);
	/* Now vm0 holds the most: it is stopped itself, saying why. */
	on_cpu(0);
	CHECK(fill_incompressible(vm0, 32));
	ept_invalidate_all_roots(&vm0->ept);
	rc = load_root_with_no_free_page(v);
	CHECK_EQ(rc, -1);
	CHECK(!v->root);
	CHECK(vm0->stop_request && strstr(vm0->fail_reason, "EPT root"));
	CHECK_EQ(fails, 2);
	CHECK(guest_end(vm0));
	fails = 0;
}

/* ---- stress: vCPUs over more memory than the limit, background reclaim, invalidations ---- */

#define GFNS		1024		/* twice the limit */
#define SVCPUS		2
#define HOT		24		/* a vCPU's working set, within its TLB */

#ifdef __SANITIZE_THREAD__
#define RUN_S		4.0
#else
#define RUN_S		2.0
#endif

struct svcpu {
	struct vcpu *v;
	uint64_t seed, hot;
	long stays, accesses, writes, faults, ipis;
} __attribute__((aligned(64)));

static struct svcpu svcpus[SVCPUS];
/* Owned by the gfn's vCPU (gfn % SVCPUS); read by the final check once they stopped. */
static uint32_t version[GFNS];
static int sstop;
static long n_inval, n_background;

/* Version @ver of @gfn's page (0: never written, zeros): compressible, tagged. */
static void fill(uint8_t *p, uint64_t gfn, uint32_t ver)
{
	memset(p, (int)(gfn * 7 + ver), PAGE_SIZE);
	((uint64_t *)p)[0] = gfn;
	((uint64_t *)p)[1] = ver;
}

static bool content_ok(const uint8_t *p, uint64_t gfn, uint32_t ver)
{
	const uint64_t *w = (const uint64_t *)p;
	uint8_t b = (uint8_t)(gfn * 7 + ver);

	if (!ver)
		return page_is_zero(p);
	if (w[0] != gfn || w[1] != ver)
		return false;
	for (unsigned int i = 16; i < PAGE_SIZE; i++)
		if (p[i] != b)
			return false;
	return true;
}

/* One of the vCPU's own gfns: mostly from a working set that moves now and then. */
static uint64_t pick(struct svcpu *t)
{
	uint64_t r = stress_rnd(&t->seed), own = GFNS / SVCPUS;

	if (r % 512 == 0)
		t->hot = stress_rnd(&t->seed) % own;
	r >>= 10;
	return t->v->id + SVCPUS * ((r % 4 ? t->hot + r / 4 % HOT : r / 4) % own);
}

enum stay_end { END_TIMER, END_IPI, END_EPT_VIOLATION };

/* One stay in guest mode: accesses through this CPU's TLB until an exit. */
static enum stay_end guest_stay(struct svcpu *t, uint64_t *gpa)
{
	struct vcpu *v = t->v;
	unsigned int n = 1 + stress_rnd(&t->seed) % 64;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t gfn = pick(t), hpa, slot;
		uint8_t *p;

		if (!hw_tlb_lookup(v->eptp, gfn, &hpa)) {
			if (!hw_walk(v->root, gfn, &hpa)) {
				*gpa = gfn << PAGE_SHIFT;
				return END_EPT_VIOLATION;
			}
			hw_tlb_fill(v->eptp, gfn, hpa);
		}
		t->accesses++;
		/* While a CPU in guest mode may use gfn -> hpa, the memslot backs gfn with hpa. */
		slot = __atomic_load_n(&v->vm->mem.slots[gfn], __ATOMIC_RELAXED);
		if (ms_slot_state(slot) != MS_RESIDENT || (slot & MS_ADDR_MASK) != hpa) {
			stress_violation("CPU %u in guest mode reaches gfn %llu at %#llx, the memslot "
					 "has %#llx", v->cpu, (unsigned long long)gfn,
					 (unsigned long long)hpa, (unsigned long long)slot);
			return END_TIMER;
		}
		p = (uint8_t *)(uintptr_t)hpa;
		if (!content_ok(p, gfn, version[gfn]))
			stress_violation("gfn %llu: page %#llx holds version %llu of gfn %llu, not "
					 "version %u", (unsigned long long)gfn,
					 (unsigned long long)hpa, (unsigned long long)((uint64_t *)p)[1],
					 (unsigned long long)((uint64_t *)p)[0], version[gfn]);
		if (stress_rnd(&t->seed) % 4 == 0) {
			fill(p, gfn, ++version[gfn]);
			t->writes++;
		}
		if (hw_kicked())
			return END_IPI;
	}
	return END_TIMER;
}

/* The loop of hv/vmx/vcpu.c. */
static void *svcpu_main(void *arg)
{
	struct svcpu *t = arg;
	struct vcpu *v = t->v;

	on_cpu(v->cpu);
	test_pin_thread(v->cpu);
	while (!__atomic_load_n(&sstop, __ATOMIC_RELAXED) && !vm_stopping(v->vm)) {
		enum stay_end end;
		uint64_t gpa;
		bool ipi;

		if (load_root(v))
			break;
		tlb_guest_enter();
		end = guest_stay(t, &gpa);
		tlb_guest_exit();
		ipi = hw_take_interrupts();
		grace_quiescent();
		t->stays++;
		if (end == END_EPT_VIOLATION) {
			t->faults++;
			if (gmem_fault(v, gpa, 3))
				break;
		}
		/* A flusher waited for us: it may share our host CPU. */
		if (ipi) {
			__atomic_fetch_add(&t->ipis, 1, __ATOMIC_RELAXED);	/* read by covered() */
			sched_yield();
		}
	}
	gmem_vcpu_put_root(v);
	return NULL;
}

/* The control CPU's loop: background reclaim every tick, now and then every root invalidated. */
static void *control_main(void *arg)
{
	struct vm *vm = arg;
	uint64_t c, limit, reserve, seed = 99;

	on_cpu(0);
	while (!__atomic_load_n(&sstop, __ATOMIC_RELAXED)) {
		gmem_background();
		n_background++;
		gmem_limits(&c, &limit, &reserve);
		if (c > limit + reserve)
			stress_violation("%llu pages charged, over the limit %llu + reserve %llu",
					 (unsigned long long)c, (unsigned long long)limit,
					 (unsigned long long)reserve);
		if (stress_rnd(&seed) % 64 == 0) {
			ept_invalidate_all_roots(&vm->ept);
			__atomic_fetch_add(&n_inval, 1, __ATOMIC_RELAXED);
		}
		grace_quiescent();
		usleep(200);
	}
	return NULL;
}

static double stress_s(void)
{
	const char *s = getenv("GMEM_STRESS_S");

	return s ? atof(s) : RUN_S;
}

static bool covered(struct vm *vm)
{
	struct memslot_stats st = ms_stats(vm);
	long ipis = 0;

	for (unsigned int i = 0; i < SVCPUS; i++)
		ipis += __atomic_load_n(&svcpus[i].ipis, __ATOMIC_RELAXED);
	return st.evictions && st.refaults && ipis && __atomic_load_n(&n_inval, __ATOMIC_RELAXED);
}

TEST(vcpus_keep_their_data_over_twice_the_memory_limit)
{
	static uint8_t buf[PAGE_SIZE];
	struct reclaim_stats rst;
	struct memslot_stats st;
	pthread_t vt[SVCPUS], ct;
	struct vm *vm;
	long accesses = 0, writes = 0, faults = 0, ipis = 0, bad = 0;
	double t0 = stress_now();

	boot();
	fails = 0;
	stress_world_init();
	CHECK((vm = guest(0, GFNS, SVCPUS)));
	/* The loader's writes first, as at a guest's start. */
	for (uint64_t g = 0; g < GFNS; g += 8) {
		fill(buf, g, ++version[g]);
		CHECK_EQ(gmem_write(vm, g << PAGE_SHIFT, buf, PAGE_SIZE), 0);
	}
	for (unsigned int i = 0; i < SVCPUS; i++) {
		svcpus[i] = (struct svcpu){ .v = &vm->vcpus[i], .seed = 0x9e3779b97f4a7c15ull * (i + 1) };
		pthread_create(&vt[i], NULL, svcpu_main, &svcpus[i]);
	}
	pthread_create(&ct, NULL, control_main, vm);
	/* On a slow or serialising host (Valgrind), on until every race ran, up to 8 times as long. */
	while (!stress_violated() && !vm_stopping(vm) &&
	       (stress_now() - t0 < stress_s() || (!covered(vm) && stress_now() - t0 < 8 * stress_s())))
		usleep(10000);
	__atomic_store_n(&sstop, 1, __ATOMIC_RELAXED);
	for (unsigned int i = 0; i < SVCPUS; i++) {
		pthread_join(vt[i], NULL);
		accesses += svcpus[i].accesses;
		writes += svcpus[i].writes;
		faults += svcpus[i].faults;
		ipis += svcpus[i].ipis;
	}
	pthread_join(ct, NULL);
	/* Every gfn through the hypervisor's own path: refaults under the limit. */
	for (uint64_t g = 0; g < GFNS; g++)
		if (gmem_read(vm, g << PAGE_SHIFT, buf, PAGE_SIZE) || !content_ok(buf, g, version[g]))
			bad++;
	st = ms_stats(vm);
	rst = reclaim_stats();
	printf("# %.1f s: %ld accesses, %ld writes, %ld faults, %ld stays ended by an IPI, "
	       "%ld root invalidations, %ld background ticks; %llu evictions, %llu refaults, "
	       "%llu direct reclaims; %llu charged\n", stress_now() - t0, accesses, writes, faults,
	       ipis, n_inval, n_background, (unsigned long long)st.evictions,
	       (unsigned long long)st.refaults, (unsigned long long)rst.direct_runs,
	       (unsigned long long)charged());
	CHECK_EQ(stress_violated(), 0);
	CHECK_EQ(fails, 0);
	CHECK_EQ(bad, 0);
	CHECK(covered(vm));
	CHECK(guest_end(vm));
	CHECK(nothing_charged());
}
