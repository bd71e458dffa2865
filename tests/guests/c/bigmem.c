/* SPDX-License-Identifier: MIT */
/*
 * A guest far larger than its host, with "bigmem" on the command line (long
 * mode): the map must put RAM above the 3 GiB of low memory from 4 GiB up
 * (the PCI window and the APICs in the hole) and end at mem= + 1 GiB; then
 * pages spread over all of it (low memory, just below 3 GiB, 4 GiB, the
 * middle, the last page, and evenly between) are written with their address
 * and verified after all were written, and the pages beside them, never
 * written, read as zeros.  The hypervisor backs its metadata only for the
 * chunks touched (tests/boot/test_bochs_cguests.py reads `mem` afterwards).
 *
 * Memory above 4 GiB is reached through a window: PDPT entry 4 (virtual 4
 * GiB up, beyond crt0's identity map) points at a page directory whose
 * first entry maps the 2 MiB block wanted; INVLPG after each change.
 */
#include "tests/guests/c/mb.h"
#include "tests/guests/c/rt.h"

#define GiB		(1ULL << 30)
#define BLOCK		(2ULL << 20)
#define NR_SPREAD	64

#ifdef RT_LONG
static uint64_t window_pd[512] __attribute__((aligned(4096)));

static uint64_t *pdpt(void)
{
	uint64_t cr3, *pml4;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	pml4 = (uint64_t *)(uintptr_t)(cr3 & ~0xfffULL);
	return (uint64_t *)(uintptr_t)(pml4[0] & 0x000ffffffffff000ULL);
}

/* Guest-physical @pa as a pointer: identity below 3 GiB, else through the window. */
static volatile uint64_t *phys(uint64_t pa)
{
	uint64_t va = 4 * GiB + (pa & (BLOCK - 1));

	if (pa < 3 * GiB)
		return (volatile uint64_t *)(uintptr_t)pa;
	/* PDPT entry 4 was not present: nothing of it is cached. */
	pdpt()[4] = (uint64_t)(uintptr_t)window_pd | 3;
	window_pd[0] = (pa & ~(BLOCK - 1)) | 0x83;
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
	return (volatile uint64_t *)(uintptr_t)va;
}

/* The i-th page to write: the named places, then NR_SPREAD across [0, top). */
static uint64_t spot(unsigned int i, uint64_t top)
{
	static const uint64_t fixed[] = { 32ULL << 20, 3 * GiB - 4096, 4 * GiB };
	uint64_t p;

	if (i < 3)
		return fixed[i];
	if (i == 3)
		return (4 * GiB + top) / 2 & ~4095ULL;
	if (i == 4)
		return top - 4096;
	p = (top / NR_SPREAD) * (i - 5) + (i - 5) * 3 * 4096 + 40 * 4096;
	/* Into RAM: the hole below 4 GiB moves up. */
	if (p >= 3 * GiB && p < 4 * GiB)
		p += GiB;
	return p < top - 8192 ? p & ~4095ULL : top - 3 * 4096;
}

static uint64_t pattern(uint64_t pa, unsigned int w)
{
	return (pa ^ 0x5a5a0000b16b00b5ULL) * (w + 1);
}

void test_bigmem(void)
{
	const struct mb_info *mi = mb_info();
	uint64_t memory = rt_cmdline_num("mem", 0) << 20, top = 0, low_top = 0;
	const struct mb_mmap *e;
	unsigned int n = 5 + NR_SPREAD, bad = 0, dirty = 0;
	uint64_t first_bad = 0;

	if (!rt_cmdline_has("bigmem")) {
		rt_skip("big_map_ram_above_4g", "no bigmem on the command line");
		rt_skip("big_pages_keep_their_data", "no bigmem on the command line");
		rt_skip("big_untouched_pages_read_zero", "no bigmem on the command line");
		return;
	}
	for (e = (const struct mb_mmap *)(uintptr_t)mi->mmap_addr;
	     (uintptr_t)e < mi->mmap_addr + mi->mmap_length;
	     e = (const struct mb_mmap *)((uintptr_t)e + e->size + 4)) {
		uint64_t end = e->base_addr + e->length;

		if (e->type != 1)
			continue;
		if (end > top)
			top = end;
		if (end <= 4 * GiB && end > low_top)
			low_top = end;
	}
	rt_printf("bigmem: %llu MiB, RAM up to 0x%llx, low RAM up to 0x%llx\n",
		  (unsigned long long)(memory >> 20), (unsigned long long)top,
		  (unsigned long long)low_top);
	if (!CHECK("big_map_ram_above_4g", memory > 3 * GiB && top == memory + GiB &&
		   low_top == 3 * GiB, "RAM up to 0x%llx (low 0x%llx) in a guest of %llu MiB",
		   (unsigned long long)top, (unsigned long long)low_top,
		   (unsigned long long)(memory >> 20)))
		return;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t pa = spot(i, top);
		volatile uint64_t *p = phys(pa);

		p[0] = pattern(pa, 0);
		p[511] = pattern(pa, 511);
	}
	for (unsigned int i = 0; i < n; i++) {
		uint64_t pa = spot(i, top);
		volatile uint64_t *p = phys(pa);

		if ((p[0] != pattern(pa, 0) || p[511] != pattern(pa, 511)) && !bad++)
			first_bad = pa;
		/* The next page was never written (spots are 3 pages apart or more). */
		if (pa + 8192 <= top && pa != 3 * GiB - 4096) {
			p = phys(pa + 4096);
			for (unsigned int w = 0; w < 512; w++)
				dirty += p[w] != 0;
		}
	}
	CHECK("big_pages_keep_their_data", !bad, "%u of %u pages lost their data (first 0x%llx)",
	      bad, n, (unsigned long long)first_bad);
	CHECK("big_untouched_pages_read_zero", !dirty, "%u words not zero", dirty);
	rt_printf("bigmem: %u pages across 0x%llx written and verified\n", n,
		  (unsigned long long)top);
}
#else
void test_bigmem(void)
{
	rt_skip("big_map_ram_above_4g", "long mode only");
	rt_skip("big_pages_keep_their_data", "long mode only");
	rt_skip("big_untouched_pages_read_zero", "long mode only");
}
#endif
