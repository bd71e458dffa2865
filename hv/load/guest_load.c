/* SPDX-License-Identifier: MIT */
/*
 * Guest images: a Linux bzImage (hv/load/linux_boot.c), a Multiboot v1 kernel
 * (hv/load/multiboot.c), or else a flat binary (placed at cfg.load), ELF64 (long
 * mode) or ELF32 (protected mode), taken from the files the loader read.
 * For long and protected mode the loader builds what the guest needs to
 * start there: a GDT and, for long mode, identity page tables over the
 * guest's memory, in free RAM the image leaves (hv/load/layout.c); bzImage
 * and Multiboot set their own entry state in vm->boot and ignore cfg.mode.
 * A bad image is refused with a reason; nothing of the guest runs.
 */
#include <elf.h>

#include "hv/core/vm.h"
#include "hv/cpu/hv.h"
#include "hv/lib/format.h"
#include "hv/load/acpi_build.h"
#include "hv/load/layout.h"
#include "hv/load/linux_boot.h"
#include "hv/load/load.h"
#include "hv/load/multiboot.h"
#include "hv/mm/gmem.h"
#include "lib/string.h"

/*
 * The loader's area for a flat or ELF image: page tables (long mode only),
 * then the GDT; vm->boot.cr3 and gdt_base say where for every vCPU.
 */
#define FLAT_GDT_SIZE		0x1000ULL
#define FLAT_MAX_SEGS		16

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

/* A PT_LOAD segment, or the whole of a flat image: file bytes at pa, zeros to memsz. */
struct flat_seg {
	uint64_t off, filesz, memsz, pa;
};

static int check_segment(struct vm *vm, uint64_t size, const struct flat_seg *s, char *err,
			 unsigned int n)
{
	if (s->filesz > s->memsz || s->off + s->filesz < s->off || s->off + s->filesz > size) {
		hv_snprintf(err, n, "ELF segment at file offset %llx runs past the file",
			    (unsigned long long)s->off);
		return -1;
	}
	/* Images stay below 3 GiB, in the RAM every guest has there. */
	if (s->pa + s->memsz < s->pa || s->pa + s->memsz > guest_low_ram_end(vm->cfg.memory)) {
		hv_snprintf(err, n, "ELF segment %llx-%llx lies outside the guest's %llu MiB",
			    (unsigned long long)s->pa, (unsigned long long)(s->pa + s->memsz),
			    (unsigned long long)(vm->cfg.memory >> 20));
		return -1;
	}
	return 0;
}

/* The PT_LOAD segments of an ELF image for cfg.mode, and its entry. */
static int elf_segments(struct vm *vm, const uint8_t *img, uint64_t size, struct flat_seg *segs,
			unsigned int *nsegs, char *err, unsigned int n)
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
	*nsegs = 0;
	for (unsigned int i = 0; i < phnum; i++) {
		const uint8_t *ph = img + phoff + (uint64_t)i * phentsize;
		struct flat_seg s;
		uint64_t type;

		if (is64) {
			const Elf64_Phdr *p = (const void *)ph;

			type = p->p_type;
			s = (struct flat_seg){ p->p_offset, p->p_filesz, p->p_memsz, p->p_paddr };
		} else {
			const Elf32_Phdr *p = (const void *)ph;

			type = p->p_type;
			s = (struct flat_seg){ p->p_offset, p->p_filesz, p->p_memsz, p->p_paddr };
		}
		if (type != PT_LOAD)
			continue;
		if (*nsegs == FLAT_MAX_SEGS) {
			hv_snprintf(err, n, "ELF image has more than %d loadable segments",
				    FLAT_MAX_SEGS);
			return -1;
		}
		if (check_segment(vm, size, &s, err, n))
			return -1;
		segs[(*nsegs)++] = s;
	}
	if (!vm->cfg.entry)
		vm->cfg.entry = entry;
	return 0;
}

