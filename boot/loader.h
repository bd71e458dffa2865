/* SPDX-License-Identifier: MIT */
/* Internal interfaces of the UEFI loader. */
#ifndef BOOT_LOADER_H
#define BOOT_LOADER_H

#include <efi.h>
#include <efilib.h>

#include "boot/bootinfo.h"

#define LOADER_VERSION	"hv-loader 0.1"

/* files.c: reading files from the boot volume or the TFTP server. */
EFI_STATUS loader_files_init(EFI_HANDLE image, struct boot_info *bi);
EFI_STATUS loader_read_file(const char *name, void **buf, UINTN *size);

/* mp.c: CPUs from the UEFI MP services protocol when ACPI has none. */
EFI_STATUS loader_cpus_from_mp(struct boot_info *bi);

/* image.c: the embedded monolith. */
EFI_STATUS loader_load_image(struct boot_info *bi, uint64_t *entry);

/* handoff.c: page tables, the final memory map, ExitBootServices, jump. */
EFI_STATUS loader_build_page_tables(struct boot_info *bi, uint64_t *cr3);
__attribute__((noreturn))
void loader_handoff(EFI_HANDLE image, struct boot_info *bi, uint64_t cr3, uint64_t entry);

void *loader_alloc_pages(UINTN npages, EFI_ALLOCATE_TYPE type, EFI_PHYSICAL_ADDRESS max);

#endif
