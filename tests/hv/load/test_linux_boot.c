/* SPDX-License-Identifier: MIT */
/*
 * The Linux boot protocol on synthetic bzImages: header validation and its
 * errors, kernel and initrd placement, the zero page's fields and the e820
 * map, and vCPU 0's 64-bit entry state.
 */
#include "hv/load/linux_boot.h"
#include "tests/host/test.h"

#define MiB	(1ULL << 20)

/* What a synthetic bzImage says in its setup header. */
struct bz {
	unsigned int sects;
	uint16_t version, xlf;
	uint8_t loadflags, reloc;
	uint32_t init_size, align, initrd_max, cmdline_size;
	uint64_t pref, kernel;		/* kernel: bytes of protected-mode code */
};

static const struct bz std = {
	.sects = 4, .version = 0x020f, .xlf = 0x7f, .loadflags = 1, .reloc = 1,
	.init_size = 8 * MiB, .align = 2 * MiB, .initrd_max = 0x7fffffff,
	.cmdline_size = 2047, .pref = 16 * MiB, .kernel = 8192,
};

static uint8_t img[64 * 1024];
static struct linux_plan plan;
static char err[256];

static void put(unsigned int off, uint64_t v, unsigned int bytes)
{
	for (unsigned int i = 0; i < bytes; i++)
		img[off + i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *p, unsigned int off, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++)
		v |= (uint64_t)p[off + i] << (8 * i);
	return v;
}

/* Returns the image size. */
static uint64_t make(const struct bz *b)
{
	uint64_t setup = ((b->sects ? b->sects : 4) + 1) * 512ULL;

	memset(img, 0, sizeof(img));
	for (uint64_t i = 0; i < b->kernel; i++)
		img[setup + i] = (uint8_t)(i * 7 + 1);
	/* Bytes past the header's end (0x26c) must not reach the zero page. */
	memset(img + 0x26c, 0xee, 0x290 - 0x26c);
	put(0x1f1, b->sects, 1);
	put(0x1f4, b->kernel / 16, 4);
	put(0x1fa, 0xffff, 2);			/* vid_mode: normal */
	put(0x1fe, 0xaa55, 2);
	put(0x200, 0x6aeb, 2);			/* jmp: header ends at 0x202 + 0x6a */
	memcpy(img + 0x202, "HdrS", 4);
	put(0x206, b->version, 2);
	put(0x211, b->loadflags, 1);
	put(0x214, 0x100000, 4);
	put(0x22c, b->initrd_max, 4);
	put(0x230, b->align, 4);
	put(0x234, b->reloc, 1);
	put(0x235, 21, 1);
	put(0x236, b->xlf, 2);
	put(0x238, b->cmdline_size, 4);
	put(0x258, b->pref, 8);
	put(0x260, b->init_size, 4);
	return setup + b->kernel;
}

static int plan_std(const struct bz *b, uint64_t initrd, const char *cmdline, uint64_t memory)
{
	err[0] = 0;
	return linux_plan(img, make(b), initrd, cmdline, memory, &plan, err, sizeof(err));
}

TEST(detects_bzimage_signature)
{
	uint64_t size = make(&std);

	CHECK(linux_is_bzimage(img, size));
	CHECK(!linux_is_bzimage(img, 0x205));
	img[0x1fe] = 0;
	CHECK(!linux_is_bzimage(img, size));
	make(&std);
	img[0x205] = 's';
	CHECK(!linux_is_bzimage(img, size));
}

TEST(refuses_too_old_protocol)
{
	struct bz b = std;

	b.version = 0x0209;
	CHECK_EQ(plan_std(&b, 0, "", 64 * MiB), -1);
	CHECK_STR(err, "bzImage protocol 2.09 is too old (need 2.12 with a 64-bit entry)");
	b.version = 0x020c;
	CHECK_EQ(plan_std(&b, 0, "", 64 * MiB), 0);
}

TEST(refuses_missing_64bit_entry)
{
	struct bz b = std;

	b.xlf = 0x7e;
	CHECK_EQ(plan_std(&b, 0, "", 64 * MiB), -1);
	CHECK(strstr(err, "bzImage protocol 2.15 has no 64-bit entry (XLF_KERNEL_64 clear"));
}

TEST(refuses_kernel_not_loaded_high)
{
	struct bz b = std;

	b.loadflags = 0;
	CHECK_EQ(plan_std(&b, 0, "", 64 * MiB), -1);
	CHECK(strstr(err, "LOADED_HIGH"));
}

TEST(refuses_truncated_file)
{
	struct linux_image li;
	uint64_t size = make(&std);

	/* Setup sectors only, no kernel; setup_sects 0 counts as 4. */
	CHECK_EQ(linux_parse(img, 5 * 512, &li, err, sizeof(err)), -1);
	CHECK_STR(err, "bzImage truncated: 2560 bytes, but its 4 setup sectors alone take 2560");
	img[0x1f1] = 0;
	CHECK_EQ(linux_parse(img, size, &li, err, sizeof(err)), 0);
	img[0x1f1] = 20;
	CHECK_EQ(linux_parse(img, size, &li, err, sizeof(err)), -1);
	CHECK(strstr(err, "its 20 setup sectors alone take 10752"));
	/* Cut inside the kernel that syssize promises. */
	make(&std);
	CHECK_EQ(linux_parse(img, size - 32, &li, err, sizeof(err)), -1);
	CHECK_STR(err, "bzImage truncated: its kernel is 8160 bytes, the header says 8192");
}

