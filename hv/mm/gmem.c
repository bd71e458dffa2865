/* SPDX-License-Identifier: MIT */
/*
 * Guest memory in the hypervisor: the environment of the portable EPT MMU
 * (ept/) and memslots (rmap/).  Here live the ept_ops (tables from the page
 * allocator, flushes by hv/mm/tlb.c, kicks by IPI), the memslot pages charged
 * to the guests' memory limit, the store for evicted pages, the rmap
 * descriptor pool and the vCPU side of roots.
 */
#include "ept/fault.h"
#include "ept/invalidate.h"
#include "hv/core/guest_boot.h"
#include "hv/core/request.h"
#include "hv/core/vm.h"
#include "hv/cpu/page_alloc.h"
#include "hv/cpu/vmap.h"
#include "hv/cpu/vmx_caps.h"
#include "hv/lib/format.h"
#include "hv/lib/x86.h"
#include "hv/mm/gmem.h"
#include "hv/mm/tlb.h"
#include "lib/check.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "rmap/reclaim.h"
#include "smp/atomic.h"
#include "smp/grace.h"
#include "smp/percpu.h"
#include "smp/time.h"

#define EPTP_WB		6ULL
#define EPTP_WALK4	(3ULL << 3)
#define EPTP_AD		(1ULL << 6)
#define FAULT_TRIES	16

struct zstore gmem_store;
struct reclaim gmem_reclaim;

/*
 * Host pages charged to guests: their resident pages and the store's pages.
 * Guest pages stop at the limit; the store may go a reserve beyond it, so
 * that eviction (which stores before it frees) can always make progress.
 */
static uint64_t charged, limit_pages, reserve_pages;
/* Counters of guests whose memory is gone, for the totals (control CPU only). */
static struct memslot_stats retired;

static void stats_add(struct memslot_stats *t, const struct memslot_stats *s)
{
	uint64_t *dst = (uint64_t *)t;
	const uint64_t *src = (const uint64_t *)s;

	BUILD_BUG_ON(sizeof(*t) % sizeof(uint64_t));
	for (size_t i = 0; i < sizeof(*t) / sizeof(uint64_t); i++)
		dst[i] += src[i];
}
static struct zstore_scratch *scratch[SMP_MAX_CPUS];

static uint64_t now_ns(void)
{
	return time_us() * 1000;
}

/* --- Charged pages ------------------------------------------------------ */

static void *charge_page(uint64_t cap)
{
	uint64_t pa;

	if (atomic_inc_return(&charged) > cap) {
		atomic_add(&charged, -1);
		return NULL;
	}
	pa = page_alloc(0);
	if (!pa)
		atomic_add(&charged, -1);
	return (void *)(uintptr_t)pa;
}

static void uncharge_page(void *p)
{
	page_free((uint64_t)(uintptr_t)p, 0);
	atomic_add(&charged, -1);
}

static void *store_alloc_page(void *ctx)
{
	(void)ctx;
	return charge_page(limit_pages + reserve_pages);
}

static void store_free_page(void *ctx, void *page)
{
	(void)ctx;
	uncharge_page(page);
}

static const struct zstore_ops store_ops = {
	.alloc_page = store_alloc_page,
	.free_page = store_free_page,
};

/* --- rmap descriptors --------------------------------------------------- */

/*
 * The pool: descriptors carved from pages, never given back.  A freed one
 * waits a grace period (its grace_head sits after the descriptor) before it
 * returns to the free list.  Topped up outside mmu_lock by gmem_fault(), so
 * that rmap_add() under mmu_lock finds one.  pool_lock protects the list
 * and the counts; pool_refill() peeks at pool_nr without it (WRITE_ONCE).
 */
struct pool_desc {
	struct rmap_desc desc;
	struct grace_head grace;
	struct pool_desc *next;
};

