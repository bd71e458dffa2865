/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 (the Multiboot Specification 0.6.96, sections 3.1-3.3).
 * The image is placed by the header's address fields when flag 16 is set,
 * else by its ELF32 program headers; bss is zeroed by the plan's memsz.
 * Modules follow the kernel, the loader's area goes where neither is
 * (hv/load/layout.c).  The info structure reports memory, the command
 * line, the modules, the memory map (the area in it reserved) and our name.
 */
#include <elf.h>

#include "hv/lib/format.h"
#include "hv/load/layout.h"
#include "hv/load/multiboot.h"
#include "lib/string.h"

#define PAGE		4096ULL
#define MB_CS		0x18
#define MB_DS		0x10

/* multiboot_info offsets. */
#define MI_FLAGS	0
#define MI_MEM_LOWER	4
#define MI_MEM_UPPER	8
#define MI_CMDLINE	16
#define MI_MODS_COUNT	20
#define MI_MODS_ADDR	24
#define MI_MMAP_LENGTH	44
#define MI_MMAP_ADDR	48
#define MI_LOADER_NAME	64
#define MI_SIZE		128		/* 116 with the framebuffer fields, rounded */

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

long multiboot_find_header(const void *img, uint64_t size)
{
	const uint8_t *b = img;
	uint64_t end = size < MB_SEARCH_LEN ? size : MB_SEARCH_LEN;

	for (uint64_t off = 0; off + 12 <= end; off += 4)
		if (get32(b + off) == MB_HEADER_MAGIC &&
		    (uint32_t)(MB_HEADER_MAGIC + get32(b + off + 4) + get32(b + off + 8)) == 0)
			return (long)off;
	return -1;
}

static bool overlaps(uint64_t a, uint64_t len, uint64_t start, uint64_t end)
{
	return a < end && a + len > start;
}

/* A range the image wants: inside memory, clear of the hole below 1 MiB. */
static int check_range(const char *what, uint64_t gpa, uint64_t len, uint64_t memory,
		       char *err, unsigned int n)
{
	if (gpa + len < gpa || gpa + len > memory) {
		hv_snprintf(err, n, "%s 0x%llx-0x%llx lies outside the guest's %llu MiB", what,
			    (unsigned long long)gpa, (unsigned long long)(gpa + len),
			    (unsigned long long)(memory >> 20));
		return -1;
	}
	if (overlaps(gpa, len, GUEST_LOWMEM_END, GUEST_BIOS_END)) {
		hv_snprintf(err, n, "%s 0x%llx-0x%llx overlaps the BIOS area 0x%llx-0x%llx",
			    what, (unsigned long long)gpa, (unsigned long long)(gpa + len),
			    GUEST_LOWMEM_END, GUEST_BIOS_END);
		return -1;
	}
	return 0;
}

static int add_segment(struct multiboot_plan *p, uint64_t gpa, uint64_t off, uint64_t filesz,
		       uint64_t memsz, char *err, unsigned int n)
{
	if (p->nsegs == MB_MAX_SEGS) {
		hv_snprintf(err, n, "Multiboot image has more than %d segments", MB_MAX_SEGS);
		return -1;
	}
	p->segs[p->nsegs++] = (struct mb_segment){ gpa, off, filesz, memsz };
	return 0;
}

/* Flag 16: header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr. */
static int plan_addresses(const uint8_t *img, uint64_t size, uint64_t hdr,
			  struct multiboot_plan *p, char *err, unsigned int n)
{
	uint32_t header_addr, load, load_end, bss_end;
	uint64_t off;

