/* SPDX-License-Identifier: MIT */
/*
 * Linux boot protocol 2.12+, 64-bit entry (boot.rst, "64-bit Boot Protocol"):
 * the protected-mode kernel at its preferred (or a relocated) address, the
 * zero page with the image's setup header, the e820 map and the command
 * line, the initrd as high as the kernel allows, and vCPU 0 in long mode on
 * identity page tables at startup_64 (load + 0x200) with RSI = zero page.
 */
#include "hv/lib/format.h"
#include "hv/load/linux_boot.h"
#include "lib/string.h"

#define MiB			(1ULL << 20)
#define PAGE			4096ULL

/* Setup header fields: offsets in the image and in boot_params alike. */
#define HDR_START		0x1f1		/* setup_sects */
#define HDR_SYSSIZE		0x1f4
#define HDR_BOOT_FLAG		0x1fe
#define HDR_JUMP_LEN		0x201		/* header end = 0x202 + this byte */
#define HDR_MAGIC		0x202
#define HDR_VERSION		0x206
#define HDR_TYPE_OF_LOADER	0x210
#define HDR_LOADFLAGS		0x211
#define HDR_RAMDISK_IMAGE	0x218
#define HDR_RAMDISK_SIZE	0x21c
#define HDR_CMD_LINE_PTR	0x228
#define HDR_INITRD_ADDR_MAX	0x22c
#define HDR_KERNEL_ALIGNMENT	0x230
#define HDR_RELOCATABLE		0x234
#define HDR_XLOADFLAGS		0x236
#define HDR_CMDLINE_SIZE	0x238
#define HDR_PREF_ADDRESS	0x258
#define HDR_INIT_SIZE		0x260
#define HDR_END_MAX		0x290		/* boot_params.edd_mbr_sig_buffer */

/* Other boot_params fields. */
#define BP_ACPI_RSDP_ADDR	0x070		/* protocol 2.14 */
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8
#define BP_E820_TABLE		0x2d0

#define LOADED_HIGH		(1u << 0)
#define XLF_KERNEL_64		(1u << 0)
#define LOADER_UNDEFINED	0xff
#define BOOT_CS			0x10
#define BOOT_DS			0x18

static uint32_t get(const uint8_t *p, unsigned int off, unsigned int bytes)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < bytes; i++)
		v |= (uint32_t)p[off + i] << (8 * i);
	return v;
}

