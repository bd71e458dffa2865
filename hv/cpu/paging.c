/* SPDX-License-Identifier: MIT */
#include "hv/cpu/page_alloc.h"
#include "hv/cpu/paging.h"
#include "hv/lib/x86.h"
#include "lib/check.h"
#include "lib/printk.h"
#include "lib/string.h"

#define PTE_P		(1ULL << 0)
#define PTE_W		(1ULL << 1)
#define PTE_PS		(1ULL << 7)
#define PTE_G		(1ULL << 8)
#define PTE_NX		(1ULL << 63)
#define PTE_ADDR	0x000ffffffffff000ULL

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __image_end[];

static uint64_t *pml4;
static bool have_nx;

static uint64_t *new_table(void)
{
	uint64_t pa = page_alloc(0);

	if (!pa)
		panic("paging: out of memory for page tables");
	memset((void *)(uintptr_t)pa, 0, 4096);
	return (uint64_t *)(uintptr_t)pa;
}

/* The table below entry idx of t, created on demand. */
static uint64_t *next_level(uint64_t *t, unsigned int idx)
{
	if (!(t[idx] & PTE_P))
		t[idx] = (uint64_t)(uintptr_t)new_table() | PTE_P | PTE_W;
	return (uint64_t *)(uintptr_t)(t[idx] & PTE_ADDR);
}

static uint64_t nx(void)
{
	return have_nx ? PTE_NX : 0;
}

static void map_2m(uint64_t va, uint64_t pa, uint64_t flags)
{
	uint64_t *pdpt = next_level(pml4, (va >> 39) & 511);
	uint64_t *pd = next_level(pdpt, (va >> 30) & 511);

	pd[(va >> 21) & 511] = pa | flags | PTE_PS | PTE_P;
}

static void map_4k(uint64_t va, uint64_t pa, uint64_t flags)
{
	uint64_t *pdpt = next_level(pml4, (va >> 39) & 511);
	uint64_t *pd = next_level(pdpt, (va >> 30) & 511);
	uint64_t *pt = next_level(pd, (va >> 21) & 511);

	pt[(va >> 12) & 511] = pa | flags | PTE_P;
}

void cpu_setup_control_regs(void)
{
	if (have_nx)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	/* An AP comes out of INIT with caching disabled (CR0.CD/NW): turn it on. */
	write_cr0((read_cr0() | CR0_WP | CR0_NE | CR0_MP) & ~(CR0_CD | CR0_NW));
	write_cr4(read_cr4() | CR4_PGE);
}

void paging_init(const struct boot_info *bi)
{
	uint64_t top = 4ULL << 30;
	uint64_t va;

	have_nx = cpuid(0x80000001, 0).edx & (1u << 20);
	for (uint32_t i = 0; i < bi->nranges; i++) {
		uint64_t end = bi->ranges[i].base + bi->ranges[i].npages * 4096;

		if (end > top && bi->ranges[i].efi_type != 11 /* MMIO */)
			top = end;
	}
	top = (top + (1ULL << 21) - 1) & ~((1ULL << 21) - 1);
	pml4 = new_table();

	map_2m(0, 0, PTE_W);	/* executable: the AP trampoline runs here */
	for (va = 1ULL << 21; va < top; va += 1ULL << 21)
		map_2m(va, va, PTE_W | nx());

	for (va = (uint64_t)(uintptr_t)__text_start; va < (uint64_t)(uintptr_t)__image_end; va += 4096) {
		uint64_t pa = bi->image_pa + (va - HV_IMAGE_VA);
		uint64_t flags = PTE_G;

		if (va >= (uint64_t)(uintptr_t)__text_end && va < (uint64_t)(uintptr_t)__data_start)
			flags |= nx();				/* rodata: read-only */
		else if (va >= (uint64_t)(uintptr_t)__data_start)
			flags |= PTE_W | nx();			/* data, bss: no exec */
		map_4k(va, pa, flags);
	}

	cpu_setup_control_regs();
	write_cr3((uint64_t)(uintptr_t)pml4);
	pr_info("paging: direct map 0-%llu MiB, image W^X at %llx, NX %s\n",
		(unsigned long long)(top >> 20), (unsigned long long)HV_IMAGE_VA,
		have_nx ? "on" : "unavailable");
}

uint64_t paging_lookup(uint64_t va, int *level)
{
	uint64_t *t = (uint64_t *)(uintptr_t)(read_cr3() & PTE_ADDR);

	for (int l = 4; l >= 1; l--) {
		uint64_t e = t[(va >> (12 + 9 * (l - 1))) & 511];

		if (!(e & PTE_P))
			return 0;
		if (l == 1 || (e & PTE_PS)) {
			*level = l;
			return e;
		}
		t = (uint64_t *)(uintptr_t)(e & PTE_ADDR);
	}
	return 0;
}