TEST(refuses_bad_alignment)
{
	struct bz b = std;

	b.align = 3 * MiB;
	CHECK_EQ(plan_std(&b, 0, "", 64 * MiB), -1);
	CHECK(strstr(err, "kernel_alignment 0x300000 is not a power of two"));
}

TEST(refuses_guest_below_32m)
{
	CHECK_EQ(plan_std(&std, 0, "", 16 * MiB), -1);
	CHECK_STR(err, "a Linux guest needs at least 32 MiB of memory (it has 16)");
}

TEST(refuses_kernel_too_big_for_memory)
{
	struct bz b = std;

	b.init_size = 64 * MiB;
	CHECK_EQ(plan_std(&b, 0, "", 64 * MiB), -1);
	CHECK_STR(err, "kernel needs 80 MiB of guest memory (init_size 65536 KiB at 0x1000000), "
		  "the guest has 64 MiB");
	CHECK_EQ(plan_std(&b, 0, "", 80 * MiB), 0);
	CHECK_EQ(plan.kernel, 16 * MiB);
}

TEST(loads_at_pref_address)
{
	struct bz b = std;

	b.pref = 20 * MiB;
	CHECK_EQ(plan_std(&b, 0, "", 64 * MiB), 0);
	CHECK_EQ(plan.kernel, 20 * MiB);
	CHECK_EQ(plan.kernel_off, 5 * 512);
	CHECK_EQ(plan.kernel_size, 8192);
	CHECK_EQ(plan.boot.rip, 20 * MiB + 0x200);
}

TEST(relocates_when_pref_does_not_fit)
{
	struct bz b = std;

	b.pref = 1ULL << 30;
	CHECK_EQ(plan_std(&b, 0, "", 64 * MiB), 0);
	CHECK_EQ(plan.kernel, 16 * MiB);
	b.align = 32 * MiB;			/* lowest aligned address >= 16 MiB */
	CHECK_EQ(plan_std(&b, 0, "", 64 * MiB), 0);
	CHECK_EQ(plan.kernel, 32 * MiB);
	b.pref = 0x10000;			/* below 1 MiB: never taken as is */
	CHECK_EQ(plan_std(&b, 0, "", 64 * MiB), 0);
	CHECK_EQ(plan.kernel, 32 * MiB);
	b.init_size = 40 * MiB;			/* 32 + 40 > 64 */
	CHECK_EQ(plan_std(&b, 0, "", 64 * MiB), -1);
	CHECK(strstr(err, "kernel needs 72 MiB"));
}

TEST(non_relocatable_kernel_needs_its_address)
{
	struct bz b = std;

	b.reloc = 0;
	b.pref = 40 * MiB;
	CHECK_EQ(plan_std(&b, 0, "", 40 * MiB), -1);
	CHECK(strstr(err, "kernel needs 48 MiB of guest memory (init_size 8192 KiB at 0x2800000), "
		     "the guest has 40 MiB"));
	CHECK_EQ(plan_std(&b, 0, "", 48 * MiB), 0);
	CHECK_EQ(plan.kernel, 40 * MiB);
}

TEST(initrd_page_aligned_high_below_limits)
{
	struct bz b = std;
	uint64_t sz = MiB + 123;

	CHECK_EQ(plan_std(&b, sz, "", 64 * MiB), 0);
	CHECK_EQ(plan.initrd, (64 * MiB - sz) & ~0xfffULL);
	CHECK_EQ(plan.initrd_size, sz);
	b.initrd_max = 48 * MiB - 1;		/* inclusive */
	CHECK_EQ(plan_std(&b, sz, "", 64 * MiB), 0);
	CHECK_EQ(plan.initrd, (48 * MiB - sz) & ~0xfffULL);
	/* Above the kernel's init_size: 16 + 8 MiB. */
	CHECK_EQ(plan_std(&b, 24 * MiB, "", 64 * MiB), 0);
	CHECK_EQ(plan.initrd, 24 * MiB);
	CHECK_EQ(plan_std(&b, 24 * MiB + 1, "", 64 * MiB), -1);
	CHECK_STR(err, "initrd (24576 KiB) does not fit between the kernel's end 0x1800000 "
		  "and 0x3000000");
}

