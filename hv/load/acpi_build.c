/* SPDX-License-Identifier: MIT */
/*
 * The guest's ACPI tables (ACPI 6.0 layouts), laid out in one blob:
 *
 *   RSDP (36) -> XSDT -> FADT (276) -> FACS (64, 64-byte aligned), DSDT
 *                     -> MADT (grows with the vCPU count)
 *                     -> MCFG (with PCI: ECAM for bus 0)
 *
 * Every table starts on a 64-byte guest-physical boundary (the RSDP, which
 * a guest finds by scanning 0xe0000-0xfffff in 16-byte steps, sits at
 * cfg->gpa itself).  Fields are written bytewise: the tables are packed and
 * the blob may sit anywhere in the caller's buffer.
 *
 * What the FADT promises is what hv/vdev/platform.c emulates: PM1a event and
 * control blocks at PORT_PM1A_EVT/CNT (no PM timer, no GPE blocks), the
 * reset register at PORT_RESET, ACPI always enabled (SMI_CMD 0), the SCI on
 * ISA IRQ 9.  With PCI the DSDT also holds the host bridge \_SB.PCI0 (its
 * bus, config ports and BAR window in _CRS, INTx in _PRT) and a motherboard
 * resource reserving ECAM, which Linux wants before it uses the MCFG.
 * docs/linux-guests.md says why each flag is set, docs/virtio.md the PCI part.
 */
#include "hv/core/guest_boot.h"
#include "hv/load/acpi_build.h"
#include "lib/le.h"
#include "lib/string.h"

#define HDR_LEN		36
#define RSDP_LEN	36
#define FADT_LEN	276
#define FACS_LEN	64
#define MCFG_LEN	(HDR_LEN + 8 + 16)
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
#define BOOT_NO_MSI		(1u << 3)	/* without PCI: nothing to send MSIs */

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
	le_put64(p + 4, port);
}

static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	le_put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, oem_id, sizeof(oem_id));
	memcpy(t + 16, oem_table_id, sizeof(oem_table_id));
	le_put32(t + 24, 1);		/* OEM revision */
	memcpy(t + 28, "HVBR", 4);	/* creator ID */
	le_put32(t + 32, 1);		/* creator revision */
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
	le_put32(p + 16, 0);		/* no RSDT */
	le_put32(p + 20, RSDP_LEN);
	le_put64(p + 24, xsdt);
	p[8] = checksum(p, 20);
	p[32] = checksum(p, RSDP_LEN);
}

static void build_fadt(uint8_t *t, uint64_t facs, uint64_t dsdt, bool pci)
{
	header(t, "FACP", FADT_LEN, 6);
	/*
	 * The FACS by one field only: ACPICA installs a nonzero FIRMWARE_CTRL and
	 * a nonzero X_FIRMWARE_CTRL as two FACS tables even when they are equal.
	 */
	le_put32(t + 36, addr32(facs));
	le_put64(t + 132, addr32(facs) ? 0 : facs);
	le_put32(t + 40, addr32(dsdt));
	t[45] = 0;			/* preferred PM profile: unspecified */
	le_put16(t + 46, ACPI_SCI_IRQ);
	le_put32(t + 48, 0);		/* SMI_CMD 0: ACPI mode always on */
	le_put32(t + 56, PORT_PM1A_EVT);
	le_put32(t + 64, PORT_PM1A_CNT);
	le_put32(t + 76, 0);		/* no PM timer */
	t[88] = 4;			/* PM1_EVT_LEN: status + enable */
	t[89] = 2;			/* PM1_CNT_LEN */
	le_put16(t + 96, 0x0fff);		/* P_LVL2_LAT > 100: no C2 */
	le_put16(t + 98, 0x0fff);		/* P_LVL3_LAT > 1000: no C3 */
	t[108] = 0;			/* no RTC century register */
	le_put16(t + 109, BOOT_LEGACY_DEVICES | BOOT_NO_VGA | (pci ? 0 : BOOT_NO_MSI));
	le_put32(t + 112, FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON |
		       FADT_RESET_REG_SUP);
	gas_io(t + 116, 8, GAS_ACCESS_BYTE, PORT_RESET);
	t[128] = ACPI_RESET_VALUE;
	t[131] = 0;			/* FADT minor version: ACPI 6.0 */
	le_put64(t + 140, dsdt);
	gas_io(t + 148, 32, GAS_ACCESS_WORD, PORT_PM1A_EVT);
	gas_io(t + 172, 16, GAS_ACCESS_WORD, PORT_PM1A_CNT);
	seal(t);
}

