/* SPDX-License-Identifier: MIT */
/*
 * The vmap area (hv/cpu/vmap.h): PML4 slot 384, 0xffffc00000000000 up, in
 * the page tables every CPU shares.  Reservations are 2 MiB aligned, so a
 * page table (one 2 MiB stretch) belongs to one reservation and goes with
 * it; the few page directories above stay for the next.
 */
#include "hv/cpu/page_alloc.h"
#include "hv/cpu/vmap.h"
#include "hv/lib/x86.h"
#include "lib/check.h"
#include "lib/string.h"
#include "smp/percpu.h"
#include "smp/smp.h"
#include "smp/spinlock.h"

#define VMAP_BASE	0xffffc00000000000ULL
#define VMAP_SIZE	(512ULL << 30)
#define VMAP_ALIGN	(2ULL << 20)
#define VMAP_MAX	64

#define PTE_P		(1ULL << 0)
#define PTE_W		(1ULL << 1)
#define PTE_NX		(1ULL << 63)
#define PTE_ADDR	0x000ffffffffff000ULL

struct vmap_range {
	uint64_t start, len;	/* len 0: a free slot of the table */
};

/* The reservations and every change to the area's tables. */
static spinlock_t vmap_lock = SPINLOCK_INIT_ORDER(LOCK_ORDER_VMAP);
static struct vmap_range ranges[VMAP_MAX];
static struct vmap_stats stats;

static uint64_t *table_of(uint64_t e)
{
	return (uint64_t *)(uintptr_t)(e & PTE_ADDR);
}

static uint64_t *root(void)
{
	return (uint64_t *)(uintptr_t)(read_cr3() & PTE_ADDR);
}

static uint64_t zeroed_page(void)
{
	uint64_t pa = page_alloc(0);

	if (pa)
		memset((void *)(uintptr_t)pa, 0, PAGE_SIZE);
	return pa;
}

/* The entry for @va at @level (1: the 4 KiB leaf), tables made on the way if @make. */
static uint64_t *walk(uint64_t va, int level, bool make)
{
	uint64_t *t = root();

	for (int l = 4; l > level; l--) {
		uint64_t *e = &t[(va >> (12 + 9 * (l - 1))) & 511];

		if (!(*e & PTE_P)) {
			uint64_t pa;

			if (!make || !(pa = zeroed_page()))
				return NULL;
			stats.table_pages++;
			/* Entries above the leaf stay executable-agnostic: NX sits on the leaves. */
			WRITE_ONCE(*e, pa | PTE_P | PTE_W);
		}
		t = table_of(*e);
	}
	return &t[(va >> (12 + 9 * (level - 1))) & 511];
}

void *vmap_reserve(uint64_t bytes)
{
	uint64_t len = (bytes + VMAP_ALIGN - 1) & ~(VMAP_ALIGN - 1), start = VMAP_BASE;
	struct vmap_range *slot = NULL;

	if (!len || len > VMAP_SIZE)
		return NULL;
	spin_lock(&vmap_lock);
	for (unsigned int i = 0; i < VMAP_MAX && !slot; i++)
		if (!ranges[i].len)
			slot = &ranges[i];
	/* First fit: step past every reservation the candidate overlaps, until none. */
	for (bool moved = true; moved;) {
		moved = false;
		for (unsigned int i = 0; i < VMAP_MAX; i++)
			if (ranges[i].len && ranges[i].start < start + len &&
			    start < ranges[i].start + ranges[i].len) {
				start = ranges[i].start + ranges[i].len;
				moved = true;
			}
	}
	if (!slot || start + len > VMAP_BASE + VMAP_SIZE || start < VMAP_BASE) {
		spin_unlock(&vmap_lock);
		return NULL;
	}
	*slot = (struct vmap_range){ start, len };
	stats.reserved_bytes += len;
	spin_unlock(&vmap_lock);
	return (void *)(uintptr_t)start;
}

