/* SPDX-License-Identifier: MIT */
/*
 * What a Multiboot v1 loader promises (Multiboot Specification 0.6.96,
 * sections 3.2 "Machine state" and 3.3 "Boot information format"), checked
 * from the state crt0 recorded at entry and from the info structure; then,
 * with "memtest" on the command line, that every page of RAM the map
 * promises is there, writable and distinct.
 *
 * The command line says what the configuration gave: "mem=N" (MiB of
 * guest memory) and "mods=N" (the modules; each is tests/guests/mbmod.txt).
 */
#include "tests/guests/c/mb.h"
#include "tests/guests/c/rt.h"

#define MiB		(1ULL << 20)
#define GiB		(1ULL << 30)
#define MAX_USED	16

static volatile uint32_t a20_probe;
static const char modtext[] = "a multiboot module for the multiboot test guest\n";

struct range {
	uint64_t start, end;
};

/* What the kernel uses of memory: its image, the info and all it points to. */
static struct range used[MAX_USED];
static unsigned int nused;

static void use(uint64_t start, uint64_t len)
{
	if (nused < MAX_USED && len)
		used[nused++] = (struct range){ start, start + len };
}

static bool overlaps(struct range a, struct range b)
{
	return a.start < b.end && b.start < a.end;
}

static const struct mb_mmap *mmap_next(const struct mb_mmap *e)
{
	return (const struct mb_mmap *)((uintptr_t)e + e->size + 4);
}

#define for_each_mmap(mi, e)						\
	for ((e) = (const struct mb_mmap *)(uintptr_t)(mi)->mmap_addr;	\
	     (uintptr_t)(e) < (mi)->mmap_addr + (mi)->mmap_length; (e) = mmap_next(e))

/* Is all of [start, end) covered by entries of @type? */
static bool map_covers(const struct mb_info *mi, uint64_t start, uint64_t end, uint32_t type)
{
	const struct mb_mmap *e;
	bool moved = true;

	while (start < end && moved) {
		moved = false;
		for_each_mmap(mi, e) {
			if (e->type == type && e->base_addr <= start &&
			    start < e->base_addr + e->length) {
				start = e->base_addr + e->length;
				moved = true;
			}
		}
	}
	return start >= end;
}

/* Does any RAM entry overlap [start, end)? */
static bool map_has_ram(const struct mb_info *mi, uint64_t start, uint64_t end)
{
	const struct mb_mmap *e;

	for_each_mmap(mi, e)
		if (e->type == 1 && overlaps((struct range){ e->base_addr,
							     e->base_addr + e->length },
					     (struct range){ start, end }))
			return true;
	return false;
}

static size_t str_size(uint32_t s)
{
	return strlen((const char *)(uintptr_t)s) + 1;
}

static void check_entry_state(void)
{
	volatile uint32_t *ver = (volatile uint32_t *)(LAPIC_BASE + 0x30);
	uint32_t v = *ver;
	const struct rt_entry *e = &rt_entry;
	volatile uint32_t *lo, *hi;
	uint32_t before;

	CHECK_EQ("mb_magic_in_eax", e->eax, MB_BOOT_MAGIC);
	CHECK("mb_eflags_if_clear", !(e->eflags & (1u << 9)), "EFLAGS 0x%x", e->eflags);
	CHECK("mb_eflags_vm_clear", !(e->eflags & (1u << 17)), "EFLAGS 0x%x", e->eflags);
	CHECK("mb_cr0_pe_set", e->cr0 & 1, "CR0 0x%x", e->cr0);
	CHECK("mb_cr0_pg_clear", !(e->cr0 & (1u << 31)), "CR0 0x%x", e->cr0);
	/* Offset 0, limit 4 GiB: the same register through DS, ES, FS, GS and SS. */
	CHECK("mb_data_segments_flat", e->ver_ds == v && e->ver_es == v && e->ver_fs == v &&
	      e->ver_gs == v && e->ver_ss == v, "APIC version 0x%x via DS 0x%x ES 0x%x FS 0x%x "
	      "GS 0x%x SS 0x%x", v, e->ver_ds, e->ver_es, e->ver_fs, e->ver_gs, e->ver_ss);
	/* A20: the word 1 MiB away is another word, not this one (only read: not ours). */
	lo = &a20_probe;
	hi = (volatile uint32_t *)((uintptr_t)lo ^ (uintptr_t)MiB);
	before = *hi;
	*lo = ~before;
	barrier();
	CHECK("mb_a20_enabled", *hi == before, "0x%lx reads 0x%x after a write of 0x%x at 0x%lx",
	      (unsigned long)(uintptr_t)hi, *hi, ~before, (unsigned long)(uintptr_t)lo);
}

