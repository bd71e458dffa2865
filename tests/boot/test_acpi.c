/* SPDX-License-Identifier: MIT */
/*
 * boot/acpi.c against tables assembled in a fake physical memory, damaged in
 * the ways firmware damages them, and against tables recorded from QEMU.
 *
 * The map callback bounds-checks against the fake memory and hands out a
 * private copy of each range that ends right at a PROT_NONE page, so a read
 * one byte past what the parser asked for crashes the test.
 */
#include <sys/mman.h>

#include "boot/acpi.h"
#include "tests/host/test.h"

#include "tests/boot/acpi_recorded.h"

#define MEM_BASE	0x7ff00000ull
#define MEM_SIZE	(1u << 20)
#define PAGE		4096u

struct mapping {
	void *p;
	size_t len;
};

struct fakemem {
	uint8_t *mem;
	uint64_t base;
	size_t size;
	size_t brk;
	unsigned int nmaps;		/* calls to the map callback */
	size_t max_len;			/* largest length asked for */
	bool wrapped;			/* asked for a range wrapping past 2^64 */
	struct mapping *maps;		/* guard copies, freed after each parse */
	size_t nguard, capguard;
};

static void fm_init(struct fakemem *fm)
{
	*fm = (struct fakemem){ .mem = calloc(1, MEM_SIZE), .base = MEM_BASE,
				.size = MEM_SIZE, .brk = 64 };
}

static void fm_free(struct fakemem *fm)
{
	free(fm->mem);
	free(fm->maps);
}

static uint8_t *fm_ptr(struct fakemem *fm, uint64_t phys)
{
	return fm->mem + (phys - fm->base);
}

static uint64_t fm_alloc(struct fakemem *fm, size_t len, size_t align)
{
	uint64_t off = (fm->brk + align - 1) / align * align;

	if (off + len > fm->size)
		abort();
	fm->brk = off + len;
	return fm->base + off;
}

