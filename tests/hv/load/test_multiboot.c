/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 on synthetic kernels: header scanning, required-flag
 * refusals, ELF32 and address-field placement, module placement, the
 * loader's area where the image is not (reserved in the mmap), the info
 * structure (memory, command line, modules, mmap, loader name) and vCPU 0's
 * 32-bit entry state.
 */
#include <elf.h>

#include "hv/load/layout.h"
#include "hv/load/multiboot.h"
#include "tests/host/test.h"

#define MiB	(1ULL << 20)

static uint8_t img[16384];
static struct multiboot_plan plan;
static char err[256];

static void put32(unsigned int off, uint32_t v)
{
	memcpy(img + off, &v, 4);
}

/* The info's guest address. */
static uint64_t info_base(void)
{
	return plan.area + MB_AREA_INFO;
}

static uint32_t info32(uint64_t gpa)
{
	uint32_t v = 0xdeadbeef;

	if (gpa >= info_base() && gpa + 4 <= info_base() + plan.info_len)
		memcpy(&v, plan.info + (gpa - info_base()), 4);
	return v;
}

static const char *info_str(uint64_t gpa)
{
	if (gpa < info_base() || gpa >= info_base() + plan.info_len)
		return "(outside the info area)";
	return (const char *)plan.info + (gpa - info_base());
}

static void header(unsigned int off, uint32_t flags)
{
	put32(off, MB_HEADER_MAGIC);
	put32(off + 4, flags);
	put32(off + 8, -(MB_HEADER_MAGIC + flags));
}

/*
 * An ELF32 kernel: .text (0x100 bytes at file 0x100) at 0x100000 with the
 * header at its start, .data+.bss (0x10 bytes at file 0x200, memsz 0x3000)
 * at 0x102000, entry 0x100010.  Returns the size.
 */
static uint64_t make_elf(uint32_t flags)
{
	Elf32_Ehdr *eh = (Elf32_Ehdr *)img;
	Elf32_Phdr *ph = (Elf32_Phdr *)(img + sizeof(*eh));

	memset(img, 0, sizeof(img));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_entry = 0x100010;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 3;
	ph[0] = (Elf32_Phdr){ .p_type = PT_LOAD, .p_offset = 0x100, .p_vaddr = 0x100000,
			      .p_paddr = 0x100000, .p_filesz = 0x100, .p_memsz = 0x100 };
	ph[1] = (Elf32_Phdr){ .p_type = PT_NOTE, .p_offset = 0x100, .p_filesz = 4 };
	ph[2] = (Elf32_Phdr){ .p_type = PT_LOAD, .p_offset = 0x200, .p_vaddr = 0x102000,
			      .p_paddr = 0x102000, .p_filesz = 0x10, .p_memsz = 0x3000 };
	header(0x100, flags);
	return 0x210;
}

/* A flat kernel with address fields: header at file 0x40, loaded at @load. */
static uint64_t make_flat_at(uint32_t load, uint32_t load_end, uint32_t bss_end)
{
	memset(img, 0, sizeof(img));
	header(0x40, MB_FLAG_ADDRESSES | MB_FLAG_PAGE_ALIGN);
	put32(0x4c, load + 0x40);		/* header_addr */
	put32(0x50, load);			/* load_addr */
	put32(0x54, load_end);
	put32(0x58, bss_end);
	put32(0x5c, load + 0x80);		/* entry_addr */
	return 0x1000;
}

static uint64_t make_flat(uint32_t load_end, uint32_t bss_end)
{
	return make_flat_at(0x100000, load_end, bss_end);
}

static int plan_it(uint64_t size, const char *cmdline, const struct mb_module *mods,
		   unsigned int nmods, uint64_t memory)
{
	err[0] = 0;
	return multiboot_plan(img, size, "mb.elf", cmdline, mods, nmods, memory, &plan, err,
			      sizeof(err));
}