static void put(uint8_t *p, unsigned int off, uint64_t v, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

bool linux_is_bzimage(const void *img, uint64_t size)
{
	const uint8_t *b = img;

	return size >= HDR_VERSION + 2 && get(b, HDR_BOOT_FLAG, 2) == 0xaa55 &&
	       !memcmp(b + HDR_MAGIC, "HdrS", 4);
}

int linux_parse(const void *img, uint64_t size, struct linux_image *li, char *err, unsigned int n)
{
	const uint8_t *b = img;
	unsigned int sects;
	uint64_t setup;

	if (!linux_is_bzimage(img, size)) {
		hv_snprintf(err, n, "not a bzImage (no 0xAA55 and HdrS signature)");
		return -1;
	}
	sects = b[HDR_START] ? b[HDR_START] : 4;
	setup = (sects + 1) * 512ULL;
	if (size <= setup) {
		hv_snprintf(err, n, "bzImage truncated: %llu bytes, but its %u setup sectors "
			    "alone take %llu", (unsigned long long)size, sects,
			    (unsigned long long)setup);
		return -1;
	}
	memset(li, 0, sizeof(*li));
	li->version = (uint16_t)get(b, HDR_VERSION, 2);
	if (li->version < 0x020c) {
		hv_snprintf(err, n, "bzImage protocol %u.%02u is too old (need 2.12 with a "
			    "64-bit entry)", li->version >> 8, li->version & 0xff);
		return -1;
	}
	if (!(get(b, HDR_XLOADFLAGS, 2) & XLF_KERNEL_64)) {
		hv_snprintf(err, n, "bzImage protocol %u.%02u has no 64-bit entry "
			    "(XLF_KERNEL_64 clear; need 2.12 with a 64-bit entry)",
			    li->version >> 8, li->version & 0xff);
		return -1;
	}
	if (!(b[HDR_LOADFLAGS] & LOADED_HIGH)) {
		hv_snprintf(err, n, "bzImage does not load at 1 MiB (LOADED_HIGH clear)");
		return -1;
	}
	li->kernel_off = setup;
	li->kernel_size = size - setup;
	if (get(b, HDR_SYSSIZE, 4) * 16ULL > li->kernel_size) {
		hv_snprintf(err, n, "bzImage truncated: its kernel is %llu bytes, the header "
			    "says %llu", (unsigned long long)li->kernel_size,
			    get(b, HDR_SYSSIZE, 4) * 16ULL);
		return -1;
	}
	li->pref_address = get(b, HDR_PREF_ADDRESS, 4) |
			   (uint64_t)get(b, HDR_PREF_ADDRESS + 4, 4) << 32;
	li->kernel_alignment = get(b, HDR_KERNEL_ALIGNMENT, 4);
	li->relocatable = b[HDR_RELOCATABLE] != 0;
	li->init_size = get(b, HDR_INIT_SIZE, 4);
	li->initrd_addr_max = get(b, HDR_INITRD_ADDR_MAX, 4);
	li->cmdline_size = get(b, HDR_CMDLINE_SIZE, 4);
	if (li->relocatable && (li->kernel_alignment < PAGE ||
				(li->kernel_alignment & (li->kernel_alignment - 1)))) {
		hv_snprintf(err, n, "bzImage kernel_alignment 0x%x is not a power of two >= 4 KiB",
			    li->kernel_alignment);
		return -1;
	}
	return 0;
}

/* Where the kernel goes: its preferred address, else relocated to >= 16 MiB. */
static int place_kernel(const struct linux_image *li, uint64_t footprint, uint64_t memory,
			uint64_t *load, char *err, unsigned int n)
{
	uint64_t a = li->pref_address;

	if (a >= GUEST_BIOS_END && a + footprint <= memory) {
		*load = a;
		return 0;
	}
	if (li->relocatable) {
		a = align_up(LINUX_RELOC_MIN, li->kernel_alignment);
		if (a + footprint <= memory) {
			*load = a;
			return 0;
		}
	}
	hv_snprintf(err, n, "kernel needs %llu MiB of guest memory (init_size %llu KiB at 0x%llx), "
		    "the guest has %llu MiB", (unsigned long long)(align_up(a + footprint, MiB) >> 20),
		    (unsigned long long)(footprint >> 10), (unsigned long long)a,
		    (unsigned long long)(memory >> 20));
	return -1;
}

static void build_boot_params(uint8_t *bp, const uint8_t *img, uint64_t size,
			      const struct linux_image *li, const struct linux_plan *p,
			      uint64_t memory)
{
	uint64_t end = HDR_MAGIC + img[HDR_JUMP_LEN], cmdline = p->area + LINUX_AREA_CMDLINE;
	struct e820_entry map[E820_MAX];
	unsigned int nr = layout_e820(map, memory, (struct layout_range){ 0, 0 });

	if (end > HDR_END_MAX)
		end = HDR_END_MAX;
	if (end > size)
		end = size;
	memset(bp, 0, sizeof(p->boot_params));
	memcpy(bp + HDR_START, img + HDR_START, end - HDR_START);
	bp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	put(bp, HDR_CMD_LINE_PTR, cmdline, 4);
	put(bp, BP_EXT_CMD_LINE_PTR, cmdline >> 32, 4);
	put(bp, HDR_RAMDISK_IMAGE, p->initrd, 4);
	put(bp, HDR_RAMDISK_SIZE, p->initrd_size, 4);
	put(bp, BP_EXT_RAMDISK_IMAGE, p->initrd >> 32, 4);
	put(bp, BP_EXT_RAMDISK_SIZE, p->initrd_size >> 32, 4);
	if (li->version >= 0x020e)
		put(bp, BP_ACPI_RSDP_ADDR, GUEST_ACPI_BASE, 8);
	bp[BP_E820_ENTRIES] = (uint8_t)nr;
	memcpy(bp + BP_E820_TABLE, map, nr * sizeof(map[0]));
}

int linux_plan(const void *img, uint64_t size, uint64_t initrd_size, const char *cmdline,
	       uint64_t ram_size, struct linux_plan *p, char *err, unsigned int n)
{
	/* The kernel, initrd and boot area below 3 GiB; the e820 tells of all of RAM. */
	uint64_t memory = guest_low_ram_end(ram_size);
	struct layout_range taken[2];
	struct linux_image li;
	uint64_t footprint, cmax, len = strlen(cmdline);

	if (linux_parse(img, size, &li, err, n))
		return -1;
	if (memory < LINUX_MIN_MEMORY) {
		hv_snprintf(err, n, "a Linux guest needs at least %llu MiB of memory (it has %llu)",
			    LINUX_MIN_MEMORY >> 20, (unsigned long long)(memory >> 20));
		return -1;
	}
	cmax = li.cmdline_size < PAGE - 1 ? li.cmdline_size : PAGE - 1;
	if (len > cmax) {
		hv_snprintf(err, n, "cmdline is %llu characters, this kernel takes at most %llu",
			    (unsigned long long)len, (unsigned long long)cmax);
		return -1;
	}
	memset(p, 0, sizeof(*p));
	footprint = li.init_size > li.kernel_size ? li.init_size : li.kernel_size;
	if (place_kernel(&li, footprint, memory, &p->kernel, err, n))
		return -1;
	taken[0] = (struct layout_range){ p->kernel, p->kernel + footprint };
	if (initrd_size) {
		uint64_t top = li.initrd_addr_max ? li.initrd_addr_max + 1ULL : 0x38000000ULL;
		uint64_t lowest = align_up(p->kernel + footprint, PAGE);

		if (top > memory)
			top = memory;
		if (top < lowest || top - lowest < initrd_size) {
			hv_snprintf(err, n, "initrd (%llu KiB) does not fit between the kernel's "
				    "end 0x%llx and 0x%llx", (unsigned long long)(initrd_size >> 10),
				    (unsigned long long)lowest, (unsigned long long)top);
			return -1;
		}
		p->initrd = (top - initrd_size) & ~(PAGE - 1);
		p->initrd_size = initrd_size;
		taken[1] = (struct layout_range){ p->initrd, p->initrd + initrd_size };
	}
	if (layout_boot_area(taken, initrd_size ? 2 : 1, LINUX_AREA_SIZE, memory, &p->area)) {
		hv_snprintf(err, n, "the kernel and initrd leave no %llu KiB of guest RAM for the "
			    "boot_params, command line and page tables", LINUX_AREA_SIZE >> 10);
		return -1;
	}
	p->kernel_off = li.kernel_off;
	p->kernel_size = li.kernel_size;
	p->cmdline_len = len + 1;
	build_boot_params(p->boot_params, img, size, &li, p, ram_size);

	p->gdt[BOOT_CS / 8] = 0x00af9b000000ffffULL;	/* 64-bit code */
	p->gdt[BOOT_DS / 8] = 0x00cf93000000ffffULL;	/* flat data */
	p->boot = (struct guest_boot){
		.set = true,
		.aps_wait_sipi = true,
		.cr0 = 0x80000031,			/* PG, NE, ET, PE */
		.cr3 = p->area + LINUX_AREA_PAGE_TABLES,
		.cr4 = 0x20,				/* PAE */
		.efer = 0x500,				/* LMA, LME */
		.cs = { BOOT_CS, 0, 0xffffffff, 0xa09b },
		.ds = { BOOT_DS, 0, 0xffffffff, 0xc093 },
		.gdt_base = p->area + LINUX_AREA_GDT,
		.gdt_limit = sizeof(p->gdt) - 1,
		.rip = p->kernel + 0x200,		/* startup_64 */
		.rsp = p->area + LINUX_AREA_BOOT_PARAMS,
		.rsi = p->area + LINUX_AREA_BOOT_PARAMS,
	};
	return 0;
}