static const void *fm_map(void *ctx, uint64_t phys, size_t len)
{
	struct fakemem *fm = ctx;
	size_t span = (len + PAGE - 1) / PAGE * PAGE;
	uint8_t *m;

	fm->nmaps++;
	if (len > fm->max_len)
		fm->max_len = len;
	if (phys + len < phys)
		fm->wrapped = true;
	if (phys < fm->base || phys - fm->base > fm->size || len > fm->size - (phys - fm->base))
		return NULL;
	m = mmap(NULL, span + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		abort();
	memcpy(m + span - len, fm_ptr(fm, phys), len);
	mprotect(m, span, PROT_READ);
	mprotect(m + span, PAGE, PROT_NONE);
	if (fm->nguard == fm->capguard) {
		fm->capguard = fm->capguard ? 2 * fm->capguard : 64;
		fm->maps = realloc(fm->maps, fm->capguard * sizeof(*fm->maps));
	}
	fm->maps[fm->nguard++] = (struct mapping){ m, span + PAGE };
	return m + span - len;
}

/* Parse from @rsdp with a poisoned @info, then drop the guard copies. */
static int fm_parse(struct fakemem *fm, uint64_t rsdp, struct acpi_info *info, char *err)
{
	int ret;

	memset(info, 0xa5, sizeof(*info));
	ret = acpi_parse(rsdp, fm_map, fm, info, err, 128);
	for (size_t i = 0; i < fm->nguard; i++)
		munmap(fm->maps[i].p, fm->maps[i].len);
	fm->nguard = 0;
	return ret;
}

/* ---- table assembly ---- */

static void w16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void w32(uint8_t *p, uint32_t v) { w16(p, v); w16(p + 2, v >> 16); }
static void w64(uint8_t *p, uint64_t v) { w32(p, v); w32(p + 4, v >> 32); }
static uint32_t r32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* Recompute the checksum of @n bytes of the table at @t (byte 9). */
static void fix_sum_len(uint8_t *t, size_t n)
{
	t[9] = 0;
	t[9] = -sum8(t, n);
}

static void fix_sum(uint8_t *t)
{
	fix_sum_len(t, r32(t + 4));
}

/* A growing table image; the first 36 bytes are the header. */
struct bb {
	uint8_t b[8192];
	size_t n;
};

static void bb_init(struct bb *b) { memset(b, 0, sizeof(*b)); b->n = 36; }
static void bb_u8(struct bb *b, uint8_t v) { b->b[b->n++] = v; }
static void bb_u16(struct bb *b, uint16_t v) { w16(b->b + b->n, v); b->n += 2; }
static void bb_u32(struct bb *b, uint32_t v) { w32(b->b + b->n, v); b->n += 4; }
static void bb_u64(struct bb *b, uint64_t v) { w64(b->b + b->n, v); b->n += 8; }

static void bb_bytes(struct bb *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

/* Copy the image @t of @len bytes into memory with a valid header. */
static uint64_t put_table_at(struct fakemem *fm, const char *sig, uint8_t rev,
			     const uint8_t *t, size_t len, size_t align)
{
	uint64_t phys = fm_alloc(fm, len, align);
	uint8_t *p = fm_ptr(fm, phys);

	memcpy(p, t, len);
	memcpy(p, sig, 4);
	w32(p + 4, len);
	p[8] = rev;
	memcpy(p + 10, "BOCHS ", 6);
	memcpy(p + 16, "BXPC    ", 8);
	w32(p + 24, 1);
	memcpy(p + 28, "BXPC", 4);
	w32(p + 32, 1);
	fix_sum(p);
	return phys;
}

static uint64_t put_table(struct fakemem *fm, const char *sig, uint8_t rev, const struct bb *b)
{
	return put_table_at(fm, sig, rev, b->b, b->n, 16);
}

static uint64_t put_root(struct fakemem *fm, bool xsdt, const uint64_t *ent, size_t n)
{
	struct bb b;

	bb_init(&b);
	for (size_t i = 0; i < n; i++) {
		if (xsdt)
			bb_u64(&b, ent[i]);
		else
			bb_u32(&b, ent[i]);
	}
	return put_table(fm, xsdt ? "XSDT" : "RSDT", 1, &b);
}

static void rsdp_fill(uint8_t *r, uint8_t rev, uint32_t rsdt, uint64_t xsdt)
{
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "BOCHS ", 6);
	r[15] = rev;
	w32(r + 16, rsdt);
	r[8] = 0;
	r[8] = -sum8(r, 20);
	if (rev < 2)
		return;
	w32(r + 20, 36);
	w64(r + 24, xsdt);
	r[32] = 0;
	r[32] = -sum8(r, 36);
}

static uint64_t put_rsdp(struct fakemem *fm, uint8_t rev, uint32_t rsdt, uint64_t xsdt)
{
	uint64_t phys = fm_alloc(fm, rev < 2 ? 20 : 36, 16);

	rsdp_fill(fm_ptr(fm, phys), rev, rsdt, xsdt);
	return phys;
}

/* MADT entries. */
static void madt_start(struct bb *b, uint32_t lapic)
{
	bb_init(b);
	bb_u32(b, lapic);
	bb_u32(b, 1);			/* PCAT_COMPAT */
}

static void madt_lapic(struct bb *b, uint8_t uid, uint8_t id, uint32_t flags)
{
	bb_u8(b, 0); bb_u8(b, 8); bb_u8(b, uid); bb_u8(b, id); bb_u32(b, flags);
}

static void madt_x2apic(struct bb *b, uint32_t id, uint32_t uid, uint32_t flags)
{
	bb_u8(b, 9); bb_u8(b, 16); bb_u16(b, 0); bb_u32(b, id); bb_u32(b, flags); bb_u32(b, uid);
}

static void madt_ioapic(struct bb *b, uint8_t id, uint32_t addr, uint32_t gsi)
{
	bb_u8(b, 1); bb_u8(b, 12); bb_u8(b, id); bb_u8(b, 0); bb_u32(b, addr); bb_u32(b, gsi);
}

static void madt_iso(struct bb *b, uint8_t src, uint32_t gsi, uint16_t flags)
{
	bb_u8(b, 2); bb_u8(b, 10); bb_u8(b, 0); bb_u8(b, src); bb_u32(b, gsi); bb_u16(b, flags);
}

static void madt_override(struct bb *b, uint64_t addr)
{
	bb_u8(b, 5); bb_u8(b, 12); bb_u16(b, 0); bb_u64(b, addr);
}

/* QEMU q35 with -smp 4,maxcpus=5: four CPUs, a hot-pluggable fifth. */
static void q35_madt(struct bb *b)
{
	madt_start(b, 0xfee00000);
	for (int i = 0; i < 5; i++)
		madt_lapic(b, i, i, i < 4);
	madt_ioapic(b, 0, 0xfec00000, 0);
	madt_iso(b, 0, 2, 0);
	madt_iso(b, 5, 5, 0xd);
	madt_iso(b, 9, 9, 0xd);
	bb_u8(b, 4); bb_u8(b, 6); bb_u8(b, 0xff); bb_u16(b, 0); bb_u8(b, 1);	/* LAPIC NMI */
}

#define S5_BYTES	0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00

/* Some AML around Name (_S5, Package (4) { 5, 5, 0, 0 }). */
static const uint8_t q35_aml[] = {
	0x10, 0x0b, '\\', '_', 'S', 'B', '_', 0x08, 'P', 'C', 'I', 'X', 0x00,	/* Scope */
	0x08, '_', 'S', '3', '_', 0x12, 0x06, 0x04, 0x01, 0x01, 0x00, 0x00,
	S5_BYTES,
	0x14, 0x08, '_', 'P', 'T', 'S', 0x01, 0xa3,			/* Method */
};

static void fadt_image(uint8_t *t, uint64_t dsdt)
{
	memset(t, 0, 276);
	w32(t + 40, dsdt);
	w32(t + 56, 0x600);
	w32(t + 64, 0x604);
	w32(t + 76, 0x608);
	t[89] = 2;
	t[91] = 4;
	w32(t + 112, 0x84a5 | 1u << 8);		/* + TMR_VAL_EXT */
	t[116] = 1; t[117] = 8;			/* RESET_REG: I/O 0xcf9 */
	w64(t + 120, 0xcf9);
	t[128] = 0x0f;
	w64(t + 140, dsdt);
	t[172] = 1; t[173] = 16;
	w64(t + 176, 0x604);
	t[208] = 1; t[209] = 32;
	w64(t + 212, 0x608);
}

struct sys {
	struct fakemem fm;
	uint64_t rsdp, rsdt, xsdt, madt, fadt, dsdt;
};

/* Build the q35-like set; @madt/@aml replace the defaults when given. */
static void sys_build(struct sys *s, uint8_t rev, const struct bb *madt,
		      const uint8_t *aml, size_t aml_len, uint32_t fadt_len)
{
	struct bb m, d;
	uint8_t f[276];
	uint64_t ent[3];

	fm_init(&s->fm);
	bb_init(&d);
	if (!aml) {
		aml = q35_aml;
		aml_len = sizeof(q35_aml);
	}
	bb_bytes(&d, aml, aml_len);
	s->dsdt = put_table(&s->fm, "DSDT", 1, &d);
	fadt_image(f, s->dsdt);
	s->fadt = put_table_at(&s->fm, "FACP", 3, f, fadt_len ? fadt_len : 244, 16);
	if (!madt) {
		q35_madt(&m);
		madt = &m;
	}
	s->madt = put_table(&s->fm, "APIC", 1, madt);
	ent[0] = s->fadt;
	ent[1] = s->madt;
	ent[2] = 0;		/* firmware leaves holes; ignored */
	s->rsdt = put_root(&s->fm, false, ent, 3);
	s->xsdt = rev >= 2 ? put_root(&s->fm, true, ent, 3) : 0;
	s->rsdp = put_rsdp(&s->fm, rev, s->rsdt, s->xsdt);
}

static void sys_std(struct sys *s)
{
	sys_build(s, 2, NULL, NULL, 0, 0);
}

static bool has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

#define CHECK_HAS(hay, needle)						\
	do {								\
		if (!has(hay, needle)) {				\
			test_fail(__FILE__, __LINE__, "\"%s\" lacks \"%s\"", hay, needle); \
			return;						\
		}							\
	} while (0)

/* ---- whole table sets ---- */

TEST(q35_like_tables_parse_fully)
{
	struct sys s;
	struct acpi_info info;
	char err[128];

	sys_std(&s);
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), 0);
	CHECK_STR(err, "");
	CHECK_STR(info.warnings, "");
	CHECK_EQ(info.revision, 2);
	CHECK_STR(info.oem_id, "BOCHS ");
	CHECK_EQ(info.ncpus, 4);
	for (uint32_t i = 0; i < 4; i++) {
		CHECK_EQ(info.cpus[i].apic_id, i);
		CHECK_EQ(info.cpus[i].uid, i);
		CHECK(!info.cpus[i].x2apic_entry);
	}
	CHECK_EQ(info.cpus_disabled, 1);
	CHECK_EQ(info.cpus_dropped, 0);
	CHECK_EQ(info.lapic_addr, 0xfee00000);
	CHECK_EQ(info.nioapics, 1);
	CHECK_EQ(info.ioapics[0].id, 0);
	CHECK_EQ(info.ioapics[0].addr, 0xfec00000);
	CHECK_EQ(info.ioapics[0].gsi_base, 0);
	CHECK(info.have_fadt);
	CHECK_EQ(info.pm1a_cnt, 0x604);
	CHECK_EQ(info.pm1b_cnt, 0);
	CHECK_EQ(info.pm_tmr_blk, 0x608);
	CHECK(info.pm_tmr_32bit);
	CHECK(info.reset_valid);
	CHECK_EQ(info.reset_space, 1);
	CHECK_EQ(info.reset_addr, 0xcf9);
	CHECK_EQ(info.reset_value, 0x0f);
	CHECK_EQ(info.dsdt, s.dsdt);
	CHECK(info.s5_valid);
	CHECK_EQ(info.s5_typ_a, 5);
	CHECK_EQ(info.s5_typ_b, 5);
	CHECK(!s.fm.wrapped);
	fm_free(&s.fm);
}

