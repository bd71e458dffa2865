/* SPDX-License-Identifier: MIT */
/*
 * ACPI parsing; boot/acpi.h says what is fatal and what is only a warning.
 *
 * Every multi-byte field is read bytewise (tables are packed and often
 * misaligned) and only after the length that contains it has been checked.
 * A table's declared length is copied once and bounded before the body is
 * mapped; nothing is read past what the map callback returned.
 */
#include <stdarg.h>

#include "boot/acpi.h"
#include "lib/string.h"

#define HDR_LEN			36	/* the common table header */
#define RSDP_V1_LEN		20
#define RSDP_V2_LEN		36
#define RSDP_MAX_LEN		4096

#define MADT_ENTRIES		44	/* after the header, LAPIC address and flags */
#define MADT_LAPIC		0
#define MADT_IOAPIC		1
#define MADT_LAPIC_OVERRIDE	5
#define MADT_X2APIC		9
#define MADT_ENABLED		(1u << 0)

#define FADT_DSDT		40
#define FADT_PM1A_CNT		64
#define FADT_PM1B_CNT		68
#define FADT_PM_TMR		76
#define FADT_PM_TMR_LEN		91
#define FADT_FLAGS		112
#define FADT_RESET_REG		116
#define FADT_RESET_VALUE	128
#define FADT_X_DSDT		140
#define FADT_X_PM1A_CNT		172
#define FADT_X_PM1B_CNT		184
#define FADT_X_PM_TMR		208
#define FADT_TMR_VAL_EXT	(1u << 8)
#define FADT_RESET_REG_SUP	(1u << 10)

#define GAS_LEN			12
#define GAS_MEMORY		0
#define GAS_IO			1

#define AML_ZERO		0x00
#define AML_ONE			0x01
#define AML_NAME		0x08
#define AML_BYTE		0x0a
#define AML_WORD		0x0b
#define AML_DWORD		0x0c
#define AML_PACKAGE		0x12
#define AML_ROOT		'\\'

/* Bounded text: the freestanding build has no snprintf. */
struct sbuf {
	char *buf;
	size_t cap;		/* including the NUL; 0 discards everything */
	size_t len;
	bool cut;
};

struct parser {
	acpi_map_fn map;
	void *ctx;
	struct acpi_info *out;
	struct sbuf warn;
};

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static inline uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void sb_init(struct sbuf *sb, char *buf, size_t cap)
{
	*sb = (struct sbuf){ .buf = buf, .cap = buf ? cap : 0 };
	if (sb->cap)
		buf[0] = 0;
}

/* Once full, the tail becomes "..." so a reader knows notes were lost. */
static void sb_putc(struct sbuf *sb, char c)
{
	if (sb->cut || !sb->cap)
		return;
	if (sb->len + 1 < sb->cap) {
		sb->buf[sb->len++] = c;
		sb->buf[sb->len] = 0;
		return;
	}
	sb->cut = true;
	if (sb->cap >= 4)
		memcpy(sb->buf + sb->cap - 4, "...", 4);
}

static void sb_putnum(struct sbuf *sb, uint64_t v, unsigned int base)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		sb_putc(sb, tmp[--n]);
}

/* %s %u %x %llu %llx %% only; that is all the messages here need. */
static void sb_vprintf(struct sbuf *sb, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		bool ll = false;
		const char *s;

		if (*fmt != '%') {
			sb_putc(sb, *fmt);
			continue;
		}
		if (fmt[1] == 'l' && fmt[2] == 'l') {
			ll = true;
			fmt += 2;
		}
		switch (*++fmt) {
		case 's':
			for (s = va_arg(ap, const char *); *s; s++)
				sb_putc(sb, *s);
			break;
		case 'u':
			sb_putnum(sb, ll ? va_arg(ap, unsigned long long) :
				  va_arg(ap, unsigned int), 10);
			break;
		case 'x':
			sb_putnum(sb, ll ? va_arg(ap, unsigned long long) :
				  va_arg(ap, unsigned int), 16);
			break;
		case '%':
			sb_putc(sb, '%');
			break;
		default:
			return;
		}
	}
}

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(sb, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3)))
static void warn(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	if (p->warn.len)
		sb_printf(&p->warn, "; ");
	va_start(ap, fmt);
	sb_vprintf(&p->warn, fmt, ap);
	va_end(ap);
}

/* A signature or OEM ID made safe to print: firmware bytes are arbitrary. */
static void printable(char *dst, const uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n && src[i]; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
	dst[i] = 0;
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return sum;
}