static spinlock_t pool_lock = SPINLOCK_INIT_ORDER(LOCK_ORDER_RMAP_POOL);
static struct pool_desc *pool_free;
static unsigned long pool_nr, pool_total;
#define POOL_LOW	32

static void pool_refill(void)
{
	uint64_t pa;

	if (READ_ONCE(pool_nr) >= POOL_LOW || !(pa = page_alloc(0)))
		return;
	spin_lock(&pool_lock);
	for (unsigned int i = 0; i < PAGE_SIZE / sizeof(struct pool_desc); i++) {
		struct pool_desc *d = (struct pool_desc *)(uintptr_t)pa + i;

		d->next = pool_free;
		pool_free = d;
		WRITE_ONCE(pool_nr, pool_nr + 1);
		pool_total++;
	}
	spin_unlock(&pool_lock);
}

static struct rmap_desc *pool_alloc(void *priv)
{
	struct pool_desc *d;

	(void)priv;
	spin_lock(&pool_lock);
	d = pool_free;
	if (d) {
		pool_free = d->next;
		WRITE_ONCE(pool_nr, pool_nr - 1);
	}
	spin_unlock(&pool_lock);
	return d ? &d->desc : NULL;
}

static void pool_free_cb(struct grace_head *h)
{
	struct pool_desc *d = container_of(h, struct pool_desc, grace);

	spin_lock(&pool_lock);
	d->next = pool_free;
	pool_free = d;
	WRITE_ONCE(pool_nr, pool_nr + 1);
	spin_unlock(&pool_lock);
}

static void pool_release(void *priv, struct rmap_desc *desc)
{
	(void)priv;
	grace_call(&container_of(desc, struct pool_desc, desc)->grace, pool_free_cb);
}

static const struct rmap_ops rmap_pool_ops = {
	.alloc_desc = pool_alloc,
	.free_desc = pool_release,
};

/* --- memslot environment ------------------------------------------------ */

static void *ms_alloc_page(struct memslot *ms)
{
	(void)ms;
	return charge_page(limit_pages);
}

static void ms_free_page(struct memslot *ms, void *page)
{
	(void)ms;
	uncharge_page(page);
}

/*
 * A 2 MiB block when one is free and memory is not low (no reclaim for it:
 * 4 KiB pages do then), split at once into single pages that reclaim frees
 * one by one.  Charged as its 512 pages.
 */
static void *ms_alloc_huge(struct memslot *ms)
{
	uint64_t pa;

	(void)ms;
	if (page_alloc_below_low())
		return NULL;
	if (atomic_add_return(&charged, MS_HUGE_PAGES) > limit_pages) {
		atomic_add(&charged, -MS_HUGE_PAGES);
		return NULL;
	}
	pa = page_alloc(9);
	if (!pa || !page_split(pa, 9)) {
		if (pa)
			page_free(pa, 9);
		atomic_add(&charged, -MS_HUGE_PAGES);
		return NULL;
	}
	return (void *)(uintptr_t)pa;
}

static unsigned int meta_order(size_t bytes)
{
	unsigned int order = 0;

	while ((PAGE_SIZE << order) < bytes)
		order++;
	return order;
}

static void *ms_alloc_meta(size_t bytes)
{
	unsigned int order = meta_order(bytes);
	uint64_t pa = order <= PAGE_MAX_ORDER ? page_alloc(order) : 0;

	if (pa)
		memset((void *)(uintptr_t)pa, 0, PAGE_SIZE << order);
	return (void *)(uintptr_t)pa;
}

static void ms_free_meta(void *p, size_t bytes)
{
	page_free((uint64_t)(uintptr_t)p, meta_order(bytes));
}

/* The per-gfn arrays: in the vmap area, backed a chunk at a time (rmap/memslot.h). */
static void *ms_reserve_meta(size_t bytes)
{
	return vmap_reserve(bytes);
}

static int ms_back_meta(void *p, size_t bytes)
{
	return vmap_populate(p, bytes);
}