static void check_modules(const struct mb_info *mi, uint64_t memory)
{
	const struct mb_module *m = (const struct mb_module *)(uintptr_t)mi->mods_addr;
	unsigned int want = (unsigned int)rt_cmdline_num("mods", 0);
	bool aligned = true, inside = true, content = true, strings = true;

	CHECK_EQ("mb_mods_count", mi->mods_count, want);
	for (unsigned int i = 0; i < mi->mods_count; i++) {
		const char *s = (const char *)(uintptr_t)m[i].string;

		aligned &= !(m[i].mod_start & 0xfff);
		inside &= m[i].mod_start < m[i].mod_end && m[i].mod_end <= memory;
		content &= m[i].mod_end - m[i].mod_start == sizeof(modtext) - 1 &&
			   !memcmp((const void *)(uintptr_t)m[i].mod_start, modtext,
				   sizeof(modtext) - 1);
		strings &= !strncmp(s, "mbmod.txt modarg=", 17);
	}
	CHECK("mb_mods_page_aligned", aligned, "header flag 0 asks for page-aligned modules");
	CHECK("mb_mods_in_memory", inside, "a module lies outside the guest's memory");
	CHECK("mb_mods_content", content, "a module's bytes are not tests/guests/mbmod.txt");
	CHECK("mb_mods_strings", strings, "a module's string is not \"mbmod.txt modarg=N\"");
}

/* Nothing the loader hands over lies in the kernel's image or another item. */
static void check_no_overlaps(const struct mb_info *mi, uint64_t memory)
{
	bool clear = true, inside = true;

	for (unsigned int i = 0; i < nused; i++) {
		inside &= used[i].end <= memory;
		for (unsigned int j = i + 1; j < nused; j++)
			if (overlaps(used[i], used[j])) {
				clear = false;
				rt_printf("overlap: 0x%llx-0x%llx and 0x%llx-0x%llx\n",
					  (unsigned long long)used[i].start,
					  (unsigned long long)used[i].end,
					  (unsigned long long)used[j].start,
					  (unsigned long long)used[j].end);
			}
	}
	CHECK("mb_info_items_in_memory", inside, "an info item lies past the guest's memory");
	CHECK("mb_nothing_overlaps_the_kernel", clear, "the image, info, mmap, strings or "
	      "modules overlap (flags 0x%x)", mi->flags);
}

void test_multiboot(void)
{
	const struct mb_info *mi = mb_info();
	uint64_t memory = rt_cmdline_num("mem", 0) * MiB, ram = 0, top = 0;
	uint64_t low = memory < 3 * GiB ? memory : 3 * GiB;
	const struct mb_mmap *e;
	bool sizes = true, disjoint = true;
	const char *cl;

	check_entry_state();
	if (!mi) {
		rt_printf("FAIL mb_info: no info structure (EAX 0x%x)\n", rt_entry.eax);
		rt_exit(++rt_failures);
	}
	use((uintptr_t)_image_start, (uintptr_t)_image_end - (uintptr_t)_image_start);
	use(rt_entry.ebx, sizeof(*mi));
	CHECK("mb_flags_memory_mmap_cmdline_mods",
	      (mi->flags & (MB_INFO_MEMORY | MB_INFO_MMAP | MB_INFO_CMDLINE | MB_INFO_MODS)) ==
	      (MB_INFO_MEMORY | MB_INFO_MMAP | MB_INFO_CMDLINE | MB_INFO_MODS),
	      "flags 0x%x", mi->flags);
	if (!(mi->flags & MB_INFO_MMAP) || !(mi->flags & MB_INFO_MEMORY) || !memory) {
		rt_printf("FAIL mb_info: no memory map, or no mem= on the command line\n");
		rt_exit(++rt_failures);
	}
	use(mi->mmap_addr, mi->mmap_length);

	for_each_mmap(mi, e) {
		const struct mb_mmap *f;

		sizes &= e->size >= 20;
		for (f = mmap_next(e); (uintptr_t)f < mi->mmap_addr + mi->mmap_length;
		     f = mmap_next(f))
			disjoint &= !overlaps((struct range){ e->base_addr, e->base_addr + e->length },
					      (struct range){ f->base_addr, f->base_addr + f->length });
		if (e->type == 1) {
			ram += e->length;
			if (e->base_addr + e->length > top)
				top = e->base_addr + e->length;
		}
	}
	CHECK("mb_mmap_entry_sizes", sizes, "an entry's size is below 20");
	CHECK("mb_mmap_disjoint", disjoint, "two entries overlap");
	/* Above 3 GiB, RAM goes on from 4 GiB (tests/guests/c/bigmem.c). */
	CHECK_EQ("mb_mmap_ram_reaches_memory_top", top, memory > 3 * GiB ? memory + GiB : memory);
	CHECK("mb_mmap_ram_total", ram >= memory - MiB && ram <= memory,
	      "%llu KiB of RAM in a guest of %llu KiB", (unsigned long long)(ram >> 10),
	      (unsigned long long)(memory >> 10));
	/* mem_lower: conventional memory, below 640 KiB; nothing there up to 1 MiB is RAM. */
	CHECK("mb_mem_lower", mi->mem_lower && mi->mem_lower <= 640 &&
	      !map_has_ram(mi, mi->mem_lower * 1024ULL, MiB), "mem_lower %u KiB", mi->mem_lower);
	/* mem_upper: RAM from 1 MiB up, at most to the first hole (spec 3.3). */
	CHECK("mb_mem_upper_is_ram", map_covers(mi, MiB, MiB + mi->mem_upper * 1024ULL, 1),
	      "mem_upper %u KiB is not all RAM in the mmap", mi->mem_upper);
	CHECK("mb_mem_upper_size", mi->mem_upper * 1024ULL + MiB <= low &&
	      mi->mem_upper * 1024ULL + MiB + 64 * 1024 >= low,
	      "mem_upper %u KiB in a guest of %llu KiB", mi->mem_upper,
	      (unsigned long long)(memory >> 10));
	CHECK("mb_kernel_in_ram", map_covers(mi, (uintptr_t)_image_start, (uintptr_t)_image_end, 1),
	      "the image 0x%lx-0x%lx is not all RAM in the mmap",
	      (unsigned long)(uintptr_t)_image_start, (unsigned long)(uintptr_t)_image_end);

	cl = (const char *)(uintptr_t)mi->cmdline;
	use(mi->cmdline, str_size(mi->cmdline));
	rt_printf("cmdline: %s\n", cl);
	CHECK("mb_cmdline", rt_cmdline_has("answer=42"), "no answer=42 in \"%s\"", cl);
	if (mi->flags & MB_INFO_LOADER_NAME) {
		use(mi->boot_loader_name, str_size(mi->boot_loader_name));
		CHECK("mb_loader_name", *(const char *)(uintptr_t)mi->boot_loader_name,
		      "an empty boot_loader_name");
	} else {
		rt_skip("mb_loader_name", "flags bit 9 clear");
	}
	/* boot_device only with flag 1: a BIOS drive number in its top byte. */
	CHECK("mb_boot_device", !(mi->flags & MB_INFO_BOOTDEV) || (mi->boot_device >> 24) != 0xff,
	      "flags 0x%x, boot_device 0x%x", mi->flags, mi->boot_device);
	use(mi->mods_addr, mi->mods_count * sizeof(struct mb_module));
	for (unsigned int i = 0; i < mi->mods_count; i++) {
		const struct mb_module *m = (const struct mb_module *)(uintptr_t)mi->mods_addr + i;

		use(m->mod_start, m->mod_end - m->mod_start);
		use(m->string, str_size(m->string));
	}
	check_modules(mi, memory);
	check_no_overlaps(mi, memory);
}