	if (hdr + 32 > size) {
		hv_snprintf(err, n, "Multiboot header at 0x%llx is cut off by the file's end",
			    (unsigned long long)hdr);
		return -1;
	}
	header_addr = get32(img + hdr + 12);
	load = get32(img + hdr + 16);
	load_end = get32(img + hdr + 20);
	bss_end = get32(img + hdr + 24);
	if (load > header_addr || header_addr - load > hdr) {
		hv_snprintf(err, n, "Multiboot load_addr 0x%x does not fit header_addr 0x%x at "
			    "file offset 0x%llx", load, header_addr, (unsigned long long)hdr);
		return -1;
	}
	off = hdr - (header_addr - load);
	if (!load_end)
		load_end = (uint32_t)(load + (size - off));
	if (load_end < load || load_end - load > size - off) {
		hv_snprintf(err, n, "Multiboot load_end_addr 0x%x runs past the file's end",
			    load_end);
		return -1;
	}
	if (!bss_end)
		bss_end = load_end;
	if (bss_end < load_end) {
		hv_snprintf(err, n, "Multiboot bss_end_addr 0x%x is below load_end_addr 0x%x",
			    bss_end, load_end);
		return -1;
	}
	p->boot.rip = get32(img + hdr + 28);
	return add_segment(p, load, off, load_end - load, bss_end - load, err, n);
}

/* No address fields: the image must be an ELF32 executable; its PT_LOAD segments. */
static int plan_elf(const uint8_t *img, uint64_t size, struct multiboot_plan *p,
		    char *err, unsigned int n)
{
	const Elf32_Ehdr *eh = (const void *)img;
	uint64_t entry;

	if (size < sizeof(*eh) || memcmp(img, ELFMAG, SELFMAG) || img[EI_CLASS] != ELFCLASS32 ||
	    eh->e_machine != EM_386 || eh->e_type != ET_EXEC) {
		hv_snprintf(err, n, "Multiboot image without address fields (flag 16) is not "
			    "an ELF32 i386 executable");
		return -1;
	}
	if (eh->e_phentsize != sizeof(Elf32_Phdr) || !eh->e_phnum ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf32_Phdr) > size) {
		hv_snprintf(err, n, "ELF program headers are missing or run past the file");
		return -1;
	}
	entry = eh->e_entry;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		const Elf32_Phdr *ph = (const void *)(img + eh->e_phoff + i * sizeof(*ph));

		if (ph->p_type != PT_LOAD || !ph->p_memsz)
			continue;
		if (ph->p_filesz > ph->p_memsz || (uint64_t)ph->p_offset + ph->p_filesz > size) {
			hv_snprintf(err, n, "ELF segment at file offset 0x%x runs past the file",
				    ph->p_offset);
			return -1;
		}
		/* A higher-half kernel links its entry virtually: where does it load? */
		if (eh->e_entry >= ph->p_vaddr && eh->e_entry - ph->p_vaddr < ph->p_memsz)
			entry = eh->e_entry - ph->p_vaddr + ph->p_paddr;
		if (add_segment(p, ph->p_paddr, ph->p_offset, ph->p_filesz, ph->p_memsz, err, n))
			return -1;
	}
	if (!p->nsegs) {
		hv_snprintf(err, n, "ELF image has no loadable segment");
		return -1;
	}
	p->boot.rip = entry;
	return 0;
}

/* Appends to the info area; false once it is full. */
struct info_buf {
	struct multiboot_plan *p;
	uint32_t used;
	uint32_t base;			/* the info's guest address */
};

static uint32_t info_alloc(struct info_buf *ib, uint32_t len, uint32_t align)
{
	uint32_t at = (uint32_t)align_up(ib->used, align);

	if (at + len > MB_INFO_SIZE)
		return 0;
	ib->used = at + len;
	return at;
}

/* "a" or "a b": a string in the info area; its guest address, 0 when full. */
static uint32_t info_string(struct info_buf *ib, const char *a, const char *b)
{
	uint32_t la = (uint32_t)strlen(a), lb = b && *b ? (uint32_t)strlen(b) : 0;
	uint32_t at = info_alloc(ib, la + (lb ? lb + 1 : 0) + 1, 1);

	if (!at)
		return 0;
	memcpy(ib->p->info + at, a, la);
	if (lb) {
		ib->p->info[at + la] = ' ';
		memcpy(ib->p->info + at + la + 1, b, lb);
	}
	ib->p->info[at + la + (lb ? lb + 1 : 0)] = 0;
	return ib->base + at;
}

