/* SPDX-License-Identifier: MIT */
/*
 * hv/load/acpi_build.c: the tables a guest is given.  Each table is checked
 * byte by byte where a field matters to the guest, and the blob is read back
 * twice more: by the project's own firmware-table parser (boot/acpi.c, as a
 * guest's ACPI code would walk it) and by ACPICA's disassembler (`iasl -d`,
 * from Debian's acpica-tools, which scripts/deps.sh installs: missing, it
 * fails the case rather than skip it).
 *
 * `test_acpi_build --dump DIR [NCPUS [pci]]` writes each table to DIR/NAME.dat.
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/acpi.h"
#include "hv/load/acpi_build.h"
#include "hv/core/guest_boot.h"
/* The framework's main() runs the cases; ours adds --dump. */
#define main run_cases
#include "tests/host/test.h"
#undef main

#define BUF_LEN		8192

static uint8_t buf[BUF_LEN];

struct tables {
	uint64_t gpa;
	size_t len;
	const uint8_t *rsdp, *xsdt, *fadt, *facs, *dsdt, *madt, *mcfg;
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

/* The table at @gpa, or NULL if it does not lie wholly inside the blob. */
static const uint8_t *at(const struct tables *t, uint64_t gpa, size_t minlen)
{
	if (gpa < t->gpa || gpa - t->gpa > t->len || t->len - (gpa - t->gpa) < minlen)
		return NULL;
	return buf + (gpa - t->gpa);
}

/* A table whose declared length fits the blob, signature @sig, summing to zero. */
static bool table_ok(const struct tables *t, const uint8_t *p, const char *sig)
{
	if (!p || memcmp(p, sig, 4))
		return false;
	if (!at(t, t->gpa + (uint64_t)(p - buf), rd32(p + 4)))
		return false;
	return sum(p, rd32(p + 4)) == 0;
}

/* Build at @gpa for @ncpus (with a PCI bus: @pci) and follow every pointer from the RSDP. */
static bool build_pci(struct tables *t, uint64_t gpa, unsigned int ncpus, bool pci)
{
	struct acpi_build_cfg cfg = { .gpa = gpa, .ncpus = ncpus, .pci = pci };

	memset(buf, 0xa5, sizeof(buf));
	*t = (struct tables){ .gpa = gpa };
	t->len = acpi_build(buf, sizeof(buf), &cfg);
	if (!t->len)
		return false;
	t->rsdp = buf;
	t->xsdt = at(t, rd64(buf + 24), 36);
	if (!table_ok(t, t->xsdt, "XSDT") || rd32(t->xsdt + 4) != 36 + (pci ? 3 : 2) * 8)
		return false;
	t->mcfg = pci ? at(t, rd64(t->xsdt + 52), 60) : NULL;
	if (pci && !table_ok(t, t->mcfg, "MCFG"))
		return false;
	t->fadt = at(t, rd64(t->xsdt + 36), 276);
	t->madt = at(t, rd64(t->xsdt + 44), 44);
	if (!table_ok(t, t->fadt, "FACP") || !table_ok(t, t->madt, "APIC"))
		return false;
	/* The FACS by FIRMWARE_CTRL below 4 GiB, else by X_FIRMWARE_CTRL: never both. */
	if (!rd32(t->fadt + 36) == !rd64(t->fadt + 132))
		return false;
	t->facs = at(t, rd32(t->fadt + 36) ? rd32(t->fadt + 36) : rd64(t->fadt + 132), 64);
	t->dsdt = at(t, rd64(t->fadt + 140), 36);
	return t->facs && table_ok(t, t->dsdt, "DSDT");
}

static bool build(struct tables *t, uint64_t gpa, unsigned int ncpus)
{
	return build_pci(t, gpa, ncpus, false);
}

TEST(rsdp_revision2_both_checksums_and_xsdt)
{
	struct tables t;

	CHECK(build(&t, GUEST_ACPI_BASE, 1));
	CHECK(!memcmp(t.rsdp, "RSD PTR ", 8));
	CHECK_EQ(sum(t.rsdp, 20), 0);
	CHECK_EQ(sum(t.rsdp, 36), 0);
	CHECK(!memcmp(t.rsdp + 9, "HVBARE", 6));
	CHECK_EQ(t.rsdp[15], 2);
	CHECK_EQ(rd32(t.rsdp + 16), 0);			/* no RSDT */
	CHECK_EQ(rd32(t.rsdp + 20), 36);
	CHECK_EQ(rd64(t.rsdp + 24), GUEST_ACPI_BASE + (uint64_t)(t.xsdt - buf));
	CHECK(t.len <= GUEST_ACPI_SIZE);
}

TEST(tables_aligned_with_oem_ids)
{
	struct tables t;

	/* A base that is only 16-byte aligned: the tables still land on 64-byte GPAs. */
	CHECK(build(&t, GUEST_ACPI_BASE + 0x30, 2));
	CHECK(t.rsdp == buf);
	const uint8_t *tabs[] = { t.xsdt, t.fadt, t.dsdt, t.madt };
	for (size_t i = 0; i < sizeof(tabs) / sizeof(tabs[0]); i++) {
		CHECK_EQ((t.gpa + (uint64_t)(tabs[i] - buf)) % 64, 0);
		CHECK(!memcmp(tabs[i] + 10, "HVBARE", 6));
		CHECK(!memcmp(tabs[i] + 16, "HVBAREVM", 8));
	}
	CHECK_EQ((t.gpa + (uint64_t)(t.facs - buf)) % 64, 0);
	/* Tables do not overlap: each ends before the next begins, the last at len. */
	CHECK(t.xsdt + 52 <= t.fadt && t.fadt + 276 <= t.facs && t.facs + 64 <= t.dsdt &&
	      t.dsdt + rd32(t.dsdt + 4) <= t.madt);
	CHECK_EQ((size_t)(t.madt - buf) + rd32(t.madt + 4), t.len);
}

TEST(fadt_revision6_fields)
{
	struct tables t;
	const uint8_t *f;

	CHECK(build(&t, GUEST_ACPI_BASE, 1));
	f = t.fadt;
	CHECK_EQ(rd32(f + 4), 276);
	CHECK_EQ(f[8], 6);
	CHECK_EQ(f[131], 0);				/* minor version */
	CHECK_EQ(rd32(f + 36), GUEST_ACPI_BASE + (uint64_t)(t.facs - buf));
	CHECK_EQ(rd64(f + 132), 0);			/* X_FIRMWARE_CTRL: not both */
	CHECK_EQ(rd32(f + 40), rd64(f + 140));		/* DSDT == X_DSDT */
	CHECK_EQ(rd16(f + 46), 9);			/* SCI_INT */
	CHECK_EQ(rd32(f + 48), 0);			/* SMI_CMD: always ACPI */
	CHECK_EQ(f[52] | f[53] | f[54] | f[55], 0);
	CHECK_EQ(rd32(f + 56), 0x600);			/* PM1a_EVT_BLK */
	CHECK_EQ(rd32(f + 60), 0);
	CHECK_EQ(rd32(f + 64), 0x604);			/* PM1a_CNT_BLK */
	CHECK_EQ(rd32(f + 68) | rd32(f + 72) | rd32(f + 76) | rd32(f + 80) | rd32(f + 84), 0);
	CHECK_EQ(f[88], 4);				/* PM1_EVT_LEN */
	CHECK_EQ(f[89], 2);				/* PM1_CNT_LEN */
	CHECK_EQ(f[90] | f[91] | f[92] | f[93], 0);	/* no PM2, timer, GPE blocks */
	CHECK(rd16(f + 96) > 100 && rd16(f + 98) > 1000);	/* no C2, no C3 */
	CHECK_EQ(rd16(f + 109), 0x000d);		/* legacy devices, no VGA, no MSI; no 8042 */
	CHECK_EQ(rd32(f + 112), 0x435);		/* WBINVD PROC_C1 PWR/SLP_BUTTON RESET_REG_SUP */
	/* RESET_REG: system I/O, 8 bits at 0xcf9, byte access; value 6. */
	CHECK_EQ(f[116], 1);
	CHECK_EQ(f[117], 8);
	CHECK_EQ(f[118], 0);
	CHECK_EQ(f[119], 1);
	CHECK_EQ(rd64(f + 120), 0xcf9);
	CHECK_EQ(f[128], 6);
	/* X_PM1a_EVT_BLK (32 bits) and X_PM1a_CNT_BLK (16 bits), word access. */
	CHECK(!memcmp(f + 148, "\x01\x20\x00\x02", 4));
	CHECK_EQ(rd64(f + 152), 0x600);
	CHECK(!memcmp(f + 172, "\x01\x10\x00\x02", 4));
	CHECK_EQ(rd64(f + 176), 0x604);
	/* X_PM1b_EVT/CNT, X_PM2_CNT, X_PM_TMR, X_GPE0/1, sleep registers: absent. */
	for (size_t off = 160; off < 276; off++)
		if (off < 172 || off >= 184)
			CHECK_EQ(f[off], 0);
}

TEST(facs_64_bytes)
{
	struct tables t;

	CHECK(build(&t, GUEST_ACPI_BASE, 1));
	CHECK(!memcmp(t.facs, "FACS", 4));
	CHECK_EQ(rd32(t.facs + 4), 64);
	CHECK_EQ(t.facs[32], 2);			/* version */
	CHECK_EQ(rd32(t.facs + 12), 0);			/* waking vector */
	CHECK_EQ(rd32(t.facs + 16), 0);			/* global lock */
}

TEST(dsdt_holds_only_s5_package)
{
	static const uint8_t aml[] = {
		0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00,
	};
	struct tables t;

	CHECK(build(&t, GUEST_ACPI_BASE, 1));
	CHECK_EQ(rd32(t.dsdt + 4), 36 + sizeof(aml));
	CHECK_EQ(t.dsdt[8], 2);
	CHECK(!memcmp(t.dsdt + 36, aml, sizeof(aml)));
}

/* The MADT for @n CPUs, entry by entry. */
static bool madt_ok(unsigned int n)
{
	struct tables t;
	const uint8_t *m, *e;

	if (!build(&t, GUEST_ACPI_BASE, n))
		return false;
	m = t.madt;
	if (rd32(m + 4) != 44 + 8 * n + 12 + 10 + 10 + 6 || rd32(m + 36) != 0xfee00000 ||
	    rd32(m + 40) != 0)
		return false;
	e = m + 44;
	for (unsigned int i = 0; i < n; i++, e += 8)
		if (e[0] != 0 || e[1] != 8 || e[2] != i || e[3] != i || rd32(e + 4) != 1)
			return false;
	/* I/O APIC: ID after the CPUs', 0xfec00000, GSI base 0. */
	if (e[0] != 1 || e[1] != 12 || e[2] != n || e[3] != 0 || rd32(e + 4) != 0xfec00000 ||
	    rd32(e + 8) != 0)
		return false;
	e += 12;
	/* ISA IRQ 0 -> GSI 2, edge high; IRQ 9 (SCI) -> GSI 9, level high. */
	if (memcmp(e, "\x02\x0a\x00\x00\x02\x00\x00\x00\x05\x00", 10) ||
	    memcmp(e + 10, "\x02\x0a\x00\x09\x09\x00\x00\x00\x0d\x00", 10))
		return false;
	e += 20;
	/* NMI on LINT1 of every processor. */
	return !memcmp(e, "\x04\x06\xff\x00\x00\x01", 6) && e + 6 == m + rd32(m + 4);
}

TEST(madt_one_cpu)
{
	CHECK(madt_ok(1));
}

TEST(madt_four_cpus)
{
	CHECK(madt_ok(4));
}

TEST(madt_many_cpus_and_limits)
{
	struct acpi_build_cfg cfg = { .gpa = GUEST_ACPI_BASE, .ncpus = 254 };

	CHECK(madt_ok(64));
	CHECK(acpi_build(buf, sizeof(buf), &cfg) > 0);
	cfg.ncpus = 255;				/* the I/O APIC's ID would be 0xff */
	CHECK_EQ(acpi_build(buf, sizeof(buf), &cfg), 0);
	cfg.ncpus = 0;
	CHECK_EQ(acpi_build(buf, sizeof(buf), &cfg), 0);
	cfg.ncpus = 1;
	cfg.gpa = GUEST_ACPI_BASE + 8;			/* the RSDP must be 16-byte aligned */
	CHECK_EQ(acpi_build(buf, sizeof(buf), &cfg), 0);
}

TEST(too_small_buffer_returns_zero)
{
	struct acpi_build_cfg cfg = { .gpa = GUEST_ACPI_BASE, .ncpus = 4 };
	size_t need = acpi_build(buf, sizeof(buf), &cfg);

	CHECK(need > 0);
	for (size_t len = 0; len < need; len++) {
		memset(buf, 0xa5, sizeof(buf));
		CHECK_EQ(acpi_build(buf, len, &cfg), 0);
		for (size_t i = 0; i < sizeof(buf); i++)
			CHECK_EQ(buf[i], 0xa5);		/* and nothing written */
	}
	CHECK_EQ(acpi_build(buf, need, &cfg), need);
	CHECK_EQ(acpi_build(NULL, need, &cfg), 0);
}

TEST(above_4g_uses_only_64bit_pointers)
{
	struct tables t;

	CHECK(build(&t, 0x100000000ULL, 2));
	CHECK_EQ(rd32(t.fadt + 36), 0);
	CHECK_EQ(rd32(t.fadt + 40), 0);
	CHECK_EQ(rd64(t.fadt + 132), (uint64_t)(t.facs - buf) + 0x100000000ULL);
	CHECK(rd64(t.fadt + 140) >> 32);
}

TEST(pci_adds_mcfg_host_bridge_and_msi)
{
	uint8_t fadt0[16], dsdt0[64];
	size_t dsdt0_len;
	struct tables t;
	const uint8_t *m;

	/* Without PCI first: tables share one buffer. */
	CHECK(build(&t, GUEST_ACPI_BASE, 2));
	memcpy(fadt0, t.fadt + 36, sizeof(fadt0));
	dsdt0_len = rd32(t.dsdt + 4);
	CHECK(dsdt0_len <= sizeof(dsdt0));
	memcpy(dsdt0, t.dsdt, dsdt0_len);

	CHECK(build_pci(&t, GUEST_ACPI_BASE, 2, true));
	CHECK(t.len <= GUEST_ACPI_SIZE);
	/* MCFG: one allocation for segment 0, bus 0 at ECAM. */
	m = t.mcfg;
	CHECK_EQ(rd32(m + 4), 60);
	CHECK_EQ(m[8], 1);
	CHECK_EQ(rd64(m + 36), 0);			/* reserved */
	CHECK_EQ(rd64(m + 44), GUEST_PCI_ECAM_BASE);
	CHECK_EQ(rd16(m + 52), 0);
	CHECK_EQ(m[54], 0);
	CHECK_EQ(m[55], 0);
	CHECK_EQ((t.gpa + (uint64_t)(m - buf)) % 64, 0);
	CHECK_EQ((size_t)(m - buf) + 60, t.len);
	/* MSI allowed; FACS and DSDT where they were. */
	CHECK_EQ(rd16(t.fadt + 109), 0x0005);
	CHECK(!memcmp(t.fadt + 36, fadt0, 8));
	/* The DSDT starts as before (\_S5_) and goes on with \_SB.PCI0 and \_SB.MRES. */
	CHECK(!memcmp(t.dsdt + 36, dsdt0 + 36, dsdt0_len - 36));
	CHECK(!memcmp(t.dsdt + dsdt0_len, "\x5b\x82", 2));
	CHECK(memmem(t.dsdt, rd32(t.dsdt + 4), "\\\x2e_SB_PCI0", 10));
	CHECK(memmem(t.dsdt, rd32(t.dsdt + 4), "\\\x2e_SB_MRES", 10));
	CHECK(memmem(t.dsdt, rd32(t.dsdt + 4), "\x08_HID\x0c\x41\xd0\x0a\x03", 10));
	CHECK(memmem(t.dsdt, rd32(t.dsdt + 4), "\x08_HID\x0c\x41\xd0\x0c\x02", 10));
}

/* An AML integer (ZeroOp, OneOp, Byte/Word/DWordPrefix) at *p; advances *p. */
static uint32_t aml_int_at(const uint8_t **p)
{
	const uint8_t *q = *p;

	switch (q[0]) {
	case 0x00:
	case 0x01:
		*p = q + 1;
		return q[0];
	case 0x0a:
		*p = q + 2;
		return q[1];
	case 0x0b:
		*p = q + 3;
		return rd16(q + 1);
	case 0x0c:
		*p = q + 5;
		return rd32(q + 1);
	}
	*p = q + 1;
	return 0xdeadbeef;
}

/* _PRT as a guest's ACPI code reads it: slot s, pin p -> GSI 16 + (s + p) % 8. */
TEST(pci_prt_routes_every_slot_and_pin)
{
	struct tables t;
	const uint8_t *d, *end, *p;
	unsigned int n = 0;

	CHECK(build_pci(&t, GUEST_ACPI_BASE, 1, true));
	d = t.dsdt;
	end = d + rd32(d + 4);
	p = memmem(d, (size_t)(end - d), "\x08_PRT\x12", 6);
	CHECK(p);
	p += 6;
	p += (*p >> 6) + 1;				/* PkgLength */
	CHECK_EQ(*p++, 128);
	for (unsigned int slot = 0; slot < 32; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++, n++) {
			unsigned int gsi = 16 + (slot + pin) % 8;

			CHECK_EQ(guest_pci_gsi(slot, pin), gsi);
			CHECK_EQ(p[0], 0x12);
			CHECK_EQ(p[2], 4);
			p += 3;
			CHECK_EQ(aml_int_at(&p), slot << 16 | 0xffff);
			CHECK_EQ(aml_int_at(&p), pin);
			CHECK_EQ(aml_int_at(&p), 0);	/* source: none, a GSI */
			CHECK_EQ(aml_int_at(&p), gsi);
		}
	}
	CHECK_EQ(n, 128);
	CHECK(p < end);
}