static void build_facs(uint8_t *t)
{
	memcpy(t, "FACS", 4);
	le_put32(t + 4, FACS_LEN);
	t[32] = 2;			/* version (ACPI 4.0+); the FACS has no checksum */
}

/*
 * AML, written forward.  A package's length is known when it closes: four
 * bytes are kept for its PkgLength, and the body moves down over the ones the
 * encoding does not need.  With b == NULL nothing is written and only n
 * counts, so a first pass measures what the second one writes.
 */
struct aml {
	uint8_t *b;
	size_t n;
};

static void aml_byte(struct aml *a, uint8_t v)
{
	if (a->b)
		a->b[a->n] = v;
	a->n++;
}

static void aml_bytes(struct aml *a, const void *p, size_t len)
{
	if (a->b)
		memcpy(a->b + a->n, p, len);
	a->n += len;
}

static size_t aml_open(struct aml *a, uint8_t op)
{
	aml_byte(a, op);
	a->n += 4;
	return a->n - 4;
}

static void aml_close(struct aml *a, size_t at)
{
	size_t body = a->n - at - 4;
	unsigned int nb = body + 1 < 0x40 ? 1 : body + 2 < 0x1000 ? 2 : body + 3 < 0x100000 ? 3 : 4;
	size_t len = body + nb;

	if (a->b) {
		memmove(a->b + at + nb, a->b + at + 4, body);
		if (nb == 1) {
			a->b[at] = (uint8_t)len;
		} else {
			a->b[at] = (uint8_t)((nb - 1) << 6 | (len & 0xf));
			for (unsigned int i = 1; i < nb; i++)
				a->b[at + i] = (uint8_t)(len >> (4 + 8 * (i - 1)));
		}
	}
	a->n = at + nb + body;
}