static void ms_release_meta(void *p, size_t bytes)
{
	(void)bytes;
	vmap_release(p);
}

static struct zstore_scratch *ms_scratch(void)
{
	return scratch[smp_processor_id()];
}

static const struct memslot_ops memslot_ops = {
	.alloc_page = ms_alloc_page,
	.free_page = ms_free_page,
	.alloc_huge = ms_alloc_huge,
	.alloc_meta = ms_alloc_meta,
	.free_meta = ms_free_meta,
	.reserve_meta = ms_reserve_meta,
	.back_meta = ms_back_meta,
	.release_meta = ms_release_meta,
	.scratch = ms_scratch,
};

/* --- ept_ops ------------------------------------------------------------ */

static struct vm *ept_to_vm(struct ept_vm *ept)
{
	return container_of(ept, struct vm, ept);
}

uint64_t gmem_eptp(const struct ept_root *root)
{
	uint64_t eptp = root->table_pa | EPTP_WB | EPTP_WALK4;

	/* Accessed/dirty bits when the CPU has them: reclaim ages through them. */
	if (vmx_caps.ept_vpid & EPT_CAP_AD)
		eptp |= EPTP_AD;
	return eptp;
}

static void *op_alloc_table(struct ept_vm *ept)
{
	uint64_t pa = page_alloc(0);

	(void)ept;
	if (pa)
		memset((void *)(uintptr_t)pa, 0, PAGE_SIZE);
	return (void *)(uintptr_t)pa;
}

static void op_free_table(struct ept_vm *ept, void *page)
{
	(void)ept;
	page_free((uint64_t)(uintptr_t)page, 0);
}

static void op_flush(struct ept_vm *ept, struct ept_root *root)
{
	(void)ept;
	tlb_flush_ept(READ_ONCE(root->cpu_mask), gmem_eptp(root));
}

/* Each vCPU sees its root invalid before its next entry and loads another. */
static void op_kick_vcpus(struct ept_vm *ept)
{
	vm_kick_all(ept_to_vm(ept));
}

static bool op_resolve(struct ept_vm *ept, uint64_t gfn, uint64_t *hpa, int *max_level)
{
	struct vm *vm = ept_to_vm(ept);

	*max_level = 1;
	/* The xAPIC page under APIC virtualization (hv/vmx/apicv.c): the APIC-access page. */
	if (gfn == GUEST_LAPIC_BASE >> PAGE_SHIFT) {
		*hpa = READ_ONCE(vm->apic_access_pa);
		return *hpa != 0;
	}
	return memslot_resolve_level(&vm->mem, gfn, hpa, max_level);
}

/*
 * Leaves outside guest RAM (the APIC-access page, in the hole below 4 GiB
 * that a guest of more than 3 GiB has inside its memslot) have no rmap: their
 * metadata chunk may not even be backed.
 */
static void op_leaf_set(struct ept_vm *ept, uint64_t gfn, int level, uint64_t *sptep)
{
	struct vm *vm = ept_to_vm(ept);

	if (guest_gpa_is_ram(vm->cfg.memory, gfn << PAGE_SHIFT))
		memslot_leaf_set(&vm->mem, gfn, level, sptep);
}

static void op_leaf_clear(struct ept_vm *ept, uint64_t gfn, int level, uint64_t *sptep,
			  uint64_t old)
{
	struct vm *vm = ept_to_vm(ept);

	(void)old;
	if (guest_gpa_is_ram(vm->cfg.memory, gfn << PAGE_SHIFT))
		memslot_leaf_clear(&vm->mem, gfn, level, sptep);
}

static const struct ept_ops hv_ept_ops = {
	.alloc_table = op_alloc_table,
	.free_table = op_free_table,
	.flush = op_flush,
	.kick_vcpus = op_kick_vcpus,
	.resolve = op_resolve,
	.now_ns = now_ns,
	.leaf_set = op_leaf_set,
	.leaf_clear = op_leaf_clear,
};