TEST(rsdp_rev0_uses_rsdt_and_maps_only_20_bytes)
{
	struct sys s;
	struct acpi_info info;
	char err[128];
	uint64_t rsdp;

	sys_build(&s, 0, NULL, NULL, 0, 0);
	/* At the very end of memory: mapping 36 bytes would fail. */
	rsdp = s.fm.base + s.fm.size - 20;
	rsdp_fill(fm_ptr(&s.fm, rsdp), 0, s.rsdt, 0);
	CHECK_EQ(fm_parse(&s.fm, rsdp, &info, err), 0);
	CHECK_EQ(info.revision, 0);
	CHECK_EQ(info.ncpus, 4);
	CHECK(info.have_fadt);
	CHECK(info.s5_valid);
	CHECK_STR(info.warnings, "");
	CHECK(s.fm.max_len < 1000);
	fm_free(&s.fm);
}

/* RSDT and XSDT list different MADTs: 2 CPUs vs 3. */
static void two_roots(struct sys *s, uint8_t rev, bool with_xsdt)
{
	struct bb m2, m3;
	uint64_t madt2, madt3, ent[2];

	fm_init(&s->fm);
	madt_start(&m2, 0xfee00000);
	madt_lapic(&m2, 0, 0, 1);
	madt_lapic(&m2, 1, 1, 1);
	madt2 = put_table(&s->fm, "APIC", 1, &m2);
	madt_start(&m3, 0xfee00000);
	for (int i = 0; i < 3; i++)
		madt_lapic(&m3, i, i, 1);
	madt3 = put_table(&s->fm, "APIC", 1, &m3);
	ent[0] = madt2;
	s->rsdt = put_root(&s->fm, false, ent, 1);
	ent[0] = madt3;
	ent[1] = 0;
	s->xsdt = with_xsdt ? put_root(&s->fm, true, ent, 1) : 0;
	s->rsdp = put_rsdp(&s->fm, rev, s->rsdt, s->xsdt);
}

TEST(xsdt_preferred_over_rsdt)
{
	struct sys s;
	struct acpi_info info;
	char err[128];

	two_roots(&s, 2, true);
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), 0);
	CHECK_EQ(info.ncpus, 3);
	CHECK_HAS(info.warnings, "no FADT");
	CHECK(!info.have_fadt);
	fm_free(&s.fm);
}

TEST(rev0_ignores_xsdt_even_if_present)
{
	struct sys s;
	struct acpi_info info;
	char err[128];

	two_roots(&s, 0, true);
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), 0);
	CHECK_EQ(info.ncpus, 2);
	fm_free(&s.fm);
}

TEST(rev2_with_zero_xsdt_uses_rsdt)
{
	struct sys s;
	struct acpi_info info;
	char err[128];

	two_roots(&s, 2, false);
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), 0);
	CHECK_EQ(info.ncpus, 2);
	fm_free(&s.fm);
}

TEST(damaged_xsdt_falls_back_to_rsdt)
{
	struct sys s;
	struct acpi_info info;
	char err[128];

	two_roots(&s, 2, true);
	fm_ptr(&s.fm, s.xsdt)[40] ^= 1;
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), 0);
	CHECK_EQ(info.ncpus, 2);
	CHECK_HAS(info.warnings, "XSDT");
	CHECK_HAS(info.warnings, "bad checksum, using RSDT");
	fm_free(&s.fm);
}

TEST(damaged_xsdt_without_rsdt_is_fatal)
{
	struct sys s;
	struct acpi_info info;
	char err[128];

	two_roots(&s, 2, true);
	memcpy(fm_ptr(&s.fm, s.xsdt), "XSDX", 4);
	rsdp_fill(fm_ptr(&s.fm, s.rsdp), 2, 0, s.xsdt);
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), ACPI_E_ROOT);
	CHECK_HAS(err, "wrong signature");
	CHECK_EQ(info.ncpus, 0);
	fm_free(&s.fm);
}

TEST(rsdt_unmapped_is_fatal)
{
	struct fakemem fm;
	struct acpi_info info;
	char err[128];
	uint64_t rsdp;

	fm_init(&fm);
	rsdp = put_rsdp(&fm, 0, 0x1000, 0);
	CHECK_EQ(fm_parse(&fm, rsdp, &info, err), ACPI_E_ROOT);
	CHECK_HAS(err, "RSDT@0x1000 not mapped");
	rsdp = put_rsdp(&fm, 0, 0, 0);
	CHECK_EQ(fm_parse(&fm, rsdp, &info, err), ACPI_E_ROOT);
	CHECK_HAS(err, "no RSDT or XSDT");
	fm_free(&fm);
}

/* ---- RSDP validation ---- */

TEST(rsdp_bad_signature_is_fatal)
{
	struct sys s;
	struct acpi_info info;
	char err[128];

	sys_std(&s);
	fm_ptr(&s.fm, s.rsdp)[3] = 'x';
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), ACPI_E_RSDP);
	CHECK_HAS(err, "bad signature");
	CHECK_EQ(info.ncpus, 0);
	CHECK(!info.have_fadt);
	fm_free(&s.fm);
}

TEST(rsdp_bad_checksum_is_fatal)
{
	struct sys s;
	struct acpi_info info;
	char err[128];

	sys_std(&s);
	fm_ptr(&s.fm, s.rsdp)[8]++;
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), ACPI_E_RSDP);
	CHECK_HAS(err, "bad checksum");
	fm_free(&s.fm);
}

TEST(rsdp_bad_extended_checksum_is_fatal)
{
	struct sys s;
	struct acpi_info info;
	char err[128];

	sys_std(&s);
	fm_ptr(&s.fm, s.rsdp)[32]++;
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), ACPI_E_RSDP);
	CHECK_HAS(err, "extended checksum");
	fm_free(&s.fm);
}

TEST(rsdp_huge_length_rejected_before_mapping)
{
	struct sys s;
	struct acpi_info info;
	char err[128];
	uint8_t *r;

	sys_std(&s);
	r = fm_ptr(&s.fm, s.rsdp);
	w32(r + 20, 0xffffffff);
	r[32] = 0;
	r[32] = -sum8(r, 36);
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), ACPI_E_RSDP);
	CHECK_HAS(err, "bad length");
	CHECK(s.fm.max_len <= 36);
	w32(r + 20, 20);
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), ACPI_E_RSDP);
	fm_free(&s.fm);
}

TEST(rsdp_unmapped_is_fatal)
{
	struct fakemem fm;
	struct acpi_info info;
	char err[128];

	fm_init(&fm);
	CHECK_EQ(fm_parse(&fm, 0xe0000, &info, err), ACPI_E_RSDP);
	CHECK_HAS(err, "not mapped");
	CHECK_EQ(fm_parse(&fm, UINT64_MAX - 4, &info, err), ACPI_E_RSDP);
	CHECK(!fm.wrapped);
	CHECK_EQ(fm_parse(&fm, 0, &info, err), ACPI_E_RSDP);
	fm_free(&fm);
}

TEST(bad_arguments_and_small_error_buffers)
{
	struct fakemem fm;
	struct acpi_info info;
	char err[8];

	fm_init(&fm);
	CHECK_EQ(acpi_parse(0xe0000, NULL, &fm, &info, err, sizeof(err)), ACPI_E_ARG);
	CHECK_EQ(acpi_parse(0xe0000, fm_map, &fm, NULL, NULL, 0), ACPI_E_ARG);
	memset(err, 'x', sizeof(err));
	CHECK_EQ(acpi_parse(0xe0000, fm_map, &fm, &info, err, sizeof(err)), ACPI_E_RSDP);
	CHECK_EQ(strnlen(err, sizeof(err)), 7);
	CHECK_STR(err, "RSDP...");
	CHECK_EQ(acpi_parse(0xe0000, fm_map, &fm, &info, NULL, 0), ACPI_E_RSDP);
	CHECK_EQ(acpi_parse(0xe0000, fm_map, &fm, &info, err, 1), ACPI_E_RSDP);
	CHECK_STR(err, "");
	fm_free(&fm);
}

