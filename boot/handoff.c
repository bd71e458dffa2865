/* SPDX-License-Identifier: MIT */
/*
 * Leaving UEFI.  Hand-off page tables identity-map all of physical memory
 * (2 MiB pages, at least the low 4 GiB so MMIO is reachable) and map the
 * monolith at HV_IMAGE_VA; the monolith replaces them with its own W^X tables
 * at once.  The final memory map is fetched right before ExitBootServices,
 * retrying while the map key goes stale.
 */
#include "boot/loader.h"

#define PTE_P	0x1ULL
#define PTE_W	0x2ULL
#define PTE_PS	0x80ULL

static uint64_t *alloc_table(void)
{
	uint64_t *t = loader_alloc_pages(1, AllocateAnyPages, 0);

	if (t)
		SetMem(t, 4096, 0);
	return t;
}

static uint64_t top_of_memory(void)
{
	UINTN size = 0, key, dsize;
	UINT32 dver;
	EFI_MEMORY_DESCRIPTOR *map;
	uint64_t top = 4ULL << 30;

	map = LibMemoryMap(&size, &key, &dsize, &dver);
	if (!map)
		return top;
	for (UINTN off = 0; off < size * dsize; off += dsize) {
		EFI_MEMORY_DESCRIPTOR *d = (void *)((char *)map + off);
		uint64_t end = d->PhysicalStart + d->NumberOfPages * 4096;

		if (end > top && d->Type != EfiMemoryMappedIO)
			top = end;
	}
	FreePool(map);
	return top;
}

EFI_STATUS loader_build_page_tables(struct boot_info *bi, uint64_t *cr3)
{
	uint64_t top = (top_of_memory() + (1ULL << 30) - 1) & ~((1ULL << 30) - 1);
	uint64_t *pml4 = alloc_table(), *pdpt = NULL;

	if (!pml4 || top > (512ULL << 30))
		return EFI_OUT_OF_RESOURCES;
	for (uint64_t gb = 0; gb < top >> 30; gb++) {
		uint64_t *pd = alloc_table();

		if (gb % 512 == 0) {
			pdpt = alloc_table();
			if (!pdpt)
				return EFI_OUT_OF_RESOURCES;
			pml4[gb / 512] = (uint64_t)(uintptr_t)pdpt | PTE_P | PTE_W;
		}
		if (!pd)
			return EFI_OUT_OF_RESOURCES;
		pdpt[gb % 512] = (uint64_t)(uintptr_t)pd | PTE_P | PTE_W;
		for (int i = 0; i < 512; i++)
			pd[i] = ((gb << 30) + ((uint64_t)i << 21)) | PTE_P | PTE_W | PTE_PS;
	}

	/* The image: PML4[511] -> PDPT[510] -> PD -> 4 KiB PTEs. */
	uint64_t *hpdpt = alloc_table(), *hpd = alloc_table();
	uint64_t pages = bi->image_size / 4096;

	if (!hpdpt || !hpd || pages > 512 * 512)
		return EFI_OUT_OF_RESOURCES;
	pml4[511] = (uint64_t)(uintptr_t)hpdpt | PTE_P | PTE_W;
	hpdpt[510] = (uint64_t)(uintptr_t)hpd | PTE_P | PTE_W;
	for (uint64_t p = 0; p < pages; p += 512) {
		uint64_t *pt = alloc_table();

		if (!pt)
			return EFI_OUT_OF_RESOURCES;
		hpd[p / 512] = (uint64_t)(uintptr_t)pt | PTE_P | PTE_W;
		for (uint64_t i = 0; i < 512 && p + i < pages; i++)
			pt[i] = (bi->image_pa + (p + i) * 4096) | PTE_P | PTE_W;
	}
	*cr3 = (uint64_t)(uintptr_t)pml4;
	return EFI_SUCCESS;
}

static uint32_t classify(UINT32 efi_type)
{
	switch (efi_type) {
	case EfiConventionalMemory:
	case EfiBootServicesCode:
	case EfiBootServicesData:
		return BOOT_MEM_FREE;
	case EfiACPIReclaimMemory:
	case EfiACPIMemoryNVS:
		return BOOT_MEM_ACPI;
	default:
		return BOOT_MEM_RESERVED;
	}
}

/* After ExitBootServices: no firmware calls, only arithmetic on the map. */
static void convert_map(struct boot_info *bi, const char *map, UINTN size, UINTN dsize)
{
	bi->nranges = 0;
	for (UINTN off = 0; off + dsize <= size; off += dsize) {
		const EFI_MEMORY_DESCRIPTOR *d = (const void *)(map + off);
		struct boot_mem_range *r = bi->nranges ? &bi->ranges[bi->nranges - 1] : NULL;
		uint32_t type = classify(d->Type);

		if (r && r->type == type && r->base + r->npages * 4096 == d->PhysicalStart) {
			r->npages += d->NumberOfPages;
			continue;
		}
		if (bi->nranges == BOOTINFO_MAX_RANGES)
			break;	/* the monolith then sees less free memory, never more */
		r = &bi->ranges[bi->nranges++];
		r->base = d->PhysicalStart;
		r->npages = d->NumberOfPages;
		r->type = type;
		r->efi_type = d->Type;
	}
}

void loader_handoff(EFI_HANDLE image, struct boot_info *bi, uint64_t cr3, uint64_t entry)
{
	UINTN map_size = 0, key, dsize, cap;
	UINT32 dver;
	char *map = NULL;
	EFI_STATUS st;
	uint64_t *stack = loader_alloc_pages(16, AllocateAnyPages, 0);

	if (!stack) {
		Print(L"[boot] error: no memory for the boot stack\r\n");
		for (;;)
			__asm__ __volatile__("hlt");
	}
	/* Room for the map plus the descriptors our own allocation may add. */
	uefi_call_wrapper(BS->GetMemoryMap, 5, &map_size, NULL, &key, &dsize, &dver);
	cap = map_size + 16 * dsize;
	map = loader_alloc_pages(EFI_SIZE_TO_PAGES(cap), AllocateAnyPages, 0);

	for (int tries = 0; tries < 8; tries++) {
		map_size = cap;
		st = uefi_call_wrapper(BS->GetMemoryMap, 5, &map_size,
				       (EFI_MEMORY_DESCRIPTOR *)map, &key, &dsize, &dver);
		if (EFI_ERROR(st))
			continue;
		st = uefi_call_wrapper(BS->ExitBootServices, 2, image, key);
		if (st != EFI_INVALID_PARAMETER)
			break;	/* stale key: fetch the map again */
	}
	if (EFI_ERROR(st)) {
		Print(L"[boot] error: ExitBootServices failed: %r\r\n", st);
		for (;;)
			__asm__ __volatile__("hlt");
	}
	__asm__ __volatile__("cli");
	convert_map(bi, map, map_size, dsize);

	uint64_t sp = (uint64_t)(uintptr_t)stack + 16 * 4096;
	__asm__ __volatile__(
		"mov %0, %%cr3\n\t"
		"mov %1, %%rsp\n\t"
		"xor %%ebp, %%ebp\n\t"
		"push %%rbp\n\t"	/* a zero return address ends backtraces */
		"jmp *%2"
		: : "r"(cr3), "r"(sp), "r"(entry), "D"(bi) : "memory");
	__builtin_unreachable();
}