TEST(finds_header_aligned_in_first_8k)
{
	memset(img, 0, sizeof(img));
	CHECK_EQ(multiboot_find_header(img, sizeof(img)), -1);
	header(8180, 0);			/* ends exactly at 8 KiB */
	CHECK_EQ(multiboot_find_header(img, sizeof(img)), 8180);
	CHECK_EQ(multiboot_find_header(img, 8188), -1);	/* cut by the file's end */
	memset(img, 0, sizeof(img));
	header(8184, 0);
	CHECK_EQ(multiboot_find_header(img, sizeof(img)), -1);
	memset(img, 0, sizeof(img));
	header(0x102, 0);			/* not 4-byte aligned */
	CHECK_EQ(multiboot_find_header(img, sizeof(img)), -1);
	memset(img, 0, sizeof(img));
	header(0x100, 3);
	img[0x108] ^= 1;			/* bad checksum */
	CHECK_EQ(multiboot_find_header(img, sizeof(img)), -1);
	img[0x108] ^= 1;
	CHECK_EQ(multiboot_find_header(img, sizeof(img)), 0x100);
}

TEST(refuses_unsupported_required_flags)
{
	CHECK_EQ(plan_it(make_elf(MB_FLAG_VIDEO_MODE), "", NULL, 0, 8 * MiB), -1);
	CHECK(strstr(err, "requires a video mode (flag 2)"));
	CHECK_EQ(plan_it(make_elf(3 | 1u << 9), "", NULL, 0, 8 * MiB), -1);
	CHECK_STR(err, "Multiboot header requires flag 9, which this loader does not know "
		  "(flags 0x203)");
	/* Bits 16-31 other than 16 are optional: ignored. */
	CHECK_EQ(plan_it(make_elf(3 | 1u << 20), "", NULL, 0, 8 * MiB), 0);
}

TEST(elf_segments_and_entry)
{
	CHECK_EQ(plan_it(make_elf(3), "", NULL, 0, 8 * MiB), 0);
	CHECK_EQ(plan.nsegs, 2);
	CHECK_EQ(plan.segs[0].gpa, 0x100000);
	CHECK_EQ(plan.segs[0].off, 0x100);
	CHECK_EQ(plan.segs[0].filesz, 0x100);
	CHECK_EQ(plan.segs[1].gpa, 0x102000);
	CHECK_EQ(plan.segs[1].filesz, 0x10);
	CHECK_EQ(plan.segs[1].memsz, 0x3000);	/* the bss: zeros past filesz */
	CHECK_EQ(plan.boot.rip, 0x100010);
}

TEST(higher_half_entry_translated)
{
	Elf32_Phdr *ph = (Elf32_Phdr *)(img + sizeof(Elf32_Ehdr));
	uint64_t size = make_elf(3);

	ph[0].p_vaddr = 0xc0100000;
	((Elf32_Ehdr *)img)->e_entry = 0xc0100010;
	CHECK_EQ(plan_it(size, "", NULL, 0, 8 * MiB), 0);
	CHECK_EQ(plan.boot.rip, 0x100010);
}

TEST(refuses_bad_elf)
{
	uint64_t size = make_elf(3);

	img[EI_CLASS] = ELFCLASS64;
	CHECK_EQ(plan_it(size, "", NULL, 0, 8 * MiB), -1);
	CHECK(strstr(err, "without address fields (flag 16) is not an ELF32"));
	make_elf(3);
	CHECK_EQ(plan_it(0x208, "", NULL, 0, 8 * MiB), -1);	/* .data cut off */
	CHECK_STR(err, "ELF segment at file offset 0x200 runs past the file");
}