TEST(failed_parse_leaves_output_initialised)
{
	struct fakemem fm;
	struct acpi_info info, zero;
	char err[128];

	fm_init(&fm);
	CHECK_EQ(fm_parse(&fm, 0xe0000, &info, err), ACPI_E_RSDP);
	memset(&zero, 0, sizeof(zero));
	CHECK(!memcmp(&info, &zero, sizeof(info)));
	fm_free(&fm);
}

/* ---- MADT ---- */

static int parse_madt(const struct bb *m, struct acpi_info *info)
{
	struct sys s;
	char err[128];
	int ret;

	sys_build(&s, 2, m, NULL, 0, 0);
	ret = fm_parse(&s.fm, s.rsdp, info, err);
	fm_free(&s.fm);
	return ret;
}

TEST(x2apic_entries_and_type0_duplicates)
{
	struct bb m;
	struct acpi_info info;

	madt_start(&m, 0xfee00000);
	madt_lapic(&m, 0, 0, 1);
	madt_lapic(&m, 1, 1, 1);
	madt_x2apic(&m, 0x100, 10, 1);
	madt_x2apic(&m, 1, 1, 1);		/* the type-0 CPU again */
	madt_x2apic(&m, 0x101, 11, 1);
	madt_x2apic(&m, 0x102, 12, 0);		/* disabled */
	madt_x2apic(&m, 0x103, 13, 2);		/* online capable only */
	CHECK_EQ(parse_madt(&m, &info), 0);
	CHECK_EQ(info.ncpus, 4);
	CHECK_EQ(info.cpus[0].apic_id, 0);
	CHECK(!info.cpus[1].x2apic_entry);
	CHECK_EQ(info.cpus[2].apic_id, 0x100);
	CHECK_EQ(info.cpus[2].uid, 10);
	CHECK(info.cpus[2].x2apic_entry);
	CHECK_EQ(info.cpus[3].apic_id, 0x101);
	CHECK_EQ(info.cpus[3].uid, 11);
	CHECK_EQ(info.cpus_disabled, 2);
	CHECK_STR(info.warnings, "");
}

TEST(x2apic_listed_before_lapic_dedupes)
{
	struct bb m;
	struct acpi_info info;

	madt_start(&m, 0xfee00000);
	madt_x2apic(&m, 3, 7, 1);
	madt_lapic(&m, 7, 3, 1);
	CHECK_EQ(parse_madt(&m, &info), 0);
	CHECK_EQ(info.ncpus, 1);
	CHECK_EQ(info.cpus[0].apic_id, 3);
	CHECK(info.cpus[0].x2apic_entry);
	CHECK_STR(info.warnings, "");
}

TEST(duplicate_apic_ids_deduped_with_warning)
{
	struct bb m;
	struct acpi_info info;

	madt_start(&m, 0xfee00000);
	madt_lapic(&m, 0, 0, 1);
	madt_lapic(&m, 1, 1, 1);
	madt_lapic(&m, 2, 1, 1);
	madt_x2apic(&m, 0x200, 3, 1);
	madt_x2apic(&m, 0x200, 4, 1);
	madt_lapic(&m, 5, 2, 1);
	CHECK_EQ(parse_madt(&m, &info), 0);
	CHECK_EQ(info.ncpus, 4);
	CHECK_EQ(info.cpus[1].uid, 1);
	CHECK_EQ(info.cpus[2].apic_id, 0x200);
	CHECK_EQ(info.cpus[2].uid, 3);
	CHECK_EQ(info.cpus[3].apic_id, 2);
	CHECK_HAS(info.warnings, "duplicate APIC ID 1");
	CHECK_HAS(info.warnings, "duplicate APIC ID 512");
}

TEST(invalid_apic_ids_skipped)
{
	struct bb m;
	struct acpi_info info;

	madt_start(&m, 0xfee00000);
	madt_lapic(&m, 0, 0xff, 1);
	madt_x2apic(&m, 0xffffffff, 1, 1);
	madt_lapic(&m, 2, 4, 1);
	CHECK_EQ(parse_madt(&m, &info), 0);
	CHECK_EQ(info.ncpus, 1);
	CHECK_EQ(info.cpus[0].apic_id, 4);
	CHECK_HAS(info.warnings, "0xff skipped");
	CHECK_HAS(info.warnings, "0xffffffff skipped");
}

TEST(bad_madt_checksum_skipped_with_warning)
{
	struct sys s;
	struct acpi_info info;
	char err[128];

	sys_std(&s);
	fm_ptr(&s.fm, s.madt)[50] ^= 0x40;
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), 0);
	CHECK_EQ(info.ncpus, 0);
	CHECK_EQ(info.nioapics, 0);
	CHECK_HAS(info.warnings, "APIC@0x");
	CHECK_HAS(info.warnings, "bad checksum");
	CHECK_HAS(info.warnings, "no MADT");
	CHECK(info.have_fadt);
	CHECK(info.s5_valid);
	fm_free(&s.fm);
}

TEST(bad_first_madt_falls_to_next_and_extra_is_noted)
{
	struct bb m1, m2, m3;
	struct fakemem fm;
	struct acpi_info info;
	char err[128];
	uint64_t ent[3], rsdp;

	fm_init(&fm);
	madt_start(&m1, 0xfee00000);
	madt_lapic(&m1, 0, 9, 1);
	madt_start(&m2, 0xfee00000);
	madt_lapic(&m2, 0, 1, 1);
	madt_lapic(&m2, 1, 2, 1);
	madt_start(&m3, 0xfee00000);
	madt_lapic(&m3, 0, 5, 1);
	ent[0] = put_table(&fm, "APIC", 1, &m1);
	fm_ptr(&fm, ent[0])[9]++;
	ent[1] = put_table(&fm, "APIC", 1, &m2);
	ent[2] = put_table(&fm, "APIC", 1, &m3);
	rsdp = put_rsdp(&fm, 0, put_root(&fm, false, ent, 3), 0);
	CHECK_EQ(fm_parse(&fm, rsdp, &info, err), 0);
	CHECK_EQ(info.ncpus, 2);
	CHECK_EQ(info.cpus[0].apic_id, 1);
	CHECK_HAS(info.warnings, "bad checksum");
	CHECK_HAS(info.warnings, "extra APIC");
	fm_free(&fm);
}

TEST(madt_entry_length_zero_stops_walk)
{
	struct bb m;
	struct acpi_info info;

	for (uint8_t bad = 0; bad < 2; bad++) {
		madt_start(&m, 0xfee00000);
		madt_lapic(&m, 0, 0, 1);
		bb_u8(&m, 0);
		bb_u8(&m, bad);
		bb_u16(&m, 0x0101);
		bb_u32(&m, 1);
		madt_lapic(&m, 2, 2, 1);
		CHECK_EQ(parse_madt(&m, &info), 0);
		CHECK_EQ(info.ncpus, 1);
		CHECK_HAS(info.warnings, "MADT entry at +52 malformed");
	}
}