static const void *map_blob(void *ctx, uint64_t phys, size_t len)
{
	struct tables *t = ctx;

	return at(t, phys, len);
}

/* What a guest's ACPI code learns, through the project's own firmware-table parser. */
TEST(boot_acpi_parser_reads_what_was_built)
{
	struct acpi_info info;
	struct tables t;
	char err[128];

	CHECK(build(&t, GUEST_ACPI_BASE, 4));
	CHECK_EQ(acpi_parse(GUEST_ACPI_BASE, map_blob, &t, &info, err, sizeof(err)), 0);
	CHECK_STR(info.warnings, "");
	CHECK_EQ(info.revision, 2);
	CHECK_STR(info.oem_id, "HVBARE");
	CHECK_EQ(info.ncpus, 4);
	for (unsigned int i = 0; i < 4; i++)
		CHECK(info.cpus[i].apic_id == i && info.cpus[i].uid == i);
	CHECK_EQ(info.lapic_addr, GUEST_LAPIC_BASE);
	CHECK_EQ(info.nioapics, 1);
	CHECK_EQ(info.ioapics[0].id, 4);
	CHECK_EQ(info.ioapics[0].addr, GUEST_IOAPIC_BASE);
	CHECK(info.have_fadt);
	CHECK_EQ(info.pm1a_cnt, PORT_PM1A_CNT);
	CHECK_EQ(info.pm1b_cnt, 0);
	CHECK_EQ(info.pm_tmr_blk, 0);
	CHECK(info.reset_valid);
	CHECK_EQ(info.reset_space, 1);
	CHECK_EQ(info.reset_addr, PORT_RESET);
	CHECK_EQ(info.reset_value, ACPI_RESET_VALUE);
	CHECK(info.s5_valid);
	CHECK_EQ(info.s5_typ_a, ACPI_S5_SLP_TYP);
	CHECK_EQ(info.s5_typ_b, ACPI_S5_SLP_TYP);
}