/* Identity page tables over the guest's memory (up to 4 GiB), at @at. */
static int build_page_tables(struct vm *vm, uint64_t at)
{
	uint64_t pml4e = (at + 0x1000) | 3;
	uint64_t npd = (vm->cfg.memory + (1ULL << 30) - 1) >> 30;

	if (gmem_write(vm, at, &pml4e, 8))
		return -1;
	for (uint64_t g = 0; g < npd && g < 4; g++) {
		uint64_t pdpte = (at + 0x2000 + g * 0x1000) | 3;

		if (gmem_write(vm, at + 0x1000 + g * 8, &pdpte, 8))
			return -1;
		for (uint64_t i = 0; i < 512; i++) {
			uint64_t pde = ((g << 30) + (i << 21)) | 0x83;

			if (gmem_write(vm, at + 0x2000 + g * 0x1000 + i * 8, &pde, 8))
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
	if (build_page_tables(vm, plan.area + LINUX_AREA_PAGE_TABLES) ||
	    gmem_write(vm, plan.area + LINUX_AREA_GDT, plan.gdt, sizeof(plan.gdt)) ||
	    gmem_write(vm, plan.area + LINUX_AREA_BOOT_PARAMS, plan.boot_params,
		       sizeof(plan.boot_params)) ||
	    gmem_write(vm, plan.area + LINUX_AREA_CMDLINE, vm->cfg.cmdline, plan.cmdline_len) ||
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
	if (gmem_write(vm, plan.area + MB_AREA_GDT, plan.gdt, sizeof(plan.gdt)) ||
	    gmem_write(vm, plan.area + MB_AREA_INFO, plan.info, plan.info_len))
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

/*
 * A flat binary at cfg.load or an ELF image's segments; for long and
 * protected mode, the page tables and GDT in RAM the image leaves free.
 */
static int load_flat_elf(struct vm *vm, enum image_kind kind, const uint8_t *img, uint64_t size,
			 char *err, unsigned int n)
{
	struct layout_range taken[FLAT_MAX_SEGS];
	struct flat_seg segs[FLAT_MAX_SEGS];
	uint64_t tables = vm->cfg.mode == MODE_LONG ? LAYOUT_PAGE_TABLES_SIZE : 0, area;
	unsigned int nsegs = 1;

	if (!vm->cfg.load)
		vm->cfg.load = vm->cfg.mode == MODE_REAL ? 0x7c00 : 0x100000;
	if (kind == IMAGE_ELF) {
		if (vm->cfg.mode == MODE_REAL) {
			hv_snprintf(err, n, "an ELF image cannot start in real mode");
			return -1;
		}
		if (elf_segments(vm, img, size, segs, &nsegs, err, n))
			return -1;
	} else {
		if (vm->cfg.mode == MODE_REAL && vm->cfg.load + size > 0x100000) {
			hv_snprintf(err, n, "a real-mode image must lie below 1 MiB (load = %llx)",
				    (unsigned long long)vm->cfg.load);
			return -1;
		}
		if (vm->cfg.load + size > guest_low_ram_end(vm->cfg.memory) ||
		    vm->cfg.load + size < vm->cfg.load) {
			hv_snprintf(err, n, "image '%s' (%llu bytes at %llx) does not fit in %llu MiB",
				    vm->cfg.image, (unsigned long long)size,
				    (unsigned long long)vm->cfg.load,
				    (unsigned long long)(vm->cfg.memory >> 20));
			return -1;
		}
		segs[0] = (struct flat_seg){ 0, size, size, vm->cfg.load };
		if (!vm->cfg.entry)
			vm->cfg.entry = vm->cfg.load;
	}
	for (unsigned int i = 0; i < nsegs; i++)
		taken[i] = (struct layout_range){ segs[i].pa, segs[i].pa + segs[i].memsz };
	if (vm->cfg.mode != MODE_REAL) {
		if (layout_boot_area(taken, nsegs, tables + FLAT_GDT_SIZE,
				     guest_low_ram_end(vm->cfg.memory), &area)) {
			hv_snprintf(err, n, "the image leaves no %llu KiB of guest RAM for the "
				    "loader's page tables and GDT",
				    (unsigned long long)((tables + FLAT_GDT_SIZE) >> 10));
			return -1;
		}
		vm->boot.cr3 = tables ? area : 0;
		vm->boot.gdt_base = area + tables;
		if ((tables && build_page_tables(vm, area)) ||
		    gmem_write(vm, vm->boot.gdt_base, guest_gdt, sizeof(guest_gdt))) {
			hv_snprintf(err, n, "out of host memory for the guest's boot tables");
			return -1;
		}
	}
	/* Fresh guest pages are zero already: the bss needs nothing. */
	for (unsigned int i = 0; i < nsegs; i++)
		if (gmem_write(vm, segs[i].pa, img + segs[i].off, segs[i].filesz)) {
			hv_snprintf(err, n, "out of host memory loading the image");
			return -1;
		}
	return 0;
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

	return load_flat_elf(vm, kind, img, m->size, err, n);
}