TEST(madt_entry_overrunning_table_stops_walk)
{
	struct bb m;
	struct acpi_info info;

	madt_start(&m, 0xfee00000);
	madt_lapic(&m, 0, 0, 1);
	madt_lapic(&m, 1, 1, 1);
	m.n -= 4;			/* the second entry's flags fall off the end */
	CHECK_EQ(parse_madt(&m, &info), 0);
	CHECK_EQ(info.ncpus, 1);
	CHECK_HAS(info.warnings, "malformed");

	madt_start(&m, 0xfee00000);
	madt_lapic(&m, 0, 0, 1);
	madt_lapic(&m, 1, 1, 1);
	m.n -= 1;			/* one byte short */
	CHECK_EQ(parse_madt(&m, &info), 0);
	CHECK_EQ(info.ncpus, 1);
	CHECK_HAS(info.warnings, "malformed");

	madt_start(&m, 0xfee00000);
	madt_lapic(&m, 0, 0, 1);
	bb_u8(&m, 0);			/* a lone type byte */
	CHECK_EQ(parse_madt(&m, &info), 0);
	CHECK_EQ(info.ncpus, 1);
	CHECK_HAS(info.warnings, "malformed");
}

TEST(madt_short_entry_skipped_walk_continues)
{
	struct bb m;
	struct acpi_info info;

	madt_start(&m, 0xfee00000);
	bb_u8(&m, 0); bb_u8(&m, 6); bb_u8(&m, 0); bb_u8(&m, 7); bb_u16(&m, 1);
	bb_u8(&m, 1); bb_u8(&m, 8); bb_u8(&m, 0); bb_u8(&m, 0); bb_u32(&m, 0xfec00000);
	bb_u8(&m, 0x7f); bb_u8(&m, 3); bb_u8(&m, 0);	/* unknown type, odd length */
	madt_lapic(&m, 1, 1, 1);
	CHECK_EQ(parse_madt(&m, &info), 0);
	CHECK_EQ(info.ncpus, 1);
	CHECK_EQ(info.cpus[0].apic_id, 1);
	CHECK_EQ(info.nioapics, 0);
	CHECK_HAS(info.warnings, "MADT type 0 entry too short (6)");
	CHECK_HAS(info.warnings, "MADT type 1 entry too short (8)");
}

TEST(madt_too_short_for_lapic_address)
{
	struct bb m;
	struct acpi_info info;

	bb_init(&m);
	bb_u32(&m, 0xfee00000);
	CHECK_EQ(parse_madt(&m, &info), 0);
	CHECK_EQ(info.lapic_addr, 0);
	CHECK_HAS(info.warnings, "MADT too short (40)");
}

TEST(more_cpus_than_max_are_counted_as_dropped)
{
	struct bb m;
	struct acpi_info info;

	madt_start(&m, 0xfee00000);
	for (int i = 0; i < 100; i++)
		madt_lapic(&m, i, i, 1);
	for (int i = 0; i < 30; i++)
		madt_x2apic(&m, 0x1000 + i, 100 + i, 1);
	madt_lapic(&m, 200, 200, 0);
	CHECK_EQ(parse_madt(&m, &info), 0);
	CHECK_EQ(info.ncpus, ACPI_MAX_CPUS);
	CHECK_EQ(info.cpus_dropped, 100 + 30 - ACPI_MAX_CPUS);
	CHECK_EQ(info.cpus_disabled, 1);
	for (uint32_t i = 0; i < ACPI_MAX_CPUS; i++)
		CHECK_EQ(info.cpus[i].apic_id, i);
	CHECK_STR(info.warnings, "");
}

TEST(lapic_override_and_ioapic_limit)
{
	struct bb m;
	struct acpi_info info;

	madt_start(&m, 0xfee00000);
	madt_lapic(&m, 0, 0, 1);
	for (int i = 0; i < 10; i++)
		madt_ioapic(&m, 2 + i, 0xfec00000 + 0x1000 * i, 24 * i);
	madt_override(&m, 0x1234fee00000ull);
	CHECK_EQ(parse_madt(&m, &info), 0);
	CHECK_EQ(info.lapic_addr, 0x1234fee00000ull);
	CHECK_EQ(info.nioapics, ACPI_MAX_IOAPICS);
	CHECK_EQ(info.ioapics[7].id, 9);
	CHECK_EQ(info.ioapics[7].addr, 0xfec07000);
	CHECK_EQ(info.ioapics[7].gsi_base, 168);
	CHECK_HAS(info.warnings, "IOAPIC 10 dropped");
	CHECK_HAS(info.warnings, "IOAPIC 11 dropped");
}

TEST(misaligned_tables_parse)
{
	struct bb m;
	struct fakemem fm;
	struct acpi_info info;
	char err[128];
	uint64_t ent[2], rsdp;

	fm_init(&fm);
	madt_start(&m, 0xfee00000);
	madt_x2apic(&m, 0x12345678, 0x9abcdef0, 1);
	madt_override(&m, 0x0102030405060708ull);
	fm_alloc(&fm, 3, 1);
	ent[0] = put_table_at(&fm, "APIC", 1, m.b, m.n, 1);
	ent[1] = 0;
	CHECK(ent[0] % 4);
	rsdp = put_rsdp(&fm, 0, put_root(&fm, false, ent, 1), 0);
	CHECK_EQ(fm_parse(&fm, rsdp, &info, err), 0);
	CHECK_EQ(info.ncpus, 1);
	CHECK_EQ(info.cpus[0].apic_id, 0x12345678);
	CHECK_EQ(info.cpus[0].uid, 0x9abcdef0);
	CHECK_EQ(info.lapic_addr, 0x0102030405060708ull);
	fm_free(&fm);
}

/* ---- table lengths and addresses ---- */

TEST(table_length_huge_or_tiny_rejected_without_mapping)
{
	struct sys s;
	struct acpi_info info;
	char err[128];
	uint8_t *t;

	sys_std(&s);
	t = fm_ptr(&s.fm, s.madt);
	w32(t + 4, 0xffffffff);
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), 0);
	CHECK_EQ(info.ncpus, 0);
	CHECK_HAS(info.warnings, "bad length");
	CHECK(s.fm.max_len <= ACPI_MAX_TABLE_LEN);
	CHECK(s.fm.max_len < 4096);
	w32(t + 4, ACPI_MAX_TABLE_LEN + 1);
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), 0);
	CHECK_HAS(info.warnings, "bad length");
	w32(t + 4, 35);
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), 0);
	CHECK_HAS(info.warnings, "bad length");
	/* In bounds but beyond the end of memory: the map call fails. */
	w32(t + 4, ACPI_MAX_TABLE_LEN);
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), 0);
	CHECK_HAS(info.warnings, "APIC@0x");
	CHECK_HAS(info.warnings, "not mapped");
	CHECK(info.have_fadt);
	fm_free(&s.fm);
}

