/* SPDX-License-Identifier: MIT */
/*
 * UEFI entry.  The loader is thin: it gathers what only firmware can give
 * (memory map, ACPI root, files from the boot medium or TFTP, a TSC rate),
 * loads the embedded monolith at its link address and hands the machine over.
 */
#include "boot/loader.h"

static const void *acpi_map_identity(void *ctx, uint64_t phys, size_t len)
{
	(void)ctx;
	if (!phys || phys + len < phys)
		return NULL;
	return (const void *)(uintptr_t)phys;
}

static uint64_t find_rsdp(void)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
	uint64_t old = 0;

	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];

		if (!CompareGuid(&t->VendorGuid, &acpi20))
			return (uint64_t)(uintptr_t)t->VendorTable;
		if (!CompareGuid(&t->VendorGuid, &acpi10))
			old = (uint64_t)(uintptr_t)t->VendorTable;
	}
	return old;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t calibrate_tsc_khz(void)
{
	uint64_t t0 = rdtsc();

	uefi_call_wrapper(BS->Stall, 1, 20000);
	return (rdtsc() - t0) / 20;
}

static uint32_t bsp_apic_id(void)
{
	uint32_t a, b, c, d;

	__asm__ __volatile__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	return b >> 24;
}

static void copy_str(char *dst, const char *src, UINTN n)
{
	UINTN i;

	for (i = 0; i + 1 < n && src[i]; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	struct boot_info *bi;
	uint64_t entry, cr3;
	EFI_STATUS st;

	InitializeLib(image, systab);
	uefi_call_wrapper(BS->SetWatchdogTimer, 4, 0, 0, 0, NULL);
	Print(L"[boot] %a starting\r\n", LOADER_VERSION);

	bi = loader_alloc_pages(EFI_SIZE_TO_PAGES(sizeof(*bi)), AllocateAnyPages, 0);
	if (!bi) {
		Print(L"[boot] error: no memory for boot info\r\n");
		return EFI_OUT_OF_RESOURCES;
	}
	SetMem(bi, sizeof(*bi), 0);
	bi->magic = BOOTINFO_MAGIC;
	bi->version = BOOTINFO_VERSION;
	copy_str(bi->loader_version, LOADER_VERSION, sizeof(bi->loader_version));
	bi->bsp_apic_id = bsp_apic_id();
	bi->tsc_khz = calibrate_tsc_khz();

	bi->rsdp = find_rsdp();
	if (!bi->rsdp)
		copy_str(bi->acpi_error, "no ACPI RSDP in the UEFI configuration table",
			 sizeof(bi->acpi_error));
	else if (acpi_parse(bi->rsdp, acpi_map_identity, NULL, &bi->acpi,
			    bi->acpi_error, sizeof(bi->acpi_error)) == 0)
		bi->acpi_error[0] = 0;
	copy_str(bi->cpu_source, "ACPI MADT", sizeof(bi->cpu_source));
	if (!bi->acpi.ncpus && !EFI_ERROR(loader_cpus_from_mp(bi)))
		copy_str(bi->cpu_source, "UEFI MP services", sizeof(bi->cpu_source));
	Print(L"[boot] %d CPUs (from %a), TSC %ld kHz\r\n", bi->acpi.ncpus, bi->cpu_source,
	      bi->tsc_khz);

	st = loader_files_init(image, bi);
	if (EFI_ERROR(st))
		Print(L"[boot] warning: no hv.cfg read (%r); using defaults\r\n", st);

	/* Four pages below 1 MiB: the AP start-up trampoline and its page tables. */
	bi->trampoline_pa = (uint64_t)(uintptr_t)loader_alloc_pages(4, AllocateMaxAddress, 0x9ffff);
	if (!bi->trampoline_pa)
		Print(L"[boot] warning: no memory below 1 MiB; APs will not start\r\n");

	st = loader_load_image(bi, &entry);
	if (EFI_ERROR(st)) {
		Print(L"[boot] error: cannot load the hypervisor image: %r\r\n", st);
		return st;
	}
	st = loader_build_page_tables(bi, &cr3);
	if (EFI_ERROR(st)) {
		Print(L"[boot] error: cannot build page tables: %r\r\n", st);
		return st;
	}
	Print(L"[boot] handing over to the hypervisor\r\n");
	loader_handoff(image, bi, cr3, entry);
}
