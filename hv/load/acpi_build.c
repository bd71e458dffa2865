/* SPDX-License-Identifier: MIT */
/*
 * The guest's ACPI tables (ACPI 6.0 layouts), laid out in one blob:
 *
 *   RSDP (36) -> XSDT -> FADT (276) -> FACS (64, 64-byte aligned), DSDT
 *                     -> MADT (grows with the vCPU count)
 *
 * Every table starts on a 64-byte guest-physical boundary (the RSDP, which
 * a guest finds by scanning 0xe0000-0xfffff in 16-byte steps, sits at
 * cfg->gpa itself).  Fields are written bytewise: the tables are packed and
 * the blob may sit anywhere in the caller's buffer.
 *
 * What the FADT promises is what hv/vdev/platform.c emulates: PM1a event and
 * control blocks at PORT_PM1A_EVT/CNT (no PM timer, no GPE blocks), the
 * reset register at PORT_RESET, ACPI always enabled (SMI_CMD 0), the SCI on
 * ISA IRQ 9.  docs/linux-guests.md says why each flag is set.
 */
#include "hv/core/guest_boot.h"
#include "hv/load/acpi_build.h"
#include "lib/string.h"

#define HDR_LEN		36
#define RSDP_LEN	36
#define FADT_LEN	276
#define FACS_LEN	64
#define TABLE_ALIGN	64		/* FACS needs 64; the rest share it */

/* FADT Flags. */
#define FADT_WBINVD		(1u << 0)
#define FADT_PROC_C1		(1u << 2)
#define FADT_PWR_BUTTON		(1u << 4)	/* set: no fixed-feature power button */
#define FADT_SLP_BUTTON		(1u << 5)	/* set: no fixed-feature sleep button */
#define FADT_RESET_REG_SUP	(1u << 10)

/* FADT IAPC_BOOT_ARCH. */
#define BOOT_LEGACY_DEVICES	(1u << 0)	/* ISA devices: the UART, the CMOS */
#define BOOT_8042		(1u << 1)	/* left clear: see docs/linux-guests.md */
#define BOOT_NO_VGA		(1u << 2)
#define BOOT_NO_MSI		(1u << 3)	/* there is no PCI */

/* Generic address structure: address spaces and access sizes. */
#define GAS_SYSTEM_IO		1
#define GAS_ACCESS_BYTE		1
#define GAS_ACCESS_WORD		2

/* MADT entry types, flags, and MPS INTI flags. */
#define MADT_PCAT_COMPAT	(1u << 0)	/* left clear: no 8259 pair */
#define MADT_LAPIC		0
#define MADT_IOAPIC		1
#define MADT_OVERRIDE		2
#define MADT_LAPIC_NMI		4
#define MADT_LAPIC_ENABLED	(1u << 0)
#define INTI_ACTIVE_HIGH	0x1
#define INTI_EDGE		(0x1 << 2)
#define INTI_LEVEL		(0x3 << 2)
#define MADT_ALL_CPUS		0xff

/* An x2APIC-free guest: APIC IDs and the I/O APIC's ID (= ncpus) fit in 8 bits below 0xff. */
#define MAX_CPUS		254

static const char oem_id[6] = { 'H', 'V', 'B', 'A', 'R', 'E' };
static const char oem_table_id[8] = { 'H', 'V', 'B', 'A', 'R', 'E', 'V', 'M' };

/* Name(_S5_, Package() { 5, 5, 0, 0 }): SLP_TYPa, SLP_TYPb, two reserved. */
static const uint8_t dsdt_aml[] = {
	0x08, '_', 'S', '5', '_',	/* NameOp, NameSeg at the root scope */
	0x12, 0x08, 0x04,		/* PackageOp, PkgLength 8, NumElements 4 */
	0x0a, ACPI_S5_SLP_TYP,		/* BytePrefix 5 */
	0x0a, ACPI_S5_SLP_TYP,
	0x00, 0x00,			/* ZeroOp, ZeroOp */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* A 32-bit pointer field: 0 where the table lies above 4 GiB (the X_ form then holds it). */
static uint32_t addr32(uint64_t gpa)
{
	return gpa >> 32 ? 0 : (uint32_t)gpa;
}

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	while (n--)
		sum += *p++;
	return (uint8_t)-sum;
}