TEST(root_entries_outside_memory_skipped)
{
	struct sys s;
	struct acpi_info info;
	char err[128];
	uint64_t ent[5], rsdp;

	sys_std(&s);
	ent[0] = 0x1000;
	ent[1] = UINT64_MAX - 8;
	ent[2] = s.fm.base + s.fm.size - 10;	/* header straddles the end */
	ent[3] = s.madt;
	ent[4] = s.fadt;
	rsdp = put_rsdp(&s.fm, 2, 0, put_root(&s.fm, true, ent, 5));
	CHECK_EQ(fm_parse(&s.fm, rsdp, &info, err), 0);
	CHECK(!s.fm.wrapped);
	CHECK_EQ(info.ncpus, 4);
	CHECK(info.s5_valid);
	CHECK_HAS(info.warnings, "root entry 0 @0x1000 not mapped");
	CHECK_HAS(info.warnings, "root entry 1 @0xfffffffffffffff7 not mapped");
	CHECK_HAS(info.warnings, "root entry 2");
	fm_free(&s.fm);
}

TEST(root_entries_capped_and_repeats_not_rechecked)
{
	struct sys s;
	struct acpi_info info;
	char err[128];
	static uint64_t ent[1000];
	uint64_t rsdp;

	sys_std(&s);
	for (int i = 0; i < 1000; i++)
		ent[i] = s.madt;
	rsdp = put_rsdp(&s.fm, 2, 0, put_root(&s.fm, true, ent, 1000));
	s.fm.nmaps = 0;
	CHECK_EQ(fm_parse(&s.fm, rsdp, &info, err), 0);
	CHECK_EQ(info.ncpus, 4);
	CHECK_HAS(info.warnings, "root table has 1000 entries, using 256");
	CHECK_HAS(info.warnings, "extra APIC");
	/* One header map per entry, and a body map only for the first. */
	CHECK(s.fm.nmaps <= 256 + 10);
	fm_free(&s.fm);
}

TEST(warnings_never_overflow)
{
	struct bb m;
	struct acpi_info info;
	size_t n;

	madt_start(&m, 0xfee00000);
	for (int i = 0; i < 200; i++)
		madt_lapic(&m, i, 0x42, 1);
	CHECK_EQ(parse_madt(&m, &info), 0);
	CHECK_EQ(info.ncpus, 1);
	n = strnlen(info.warnings, sizeof(info.warnings));
	CHECK_EQ(n, sizeof(info.warnings) - 1);
	CHECK_STR(info.warnings + n - 3, "...");
	CHECK(!strncmp(info.warnings, "duplicate APIC ID 66; duplicate", 31));
}

/* ---- FADT ---- */

static int parse_fadt(const uint8_t *img, uint32_t len, struct acpi_info *info)
{
	struct fakemem fm;
	struct bb d;
	char err[128];
	uint64_t ent[1], rsdp;
	uint8_t f[276];
	int ret;

	fm_init(&fm);
	bb_init(&d);
	bb_bytes(&d, (const uint8_t[]){ S5_BYTES }, 14);
	memcpy(f, img, sizeof(f));
	/* DSDT and X_DSDT hold offsets into memory; make them addresses. */
	if (r32(f + 40))
		w32(f + 40, r32(f + 40) + fm.base);
	if (len >= 148 && r32(f + 140))
		w64(f + 140, r32(f + 140) + fm.base);
	put_table_at(&fm, "DSDT", 1, d.b, d.n, 1);	/* lands at base + 64 */
	put_table_at(&fm, "DSDT", 1, d.b, d.n, 1);	/* base + 64 + 50 */
	ent[0] = put_table_at(&fm, "FACP", 3, f, len, 16);
	rsdp = put_rsdp(&fm, 0, put_root(&fm, false, ent, 1), 0);
	ret = fm_parse(&fm, rsdp, info, err);
	fm_free(&fm);
	return ret;
}

#define DSDT1	64		/* offsets of the DSDTs parse_fadt() places */
#define DSDT2	(64 + 36 + 14)

TEST(fadt_x_fields_preferred_over_32bit)
{
	struct acpi_info info;
	uint8_t f[276];

	fadt_image(f, DSDT1);
	w64(f + 176, 0x704);			/* X_PM1a_CNT */
	f[184] = 1;
	w64(f + 188, 0x705);			/* X_PM1b_CNT, no 32-bit one */
	w64(f + 140, DSDT2);
	CHECK_EQ(parse_fadt(f, 244, &info), 0);
	CHECK_EQ(info.pm1a_cnt, 0x704);
	CHECK_EQ(info.pm1b_cnt, 0x705);
	CHECK_EQ(info.dsdt, MEM_BASE + DSDT2);
	CHECK(info.s5_valid);
	CHECK_HAS(info.warnings, "PM1a_CNT 0x604 != X_PM1a_CNT 0x704, using X_");
	CHECK_HAS(info.warnings, "DSDT 0x7ff00040 != X_DSDT 0x7ff00072, using X_");
}

TEST(fadt_x_gas_outside_io_space_keeps_32bit)
{
	struct acpi_info info;
	uint8_t f[276];

	fadt_image(f, DSDT1);
	f[172] = 0;				/* X_PM1a_CNT in memory space */
	w64(f + 176, 0x1604);
	w64(f + 212, 0x10000);			/* X_PM_TMR past the I/O space */
	CHECK_EQ(parse_fadt(f, 244, &info), 0);
	CHECK_EQ(info.pm1a_cnt, 0x604);
	CHECK_EQ(info.pm_tmr_blk, 0x608);
	CHECK_HAS(info.warnings, "X_PM1a_CNT not an I/O port, using 0x604");
	CHECK_HAS(info.warnings, "X_PM_TMR not an I/O port");
}

TEST(fadt_rev1_short_table)
{
	struct acpi_info info;
	uint8_t f[276];

	fadt_image(f, DSDT1);
	w64(f + 140, DSDT2);			/* beyond length 116: unseen */
	CHECK_EQ(parse_fadt(f, 116, &info), 0);
	CHECK(info.have_fadt);
	CHECK_EQ(info.pm1a_cnt, 0x604);
	CHECK_EQ(info.pm_tmr_blk, 0x608);
	CHECK(info.pm_tmr_32bit);
	CHECK_EQ(info.dsdt, MEM_BASE + DSDT1);
	CHECK(!info.reset_valid);
	CHECK_HAS(info.warnings, "FADT too short for RESET_REG");
	CHECK(info.s5_valid);
	CHECK_EQ(info.s5_typ_a, 5);
}

TEST(fadt_tiny_table_has_nothing)
{
	struct acpi_info info;
	uint8_t f[276];

	fadt_image(f, DSDT1);
	CHECK_EQ(parse_fadt(f, 40, &info), 0);
	CHECK(info.have_fadt);
	CHECK_EQ(info.pm1a_cnt, 0);
	CHECK_EQ(info.dsdt, 0);
	CHECK(!info.s5_valid);
	CHECK_HAS(info.warnings, "FADT has no DSDT");
}

TEST(fadt_reset_register_rules)
{
	struct acpi_info info;
	uint8_t f[276];

	fadt_image(f, DSDT1);
	f[116] = 0;				/* memory space */
	w64(f + 120, 0xfed00000);
	CHECK_EQ(parse_fadt(f, 244, &info), 0);
	CHECK(info.reset_valid);
	CHECK_EQ(info.reset_space, 0);
	CHECK_EQ(info.reset_addr, 0xfed00000);

	f[116] = 2;				/* PCI config space */
	CHECK_EQ(parse_fadt(f, 244, &info), 0);
	CHECK(!info.reset_valid);
	CHECK_HAS(info.warnings, "RESET_REG space 2");

	fadt_image(f, DSDT1);
	w32(f + 112, 0x84a5 & ~(1u << 10));
	CHECK_EQ(parse_fadt(f, 244, &info), 0);
	CHECK(!info.reset_valid);
	CHECK_STR(info.warnings, "no MADT");

	CHECK_EQ(parse_fadt(f, 129, &info), 0);	/* RESET_VALUE is the last byte */
	CHECK(!info.reset_valid);
	fadt_image(f, DSDT1);
	CHECK_EQ(parse_fadt(f, 129, &info), 0);
	CHECK(info.reset_valid);
	CHECK_EQ(info.reset_value, 0x0f);
	CHECK_EQ(parse_fadt(f, 128, &info), 0);
	CHECK(!info.reset_valid);
}

