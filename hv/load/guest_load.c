/* SPDX-License-Identifier: MIT */
/*
 * Guest images: a Linux bzImage (hv/load/linux_boot.c), a Multiboot v1 kernel
 * (hv/load/multiboot.c), or else a flat binary (placed at cfg.load), ELF64 (long
 * mode) or ELF32 (protected mode), taken from the files the loader read.
 * For long and protected mode the loader builds what the guest needs to
 * start there: a GDT and, for long mode, identity page tables over the
 * guest's memory; bzImage and Multiboot set their own entry state in
 * vm->boot and ignore cfg.mode.  A bad image is refused with a reason;
 * nothing of the guest runs.
 */
#include <elf.h>

#include "hv/core/vm.h"
#include "hv/cpu/hv.h"
#include "hv/lib/format.h"
#include "hv/load/acpi_build.h"
#include "hv/load/linux_boot.h"
#include "hv/load/load.h"
#include "hv/load/multiboot.h"
#include "hv/mm/gmem.h"
#include "lib/string.h"

/* Guest physical layout the loader owns in long and protected mode. */
#define GUEST_PML4	0x1000ULL
#define GUEST_PDPT	0x2000ULL
#define GUEST_PD	0x3000ULL	/* four PDs: 4 GiB of 2 MiB pages */
#define GUEST_GDT	0x7000ULL
#define GUEST_RESERVED_END 0x8000ULL

_Static_assert(LINUX_PAGE_TABLES == GUEST_PML4 && LINUX_GDT == GUEST_GDT &&
	       MB_GDT == GUEST_GDT, "bzImage and Multiboot use the loader's area");
_Static_assert(LINUX_BOOT_PARAMS >= GUEST_RESERVED_END && MB_INFO_BASE >= GUEST_RESERVED_END,
	       "zero page and Multiboot info lie above the loader's area");
_Static_assert(CFG_MODULES_MAX <= MB_MAX_MODS, "every configured module fits the plan");

enum image_kind { IMAGE_FLAT, IMAGE_ELF, IMAGE_LINUX, IMAGE_MULTIBOOT };

static const char *const kind_names[] = {
	"a flat binary", "an ELF image", "a Linux bzImage", "a Multiboot image",
};

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

/* Identity page tables over the guest's memory (up to 4 GiB). */
static int build_page_tables(struct vm *vm)
{
	uint64_t pml4e = GUEST_PDPT | 3;
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
	return 0;
}

/* The tables hv/load/acpi_build.c makes, at GUEST_ACPI_BASE. */
static int write_acpi(struct vm *vm, char *err, unsigned int n)
{
	static uint8_t buf[8192];	/* vm_start runs on the control CPU only */
	struct acpi_build_cfg c = { GUEST_ACPI_BASE, vm->cfg.vcpus, config_has_pci(&vm->cfg) };
	size_t len = acpi_build(buf, sizeof(buf), &c);

	if (!len) {
		hv_snprintf(err, n, "cannot build ACPI tables for %u vCPUs", vm->cfg.vcpus);
		return -1;
	}
	if (gmem_write(vm, GUEST_ACPI_BASE, buf, len)) {
		hv_snprintf(err, n, "out of host memory for the guest's ACPI tables");
		return -1;
	}
	return 0;
}

static int load_linux(struct vm *vm, const uint8_t *img, uint64_t size, char *err, unsigned int n)
{
	static struct linux_plan plan;	/* 4 KiB of zero page: not on the stack */
	const struct boot_module *rd = NULL;

	if (vm->cfg.initrd[0] && !(rd = find_module(vm->cfg.initrd))) {
		hv_snprintf(err, n, "initrd '%s' was not on the boot medium", vm->cfg.initrd);
		return -1;
	}
	if (linux_plan(img, size, rd ? rd->size : 0, vm->cfg.cmdline, vm->cfg.memory, &plan,
		       err, n))
		return -1;
	if (build_page_tables(vm) || gmem_write(vm, LINUX_GDT, plan.gdt, sizeof(plan.gdt)) ||
	    gmem_write(vm, LINUX_BOOT_PARAMS, plan.boot_params, sizeof(plan.boot_params)) ||
	    gmem_write(vm, LINUX_CMDLINE, vm->cfg.cmdline, plan.cmdline_len) ||
	    gmem_write(vm, plan.kernel, img + plan.kernel_off, plan.kernel_size) ||
	    (plan.initrd_size &&
	     gmem_write(vm, plan.initrd, (const void *)(uintptr_t)rd->pa, plan.initrd_size))) {
		hv_snprintf(err, n, "out of host memory loading the Linux guest");
		return -1;
	}
	if (write_acpi(vm, err, n))
		return -1;
	vm->boot = plan.boot;
	return 0;
}