/* KiB of RAM from 1 MiB up to the first hole: what the map says, as mem_upper must. */
static uint32_t mem_upper(const struct e820_entry *map, unsigned int nr)
{
	for (unsigned int i = 0; i < nr; i++)
		if (map[i].addr == GUEST_BIOS_END && map[i].type == E820_RAM)
			return (uint32_t)(map[i].size >> 10);
	return 0;
}

static int build_info(struct multiboot_plan *p, const char *image, const char *cmdline,
		      const struct mb_module *mods, unsigned int nmods, uint64_t memory,
		      char *err, unsigned int n)
{
	struct info_buf ib = { p, MI_SIZE, (uint32_t)(p->area + MB_AREA_INFO) };
	struct e820_entry map[E820_MAX];
	unsigned int nr = layout_e820(map, memory, (struct layout_range){ p->area,
					p->area + MB_AREA_SIZE });
	uint8_t *mi = p->info;
	uint32_t mmap = info_alloc(&ib, nr * 24, 8), list = info_alloc(&ib, nmods * 16, 16);
	uint32_t cl = info_string(&ib, image, cmdline), name = info_string(&ib, "hv", NULL);
	bool full = !mmap || (nmods && !list) || !cl || !name;

	for (unsigned int i = 0; i < nr; i++) {
		put32(mi + mmap + i * 24, 20);
		memcpy(mi + mmap + i * 24 + 4, &map[i], 20);
	}
	for (unsigned int i = 0; i < nmods && !full; i++) {
		uint8_t *e = mi + list + i * 16;
		uint32_t s = info_string(&ib, mods[i].file, mods[i].args);

		full = !s;
		put32(e, p->mod_gpa[i]);
		put32(e + 4, p->mod_gpa[i] + mods[i].size);
		put32(e + 8, s);
	}
	if (full) {
		hv_snprintf(err, n, "Multiboot command line and module strings exceed %llu bytes",
			    MB_INFO_SIZE - MI_SIZE);
		return -1;
	}
	put32(mi + MI_FLAGS, MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MMAP |
	      MB_INFO_LOADER_NAME);
	/* Conventional memory, as INT 12h reports it: the area's pages in it are in the mmap. */
	put32(mi + MI_MEM_LOWER, GUEST_LOWMEM_END >> 10);
	put32(mi + MI_MEM_UPPER, mem_upper(map, nr));
	put32(mi + MI_CMDLINE, cl);
	put32(mi + MI_MODS_COUNT, nmods);
	put32(mi + MI_MODS_ADDR, nmods ? ib.base + list : 0);
	put32(mi + MI_MMAP_LENGTH, nr * 24);
	put32(mi + MI_MMAP_ADDR, ib.base + mmap);
	put32(mi + MI_LOADER_NAME, name);
	p->info_len = ib.used;
	return 0;
}

int multiboot_plan(const void *img, uint64_t size, const char *image, const char *cmdline,
		   const struct mb_module *mods, unsigned int nmods, uint64_t ram_size,
		   struct multiboot_plan *p, char *err, unsigned int n)
{
	/* Images, modules and the info below 3 GiB; the map tells of all of RAM. */
	uint64_t memory = guest_low_ram_end(ram_size);
	struct layout_range taken[MB_MAX_SEGS + MB_MAX_MODS];
	long hdr = multiboot_find_header(img, size);
	unsigned int nt = 0;
	uint64_t end = 0;
	uint32_t flags, unknown;