/* The kernel's own pages, and page 0: the real-mode IVT (and address 0 is NULL in C). */
static bool page_used(uint64_t p)
{
	for (unsigned int i = 0; i < nused; i++)
		if (overlaps((struct range){ p, p + 4096 }, used[i]))
			return true;
	return p == 0;
}

/*
 * One pass over every page of RAM the kernel does not use: write its
 * address and the complement at its end, or check they are still there.
 * Returns the pages that failed; *first the first of them.
 */
static unsigned long memory_pass(bool write, unsigned long *pages, uint64_t *first)
{
	const struct mb_info *mi = mb_info();
	const struct mb_mmap *e;
	unsigned long bad = 0;

	*pages = 0;
	for_each_mmap(mi, e) {
		uint64_t p = (e->base_addr + 4095) & ~4095ULL;

		if (e->type != 1)
			continue;
		for (; p + 4096 <= e->base_addr + e->length; p += 4096) {
			volatile uint32_t *w = (volatile uint32_t *)(uintptr_t)p;

			if (page_used(p))
				continue;
			if (write) {
				w[0] = (uint32_t)p;
				w[1023] = ~(uint32_t)p;
			}
			if ((w[0] != (uint32_t)p || w[1023] != ~(uint32_t)p) && !bad++)
				*first = p;
			(*pages)++;
		}
	}
	return bad;
}

void test_memory(void)
{
	unsigned long pages, bad;
	uint64_t first = 0;

	if (!rt_cmdline_has("memtest")) {
		rt_skip("mem_ram_pages_writable", "no memtest on the command line");
		rt_skip("mem_ram_pages_distinct", "no memtest on the command line");
		return;
	}
	/* All written first: a page that aliases another shows in the second pass. */
	bad = memory_pass(true, &pages, &first);
	CHECK("mem_ram_pages_writable", !bad && pages, "%lu of %lu pages did not keep a write "
	      "(first 0x%llx)", bad, pages, (unsigned long long)first);
	bad = memory_pass(false, &pages, &first);
	CHECK("mem_ram_pages_distinct", !bad, "%lu of %lu pages changed after the pass "
	      "(first 0x%llx)", bad, pages, (unsigned long long)first);
	rt_printf("memtest: %lu pages of RAM written and verified\n", pages);
}