/* Physical address 0 never holds a table; it means "absent" everywhere. */
static const uint8_t *map_range(struct parser *p, uint64_t phys, size_t len)
{
	if (!phys || !len || phys > UINT64_MAX - len)
		return NULL;
	return p->map(p->ctx, phys, len);
}

enum table_err { TABLE_OK, TABLE_UNMAPPED, TABLE_BAD_SIG, TABLE_BAD_LEN, TABLE_BAD_SUM };

static const char *const table_err_str[] = {
	[TABLE_OK]	 = "ok",
	[TABLE_UNMAPPED] = "not mapped",
	[TABLE_BAD_SIG]	 = "wrong signature",
	[TABLE_BAD_LEN]	 = "bad length",
	[TABLE_BAD_SUM]	 = "bad checksum",
};

/* Map the whole table at @phys once its header says how long it is. */
static enum table_err map_table(struct parser *p, uint64_t phys, const char *sig,
				const uint8_t **tp, uint32_t *lenp)
{
	const uint8_t *t = map_range(p, phys, HDR_LEN);
	uint32_t len;

	if (!t)
		return TABLE_UNMAPPED;
	if (memcmp(t, sig, 4))
		return TABLE_BAD_SIG;
	len = rd32(t + 4);
	if (len < HDR_LEN || len > ACPI_MAX_TABLE_LEN)
		return TABLE_BAD_LEN;
	t = map_range(p, phys, len);
	if (!t)
		return TABLE_UNMAPPED;
	if (checksum(t, len))
		return TABLE_BAD_SUM;
	*tp = t;
	*lenp = len;
	return TABLE_OK;
}

static void madt_add_cpu(struct parser *p, uint32_t apic_id, uint32_t uid,
			 uint32_t flags, bool x2)
{
	struct acpi_info *out = p->out;

	/* Online-capable (bit 1) CPUs are not started either: disabled. */
	if (!(flags & MADT_ENABLED)) {
		out->cpus_disabled++;
		return;
	}
	for (uint32_t i = 0; i < out->ncpus; i++) {
		if (out->cpus[i].apic_id != apic_id)
			continue;
		/* Firmware may list an xAPIC-range CPU as both type 0 and 9. */
		if (out->cpus[i].x2apic_entry == x2)
			warn(p, "duplicate APIC ID %u", apic_id);
		return;
	}
	if (out->ncpus == ACPI_MAX_CPUS) {
		out->cpus_dropped++;
		return;
	}
	out->cpus[out->ncpus++] = (struct acpi_cpu){
		.apic_id = apic_id, .uid = uid, .x2apic_entry = x2,
	};
}

static void madt_ioapic(struct parser *p, const uint8_t *e)
{
	struct acpi_info *out = p->out;

	if (out->nioapics == ACPI_MAX_IOAPICS) {
		warn(p, "IOAPIC %u dropped", e[2]);
		return;
	}
	out->ioapics[out->nioapics++] = (struct acpi_ioapic){
		.id = e[2], .addr = rd32(e + 4), .gsi_base = rd32(e + 8),
	};
}

/* @e holds @len >= 2 bytes; each type checks it is long enough for its fields. */
static void madt_entry(struct parser *p, const uint8_t *e, uint8_t len)
{
	static const uint8_t min_len[] = {
		[MADT_LAPIC] = 8, [MADT_IOAPIC] = 12,
		[MADT_LAPIC_OVERRIDE] = 12, [MADT_X2APIC] = 16,
	};
	uint8_t type = e[0];

	if (type >= sizeof(min_len) || !min_len[type])
		return;
	if (len < min_len[type]) {
		warn(p, "MADT type %u entry too short (%u)", type, len);
		return;
	}
	switch (type) {
	case MADT_LAPIC:
		if (e[3] == 0xff)
			warn(p, "MADT LAPIC ID 0xff skipped");
		else
			madt_add_cpu(p, e[3], e[2], rd32(e + 4), false);
		break;
	case MADT_X2APIC:
		if (rd32(e + 4) == 0xffffffff)
			warn(p, "MADT x2APIC ID 0xffffffff skipped");
		else
			madt_add_cpu(p, rd32(e + 4), rd32(e + 12), rd32(e + 8), true);
		break;
	case MADT_IOAPIC:
		madt_ioapic(p, e);
		break;
	case MADT_LAPIC_OVERRIDE:
		p->out->lapic_addr = rd64(e + 4);
		break;
	}
}