TEST(address_fields_layout)
{
	CHECK_EQ(plan_it(make_flat(0, 0x110000), "", NULL, 0, 8 * MiB), 0);
	CHECK_EQ(plan.nsegs, 1);
	CHECK_EQ(plan.segs[0].gpa, 0x100000);
	CHECK_EQ(plan.segs[0].off, 0);
	CHECK_EQ(plan.segs[0].filesz, 0x1000);	/* load_end 0: the whole file */
	CHECK_EQ(plan.segs[0].memsz, 0x10000);
	CHECK_EQ(plan.boot.rip, 0x100080);
	CHECK_EQ(plan_it(make_flat(0x100800, 0), "", NULL, 0, 8 * MiB), 0);
	CHECK_EQ(plan.segs[0].filesz, 0x800);
	CHECK_EQ(plan.segs[0].memsz, 0x800);
}

TEST(refuses_bad_address_fields)
{
	uint64_t size = make_flat(0x102000, 0);

	CHECK_EQ(plan_it(size, "", NULL, 0, 8 * MiB), -1);
	CHECK_STR(err, "Multiboot load_end_addr 0x102000 runs past the file's end");
	make_flat(0x100800, 0x100400);
	CHECK_EQ(plan_it(size, "", NULL, 0, 8 * MiB), -1);
	CHECK(strstr(err, "bss_end_addr 0x100400 is below load_end_addr 0x100800"));
	make_flat(0, 0);
	put32(0x50, 0x0ff000);			/* load 0x41000 bytes before the header */
	CHECK_EQ(plan_it(size, "", NULL, 0, 8 * MiB), -1);
	CHECK(strstr(err, "load_addr 0xff000 does not fit header_addr 0x100040"));
	CHECK_EQ(plan_it(0x50, "", NULL, 0, 8 * MiB), -1);
	CHECK(strstr(err, "cut off by the file's end"));
}

TEST(refuses_hole_and_outside_memory)
{
	uint64_t size = make_flat(0, 0);

	put32(0x4c, 0xa0040);
	put32(0x50, 0xa0000);
	CHECK_EQ(plan_it(size, "", NULL, 0, 8 * MiB), -1);
	CHECK_STR(err, "Multiboot segment 0xa0000-0xa1000 overlaps the BIOS area 0x9f000-0x100000");
	put32(0x4c, 0x7ff040);
	put32(0x50, 0x7ff000);
	CHECK_EQ(plan_it(size, "", NULL, 0, 8 * MiB), 0);
	put32(0x58, 0x800001);			/* bss one byte past memory */
	CHECK_EQ(plan_it(size, "", NULL, 0, 8 * MiB), -1);
	CHECK_STR(err, "Multiboot segment 0x7ff000-0x800001 lies outside the guest's 8 MiB");
}

/* The area of the mmap entries: RAM, reserved or ACPI; -1 if no entry holds it. */
static int mmap_type(uint64_t gpa)
{
	uint64_t e = info32(info_base() + 48), end = e + info32(info_base() + 44);

	for (; e < end; e += 24) {
		uint64_t a = info32(e + 4) | (uint64_t)info32(e + 8) << 32;
		uint64_t l = info32(e + 12) | (uint64_t)info32(e + 16) << 32;

		if (gpa >= a && gpa < a + l)
			return (int)info32(e + 20);
	}
	return -1;
}

/* The kernel: a segment at 0x8000 in low memory, where the info used to be. */
TEST(segment_at_0x8000_moves_the_area_below_it)
{
	CHECK_EQ(plan_it(make_flat_at(0x8000, 0, 0xa86c), "", NULL, 0, 8 * MiB), 0);
	CHECK_EQ(plan.segs[0].gpa, 0x8000);
	CHECK_EQ(plan.area, 0x1000);
	CHECK(plan.area + MB_AREA_SIZE <= 0x8000);
	CHECK_EQ(plan.boot.rbx, 0x1000 + MB_AREA_INFO);
	CHECK_EQ(plan.boot.gdt_base, 0x1000);
	CHECK_EQ(plan.boot.rsp, 0x1000 + MB_AREA_STACK);
	CHECK_EQ(mmap_type(0x0fff), E820_RAM);
	CHECK_EQ(mmap_type(0x1000), E820_RESERVED);
	CHECK_EQ(mmap_type(0x1000 + MB_AREA_SIZE - 1), E820_RESERVED);
	CHECK_EQ(mmap_type(0x1000 + MB_AREA_SIZE), E820_RAM);
	CHECK_EQ(mmap_type(0x8000), E820_RAM);		/* the kernel's own pages */
	CHECK_EQ(info32(info_base() + 4), 636);		/* mem_lower */
	CHECK_EQ(info32(info_base() + 8), 7 * 1024);	/* mem_upper */
}