static void gas_io(uint8_t *p, uint8_t bits, uint8_t access, uint16_t port)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = bits;
	p[2] = 0;			/* bit offset */
	p[3] = access;
	put64(p + 4, port);
}

static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, oem_id, sizeof(oem_id));
	memcpy(t + 16, oem_table_id, sizeof(oem_table_id));
	put32(t + 24, 1);		/* OEM revision */
	memcpy(t + 28, "HVBR", 4);	/* creator ID */
	put32(t + 32, 1);		/* creator revision */
}

/* After the body is written: the checksum byte makes the table sum to zero. */
static void seal(uint8_t *t)
{
	uint32_t len = t[4] | t[5] << 8 | t[6] << 16 | (uint32_t)t[7] << 24;

	t[9] = 0;
	t[9] = checksum(t, len);
}

static size_t madt_len(unsigned int ncpus)
{
	return HDR_LEN + 8 + 8 * ncpus + 12 + 2 * 10 + 6;
}

/* The offset at or after @off whose guest-physical address is table-aligned. */
static size_t place(uint64_t gpa, size_t off)
{
	uint64_t a = gpa + off;

	return off + (size_t)((TABLE_ALIGN - a % TABLE_ALIGN) % TABLE_ALIGN);
}

static void build_rsdp(uint8_t *p, uint64_t xsdt)
{
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, oem_id, sizeof(oem_id));
	p[15] = 2;			/* revision: ACPI 2.0+, XSDT */
	put32(p + 16, 0);		/* no RSDT */
	put32(p + 20, RSDP_LEN);
	put64(p + 24, xsdt);
	p[8] = checksum(p, 20);
	p[32] = checksum(p, RSDP_LEN);
}

static void build_fadt(uint8_t *t, uint64_t facs, uint64_t dsdt)
{
	header(t, "FACP", FADT_LEN, 6);
	/*
	 * The FACS by one field only: ACPICA installs a nonzero FIRMWARE_CTRL and
	 * a nonzero X_FIRMWARE_CTRL as two FACS tables even when they are equal.
	 */
	put32(t + 36, addr32(facs));
	put64(t + 132, addr32(facs) ? 0 : facs);
	put32(t + 40, addr32(dsdt));
	t[45] = 0;			/* preferred PM profile: unspecified */
	put16(t + 46, ACPI_SCI_IRQ);
	put32(t + 48, 0);		/* SMI_CMD 0: ACPI mode always on */
	put32(t + 56, PORT_PM1A_EVT);
	put32(t + 64, PORT_PM1A_CNT);
	put32(t + 76, 0);		/* no PM timer */
	t[88] = 4;			/* PM1_EVT_LEN: status + enable */
	t[89] = 2;			/* PM1_CNT_LEN */
	put16(t + 96, 0x0fff);		/* P_LVL2_LAT > 100: no C2 */
	put16(t + 98, 0x0fff);		/* P_LVL3_LAT > 1000: no C3 */
	t[108] = 0;			/* no RTC century register */
	put16(t + 109, BOOT_LEGACY_DEVICES | BOOT_NO_VGA | BOOT_NO_MSI);
	put32(t + 112, FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON |
		       FADT_RESET_REG_SUP);
	gas_io(t + 116, 8, GAS_ACCESS_BYTE, PORT_RESET);
	t[128] = ACPI_RESET_VALUE;
	t[131] = 0;			/* FADT minor version: ACPI 6.0 */
	put64(t + 140, dsdt);
	gas_io(t + 148, 32, GAS_ACCESS_WORD, PORT_PM1A_EVT);
	gas_io(t + 172, 16, GAS_ACCESS_WORD, PORT_PM1A_CNT);
	seal(t);
}