TEST(fadt_pm_timer_flags)
{
	struct acpi_info info;
	uint8_t f[276];

	fadt_image(f, DSDT1);
	w32(f + 112, 0x84a5);			/* no TMR_VAL_EXT */
	CHECK_EQ(parse_fadt(f, 244, &info), 0);
	CHECK_EQ(info.pm_tmr_blk, 0x608);
	CHECK(!info.pm_tmr_32bit);

	fadt_image(f, DSDT1);
	f[91] = 0;				/* PM_TMR_LEN 0: no timer */
	CHECK_EQ(parse_fadt(f, 244, &info), 0);
	CHECK_EQ(info.pm_tmr_blk, 0);
	CHECK(!info.pm_tmr_32bit);
}

TEST(dsdt_damaged_keeps_address_loses_s5)
{
	struct sys s;
	struct acpi_info info;
	char err[128];

	sys_std(&s);
	fm_ptr(&s.fm, s.dsdt)[40]++;
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), 0);
	CHECK_EQ(info.dsdt, s.dsdt);
	CHECK(!info.s5_valid);
	CHECK_HAS(info.warnings, "DSDT@0x");
	CHECK_HAS(info.warnings, "bad checksum");

	memcpy(fm_ptr(&s.fm, s.dsdt), "SSDT", 4);
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), 0);
	CHECK(!info.s5_valid);
	CHECK_HAS(info.warnings, "wrong signature");
	fm_free(&s.fm);
}

/* ---- \_S5_ ---- */

static bool s5_parse(const uint8_t *aml, size_t n, struct acpi_info *info)
{
	struct sys s;
	char err[128];
	int ret;

	sys_build(&s, 2, NULL, aml, n, 0);
	ret = fm_parse(&s.fm, s.rsdp, info, err);
	fm_free(&s.fm);
	return ret == 0;
}

#define S5_CASE(name, a, b, ...)					\
	TEST(name)							\
	{								\
		static const uint8_t aml[] = { __VA_ARGS__ };		\
		struct acpi_info info;					\
									\
		CHECK(s5_parse(aml, sizeof(aml), &info));		\
		CHECK(info.s5_valid);					\
		CHECK_EQ(info.s5_typ_a, a);				\
		CHECK_EQ(info.s5_typ_b, b);				\
		CHECK_STR(info.warnings, "");				\
	}

#define S5_BAD(name, ...)						\
	TEST(name)							\
	{								\
		static const uint8_t aml[] = { __VA_ARGS__ };		\
		struct acpi_info info;					\
									\
		CHECK(s5_parse(aml, sizeof(aml), &info));		\
		CHECK(!info.s5_valid);					\
		CHECK_EQ(info.s5_typ_a, 0);				\
		CHECK_EQ(info.s5_typ_b, 0);				\
		CHECK_HAS(info.warnings, "no usable \\_S5_ in DSDT");	\
	}

S5_CASE(s5_byte_prefix, 5, 6,
	0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0a, 0x05, 0x0a, 0x06)
S5_CASE(s5_zero_and_one_ops, 0, 1,
	0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x01, 0x00, 0x00)
S5_CASE(s5_root_prefix, 7, 3,
	0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0a, 0x07, 0x0a, 0x03)
S5_CASE(s5_raw_bytes, 5, 7,
	0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x05, 0x07)
S5_CASE(s5_word_and_dword_prefix, 5, 6,
	0x08, '_', 'S', '5', '_', 0x12, 0x0a, 0x02, 0x0b, 0x05, 0x00, 0x0c, 0x06, 0, 0, 0)
S5_CASE(s5_at_start_of_aml_after_scope, 2, 2,
	0x10, 0x10, '\\', 0x00, 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0a, 0x02, 0x0a, 0x02)
/* "_S5_" as an argument, then a damaged declaration, then the real one. */
S5_CASE(s5_skips_non_declarations, 5, 5,
	0x70, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x03, 0x03,
	'\\', '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x03, 0x03,
	0x08, '_', 'S', '5', '_', 0x13, 0x04, 0x02, 0x03, 0x03,
	0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x01, 0x03, 0x03,
	0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x0a, 0x03,
	0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x09, 0x03,
	0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0a, 0x05, 0x0a, 0x05)