TEST(area_after_a_kernel_low_in_memory)
{
	/* Kernel 0x1000-0x3000: the area takes the next free pages. */
	CHECK_EQ(plan_it(make_flat_at(0x1000, 0, 0x3000), "", NULL, 0, 8 * MiB), 0);
	CHECK_EQ(plan.area, 0x3000);
	/* Kernel 0x2000-0x4000: 0x1000 alone is too small for the area. */
	CHECK_EQ(plan_it(make_flat_at(0x2000, 0, 0x4000), "", NULL, 0, 8 * MiB), 0);
	CHECK_EQ(plan.area, 0x4000);
}

TEST(area_at_the_top_when_low_memory_is_taken)
{
	/* Kernel over all of low memory from 0x1000, bss up to the hole. */
	CHECK_EQ(plan_it(make_flat_at(0x1000, 0, 0x9f000), "", NULL, 0, 8 * MiB), 0);
	CHECK_EQ(plan.area, 8 * MiB - MB_AREA_SIZE);
	CHECK_EQ(mmap_type(8 * MiB - MB_AREA_SIZE - 1), E820_RAM);
	CHECK_EQ(mmap_type(8 * MiB - MB_AREA_SIZE), E820_RESERVED);
	CHECK_EQ(mmap_type(8 * MiB - 1), E820_RESERVED);
	/* mem_upper ends where the area starts: RAM from 1 MiB up to the first hole. */
	CHECK_EQ(info32(info_base() + 8), (7 * MiB - MB_AREA_SIZE) >> 10);
}

TEST(modules_skip_the_bios_hole)
{
	static const struct mb_module mods[] = { { "m", "", 0x3000 } };

	CHECK_EQ(plan_it(make_flat_at(0x8000, 0, 0x9d000), "", mods, 1, 8 * MiB), 0);
	CHECK_EQ(plan.mod_gpa[0], 0x100000);
	CHECK_EQ(plan.area, 0x1000);
}

TEST(mmap_covers_memory_once)
{
	uint64_t ram = 0, e, end, prev_end = 0;

	CHECK_EQ(plan_it(make_elf(3), "", NULL, 0, 64 * MiB), 0);
	e = info32(info_base() + 48);
	end = e + info32(info_base() + 44);
	for (; e < end; e += 24) {
		uint64_t a = info32(e + 4) | (uint64_t)info32(e + 8) << 32;
		uint64_t l = info32(e + 12) | (uint64_t)info32(e + 16) << 32;

		CHECK(a >= prev_end);			/* sorted, no overlap */
		prev_end = a + l;
		if (info32(e + 20) == E820_RAM)
			ram += l;
	}
	CHECK_EQ(prev_end, 64 * MiB);
	/* All of memory but the hole below 1 MiB and the loader's area. */
	CHECK_EQ(ram, 64 * MiB - (0x100000 - 0x9f000) - MB_AREA_SIZE);
}