static bool write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	bool ok;

	if (!f)
		return false;
	ok = fwrite(p, 1, n, f) == n;
	return fclose(f) == 0 && ok;
}

/* Each table of a build for @ncpus as DIR/{rsdp,xsdt,facp,facs,dsdt,apic[,mcfg]}.dat. */
static bool dump(const char *dir, unsigned int ncpus, bool pci)
{
	static const char *const names[] = { "rsdp", "xsdt", "facp", "facs", "dsdt", "apic",
					     "mcfg" };
	struct tables t;
	char path[512];

	if (!build_pci(&t, GUEST_ACPI_BASE, ncpus, pci))
		return false;
	const uint8_t *tabs[] = { t.rsdp, t.xsdt, t.fadt, t.facs, t.dsdt, t.madt, t.mcfg };
	for (size_t i = 0; i < (pci ? 7u : 6u); i++) {
		size_t n = i == 0 ? 36 : rd32(tabs[i] + 4);

		snprintf(path, sizeof(path), "%s/%s.dat", dir, names[i]);
		if (!write_file(path, tabs[i], n))
			return false;
	}
	return true;
}

/* DIR/NAME.dsl, or an empty string. */
static void read_dsl(const char *dir, const char *name, char *out, size_t n)
{
	char path[512];
	FILE *f;
	size_t got = 0;

	snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
	f = fopen(path, "r");
	if (f) {
		got = fread(out, 1, n - 1, f);
		fclose(f);
	}
	out[got] = 0;
}