static void madt_parse(struct parser *p, const uint8_t *t, uint32_t len)
{
	uint32_t off;

	if (len < MADT_ENTRIES) {
		warn(p, "MADT too short (%u)", len);
		return;
	}
	p->out->lapic_addr = rd32(t + HDR_LEN);
	/* Each step advances by at least 2 and stays inside the table. */
	for (off = MADT_ENTRIES; off < len; off += t[off + 1]) {
		if (len - off < 2 || t[off + 1] < 2 || t[off + 1] > len - off) {
			warn(p, "MADT entry at +%u malformed, rest ignored", off);
			return;
		}
		madt_entry(p, t + off, t[off + 1]);
	}
}

static inline bool fadt_has(uint32_t len, uint32_t off, uint32_t size)
{
	return off + size <= len;
}

/*
 * An I/O port block: the 32-bit field, replaced by the X_ GAS when that is
 * present and nonzero (ACPICA prefers it too).  A GAS outside I/O space
 * cannot be represented as a port, so the 32-bit value is kept then.
 */
static uint32_t fadt_io_block(struct parser *p, const uint8_t *t, uint32_t len,
			      uint32_t off32, uint32_t off_gas, const char *name)
{
	uint32_t port = fadt_has(len, off32, 4) ? rd32(t + off32) : 0;
	uint64_t addr;

	if (!fadt_has(len, off_gas, GAS_LEN))
		return port;
	addr = rd64(t + off_gas + 4);
	if (!addr)
		return port;
	if (t[off_gas] != GAS_IO || addr > 0xffff) {
		warn(p, "X_%s not an I/O port, using 0x%x", name, port);
		return port;
	}
	if (port && port != addr)
		warn(p, "%s 0x%x != X_%s 0x%llx, using X_", name, port, name,
		     (unsigned long long)addr);
	return (uint32_t)addr;
}

static void fadt_reset(struct parser *p, const uint8_t *t, uint32_t len, uint32_t flags)
{
	struct acpi_info *out = p->out;
	uint8_t space;

	if (!(flags & FADT_RESET_REG_SUP))
		return;
	if (!fadt_has(len, FADT_RESET_VALUE, 1)) {
		warn(p, "FADT too short for RESET_REG");
		return;
	}
	space = t[FADT_RESET_REG];
	out->reset_addr = rd64(t + FADT_RESET_REG + 4);
	out->reset_value = t[FADT_RESET_VALUE];
	out->reset_space = space;
	if ((space != GAS_MEMORY && space != GAS_IO) || !out->reset_addr)
		warn(p, "RESET_REG space %u addr 0x%llx unusable", space,
		     (unsigned long long)out->reset_addr);
	else
		out->reset_valid = true;
}

static void fadt_parse(struct parser *p, const uint8_t *t, uint32_t len)
{
	struct acpi_info *out = p->out;
	uint32_t flags = fadt_has(len, FADT_FLAGS, 4) ? rd32(t + FADT_FLAGS) : 0;
	uint32_t dsdt32 = fadt_has(len, FADT_DSDT, 4) ? rd32(t + FADT_DSDT) : 0;
	uint64_t x_dsdt = fadt_has(len, FADT_X_DSDT, 8) ? rd64(t + FADT_X_DSDT) : 0;

	out->have_fadt = true;
	out->pm1a_cnt = fadt_io_block(p, t, len, FADT_PM1A_CNT, FADT_X_PM1A_CNT, "PM1a_CNT");
	out->pm1b_cnt = fadt_io_block(p, t, len, FADT_PM1B_CNT, FADT_X_PM1B_CNT, "PM1b_CNT");
	out->pm_tmr_blk = fadt_io_block(p, t, len, FADT_PM_TMR, FADT_X_PM_TMR, "PM_TMR");
	/* PM_TMR_LEN is 4 when the timer exists and 0 when it does not. */
	if (fadt_has(len, FADT_PM_TMR_LEN, 1) && !t[FADT_PM_TMR_LEN])
		out->pm_tmr_blk = 0;
	out->pm_tmr_32bit = out->pm_tmr_blk && (flags & FADT_TMR_VAL_EXT);
	fadt_reset(p, t, len, flags);
	if (x_dsdt && dsdt32 && x_dsdt != dsdt32)
		warn(p, "DSDT 0x%x != X_DSDT 0x%llx, using X_", dsdt32,
		     (unsigned long long)x_dsdt);
	out->dsdt = x_dsdt ? x_dsdt : dsdt32;
}

/*
 * One element of the \_S5_ package, bounded by @end: an integer opcode, or a
 * bare byte 0..7 as some hand-written DSDTs have.  SLP_TYP is 3 bits; ACPICA
 * keeps the low byte of a wider integer, and so does this.
 */