static void aml_int(struct aml *a, uint32_t v)
{
	uint8_t le[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	if (v <= 1) {
		aml_byte(a, (uint8_t)v);		/* ZeroOp, OneOp */
	} else if (v <= 0xff) {
		aml_byte(a, 0x0a);			/* BytePrefix */
		aml_byte(a, (uint8_t)v);
	} else if (v <= 0xffff) {
		aml_byte(a, 0x0b);			/* WordPrefix */
		aml_bytes(a, le, 2);
	} else {
		aml_byte(a, 0x0c);			/* DWordPrefix */
		aml_bytes(a, le, 4);
	}
}

/* Name(NAME, Integer) at the current scope. */
static void aml_name_int(struct aml *a, const char name[4], uint32_t v)
{
	aml_byte(a, 0x08);				/* NameOp */
	aml_bytes(a, name, 4);
	aml_int(a, v);
}

/* Name(NAME, Buffer() { bytes }): a resource template (end tag included by the caller). */
static void aml_name_buffer(struct aml *a, const char name[4], const uint8_t *p, size_t len)
{
	size_t at;

	aml_byte(a, 0x08);
	aml_bytes(a, name, 4);
	at = aml_open(a, 0x11);				/* BufferOp */
	aml_int(a, (uint32_t)len);
	aml_bytes(a, p, len);
	aml_close(a, at);
}

/* Name(_S5_, Package() { 5, 5, 0, 0 }): SLP_TYPa, SLP_TYPb, two reserved. */
static void aml_s5(struct aml *a)
{
	size_t at;

	aml_byte(a, 0x08);
	aml_bytes(a, "_S5_", 4);
	at = aml_open(a, 0x12);				/* PackageOp */
	aml_byte(a, 4);
	aml_int(a, ACPI_S5_SLP_TYP);
	aml_int(a, ACPI_S5_SLP_TYP);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_close(a, at);
}

/* Device(\_SB.NAME) { ... }: returns what aml_close() wants. */
static size_t aml_device(struct aml *a, const char name[4])
{
	size_t at;

	aml_byte(a, 0x5b);				/* ExtOpPrefix */
	at = aml_open(a, 0x82);				/* DeviceOp */
	aml_byte(a, '\\');				/* RootChar */
	aml_byte(a, 0x2e);				/* DualNamePrefix */
	aml_bytes(a, "_SB_", 4);
	aml_bytes(a, name, 4);
	return at;
}

#define EISA_PNP0A03	0x030ad041u	/* EisaId("PNP0A03"): PCI host bridge */
#define EISA_PNP0C02	0x020cd041u	/* EisaId("PNP0C02"): motherboard resources */

/*
 * The host bridge's resources: bus 0 alone, the configuration ports it
 * decodes, and the window its BARs live in.  Linux claims BARs the
 * hypervisor placed only inside these windows.
 */
static size_t pci_crs(uint8_t *r)
{
	uint8_t *p = r;

	/* WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 0, 0, 1) */
	memcpy(p, "\x88\x0d\x00\x02\x0c\x00", 6);
	memset(p + 6, 0, 8);
	le_put16(p + 14, 1);
	p += 16;
	/* IO(Decode16, 0xcf8, 0xcf8, 1, 8) */
	p[0] = 0x47;
	p[1] = 1;
	le_put16(p + 2, PORT_PCI_ADDRESS);
	le_put16(p + 4, PORT_PCI_ADDRESS);
	p[6] = 1;
	p[7] = 8;
	p += 8;
	/* DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite) */
	memcpy(p, "\x87\x17\x00\x00\x0c\x01", 6);
	le_put32(p + 6, 0);
	le_put32(p + 10, (uint32_t)GUEST_PCI_MMIO_BASE);
	le_put32(p + 14, (uint32_t)(GUEST_PCI_MMIO_BASE + GUEST_PCI_MMIO_SIZE - 1));
	le_put32(p + 18, 0);
	le_put32(p + 22, (uint32_t)GUEST_PCI_MMIO_SIZE);
	p += 26;
	p[0] = 0x79;					/* end tag, no checksum */
	p[1] = 0;
	return (size_t)(p + 2 - r);
}

/* _PRT: every slot's INTA-INTD to its GSI (guest_pci_gsi()), level, active low. */
static void aml_prt(struct aml *a)
{
	size_t prt, entry;

	aml_byte(a, 0x08);
	aml_bytes(a, "_PRT", 4);
	prt = aml_open(a, 0x12);
	aml_byte(a, 32 * 4);
	for (unsigned int slot = 0; slot < 32; slot++) {
		for (unsigned int pin = 0; pin < 4; pin++) {
			entry = aml_open(a, 0x12);
			aml_byte(a, 4);
			aml_int(a, slot << 16 | 0xffff);	/* any function of the slot */
			aml_int(a, pin);
			aml_int(a, 0);			/* no link device: the next is a GSI */
			aml_int(a, guest_pci_gsi(slot, pin));
			aml_close(a, entry);
		}
	}
	aml_close(a, prt);
}

static void dsdt_aml(struct aml *a, bool pci)
{
	uint8_t res[64];
	size_t dev;

	aml_s5(a);
	if (!pci)
		return;
	dev = aml_device(a, "PCI0");
	aml_name_int(a, "_HID", EISA_PNP0A03);
	aml_name_int(a, "_UID", 0);
	aml_name_int(a, "_SEG", 0);
	aml_name_int(a, "_BBN", 0);
	aml_name_buffer(a, "_CRS", res, pci_crs(res));
	aml_prt(a);
	aml_close(a, dev);
	/* ECAM reserved as a motherboard resource: Linux checks before it uses the MCFG. */
	dev = aml_device(a, "MRES");
	aml_name_int(a, "_HID", EISA_PNP0C02);
	aml_name_int(a, "_UID", 0);
	res[0] = 0x86;					/* Memory32Fixed(ReadWrite, ECAM) */
	le_put16(res + 1, 9);
	res[3] = 1;
	le_put32(res + 4, (uint32_t)GUEST_PCI_ECAM_BASE);
	le_put32(res + 8, (uint32_t)GUEST_PCI_ECAM_SIZE);
	res[12] = 0x79;
	res[13] = 0;
	aml_name_buffer(a, "_CRS", res, 14);
	aml_close(a, dev);
}

static size_t dsdt_len(bool pci)
{
	struct aml a = { NULL, 0 };

	dsdt_aml(&a, pci);
	return HDR_LEN + a.n;
}

static void build_dsdt(uint8_t *t, bool pci)
{
	struct aml a = { t + HDR_LEN, 0 };

	dsdt_aml(&a, pci);
	header(t, "DSDT", (uint32_t)(HDR_LEN + a.n), 2);	/* rev 2: 64-bit integers */
	seal(t);
}

/* MCFG: one allocation, segment 0, bus 0 only. */
static void build_mcfg(uint8_t *t)
{
	header(t, "MCFG", MCFG_LEN, 1);
	le_put64(t + HDR_LEN + 8, GUEST_PCI_ECAM_BASE);
	le_put16(t + HDR_LEN + 16, 0);			/* segment */
	t[HDR_LEN + 18] = 0;				/* start bus */
	t[HDR_LEN + 19] = 0;				/* end bus */
	seal(t);
}

static uint8_t *madt_override(uint8_t *e, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	e[0] = MADT_OVERRIDE;
	e[1] = 10;
	e[2] = 0;			/* bus: ISA */
	e[3] = irq;
	le_put32(e + 4, gsi);
	le_put16(e + 8, flags);
	return e + 10;
}

static void build_madt(uint8_t *t, unsigned int ncpus)
{
	uint8_t *e = t + HDR_LEN + 8;

	header(t, "APIC", (uint32_t)madt_len(ncpus), 4);
	le_put32(t + 36, (uint32_t)GUEST_LAPIC_BASE);
	le_put32(t + 40, 0);		/* not PCAT_COMPAT */
	for (unsigned int i = 0; i < ncpus; i++, e += 8) {
		e[0] = MADT_LAPIC;
		e[1] = 8;
		e[2] = (uint8_t)i;	/* processor UID */
		e[3] = (uint8_t)i;	/* APIC ID */
		le_put32(e + 4, MADT_LAPIC_ENABLED);
	}
	e[0] = MADT_IOAPIC;
	e[1] = 12;
	e[2] = (uint8_t)ncpus;		/* I/O APIC ID: the first one after the CPUs */
	e[3] = 0;
	le_put32(e + 4, (uint32_t)GUEST_IOAPIC_BASE);
	le_put32(e + 8, 0);		/* GSI base */
	e += 12;
	/* The PIT's IRQ 0 is wired to pin 2, as on every PC since the APIC. */
	e = madt_override(e, 0, 2, INTI_ACTIVE_HIGH | INTI_EDGE);
	e = madt_override(e, ACPI_SCI_IRQ, ACPI_SCI_IRQ, INTI_ACTIVE_HIGH | INTI_LEVEL);
	e[0] = MADT_LAPIC_NMI;
	e[1] = 6;
	e[2] = MADT_ALL_CPUS;
	le_put16(e + 3, 0);		/* flags: conforming to the bus (edge, high) */
	e[5] = 1;			/* LINT1 */
	seal(t);
}

size_t acpi_build(void *buf, size_t len, const struct acpi_build_cfg *cfg)
{
	uint8_t *b = buf;
	size_t xsdt, fadt, facs, dsdt, madt, mcfg, end;
	unsigned int ntables = cfg->pci ? 3 : 2;
	uint64_t gpa = cfg->gpa;

	if (cfg->ncpus == 0 || cfg->ncpus > MAX_CPUS || gpa % 16)
		return 0;
	xsdt = place(gpa, RSDP_LEN);
	fadt = place(gpa, xsdt + HDR_LEN + ntables * 8);
	facs = place(gpa, fadt + FADT_LEN);
	dsdt = place(gpa, facs + FACS_LEN);
	madt = place(gpa, dsdt + dsdt_len(cfg->pci));
	end = madt + madt_len(cfg->ncpus);
	mcfg = place(gpa, end);
	if (cfg->pci)
		end = mcfg + MCFG_LEN;
	if (!b || len < end)
		return 0;

	memset(b, 0, end);
	build_rsdp(b, gpa + xsdt);
	header(b + xsdt, "XSDT", (uint32_t)(HDR_LEN + ntables * 8), 1);
	le_put64(b + xsdt + HDR_LEN, gpa + fadt);
	le_put64(b + xsdt + HDR_LEN + 8, gpa + madt);
	if (cfg->pci)
		le_put64(b + xsdt + HDR_LEN + 16, gpa + mcfg);
	seal(b + xsdt);
	build_fadt(b + fadt, gpa + facs, gpa + dsdt, cfg->pci);
	build_facs(b + facs);
	build_dsdt(b + dsdt, cfg->pci);
	build_madt(b + madt, cfg->ncpus);
	if (cfg->pci)
		build_mcfg(b + mcfg);
	return end;
}