/* Run @cmd in @dir; its output in @out.  True if it exited 0. */
static bool run_in(const char *dir, const char *cmd, char *out, size_t n)
{
	char line[1024], path[512];
	FILE *f;
	size_t got = 0;
	int rc;

	snprintf(line, sizeof(line), "cd %s && %s >out.log 2>&1", dir, cmd);
	rc = system(line);
	snprintf(path, sizeof(path), "%s/out.log", dir);
	f = fopen(path, "r");
	if (f) {
		got = fread(out, 1, n - 1, f);
		fclose(f);
	}
	out[got] = 0;
	return rc == 0;
}

/*
 * ACPICA (Debian's acpica-tools, installed by scripts/deps.sh; Linux's ACPI
 * core is the same code): `iasl -d` decodes every table but the RSDP (this
 * iasl cannot take a lone RSDP: boot_acpi_parser_reads_what_was_built walks
 * it) without a complaint, and acpiexec loads FADT, FACS, DSDT and MADT as a
 * kernel would and evaluates \_S5_.
 */
static void acpica_check(const char *dir)
{
	static const char *const names[] = { "xsdt", "facp", "facs", "dsdt", "apic" };
	static char dsl[65536], out[65536];
	char cmd[512];

	CHECK(dump(dir, 2, false));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(cmd, sizeof(cmd), "iasl -d %s.dat", names[i]);
		if (!run_in(dir, cmd, out, sizeof(out)))
			test_fail(__FILE__, __LINE__, "%s: %s", cmd, out);
		CHECK(!test_failed_current);
		read_dsl(dir, names[i], dsl, sizeof(dsl));
		if (!dsl[0] || strstr(dsl, "Error") || strstr(dsl, "Warning") ||
		    strstr(dsl, "Invalid") || strstr(dsl, "**** "))
			test_fail(__FILE__, __LINE__, "%s.dsl: %s", names[i], dsl);
		CHECK(!test_failed_current);
	}
	read_dsl(dir, "dsdt", dsl, sizeof(dsl));
	CHECK(strstr(dsl, "Name (_S5, Package (0x04)"));
	read_dsl(dir, "facp", dsl, sizeof(dsl));
	CHECK(strstr(dsl, "Reset Register Supported (V2) : 1"));
	CHECK(strstr(dsl, "Value to cause reset : 06"));
	CHECK(strstr(dsl, "SCI Interrupt : 0009"));
	read_dsl(dir, "apic", dsl, sizeof(dsl));
	CHECK(strstr(dsl, "Subtable Type : 01 [I/O APIC]"));
	CHECK(strstr(dsl, "Address : FEC00000"));

	run_in(dir, "timeout 60 acpiexec -b 'evaluate \\_S5_' facp.dat dsdt.dat apic.dat facs.dat",
	       out, sizeof(out));
	if (!strstr(out, "[Integer] = 0000000000000005\n    [Integer] = 0000000000000005\n"
			 "    [Integer] = 0000000000000000\n    [Integer] = 0000000000000000") ||
	    strstr(out, "ACPI Error") || strstr(out, "ACPI Warning") || strstr(out, "Firmware Bug"))
		test_fail(__FILE__, __LINE__, "acpiexec: %.300s", out);
}