/* --- Set-up ------------------------------------------------------------- */

void gmem_global_init(uint64_t limit_bytes)
{
	struct page_alloc_stats st;
	uint64_t free_pages;

	page_alloc_stats(&st);
	free_pages = st.free_pages;
	/* Without a limit, guests may use what is free but a sixteenth kept for the hypervisor. */
	limit_pages = limit_bytes ? limit_bytes / PAGE_SIZE : free_pages - free_pages / 16;
	reserve_pages = limit_pages / 16 + 16;
	page_alloc_set_watermarks(free_pages / 64 + 64, free_pages / 32 + 128);
	zstore_init(&gmem_store, &store_ops, NULL);
	/* The store lives in the memory it frees: a raw copy would free nothing. */
	gmem_store.reject_incompressible = true;
	reclaim_init(&gmem_reclaim, now_ns);
	for (unsigned int c = 0; c < smp_ncpus; c++) {
		uint64_t pa = page_alloc(meta_order(sizeof(struct zstore_scratch)));

		scratch[c] = (struct zstore_scratch *)(uintptr_t)pa;
		if (!pa)
			hv_panic(__FILE__, __LINE__, "gmem: no memory for the store's scratch of CPU %u", c);
	}
	pool_refill();
}

void gmem_limits(uint64_t *charged_pages, uint64_t *limit, uint64_t *reserve)
{
	*charged_pages = READ_ONCE(charged);
	*limit = limit_pages;
	*reserve = reserve_pages;
}

/*
 * The guest-physical address width a guest can have: the host's (CPUID
 * 0x80000008, which guests see unchanged), at most the 48 bits a 4-level EPT
 * translates.
 */
unsigned int gmem_phys_bits(void)
{
	unsigned int bits = 36;		/* without leaf 0x80000008 */

	if (cpuid(0x80000000, 0).eax >= 0x80000008)
		bits = cpuid(0x80000008, 0).eax & 0xff;
	return bits < 48 ? bits : 48;
}

/* Bits needed to address every byte below @top (> 0). */
static unsigned int bits_for(uint64_t top)
{
	return 64 - (unsigned int)__builtin_clzll(top - 1);
}

int gmem_init(struct vm *vm, char *err, unsigned int n)
{
	uint64_t top = guest_ram_top(vm->cfg.memory), pages = top >> PAGE_SHIFT;
	uint64_t low = guest_low_ram_end(vm->cfg.memory) >> PAGE_SHIFT;

	/* Metadata is backed as it is touched: only address width and space are limits here. */
	if (bits_for(top) > gmem_phys_bits()) {
		hv_snprintf(err, n, "%llu MiB of guest memory (RAM up to 0x%llx) needs %u physical "
			    "address bits, this CPU has %u", (unsigned long long)(vm->cfg.memory >> 20),
			    (unsigned long long)top, bits_for(top), gmem_phys_bits());
		return -1;
	}
	ept_vm_init(&vm->ept, &hv_ept_ops, vm);
	if (memslot_init(&vm->mem, &vm->ept, &memslot_ops, &gmem_store, pages, vm)) {
		hv_snprintf(err, n, "no room for the metadata of %llu MiB of guest memory "
			    "(%llu MiB of address space, %llu MiB if all of it were touched)",
			    (unsigned long long)(vm->cfg.memory >> 20),
			    (unsigned long long)(pages * (sizeof(uint64_t) + sizeof(struct rmap_head)) >> 20),
			    (unsigned long long)(memslot_meta_bytes(pages) >> 20));
		return -1;
	}
	vm->mem.rmap_ops = &rmap_pool_ops;
	vm->mem.huge = vm->cfg.hugepages;
	/*
	 * RAM below 3 GiB and, for a larger guest, from 4 GiB up (hv/core/guest_boot.h);
	 * the xAPIC page, for APIC virtualization, unless guest RAM covers it.
	 */
	if (ept_add_region(&vm->ept, 0, low) ||
	    (pages > low && ept_add_region(&vm->ept, GUEST_HIGH_RAM_BASE >> PAGE_SHIFT, pages)) ||
	    (!guest_gpa_is_ram(vm->cfg.memory, GUEST_LAPIC_BASE) &&
	     ept_add_region(&vm->ept, GUEST_LAPIC_BASE >> PAGE_SHIFT,
			    (GUEST_LAPIC_BASE >> PAGE_SHIFT) + 1))) {
		memslot_destroy(&vm->mem);
		hv_snprintf(err, n, "bad guest memory layout");
		return -1;
	}
	reclaim_register(&gmem_reclaim, &vm->mem);
	vm->mem_ready = true;
	return 0;
}