TEST(info_structure)
{
	static const struct mb_module mods[] = {
		{ "a.txt", "x y", 5000 }, { "b.bin", "", 10 },
	};
	struct e820_entry map[E820_MAX];
	unsigned int nr;
	uint64_t mi, m0, m1;

	CHECK_EQ(plan_it(make_elf(3), "answer=42 #kept", mods, 2, 8 * MiB), 0);
	CHECK_EQ(plan.info_len <= MB_INFO_SIZE, 1);
	mi = info_base();
	CHECK_EQ(info32(mi), MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MODS | MB_INFO_MMAP |
		 MB_INFO_LOADER_NAME);
	CHECK_EQ(info32(mi + 4), GUEST_LOWMEM_END >> 10);	/* mem_lower */
	CHECK_EQ(info32(mi + 8), 7 * 1024);			/* mem_upper: 8 MiB - 1 MiB */
	CHECK_STR(info_str(info32(mi + 16)), "mb.elf answer=42 #kept");
	CHECK_STR(info_str(info32(mi + 64)), "hv");
	/* Modules page-aligned after the kernel's end (bss included: 0x105000). */
	CHECK_EQ(info32(mi + 20), 2);
	m0 = info32(mi + 24);
	m1 = m0 + 16;
	CHECK_EQ(m0 % 16, 0);
	CHECK_EQ(info32(m0), 0x105000);
	CHECK_EQ(info32(m0 + 4), 0x105000 + 5000);
	CHECK_STR(info_str(info32(m0 + 8)), "a.txt x y");
	CHECK_EQ(info32(m1), 0x107000);
	CHECK_EQ(info32(m1 + 4), 0x107000 + 10);
	CHECK_STR(info_str(info32(m1 + 8)), "b.bin");
	CHECK_EQ(plan.mod_gpa[0], 0x105000);
	CHECK_EQ(plan.mod_gpa[1], 0x107000);
	/* The mmap: size 20 entries, the platform's map with the loader's area reserved. */
	nr = layout_e820(map, 8 * MiB, (struct layout_range){ plan.area,
							      plan.area + MB_AREA_SIZE });
	CHECK_EQ(nr, 7);
	CHECK_EQ(info32(mi + 44), nr * 24);
	for (unsigned int i = 0; i < nr; i++) {
		uint64_t e = info32(mi + 48) + i * 24;

		CHECK_EQ(info32(e), 20);
		CHECK(!memcmp(plan.info + (e + 4 - info_base()), &map[i], 20));
	}
}

TEST(empty_cmdline_is_the_image_name)
{
	CHECK_EQ(plan_it(make_elf(3), "", NULL, 0, 8 * MiB), 0);
	CHECK_STR(info_str(info32(info_base() + 16)), "mb.elf");
	CHECK_EQ(info32(info_base() + 20), 0);
}

TEST(refuses_module_past_memory)
{
	static const struct mb_module big[] = { { "big.bin", "", 7 * MiB } };

	CHECK_EQ(plan_it(make_elf(3), "", big, 1, 8 * MiB), -1);
	CHECK_STR(err, "module big.bin (7168 KiB) does not fit in the guest's 8 MiB after the "
		  "kernel's end 0x105000");
}

TEST(protected_mode_entry_state)
{
	const struct guest_boot *s = &plan.boot;

	CHECK_EQ(plan_it(make_elf(3), "", NULL, 0, 8 * MiB), 0);
	CHECK(s->set && s->aps_wait_sipi);
	CHECK_EQ(s->rax, 0x2badb002);
	CHECK_EQ(plan.area, 0x1000);			/* the kernel is at 1 MiB */
	CHECK_EQ(s->rbx, 0x1000 + MB_AREA_INFO);
	CHECK_EQ(s->cr0 & 0x80000001, 1);		/* PE, no PG */
	CHECK_EQ(s->efer, 0);
	CHECK_EQ(s->cs.sel, 0x18);
	CHECK_EQ(s->cs.ar, 0xc09b);			/* 32-bit code */
	CHECK_EQ(s->cs.limit, 0xffffffff);
	CHECK_EQ(s->ds.sel, 0x10);
	CHECK_EQ(s->ds.ar, 0xc093);
	CHECK_EQ(s->gdt_base, 0x1000);
	CHECK_EQ(s->rsp, 0x1000 + MB_AREA_STACK);
	CHECK_EQ(s->rsp & 15, 0);
	CHECK_EQ(plan.gdt[3], 0x00cf9b000000ffffULL);
	CHECK_EQ(plan.gdt[2], 0x00cf93000000ffffULL);
}