TEST(acpica_disassembles_and_loads_every_table)
{
	char dir[] = "/tmp/acpi-build-XXXXXX", cmd[64];

	CHECK(system("command -v iasl >/dev/null && command -v acpiexec >/dev/null") == 0);
	CHECK(mkdtemp(dir));
	acpica_check(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		test_fail(__FILE__, __LINE__, "%s failed", cmd);
}

/*
 * With PCI: iasl decodes the MCFG and the DSDT's host bridge (resources,
 * routing, the ECAM reservation), and acpiexec evaluates them as Linux's
 * PCI root and PNP drivers do.
 */
static void acpica_check_pci(const char *dir)
{
	static const char *const names[] = { "xsdt", "facp", "dsdt", "mcfg" };
	static char dsl[65536], out[65536];
	char cmd[512];

	CHECK(dump(dir, 2, true));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(cmd, sizeof(cmd), "iasl -d %s.dat", names[i]);
		if (!run_in(dir, cmd, out, sizeof(out)))
			test_fail(__FILE__, __LINE__, "%s: %s", cmd, out);
		CHECK(!test_failed_current);
		read_dsl(dir, names[i], dsl, sizeof(dsl));
		if (!dsl[0] || strstr(dsl, "Error") || strstr(dsl, "Warning") ||
		    strstr(dsl, "Invalid") || strstr(dsl, "**** "))
			test_fail(__FILE__, __LINE__, "%s.dsl: %s", names[i], dsl);
		CHECK(!test_failed_current);
	}
	read_dsl(dir, "dsdt", dsl, sizeof(dsl));
	CHECK(strstr(dsl, "Device (\\_SB.PCI0)"));
	CHECK(strstr(dsl, "Name (_HID, EisaId (\"PNP0A03\")"));
	CHECK(strstr(dsl, "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,"));
	CHECK(strstr(dsl, "IO (Decode16,\n                0x0CF8,"));
	CHECK(strstr(dsl, "0xC0000000,         // Range Minimum"));
	CHECK(strstr(dsl, "0xDFFFFFFF,         // Range Maximum"));
	CHECK(strstr(dsl, "Device (\\_SB.MRES)"));
	CHECK(strstr(dsl, "Name (_HID, EisaId (\"PNP0C02\")"));
	CHECK(strstr(dsl, "Memory32Fixed (ReadWrite,\n                0xE0000000,"));
	/* Slot 1: INTA -> GSI 17 (the disassembler ends elements with ", "). */
	CHECK(strstr(dsl, "0x0001FFFF, \n                Zero, \n                Zero, \n"
			  "                0x11\n"));
	read_dsl(dir, "mcfg", dsl, sizeof(dsl));
	CHECK(strstr(dsl, "Base Address : 00000000E0000000"));
	CHECK(strstr(dsl, "End Bus Number : 00"));
	read_dsl(dir, "facp", dsl, sizeof(dsl));
	CHECK(strstr(dsl, "MSI Not Supported (V4) : 0"));

	run_in(dir, "timeout 60 acpiexec -b 'evaluate \\_SB.PCI0._PRT; evaluate \\_SB.PCI0._CRS; "
	       "evaluate \\_SB.MRES._CRS' facp.dat dsdt.dat apic.dat facs.dat mcfg.dat",
	       out, sizeof(out));
	if (!strstr(out, "[Package] Contains 128 Elements") ||
	    !strstr(out, "Evaluation of \\_SB.PCI0._CRS returned object") ||
	    !strstr(out, "Evaluation of \\_SB.MRES._CRS returned object") ||
	    strstr(out, "ACPI Error") || strstr(out, "ACPI Warning") || strstr(out, "Firmware Bug"))
		test_fail(__FILE__, __LINE__, "acpiexec: %.600s", out);
}

TEST(acpica_reads_the_pci_tables)
{
	char dir[] = "/tmp/acpi-build-XXXXXX", cmd[64];

	CHECK(system("command -v iasl >/dev/null && command -v acpiexec >/dev/null") == 0);
	CHECK(mkdtemp(dir));
	acpica_check_pci(dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		test_fail(__FILE__, __LINE__, "%s failed", cmd);
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--dump")) {
		unsigned int n = argc > 3 ? (unsigned int)atoi(argv[3]) : 2;

		if (mkdir(argv[2], 0755) && access(argv[2], W_OK)) {
			perror(argv[2]);
			return 1;
		}
		return dump(argv[2], n, argc > 4 && !strcmp(argv[4], "pci")) ? 0 : 1;
	}
	return run_cases(argc, argv);
}