void gmem_destroy(struct vm *vm)
{
	struct ept_stats st;

	if (!vm->mem_ready)
		return;
	struct memslot_stats ms;
	uint64_t meta;

	reclaim_unregister(&gmem_reclaim, &vm->mem);
	memslot_stats(&vm->mem, &ms, NULL);
	meta = ms.meta_bytes;
	/* What it holds now goes with it: only the event counts carry over. */
	ms.resident = ms.evicted = ms.meta_bytes = ms.leaves_4k = ms.leaves_2m = 0;
	stats_add(&retired, &ms);
	/* Zaps every root (rmaps emptied) and waits until their tables are freed. */
	ept_vm_destroy(&vm->ept);
	memslot_destroy(&vm->mem);
	vm->mem_ready = false;
	ept_vm_stats(&vm->ept, &st);
	pr_info("guest %s: memory freed; EPT roots alive %llu, table pages %llu; "
		"%llu pages charged to guests; 2 MiB blocks taken %llu, 2 MiB leaves split %llu; "
		"metadata %llu KiB backed of %llu KiB\n", vm->cfg.name,
		(unsigned long long)st.roots_alive, (unsigned long long)st.table_pages,
		(unsigned long long)READ_ONCE(charged), (unsigned long long)ms.huge_populated,
		(unsigned long long)st.splits, (unsigned long long)meta >> 10,
		(unsigned long long)memslot_meta_bytes(guest_ram_top(vm->cfg.memory) >> PAGE_SHIFT) >> 10);
}

void gmem_totals(struct memslot_stats *t)
{
	*t = retired;
	for (int i = 0; i < VM_MAX; i++) {
		struct memslot_stats ms;

		if (!vms[i].mem_ready)
			continue;
		memslot_stats(&vms[i].mem, &ms, NULL);
		stats_add(t, &ms);
	}
}

int gmem_write(struct vm *vm, uint64_t gpa, const void *src, uint64_t len)
{
	return memslot_access(&vm->mem, gpa, (void *)src, len, true);
}

int gmem_read(struct vm *vm, uint64_t gpa, void *dst, uint64_t len)
{
	return memslot_access(&vm->mem, gpa, dst, len, false);
}

/* --- The vCPU side ------------------------------------------------------ */

void gmem_vcpu_put_root(struct vcpu *v)
{
	if (v->root) {
		ept_root_put(&v->vm->ept, v->root);
		v->root = NULL;
	}
}

static const char *access_name(uint64_t qual)
{
	static const char *const names[8] = {
		"no access", "read", "write", "read/write", "fetch", "read/fetch",
		"write/fetch", "read/write/fetch",
	};
	return names[qual & 7];
}

/* The guest holding the most resident pages, stopping or not (its memory is not yet freed). */
static struct vm *oom_victim(void)
{
	struct vm *best = NULL;
	uint64_t most = 0;

	for (int i = 0; i < VM_MAX; i++) {
		uint64_t n;

		if (!READ_ONCE(vms[i].mem_ready))
			continue;
		n = READ_ONCE(vms[i].mem.st.resident);
		if (n > most) {
			most = n;
			best = &vms[i];
		}
	}
	return best;
}