static bool aml_s5_elem(const uint8_t *a, size_t *pos, size_t end, uint8_t *val)
{
	static const uint8_t prefix_len[] = { [AML_BYTE] = 1, [AML_WORD] = 2, [AML_DWORD] = 4 };
	size_t i = *pos;
	uint8_t op;

	if (i >= end)
		return false;
	op = a[i];
	if (op >= AML_BYTE && op <= AML_DWORD) {
		if (end - i < 1u + prefix_len[op])
			return false;
		*val = a[i + 1];
		*pos = i + 1 + prefix_len[op];
		return true;
	}
	if (op > 7)
		return false;
	*val = op;		/* ZeroOp, OneOp or a bare byte */
	*pos = i + 1;
	return true;
}

/* @a[0..@n) follows the name: PackageOp PkgLength NumElements elements... */
static bool aml_s5_package(const uint8_t *a, size_t n, uint8_t *typ_a, uint8_t *typ_b)
{
	size_t nbytes, pkglen, end, pos;

	if (n < 2 || a[0] != AML_PACKAGE)
		return false;
	/* PkgLength: bits 7:6 of the lead byte count the bytes that follow. */
	nbytes = a[1] >> 6;
	if (n < 2 + nbytes + 1)
		return false;
	if (!nbytes) {
		pkglen = a[1] & 0x3f;
	} else {
		pkglen = a[1] & 0x0f;
		for (size_t i = 0; i < nbytes; i++)
			pkglen |= (size_t)a[2 + i] << (4 + 8 * i);
	}
	/* PkgLength counts itself and what follows, not the PackageOp. */
	end = 1 + pkglen < n ? 1 + pkglen : n;
	pos = 2 + nbytes;
	if (pos >= end || a[pos] < 2)
		return false;
	pos++;
	return aml_s5_elem(a, &pos, end, typ_a) && aml_s5_elem(a, &pos, end, typ_b);
}

/*
 * Find NameOp [\] "_S5_" followed by a well-formed package.  This scans raw
 * AML rather than parsing it, so a match that does not decode is passed
 * over and the search goes on.
 */
static void dsdt_find_s5(struct parser *p, const uint8_t *aml, size_t n)
{
	struct acpi_info *out = p->out;

	for (size_t i = 1; i + 4 <= n; i++) {
		size_t op = i - 1;

		if (memcmp(aml + i, "_S5_", 4))
			continue;
		if (aml[op] == AML_ROOT && op > 0)
			op--;
		if (aml[op] != AML_NAME)
			continue;
		if (aml_s5_package(aml + i + 4, n - i - 4, &out->s5_typ_a, &out->s5_typ_b)) {
			out->s5_valid = true;
			return;
		}
	}
	out->s5_typ_a = out->s5_typ_b = 0;
	warn(p, "no usable \\_S5_ in DSDT");
}

static void warn_table(struct parser *p, const char *sig, uint64_t phys, enum table_err e)
{
	warn(p, "%s@0x%llx %s, skipped", sig, (unsigned long long)phys, table_err_str[e]);
}

static void dsdt_parse(struct parser *p)
{
	const uint8_t *t;
	uint32_t len;
	enum table_err e;

	if (!p->out->dsdt) {
		warn(p, "FADT has no DSDT");
		return;
	}
	e = map_table(p, p->out->dsdt, "DSDT", &t, &len);
	if (e) {
		warn_table(p, "DSDT", p->out->dsdt, e);
		return;
	}
	dsdt_find_s5(p, t + HDR_LEN, len - HDR_LEN);
}

struct found {
	const char *sig;
	const uint8_t *t;
	uint32_t len;
};

/* Keep the first valid table with @f->sig; later ones are only noted. */
static void root_consider(struct parser *p, struct found *f, uint64_t phys)
{
	enum table_err e;

	if (f->t) {
		warn(p, "extra %s@0x%llx ignored", f->sig, (unsigned long long)phys);
		return;
	}
	e = map_table(p, phys, f->sig, &f->t, &f->len);
	if (e)
		warn_table(p, f->sig, phys, e);
}