TEST(boot_params_fields)
{
	const uint8_t *bp = plan.boot_params;
	uint64_t sz = 3 * MiB;

	CHECK_EQ(plan_std(&std, sz, "console=ttyS0 #x", 64 * MiB), 0);
	/* The setup header, 0x1f1 up to 0x202 + jump byte, as in the image but ours. */
	for (unsigned int off = 0x1f1; off < 0x26c; off++) {
		if (off == 0x210 || (off >= 0x218 && off < 0x220) || (off >= 0x228 && off < 0x22c))
			continue;
		if (bp[off] != img[off])
			test_fail(__FILE__, __LINE__, "header byte 0x%x differs", off);
	}
	for (unsigned int off = 0x26c; off < 0x290; off++)
		CHECK_EQ(bp[off], 0);
	CHECK_EQ(get(bp, 0x1fe, 2), 0xaa55);
	CHECK_EQ(get(bp, 0x1fa, 2), 0xffff);
	CHECK_EQ(bp[0x210], 0xff);			/* type_of_loader */
	CHECK_EQ(get(bp, 0x228, 4), 0x9000);		/* cmd_line_ptr: area + 0x8000 */
	CHECK_EQ(get(bp, 0x0c8, 4), 0);			/* ext_cmd_line_ptr */
	CHECK_EQ(get(bp, 0x218, 4), plan.initrd);	/* ramdisk_image */
	CHECK_EQ(get(bp, 0x21c, 4), sz);
	CHECK_EQ(get(bp, 0x0c0, 4), 0);
	CHECK_EQ(get(bp, 0x0c4, 4), 0);
	CHECK_EQ(get(bp, 0x070, 8), GUEST_ACPI_BASE);	/* acpi_rsdp_addr, 2.14+ */
	CHECK_EQ(plan.cmdline_len, strlen("console=ttyS0 #x") + 1);
	/* Screen, APM, EDD and the rest stay zero. */
	for (unsigned int off = 0; off < 0x1e8; off++)
		if (off < 0x070 || (off >= 0x078 && (off < 0x0c0 || off >= 0x0cc)))
			CHECK_EQ(bp[off], 0);
}

TEST(acpi_rsdp_only_from_protocol_2_14)
{
	struct bz b = std;

	b.version = 0x020d;
	CHECK_EQ(plan_std(&b, 0, "", 64 * MiB), 0);
	CHECK_EQ(get(plan.boot_params, 0x070, 8), 0);
	b.version = 0x020e;
	CHECK_EQ(plan_std(&b, 0, "", 64 * MiB), 0);
	CHECK_EQ(get(plan.boot_params, 0x070, 8), GUEST_ACPI_BASE);
}

TEST(e820_map_in_boot_params)
{
	static const uint64_t want[][3] = {
		{ 0, 0x9f000, 1 }, { 0x9f000, 0x1000, 2 }, { 0xe0000, 0x10000, 3 },
		{ 0xf0000, 0x10000, 2 }, { 0x100000, 96 * MiB - 0x100000, 1 },
	};
	const uint8_t *bp = plan.boot_params;

	CHECK_EQ(plan_std(&std, 0, "", 96 * MiB), 0);
	/* The loader's area stays RAM: the kernel copies what it needs from it. */
	CHECK_EQ(bp[0x1e8], 5);
	for (unsigned int i = 0; i < 5; i++) {
		CHECK_EQ(get(bp, 0x2d0 + i * 20, 8), want[i][0]);
		CHECK_EQ(get(bp, 0x2d0 + i * 20 + 8, 8), want[i][1]);
		CHECK_EQ(get(bp, 0x2d0 + i * 20 + 16, 4), want[i][2]);
	}
	CHECK_EQ(get(bp, 0x2d0 + 5 * 20, 8), 0);
}

TEST(cmdline_limited_by_kernel)
{
	struct bz b = std;

	b.cmdline_size = 10;
	CHECK_EQ(plan_std(&b, 0, "0123456789", 64 * MiB), 0);
	CHECK_EQ(plan_std(&b, 0, "0123456789a", 64 * MiB), -1);
	CHECK_STR(err, "cmdline is 11 characters, this kernel takes at most 10");
}

TEST(long_mode_entry_state)
{
	const struct guest_boot *s = &plan.boot;

	CHECK_EQ(plan_std(&std, 0, "", 64 * MiB), 0);
	CHECK(s->set && s->aps_wait_sipi);
	CHECK_EQ(s->cr0 & 0x80000001, 0x80000001);	/* PG, PE */
	/* The loader's area: the lowest free pages from 0x1000 (the kernel is at 16 MiB). */
	CHECK_EQ(plan.area, 0x1000);
	CHECK_EQ(s->cr3, 0x1000);
	CHECK_EQ(s->cr4 & 0x20, 0x20);			/* PAE */
	CHECK_EQ(s->efer & 0x500, 0x500);		/* LME, LMA */
	CHECK_EQ(s->cs.sel, 0x10);
	CHECK_EQ(s->cs.ar, 0xa09b);			/* L, present, code */
	CHECK_EQ(s->ds.sel, 0x18);
	CHECK_EQ(s->ds.ar, 0xc093);
	CHECK_EQ(s->gdt_base, 0x7000);
	CHECK_EQ(s->gdt_limit, 31);
	CHECK_EQ(plan.gdt[2], 0x00af9b000000ffffULL);
	CHECK_EQ(plan.gdt[3], 0x00cf93000000ffffULL);
	CHECK_EQ(s->rip, 16 * MiB + 0x200);
	CHECK_EQ(s->rsi, 0x8000);			/* boot_params */
	CHECK(s->rsp && s->rsp <= 0x8000 && s->rsp > 0x7000 + 32);
}