/* An allocation for @vm failed: reclaim; when that freed nothing and memory is low, fewer tries left. */
static void reclaim_for_retry(struct vm *vm, int *tries)
{
	if (!reclaim_direct(&gmem_reclaim, MEMSLOT_EVICT_BATCH, &vm->mem) &&
	    !page_alloc_above_high())
		*tries += FAULT_TRIES / 4;
}

/*
 * Nothing left to evict.  As Linux's OOM killer does, stop the guest
 * holding the most memory.  False when that is @vm: the caller stops it,
 * saying why.  True when it is another guest (perhaps one that stopped
 * already and is being reaped): @vm's vCPU waits until its memory is freed.
 */
static bool oom_stop_other(struct vm *vm)
{
	struct vm *victim = oom_victim();

	if (!victim || victim == vm)
		return false;
	if (!READ_ONCE(victim->stop_request)) {
		char why[96];

		hv_snprintf(why, sizeof(why), "out of memory: stopped as the largest guest "
			    "to make room for %s", vm->cfg.name);
		vm_fail_nodump(victim, why);
	}
	return true;
}

int gmem_vcpu_load_root(struct vcpu *v)
{
	struct ept_root *root;

	if (v->root && !READ_ONCE(v->root->invalid))
		return 0;
	gmem_vcpu_put_root(v);
	for (int tries = 0; tries < FAULT_TRIES; tries++) {
		root = ept_root_load_for_vcpu(&v->vm->ept);
		if (root) {
			v->root = root;
			v->eptp = gmem_eptp(root);
			return 1;
		}
		reclaim_for_retry(v->vm, &tries);
	}
	if (oom_stop_other(v->vm))
		return -1;
	guest_fail(v, "out of memory for an EPT root: no host page even after reclaim");
	return -1;
}

int gmem_fault(struct vcpu *v, uint64_t gpa, uint64_t qual)
{
	struct vm *vm = v->vm;
	uint64_t access = qual & 7;

	for (int tries = 0; tries < FAULT_TRIES; tries++) {
		enum ept_fault_result r;

		pool_refill();
		r = ept_fault(&vm->ept, v->root, gpa, access ? access : EPT_R);
		switch (r) {
		case EPT_FIXED:
		case EPT_SPURIOUS:
		case EPT_RETRY:
			/* A retry re-enters the guest, which faults again (after a root reload). */
			return 0;
		case EPT_NO_MEMSLOT:
			guest_fail(v, "EPT violation at GPA %llx outside guest memory (%llu MiB), "
				   "qualification %llx (%s)", (unsigned long long)gpa,
				   (unsigned long long)(vm->cfg.memory >> 20),
				   (unsigned long long)qual, access_name(qual));
			return -1;
		case EPT_NOMEM:
			/* A table page or the backing page: reclaim and try again. */
			reclaim_for_retry(vm, &tries);
			break;
		}
	}
	/* Another guest stopped for our memory: re-enter and fault again until it is freed. */
	if (oom_stop_other(vm))
		return 0;
	guest_fail(v, "out of memory at GPA %llx: no host page even after reclaim "
		   "(%llu of %llu pages charged to guests)", (unsigned long long)gpa,
		   (unsigned long long)READ_ONCE(charged), (unsigned long long)limit_pages);
	return -1;
}

/*
 * The shell loop, on the control CPU, every tick: one batch of reclaim when
 * free memory is below the low watermark or the guests' charge within half
 * the reserve of the limit, so that vCPUs seldom reclaim directly.  One
 * batch per tick keeps the shell responsive.
 */
void gmem_background(void)
{
	if (page_alloc_below_low() || READ_ONCE(charged) + reserve_pages / 2 > limit_pages)
		reclaim_run(&gmem_reclaim, MEMSLOT_EVICT_BATCH);
}