/* Walk the XSDT (@esz 8) or RSDT (@esz 4) for the MADT and the FADT. */
static void root_walk(struct parser *p, const uint8_t *root, uint32_t len, uint32_t esz)
{
	struct found madt = { .sig = "APIC" }, fadt = { .sig = "FACP" };
	uint32_t n = (len - HDR_LEN) / esz;

	if (n > ACPI_MAX_ROOT_ENTRIES) {
		warn(p, "root table has %u entries, using %u", n, ACPI_MAX_ROOT_ENTRIES);
		n = ACPI_MAX_ROOT_ENTRIES;
	}
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = root + HDR_LEN + i * esz;
		uint64_t phys = esz == 8 ? rd64(e) : rd32(e);
		const uint8_t *h;

		if (!phys)
			continue;
		h = map_range(p, phys, HDR_LEN);
		if (!h) {
			warn(p, "root entry %u @0x%llx not mapped", i, (unsigned long long)phys);
			continue;
		}
		if (!memcmp(h, madt.sig, 4))
			root_consider(p, &madt, phys);
		else if (!memcmp(h, fadt.sig, 4))
			root_consider(p, &fadt, phys);
	}
	if (madt.t)
		madt_parse(p, madt.t, madt.len);
	else
		warn(p, "no MADT");
	if (fadt.t) {
		fadt_parse(p, fadt.t, fadt.len);
		dsdt_parse(p);
	} else {
		warn(p, "no FADT");
	}
}

/* Validate the RSDP and return the root table addresses (0 when absent). */
static int rsdp_parse(struct parser *p, uint64_t phys, uint64_t *rsdt, uint64_t *xsdt,
		      struct sbuf *err)
{
	const uint8_t *r = map_range(p, phys, RSDP_V1_LEN);
	uint32_t len;

	if (!r) {
		sb_printf(err, "RSDP@0x%llx not mapped", (unsigned long long)phys);
		return ACPI_E_RSDP;
	}
	if (memcmp(r, "RSD PTR ", 8) || checksum(r, RSDP_V1_LEN)) {
		sb_printf(err, "RSDP@0x%llx bad %s", (unsigned long long)phys,
			  memcmp(r, "RSD PTR ", 8) ? "signature" : "checksum");
		return ACPI_E_RSDP;
	}
	p->out->revision = r[15];
	printable(p->out->oem_id, r + 9, 6);
	*rsdt = rd32(r + 16);
	*xsdt = 0;
	if (p->out->revision < 2)
		return 0;

	r = map_range(p, phys, RSDP_V2_LEN);
	len = r ? rd32(r + 20) : 0;
	if (r && (len < RSDP_V2_LEN || len > RSDP_MAX_LEN)) {
		sb_printf(err, "RSDP bad length %u", len);
		return ACPI_E_RSDP;
	}
	r = r ? map_range(p, phys, len) : NULL;
	if (!r) {
		sb_printf(err, "RSDP v2 not mapped");
		return ACPI_E_RSDP;
	}
	if (checksum(r, len)) {
		sb_printf(err, "RSDP bad extended checksum");
		return ACPI_E_RSDP;
	}
	*xsdt = rd64(r + 24);
	return 0;
}

/* Prefer the XSDT; a damaged one falls back to the RSDT when there is one. */
static int root_parse(struct parser *p, uint64_t rsdt, uint64_t xsdt, struct sbuf *err)
{
	const uint8_t *t;
	uint32_t len;
	enum table_err e;

	if (xsdt) {
		e = map_table(p, xsdt, "XSDT", &t, &len);
		if (!e) {
			root_walk(p, t, len, 8);
			return 0;
		}
		if (!rsdt) {
			sb_printf(err, "XSDT@0x%llx %s, no RSDT", (unsigned long long)xsdt,
				  table_err_str[e]);
			return ACPI_E_ROOT;
		}
		warn(p, "XSDT@0x%llx %s, using RSDT", (unsigned long long)xsdt,
		     table_err_str[e]);
	}
	if (!rsdt) {
		sb_printf(err, "no RSDT or XSDT");
		return ACPI_E_ROOT;
	}
	e = map_table(p, rsdt, "RSDT", &t, &len);
	if (e) {
		sb_printf(err, "RSDT@0x%llx %s", (unsigned long long)rsdt, table_err_str[e]);
		return ACPI_E_ROOT;
	}
	root_walk(p, t, len, 4);
	return 0;
}

int acpi_parse(uint64_t rsdp_phys, acpi_map_fn map, void *ctx,
	       struct acpi_info *out, char *err, size_t errlen)
{
	struct parser p = { .map = map, .ctx = ctx, .out = out };
	struct sbuf e;
	uint64_t rsdt, xsdt;
	int ret;

	sb_init(&e, err, errlen);
	if (out)
		memset(out, 0, sizeof(*out));
	if (!map || !out) {
		sb_printf(&e, "acpi_parse: no map callback or output");
		return ACPI_E_ARG;
	}
	sb_init(&p.warn, out->warnings, sizeof(out->warnings));
	ret = rsdp_parse(&p, rsdp_phys, &rsdt, &xsdt, &e);
	if (!ret)
		ret = root_parse(&p, rsdt, xsdt, &e);
	return ret;
}