static struct vmap_range *range_of(uint64_t va)
{
	for (unsigned int i = 0; i < VMAP_MAX; i++)
		if (ranges[i].len && va - ranges[i].start < ranges[i].len)
			return &ranges[i];
	return NULL;
}

int vmap_populate(void *va, uint64_t bytes)
{
	uint64_t start = (uint64_t)(uintptr_t)va & ~(PAGE_SIZE - 1);
	uint64_t end = (uint64_t)(uintptr_t)va + bytes;
	int rc = 0;

	spin_lock(&vmap_lock);
	WARN_ONCE(!range_of(start) || !range_of(end - 1), "vmap: populate of %llx outside a reservation",
		  (unsigned long long)start);
	for (uint64_t a = start; a < end && !rc; a += PAGE_SIZE) {
		uint64_t *pte = walk(a, 1, true), pa;

		if (!pte) {
			rc = -1;
		} else if (!(*pte & PTE_P)) {
			if (!(pa = zeroed_page())) {
				rc = -1;
				break;
			}
			stats.backed_pages++;
			WRITE_ONCE(*pte, pa | PTE_P | PTE_W | PTE_NX);
		}
	}
	spin_unlock(&vmap_lock);
	return rc;
}

bool vmap_backed(const void *va)
{
	uint64_t *pte = walk((uint64_t)(uintptr_t)va, 1, false);

	return pte && (READ_ONCE(*pte) & PTE_P);
}

static void flush_tlb(void *arg)
{
	(void)arg;
	write_cr3(read_cr3());
}

/* Put @pa on the list of pages to free after the flush, linked through their first word. */
static void defer_free(uint64_t *list, uint64_t pa)
{
	*(uint64_t *)(uintptr_t)pa = *list;
	*list = pa;
}

void vmap_release(void *va)
{
	uint64_t start = (uint64_t)(uintptr_t)va, list = 0;
	struct vmap_range *r;
	uint64_t freed[2] = { 0, 0 };

	spin_lock(&vmap_lock);
	r = range_of(start);
	if (!r || r->start != start) {
		spin_unlock(&vmap_lock);
		WARN_ONCE(1, "vmap: release of %llx, not a reservation", (unsigned long long)start);
		return;
	}
	for (uint64_t a = start; a < start + r->len; a += VMAP_ALIGN) {
		uint64_t *pde = walk(a, 2, false), *pt;

		if (!pde || !(*pde & PTE_P))
			continue;
		pt = table_of(*pde);
		/* The 2 MiB stretch is this reservation's alone: its table goes too. */
		WRITE_ONCE(*pde, 0);
		for (unsigned int i = 0; i < 512; i++) {
			if (pt[i] & PTE_P) {
				defer_free(&list, pt[i] & PTE_ADDR);
				freed[0]++;
			}
		}
		defer_free(&list, (uint64_t)(uintptr_t)pt);
		freed[1]++;
	}
	stats.backed_pages -= freed[0];
	stats.table_pages -= freed[1];
	spin_unlock(&vmap_lock);
	/*
	 * No CPU may keep a translation, or a cached page directory entry, into
	 * the range before its pages and tables go back to the allocator (a
	 * stale walk through a reused table could load anything), nor before
	 * the range is reserved again (a stale entry would shadow the new
	 * owner's pages).  The caller promised that nothing touches it meanwhile.
	 */
	flush_tlb(NULL);
	smp_call_on_cpus(smp_online_mask(), flush_tlb, NULL, 1000000);
	spin_lock(&vmap_lock);
	stats.reserved_bytes -= r->len;
	r->len = 0;
	spin_unlock(&vmap_lock);
	while (list) {
		uint64_t next = *(uint64_t *)(uintptr_t)list;

		page_free(list, 0);
		list = next;
	}
}

void vmap_get_stats(struct vmap_stats *st)
{
	spin_lock(&vmap_lock);
	*st = stats;
	spin_unlock(&vmap_lock);
}
