/* SPDX-License-Identifier: MIT */
/*
 * The monolith travels inside BOOTX64.EFI as an ELF64 blob (one EFI file is
 * all a USB stick or a TFTP server has to carry).  Load its PT_LOAD segments
 * into one physically contiguous block; boot/handoff.c maps that block at the
 * link address HV_IMAGE_VA.
 */
#include <elf.h>

#include "boot/loader.h"

extern const unsigned char _binary_hv_elf_start[], _binary_hv_elf_end[];

EFI_STATUS loader_load_image(struct boot_info *bi, uint64_t *entry)
{
	const unsigned char *blob = _binary_hv_elf_start;
	UINTN blob_size = _binary_hv_elf_end - _binary_hv_elf_start;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)blob;
	uint64_t lo = ~0ULL, hi = 0;
	unsigned char *img;

	if (blob_size < sizeof(*eh) || CompareMem(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_machine != EM_X86_64 ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > blob_size)
		return EFI_LOAD_ERROR;

	const Elf64_Phdr *ph = (const Elf64_Phdr *)(blob + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_vaddr < HV_IMAGE_VA || ph[i].p_offset + ph[i].p_filesz > blob_size)
			return EFI_LOAD_ERROR;
		if (ph[i].p_vaddr < lo)
			lo = ph[i].p_vaddr;
		if (ph[i].p_vaddr + ph[i].p_memsz > hi)
			hi = ph[i].p_vaddr + ph[i].p_memsz;
	}
	if (lo != HV_IMAGE_VA || hi <= lo)
		return EFI_LOAD_ERROR;

	bi->image_size = (hi - lo + 4095) & ~4095ULL;
	img = loader_alloc_pages(bi->image_size / 4096, AllocateAnyPages, 0);
	if (!img)
		return EFI_OUT_OF_RESOURCES;
	SetMem(img, bi->image_size, 0);
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD)
			CopyMem(img + (ph[i].p_vaddr - lo), (void *)(blob + ph[i].p_offset),
				ph[i].p_filesz);
	bi->image_pa = (uint64_t)(uintptr_t)img;
	*entry = eh->e_entry;
	return EFI_SUCCESS;
}