S5_BAD(s5_missing, 0x08, '_', 'S', '4', '_', 0x12, 0x06, 0x02, 0x0a, 0x05, 0x0a, 0x06)
S5_BAD(s5_single_element, 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x01, 0x0a, 0x05)
S5_BAD(s5_ones_op, 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0xff, 0x0a, 0x05)
/* PkgLength 3 ends the package inside the first element. */
S5_BAD(s5_pkglength_too_small, 0x08, '_', 'S', '5', '_', 0x12, 0x03, 0x02, 0x0a, 0x05, 0x0a, 0x05)
/* A root prefix at the very start has no NameOp before it, only the header. */
TEST(s5_root_prefix_at_start_of_aml)
{
	static const uint8_t aml[] = { '\\', '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x01, 0x01 };
	struct sys s;
	struct acpi_info info;
	char err[128];
	uint8_t *d;

	sys_build(&s, 2, NULL, aml, sizeof(aml), 0);
	d = fm_ptr(&s.fm, s.dsdt);
	d[35] = 0x08;			/* creator revision's top byte looks like NameOp */
	fix_sum(d);
	CHECK_EQ(fm_parse(&s.fm, s.rsdp, &info, err), 0);
	CHECK(!info.s5_valid);
	CHECK_HAS(info.warnings, "no usable \\_S5_ in DSDT");
	fm_free(&s.fm);
}

TEST(s5_multi_byte_pkglength)
{
	uint8_t aml[400];
	struct acpi_info info;
	size_t pkglen = 2 + 1 + 4 + 300;	/* PkgLength, NumElements, 2 elements, padding */

	memset(aml, 0, sizeof(aml));
	memcpy(aml, (const uint8_t[]){ 0x08, '_', 'S', '5', '_', 0x12 }, 6);
	aml[6] = 0x40 | (pkglen & 0x0f);
	aml[7] = pkglen >> 4;
	aml[8] = 0x20;
	memcpy(aml + 9, (const uint8_t[]){ 0x0a, 0x04, 0x0a, 0x03 }, 4);
	CHECK(s5_parse(aml, 6 + 1 + pkglen, &info));
	CHECK(info.s5_valid);
	CHECK_EQ(info.s5_typ_a, 4);
	CHECK_EQ(info.s5_typ_b, 3);

	pkglen = 16;				/* 2-byte form of a small length */
	aml[6] = 0x40;
	aml[7] = 0x01;
	CHECK(s5_parse(aml, 6 + 1 + pkglen, &info));
	CHECK(info.s5_valid);
	CHECK_EQ(info.s5_typ_a, 4);

	aml[6] = 0xc0;				/* 3 following bytes, 4-byte form */
	aml[7] = 0x00;
	aml[8] = 0x01;
	aml[9] = 0x00;
	aml[10] = 0x02;
	memcpy(aml + 11, (const uint8_t[]){ 0x01, 0x00 }, 2);
	CHECK(s5_parse(aml, 20, &info));
	CHECK(info.s5_valid);
	CHECK_EQ(info.s5_typ_a, 1);
	CHECK_EQ(info.s5_typ_b, 0);
}

/* Cut the AML after every byte: valid exactly when both elements fit. */
TEST(s5_truncated_aml)
{
	static const uint8_t aml[] = {
		0x08, '\\', '_', 'S', '5', '_', 0x12, 0x0a, 0x04,
		0x0b, 0x05, 0x00, 0x0c, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	const size_t need = 17;		/* through the DWordPrefix value */
	struct acpi_info info;

	for (size_t n = 0; n <= sizeof(aml); n++) {
		CHECK(s5_parse(aml, n, &info));
		if (info.s5_valid != (n >= need)) {
			test_fail(__FILE__, __LINE__, "cut at %zu: s5_valid %d", n, info.s5_valid);
			return;
		}
		if (info.s5_valid) {
			CHECK_EQ(info.s5_typ_a, 5);
			CHECK_EQ(info.s5_typ_b, 6);
		}
	}
}

/* ---- recorded from QEMU 7.2 ---- */

struct recmem {
	const uint8_t *rec;
	size_t len;
};

/* Records are <u64 phys><u32 len><bytes>; a range must lie inside one. */
static const void *rec_map(void *ctx, uint64_t phys, size_t len)
{
	struct recmem *rm = ctx;

	for (size_t i = 0; i + 12 <= rm->len;) {
		uint64_t a = r32(rm->rec + i) | (uint64_t)r32(rm->rec + i + 4) << 32;
		uint32_t n = r32(rm->rec + i + 8);

		if (phys >= a && phys - a <= n && len <= n - (phys - a))
			return rm->rec + i + 12 + (phys - a);
		i += 12 + n;
	}
	return NULL;
}

static void check_qemu_common(const struct acpi_info *info, uint32_t enabled)
{
	CHECK_STR(info->oem_id, "BOCHS ");
	CHECK_EQ(info->ncpus, enabled);
	for (uint32_t i = 0; i < enabled; i++) {
		CHECK_EQ(info->cpus[i].apic_id, i);
		CHECK_EQ(info->cpus[i].uid, i);
	}
	CHECK_EQ(info->lapic_addr, 0xfee00000);
	CHECK_EQ(info->nioapics, 1);
	CHECK_EQ(info->ioapics[0].addr, 0xfec00000);
	CHECK(info->have_fadt);
	CHECK_EQ(info->pm1a_cnt, 0x604);
	CHECK_EQ(info->pm_tmr_blk, 0x608);
	CHECK(!info->pm_tmr_32bit);
	CHECK(info->s5_valid);
	CHECK_EQ(info->s5_typ_a, 0);
	CHECK_EQ(info->s5_typ_b, 0);
	CHECK_STR(info->warnings, "");
}

/* OVMF's ACPI 1.0 (RSDT) and ACPI 2.0 (XSDT) roots over QEMU's q35 tables. */
TEST(recorded_qemu_q35_ovmf_smp4)
{
	struct recmem rm = { rec_q35_ovmf, sizeof(rec_q35_ovmf) };
	const uint64_t rsdp[2] = { REC_Q35_OVMF_RSDP0, REC_Q35_OVMF_RSDP1 };
	struct acpi_info info;
	char err[128];

	for (int i = 0; i < 2; i++) {
		CHECK_EQ(acpi_parse(rsdp[i], rec_map, &rm, &info, err, sizeof(err)), 0);
		CHECK_EQ(info.revision, i ? 2 : 0);
		check_qemu_common(&info, 4);
		if (test_failed_current)
			return;
		CHECK_EQ(info.cpus_disabled, 0);
		CHECK(info.reset_valid);
		CHECK_EQ(info.reset_space, 1);
		CHECK_EQ(info.reset_addr, 0xcf9);
		CHECK_EQ(info.reset_value, 0x0f);
	}
}

/* SeaBIOS, i440fx, -smp 2,maxcpus=4: RSDT only, FADT rev 1, odd addresses. */
TEST(recorded_qemu_pc_seabios_smp2_maxcpus4)
{
	struct recmem rm = { rec_pc_seabios, sizeof(rec_pc_seabios) };
	struct acpi_info info;
	char err[128];

	CHECK_EQ(acpi_parse(REC_PC_SEABIOS_RSDP0, rec_map, &rm, &info, err, sizeof(err)), 0);
	CHECK_EQ(info.revision, 0);
	check_qemu_common(&info, 2);
	CHECK_EQ(info.cpus_disabled, 2);
	CHECK(!info.reset_valid);
}

/* ---- mutation ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state >> 11;
}

/* Flip bytes of each table, mostly keeping checksums valid so the damage is parsed. */
TEST(mutated_tables_never_crash_or_overrun)
{
	struct sys s;
	struct acpi_info info;
	char err[128];
	uint8_t *pristine;
	uint64_t tables[5];

	sys_std(&s);
	tables[0] = s.madt;
	tables[1] = s.fadt;
	tables[2] = s.dsdt;
	tables[3] = s.xsdt;
	tables[4] = s.rsdp;
	pristine = malloc(s.fm.brk);
	memcpy(pristine, s.fm.mem, s.fm.brk);
	for (int iter = 0; iter < 4000; iter++) {
		uint64_t phys = tables[rng() % 5];
		uint8_t *t = fm_ptr(&s.fm, phys);
		size_t len;
		int flips = 1 + rng() % 4;
		int ret;

		memcpy(s.fm.mem, pristine, s.fm.brk);
		len = phys == s.rsdp ? 36 : r32(t + 4);
		for (int k = 0; k < flips; k++)
			t[rng() % len] = rng() % 4 ? rng() : (uint8_t[]){ 0, 1, 2, 0xff }[rng() % 4];
		if (rng() % 8 && phys != s.rsdp && r32(t + 4) <= len)
			fix_sum_len(t, r32(t + 4));
		ret = fm_parse(&s.fm, s.rsdp, &info, err);
		CHECK(ret == 0 || ret == ACPI_E_RSDP || ret == ACPI_E_ROOT);
		CHECK(info.ncpus <= ACPI_MAX_CPUS);
		CHECK(info.nioapics <= ACPI_MAX_IOAPICS);
		CHECK(strnlen(info.warnings, sizeof(info.warnings)) < sizeof(info.warnings));
		CHECK(strnlen(err, 128) < 128);
		CHECK(!s.fm.wrapped);
		for (uint32_t i = 0; i < info.ncpus; i++)
			for (uint32_t j = 0; j < i; j++)
				CHECK(info.cpus[i].apic_id != info.cpus[j].apic_id);
		if (ret) {
			CHECK(err[0]);
			CHECK_EQ(info.ncpus, 0);
		}
	}
	free(pristine);
	fm_free(&s.fm);
}