static int load_multiboot(struct vm *vm, const uint8_t *img, uint64_t size, char *err,
			  unsigned int n)
{
	static struct multiboot_plan plan;
	const struct guest_config *g = &vm->cfg;
	const struct boot_module *bm[CFG_MODULES_MAX];
	struct mb_module mods[CFG_MODULES_MAX];

	for (unsigned int i = 0; i < g->nmodules; i++) {
		bm[i] = find_module(g->modules[i].file);
		if (!bm[i]) {
			hv_snprintf(err, n, "module '%s' was not on the boot medium",
				    g->modules[i].file);
			return -1;
		}
		mods[i] = (struct mb_module){ g->modules[i].file, g->modules[i].args, bm[i]->size };
	}
	if (multiboot_plan(img, size, g->image, g->cmdline, mods, g->nmodules, g->memory, &plan,
			   err, n))
		return -1;
	if (gmem_write(vm, MB_GDT, plan.gdt, sizeof(plan.gdt)) ||
	    gmem_write(vm, MB_INFO_BASE, plan.info, plan.info_len))
		goto oom;
	/* The bss (memsz past filesz) needs nothing: vm_start gives fresh, zeroed memory. */
	for (unsigned int i = 0; i < plan.nsegs; i++)
		if (gmem_write(vm, plan.segs[i].gpa, img + plan.segs[i].off, plan.segs[i].filesz))
			goto oom;
	for (unsigned int i = 0; i < g->nmodules; i++)
		if (gmem_write(vm, plan.mod_gpa[i], (const void *)(uintptr_t)bm[i]->pa,
			       bm[i]->size))
			goto oom;
	if (write_acpi(vm, err, n))
		return -1;
	vm->boot = plan.boot;
	return 0;
oom:
	hv_snprintf(err, n, "out of host memory loading the Multiboot guest");
	return -1;
}

static enum image_kind image_kind(const uint8_t *img, uint64_t size)
{
	if (linux_is_bzimage(img, size))
		return IMAGE_LINUX;
	if (multiboot_find_header(img, size) >= 0)
		return IMAGE_MULTIBOOT;
	if (size >= 4 && !memcmp(img, ELFMAG, SELFMAG))
		return IMAGE_ELF;
	return IMAGE_FLAT;
}

int guest_load_image(struct vm *vm, char *err, unsigned int n)
{
	const struct boot_module *m = find_module(vm->cfg.image);
	enum image_kind kind;
	const uint8_t *img;

	memset(&vm->boot, 0, sizeof(vm->boot));
	if (!m) {
		hv_snprintf(err, n, "image '%s' was not on the boot medium", vm->cfg.image);
		return -1;
	}
	img = (const uint8_t *)(uintptr_t)m->pa;
	if (!m->size) {
		hv_snprintf(err, n, "image '%s' is empty", vm->cfg.image);
		return -1;
	}
	kind = image_kind(img, m->size);
	if (vm->cfg.initrd[0] && kind != IMAGE_LINUX) {
		hv_snprintf(err, n, "initrd = %s needs a Linux bzImage, but '%s' is %s",
			    vm->cfg.initrd, vm->cfg.image, kind_names[kind]);
		return -1;
	}
	if (vm->cfg.nmodules && kind != IMAGE_MULTIBOOT) {
		hv_snprintf(err, n, "module = %s needs a Multiboot image, but '%s' is %s",
			    vm->cfg.modules[0].file, vm->cfg.image, kind_names[kind]);
		return -1;
	}
	if (kind == IMAGE_LINUX)
		return load_linux(vm, img, m->size, err, n);
	if (kind == IMAGE_MULTIBOOT)
		return load_multiboot(vm, img, m->size, err, n);

	if (!vm->cfg.load)
		vm->cfg.load = vm->cfg.mode == MODE_REAL ? 0x7c00 : 0x100000;
	if (vm->cfg.mode != MODE_REAL &&
	    (build_page_tables(vm) || gmem_write(vm, GUEST_GDT, guest_gdt, sizeof(guest_gdt)))) {
		hv_snprintf(err, n, "out of host memory for the guest's boot tables");
		return -1;
	}
	if (kind == IMAGE_ELF) {
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