static void build_facs(uint8_t *t)
{
	memcpy(t, "FACS", 4);
	put32(t + 4, FACS_LEN);
	t[32] = 2;			/* version (ACPI 4.0+); the FACS has no checksum */
}

static void build_dsdt(uint8_t *t)
{
	header(t, "DSDT", HDR_LEN + sizeof(dsdt_aml), 2);	/* rev 2: 64-bit integers */
	memcpy(t + HDR_LEN, dsdt_aml, sizeof(dsdt_aml));
	seal(t);
}

static uint8_t *madt_override(uint8_t *e, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	e[0] = MADT_OVERRIDE;
	e[1] = 10;
	e[2] = 0;			/* bus: ISA */
	e[3] = irq;
	put32(e + 4, gsi);
	put16(e + 8, flags);
	return e + 10;
}

static void build_madt(uint8_t *t, unsigned int ncpus)
{
	uint8_t *e = t + HDR_LEN + 8;

	header(t, "APIC", (uint32_t)madt_len(ncpus), 4);
	put32(t + 36, (uint32_t)GUEST_LAPIC_BASE);
	put32(t + 40, 0);		/* not PCAT_COMPAT */
	for (unsigned int i = 0; i < ncpus; i++, e += 8) {
		e[0] = MADT_LAPIC;
		e[1] = 8;
		e[2] = (uint8_t)i;	/* processor UID */
		e[3] = (uint8_t)i;	/* APIC ID */
		put32(e + 4, MADT_LAPIC_ENABLED);
	}
	e[0] = MADT_IOAPIC;
	e[1] = 12;
	e[2] = (uint8_t)ncpus;		/* I/O APIC ID: the first one after the CPUs */
	e[3] = 0;
	put32(e + 4, (uint32_t)GUEST_IOAPIC_BASE);
	put32(e + 8, 0);		/* GSI base */
	e += 12;
	/* The PIT's IRQ 0 is wired to pin 2, as on every PC since the APIC. */
	e = madt_override(e, 0, 2, INTI_ACTIVE_HIGH | INTI_EDGE);
	e = madt_override(e, ACPI_SCI_IRQ, ACPI_SCI_IRQ, INTI_ACTIVE_HIGH | INTI_LEVEL);
	e[0] = MADT_LAPIC_NMI;
	e[1] = 6;
	e[2] = MADT_ALL_CPUS;
	put16(e + 3, 0);		/* flags: conforming to the bus (edge, high) */
	e[5] = 1;			/* LINT1 */
	seal(t);
}

size_t acpi_build(void *buf, size_t len, const struct acpi_build_cfg *cfg)
{
	uint8_t *b = buf;
	size_t xsdt, fadt, facs, dsdt, madt, end;
	uint64_t gpa = cfg->gpa;

	if (cfg->ncpus == 0 || cfg->ncpus > MAX_CPUS || gpa % 16)
		return 0;
	xsdt = place(gpa, RSDP_LEN);
	fadt = place(gpa, xsdt + HDR_LEN + 2 * 8);
	facs = place(gpa, fadt + FADT_LEN);
	dsdt = place(gpa, facs + FACS_LEN);
	madt = place(gpa, dsdt + HDR_LEN + sizeof(dsdt_aml));
	end = madt + madt_len(cfg->ncpus);
	if (!b || len < end)
		return 0;

	memset(b, 0, end);
	build_rsdp(b, gpa + xsdt);
	header(b + xsdt, "XSDT", HDR_LEN + 2 * 8, 1);
	put64(b + xsdt + HDR_LEN, gpa + fadt);
	put64(b + xsdt + HDR_LEN + 8, gpa + madt);
	seal(b + xsdt);
	build_fadt(b + fadt, gpa + facs, gpa + dsdt);
	build_facs(b + facs);
	build_dsdt(b + dsdt);
	build_madt(b + madt, cfg->ncpus);
	return end;
}
