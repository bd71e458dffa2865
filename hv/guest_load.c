/* SPDX-License-Identifier: MIT */
/*
 * Guest images: a flat binary (placed at cfg.load), ELF64 (long mode) or
 * ELF32 (protected mode), taken from the files the loader read.  For long
 * and protected mode the loader builds what the guest needs to start there:
 * a GDT and, for long mode, identity page tables over the guest's memory.
 * A bad image is refused with a reason; nothing of the guest runs.
 */
#include <elf.h>

#include "hv/format.h"
#include "hv/hv.h"
#include "hv/string.h"
#include "hv/vm.h"

/* Guest physical layout the loader owns in long and protected mode. */
#define GUEST_PML4	0x1000ULL
#define GUEST_PDPT	0x2000ULL
#define GUEST_PD	0x3000ULL	/* four PDs: 4 GiB of 2 MiB pages */
#define GUEST_GDT	0x7000ULL
#define GUEST_RESERVED_END 0x8000ULL

static const uint64_t guest_gdt[] = {
	0,
	0x00af9b000000ffffULL,		/* 0x08: 64-bit code */
	0x00cf93000000ffffULL,		/* 0x10: data */
	0x00cf9b000000ffffULL,		/* 0x18: 32-bit code */
};

static const struct boot_module *find_module(const char *name)
{
	for (uint32_t i = 0; i < boot_info->nmodules; i++)
		if (!strcmp(boot_info->modules[i].name, name))
			return &boot_info->modules[i];
	return NULL;
}

static bool overlaps_loader_area(const struct vm *vm, uint64_t start, uint64_t end)
{
	return vm->cfg.mode != MODE_REAL && start < GUEST_RESERVED_END && end > GUEST_PML4;
}

static int load_segment(struct vm *vm, const uint8_t *img, uint64_t size, uint64_t off,
			uint64_t filesz, uint64_t memsz, uint64_t pa, char *err, unsigned int n)
{
	if (filesz > memsz || off + filesz < off || off + filesz > size) {
		hv_snprintf(err, n, "ELF segment at file offset %llx runs past the file",
			    (unsigned long long)off);
		return -1;
	}
	if (pa + memsz < pa || pa + memsz > vm->cfg.memory) {
		hv_snprintf(err, n, "ELF segment %llx-%llx lies outside the guest's %llu MiB",
			    (unsigned long long)pa, (unsigned long long)(pa + memsz),
			    (unsigned long long)(vm->cfg.memory >> 20));
		return -1;
	}
	if (overlaps_loader_area(vm, pa, pa + memsz)) {
		hv_snprintf(err, n, "ELF segment at %llx overlaps the loader's area 0x1000-0x8000",
			    (unsigned long long)pa);
		return -1;
	}
	if (gmem_write(vm, pa, img + off, filesz)) {
		hv_snprintf(err, n, "out of host memory loading the image");
		return -1;
	}
	/* Fresh guest pages are zero already: the bss needs nothing. */
	return 0;
}

static int load_elf(struct vm *vm, const uint8_t *img, uint64_t size, char *err, unsigned int n)
{
	bool is64 = img[EI_CLASS] == ELFCLASS64;
	uint64_t phoff, entry;
	unsigned int phnum, phentsize;

	if (img[EI_CLASS] != ELFCLASS32 && !is64) {
		hv_snprintf(err, n, "ELF class %u is neither 32 nor 64 bit", img[EI_CLASS]);
		return -1;
	}
	if (is64 != (vm->cfg.mode == MODE_LONG)) {
		hv_snprintf(err, n, "an ELF%d image needs mode = %s", is64 ? 64 : 32,
			    is64 ? "long" : "protected");
		return -1;
	}
	if (is64) {
		const Elf64_Ehdr *eh = (const void *)img;

		if (size < sizeof(*eh) || eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC) {
			hv_snprintf(err, n, "not an x86-64 executable ELF");
			return -1;
		}
		phoff = eh->e_phoff, phnum = eh->e_phnum, phentsize = eh->e_phentsize;
		entry = eh->e_entry;
	} else {
		const Elf32_Ehdr *eh = (const void *)img;

		if (size < sizeof(*eh) || eh->e_machine != EM_386 || eh->e_type != ET_EXEC) {
			hv_snprintf(err, n, "not an i386 executable ELF");
			return -1;
		}
		phoff = eh->e_phoff, phnum = eh->e_phnum, phentsize = eh->e_phentsize;
		entry = eh->e_entry;
	}
	if (phentsize != (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) || !phnum ||
	    phoff + (uint64_t)phnum * phentsize > size) {
		hv_snprintf(err, n, "ELF program headers are missing or run past the file");
		return -1;
	}
	for (unsigned int i = 0; i < phnum; i++) {
		const uint8_t *ph = img + phoff + (uint64_t)i * phentsize;
		uint64_t type, off, filesz, memsz, pa;

		if (is64) {
			const Elf64_Phdr *p = (const void *)ph;

			type = p->p_type, off = p->p_offset, filesz = p->p_filesz;
			memsz = p->p_memsz, pa = p->p_paddr;
		} else {
			const Elf32_Phdr *p = (const void *)ph;

			type = p->p_type, off = p->p_offset, filesz = p->p_filesz;
			memsz = p->p_memsz, pa = p->p_paddr;
		}
		if (type == PT_LOAD && load_segment(vm, img, size, off, filesz, memsz, pa, err, n))
			return -1;
	}
	if (!vm->cfg.entry)
		vm->cfg.entry = entry;
	return 0;
}