	if (hdr < 0) {
		hv_snprintf(err, n, "no Multiboot header in the first 8 KiB");
		return -1;
	}
	memset(p, 0, sizeof(*p));
	flags = get32((const uint8_t *)img + hdr + 4);
	if (flags & MB_FLAG_VIDEO_MODE) {
		hv_snprintf(err, n, "Multiboot header requires a video mode (flag 2), which "
			    "this hypervisor does not provide");
		return -1;
	}
	unknown = flags & 0xffff & ~(MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO);
	if (unknown) {
		hv_snprintf(err, n, "Multiboot header requires flag %d, which this loader "
			    "does not know (flags 0x%x)", __builtin_ctz(unknown), flags);
		return -1;
	}
	if (nmods > MB_MAX_MODS) {
		hv_snprintf(err, n, "too many Multiboot modules (at most %d)", MB_MAX_MODS);
		return -1;
	}
	if ((flags & MB_FLAG_ADDRESSES) ? plan_addresses(img, size, (uint64_t)hdr, p, err, n)
					: plan_elf(img, size, p, err, n))
		return -1;
	for (unsigned int i = 0; i < p->nsegs; i++) {
		const struct mb_segment *s = &p->segs[i];

		if (check_range("Multiboot segment", s->gpa, s->memsz, memory, err, n))
			return -1;
		if (s->gpa + s->memsz > end)
			end = s->gpa + s->memsz;
	}
	if (p->boot.rip >= memory) {
		hv_snprintf(err, n, "Multiboot entry 0x%llx lies outside the guest's %llu MiB",
			    (unsigned long long)p->boot.rip, (unsigned long long)(memory >> 20));
		return -1;
	}
	for (unsigned int i = 0; i < p->nsegs; i++)
		taken[nt++] = (struct layout_range){ p->segs[i].gpa, p->segs[i].gpa + p->segs[i].memsz };
	/* After the kernel, page-aligned whether or not flag 0 asks: QEMU and GRUB do the same. */
	for (unsigned int i = 0; i < nmods; i++) {
		if (layout_lowest(taken, nt, mods[i].size, PAGE, end, memory, memory,
				  &p->mod_gpa[i])) {
			hv_snprintf(err, n, "module %s (%llu KiB) does not fit in the guest's "
				    "%llu MiB after the kernel's end 0x%llx", mods[i].file,
				    (unsigned long long)(mods[i].size >> 10),
				    (unsigned long long)(memory >> 20), (unsigned long long)end);
			return -1;
		}
		taken[nt++] = (struct layout_range){ p->mod_gpa[i], p->mod_gpa[i] + mods[i].size };
		end = p->mod_gpa[i] + mods[i].size;
	}
	if (layout_boot_area(taken, nt, MB_AREA_SIZE, memory, &p->area)) {
		hv_snprintf(err, n, "the kernel and its modules leave no %llu KiB of guest RAM "
			    "for the Multiboot info", MB_AREA_SIZE >> 10);
		return -1;
	}
	if (build_info(p, image, cmdline, mods, nmods, ram_size, err, n))
		return -1;

	p->gdt[MB_DS / 8] = 0x00cf93000000ffffULL;	/* flat data */
	p->gdt[MB_CS / 8] = 0x00cf9b000000ffffULL;	/* flat 32-bit code */
	p->boot.set = true;
	p->boot.aps_wait_sipi = true;
	p->boot.cr0 = 0x31;				/* NE, ET, PE; paging off */
	p->boot.cs = (struct boot_seg){ MB_CS, 0, 0xffffffff, 0xc09b };
	p->boot.ds = (struct boot_seg){ MB_DS, 0, 0xffffffff, 0xc093 };
	p->boot.gdt_base = p->area + MB_AREA_GDT;
	p->boot.gdt_limit = sizeof(p->gdt) - 1;
	p->boot.rsp = p->area + MB_AREA_STACK;
	p->boot.rax = MB_BOOT_MAGIC;
	p->boot.rbx = p->area + MB_AREA_INFO;
	return 0;
}