static int build_long_mode_tables(struct vm *vm)
{
	uint64_t pml4e = GUEST_PDPT | 3, gdt_size = sizeof(guest_gdt);
	uint64_t npd = (vm->cfg.memory + (1ULL << 30) - 1) >> 30;

	if (gmem_write(vm, GUEST_PML4, &pml4e, 8))
		return -1;
	for (uint64_t g = 0; g < npd && g < 4; g++) {
		uint64_t pdpte = (GUEST_PD + g * 0x1000) | 3;

		if (gmem_write(vm, GUEST_PDPT + g * 8, &pdpte, 8))
			return -1;
		for (uint64_t i = 0; i < 512; i++) {
			uint64_t pde = ((g << 30) + (i << 21)) | 0x83;

			if (gmem_write(vm, GUEST_PD + g * 0x1000 + i * 8, &pde, 8))
				return -1;
		}
	}
	return gmem_write(vm, GUEST_GDT, guest_gdt, gdt_size);
}

int guest_load_image(struct vm *vm, char *err, unsigned int n)
{
	const struct boot_module *m = find_module(vm->cfg.image);
	const uint8_t *img;

	if (!m) {
		hv_snprintf(err, n, "image '%s' was not on the boot medium", vm->cfg.image);
		return -1;
	}
	img = (const uint8_t *)(uintptr_t)m->pa;
	if (!vm->cfg.load)
		vm->cfg.load = vm->cfg.mode == MODE_REAL ? 0x7c00 : 0x100000;
	if (!m->size) {
		hv_snprintf(err, n, "image '%s' is empty", vm->cfg.image);
		return -1;
	}
	if (vm->cfg.mode != MODE_REAL && build_long_mode_tables(vm)) {
		hv_snprintf(err, n, "out of host memory for the guest's boot tables");
		return -1;
	}
	if (m->size >= 4 && !memcmp(img, ELFMAG, SELFMAG)) {
		if (vm->cfg.mode == MODE_REAL) {
			hv_snprintf(err, n, "an ELF image cannot start in real mode");
			return -1;
		}
		return load_elf(vm, img, m->size, err, n);
	}
	if (vm->cfg.mode == MODE_REAL && vm->cfg.load + m->size > 0x100000) {
		hv_snprintf(err, n, "a real-mode image must lie below 1 MiB (load = %llx)",
			    (unsigned long long)vm->cfg.load);
		return -1;
	}
	if (vm->cfg.load + m->size > vm->cfg.memory || vm->cfg.load + m->size < vm->cfg.load) {
		hv_snprintf(err, n, "image '%s' (%llu bytes at %llx) does not fit in %llu MiB",
			    vm->cfg.image, (unsigned long long)m->size,
			    (unsigned long long)vm->cfg.load,
			    (unsigned long long)(vm->cfg.memory >> 20));
		return -1;
	}
	if (overlaps_loader_area(vm, vm->cfg.load, vm->cfg.load + m->size)) {
		hv_snprintf(err, n, "load address %llx overlaps the loader's area 0x1000-0x8000",
			    (unsigned long long)vm->cfg.load);
		return -1;
	}
	if (gmem_write(vm, vm->cfg.load, img, m->size)) {
		hv_snprintf(err, n, "out of host memory loading the image");
		return -1;
	}
	if (!vm->cfg.entry)
		vm->cfg.entry = vm->cfg.load;
	return 0;
}
