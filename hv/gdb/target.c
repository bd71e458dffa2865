/* SPDX-License-Identifier: MIT */
/*
 * The register tables of the three x86 modes.  GDB's i386 code insists on
 * its core feature (general registers, selectors and the x87 registers) and
 * takes the SSE feature when it is there; the names below are the ones it
 * looks up.  Segment bases, control registers and EFER go in a feature of
 * our own, as QEMU's stub does, so `info registers` shows them.
 */
#include "hv/gdb/target.h"
#include "hv/lib/format.h"
#include "lib/string.h"

enum feature { F_CORE, F_SSE, F_SEGMENTS, F_SYSTEM };

static const char *const feature_names[] = {
	[F_CORE] = "org.gnu.gdb.i386.core", [F_SSE] = "org.gnu.gdb.i386.sse",
	[F_SEGMENTS] = "org.gnu.gdb.i386.segments", [F_SYSTEM] = "org.hv.x86.system",
};

/* A register: @size bytes at @off in struct gdb_regs, @bits wide in packets. */
struct reg {
	const char *name;
	const char *type;
	uint16_t off;
	uint8_t size, bits;
};

#define R(field)	((uint16_t)offsetof(struct gdb_regs, field))
#define FX(o)		((uint16_t)(offsetof(struct gdb_regs, fx) + (o)))
#define FTAG_OFF	0xffff	/* the tag word: built from the abridged FXSAVE tags */

static const struct reg amd64_core[] = {
	{ "rax", "int64", R(gpr[0]), 8, 64 }, { "rbx", "int64", R(gpr[3]), 8, 64 },
	{ "rcx", "int64", R(gpr[1]), 8, 64 }, { "rdx", "int64", R(gpr[2]), 8, 64 },
	{ "rsi", "int64", R(gpr[6]), 8, 64 }, { "rdi", "int64", R(gpr[7]), 8, 64 },
	{ "rbp", "data_ptr", R(gpr[5]), 8, 64 }, { "rsp", "data_ptr", R(gpr[4]), 8, 64 },
	{ "r8", "int64", R(gpr[8]), 8, 64 }, { "r9", "int64", R(gpr[9]), 8, 64 },
	{ "r10", "int64", R(gpr[10]), 8, 64 }, { "r11", "int64", R(gpr[11]), 8, 64 },
	{ "r12", "int64", R(gpr[12]), 8, 64 }, { "r13", "int64", R(gpr[13]), 8, 64 },
	{ "r14", "int64", R(gpr[14]), 8, 64 }, { "r15", "int64", R(gpr[15]), 8, 64 },
	{ "rip", "code_ptr", R(rip), 8, 64 }, { "eflags", "i386_eflags", R(rflags), 4, 32 },
	{ "cs", "int32", R(sel[GDB_SEG_CS]), 4, 32 }, { "ss", "int32", R(sel[GDB_SEG_SS]), 4, 32 },
	{ "ds", "int32", R(sel[GDB_SEG_DS]), 4, 32 }, { "es", "int32", R(sel[GDB_SEG_ES]), 4, 32 },
	{ "fs", "int32", R(sel[GDB_SEG_FS]), 4, 32 }, { "gs", "int32", R(sel[GDB_SEG_GS]), 4, 32 },
};

static const struct reg i386_core[] = {
	{ "eax", "int32", R(gpr[0]), 4, 32 }, { "ecx", "int32", R(gpr[1]), 4, 32 },
	{ "edx", "int32", R(gpr[2]), 4, 32 }, { "ebx", "int32", R(gpr[3]), 4, 32 },
	{ "esp", "data_ptr", R(gpr[4]), 4, 32 }, { "ebp", "data_ptr", R(gpr[5]), 4, 32 },
	{ "esi", "int32", R(gpr[6]), 4, 32 }, { "edi", "int32", R(gpr[7]), 4, 32 },
	{ "eip", "code_ptr", R(rip), 4, 32 }, { "eflags", "i386_eflags", R(rflags), 4, 32 },
	{ "cs", "int32", R(sel[GDB_SEG_CS]), 4, 32 }, { "ss", "int32", R(sel[GDB_SEG_SS]), 4, 32 },
	{ "ds", "int32", R(sel[GDB_SEG_DS]), 4, 32 }, { "es", "int32", R(sel[GDB_SEG_ES]), 4, 32 },
	{ "fs", "int32", R(sel[GDB_SEG_FS]), 4, 32 }, { "gs", "int32", R(sel[GDB_SEG_GS]), 4, 32 },
};

/* The x87 part of the core feature, from the FXSAVE image (SDM vol. 1, 10.5.1). */
static const struct reg x87[] = {
	{ "st0", "i387_ext", FX(32), 10, 80 }, { "st1", "i387_ext", FX(48), 10, 80 },
	{ "st2", "i387_ext", FX(64), 10, 80 }, { "st3", "i387_ext", FX(80), 10, 80 },
	{ "st4", "i387_ext", FX(96), 10, 80 }, { "st5", "i387_ext", FX(112), 10, 80 },
	{ "st6", "i387_ext", FX(128), 10, 80 }, { "st7", "i387_ext", FX(144), 10, 80 },
	{ "fctrl", "int", FX(0), 2, 32 }, { "fstat", "int", FX(2), 2, 32 },
	{ "ftag", "int", FTAG_OFF, 2, 32 }, { "fiseg", "int", FX(12), 2, 32 },
	{ "fioff", "int", FX(8), 4, 32 }, { "foseg", "int", FX(20), 2, 32 },
	{ "fooff", "int", FX(16), 4, 32 }, { "fop", "int", FX(6), 2, 32 },
};

#define XMM(n)	{ "xmm" #n, "vec128", FX(160 + 16 * (n)), 16, 128 }
static const struct reg xmm[] = {
	XMM(0), XMM(1), XMM(2), XMM(3), XMM(4), XMM(5), XMM(6), XMM(7),
	XMM(8), XMM(9), XMM(10), XMM(11), XMM(12), XMM(13), XMM(14), XMM(15),
};
static const struct reg mxcsr[] = { { "mxcsr", "i386_mxcsr", FX(24), 4, 32 } };

static const struct reg amd64_segments[] = {
	{ "fs_base", "int", R(base[GDB_SEG_FS]), 8, 64 },
	{ "gs_base", "int", R(base[GDB_SEG_GS]), 8, 64 },
};

static const struct reg amd64_system[] = {
	{ "k_gs_base", "int", R(kernel_gs_base), 8, 64 },
	{ "cs_base", "uint64", R(base[GDB_SEG_CS]), 8, 64 },
	{ "ss_base", "uint64", R(base[GDB_SEG_SS]), 8, 64 },
	{ "ds_base", "uint64", R(base[GDB_SEG_DS]), 8, 64 },
	{ "es_base", "uint64", R(base[GDB_SEG_ES]), 8, 64 },
	{ "cr0", "uint64", R(cr0), 8, 64 }, { "cr2", "uint64", R(cr2), 8, 64 },
	{ "cr3", "uint64", R(cr3), 8, 64 }, { "cr4", "uint64", R(cr4), 8, 64 },
	{ "efer", "uint64", R(efer), 8, 64 },
};

/* Outside long mode every base is 32 bits; GDB's own segments feature is not used. */
static const struct reg i386_system[] = {
	{ "cs_base", "uint32", R(base[GDB_SEG_CS]), 4, 32 },
	{ "ss_base", "uint32", R(base[GDB_SEG_SS]), 4, 32 },
	{ "ds_base", "uint32", R(base[GDB_SEG_DS]), 4, 32 },
	{ "es_base", "uint32", R(base[GDB_SEG_ES]), 4, 32 },
	{ "fs_base", "uint32", R(base[GDB_SEG_FS]), 4, 32 },
	{ "gs_base", "uint32", R(base[GDB_SEG_GS]), 4, 32 },
	{ "cr0", "uint32", R(cr0), 4, 32 }, { "cr2", "uint32", R(cr2), 4, 32 },
	{ "cr3", "uint32", R(cr3), 4, 32 }, { "cr4", "uint32", R(cr4), 4, 32 },
	{ "efer", "uint64", R(efer), 8, 64 },
};

struct part {
	const struct reg *regs;
	unsigned int n;
	enum feature feature;
};

#define PART(a, f)		{ a, sizeof(a) / sizeof(a[0]), f }
#define PART_N(a, n, f)		{ a, n, f }

static const struct part amd64_parts[] = {
	PART(amd64_core, F_CORE), PART(x87, F_CORE), PART_N(xmm, 16, F_SSE),
	PART(mxcsr, F_SSE), PART(amd64_segments, F_SEGMENTS), PART(amd64_system, F_SYSTEM),
};

static const struct part i386_parts[] = {
	PART(i386_core, F_CORE), PART(x87, F_CORE), PART_N(xmm, 8, F_SSE),
	PART(mxcsr, F_SSE), PART(i386_system, F_SYSTEM),
};

static const struct part *parts(enum gdb_arch arch, unsigned int *n)
{
	if (arch == GDB_ARCH_AMD64) {
		*n = sizeof(amd64_parts) / sizeof(amd64_parts[0]);
		return amd64_parts;
	}
	*n = sizeof(i386_parts) / sizeof(i386_parts[0]);
	return i386_parts;
}

/* Register @n of @arch and its feature; NULL past the last. */
static const struct reg *lookup(enum gdb_arch arch, unsigned int n, enum feature *f)
{
	unsigned int np;
	const struct part *p = parts(arch, &np);

	for (unsigned int i = 0; i < np; i++) {
		if (n < p[i].n) {
			if (f)
				*f = p[i].feature;
			return &p[i].regs[n];
		}
		n -= p[i].n;
	}
	return NULL;
}

unsigned int gdb_target_nregs(enum gdb_arch arch)
{
	unsigned int np, total = 0;
	const struct part *p = parts(arch, &np);

	for (unsigned int i = 0; i < np; i++)
		total += p[i].n;
	return total;
}

unsigned int gdb_target_reg_size(enum gdb_arch arch, unsigned int n)
{
	const struct reg *r = lookup(arch, n, NULL);

	return r ? r->bits / 8 : 0;
}

unsigned int gdb_target_pc_reg(enum gdb_arch arch)
{
	return arch == GDB_ARCH_AMD64 ? 16 : 8;
}

/*
 * GDB wants the full tag word, two bits per physical register; FXSAVE keeps
 * one "not empty" bit each.  Rebuild the class (valid, zero, special) from
 * the value, as GDB's own i387_supply_fxsave() does.
 */
static uint16_t full_tag_word(const uint8_t *fx)
{
	unsigned int top = (fx[2] | fx[3] << 8) >> 11 & 7;
	uint16_t tw = 0;

	for (unsigned int phys = 0; phys < 8; phys++) {
		const uint8_t *st = fx + 32 + 16 * ((phys - top) & 7);
		unsigned int exp = (st[8] | st[9] << 8) & 0x7fff, tag;
		uint64_t mant;

		memcpy(&mant, st, 8);
		if (!(fx[4] >> phys & 1))
			tag = 3;			/* empty */
		else if (exp == 0x7fff)
			tag = 2;			/* NaN, infinity */
		else if (exp == 0)
			tag = mant ? 2 : 1;		/* denormal : zero */
		else
			tag = mant >> 63 ? 0 : 2;	/* valid : unnormal */
		tw |= (uint16_t)(tag << (2 * phys));
	}
	return tw;
}

void gdb_target_reg_get(enum gdb_arch arch, unsigned int n, const struct gdb_regs *r,
			uint8_t *out)
{
	const struct reg *d = lookup(arch, n, NULL);
	uint16_t tw;

	if (!d)
		return;
	memset(out, 0, d->bits / 8);
	if (d->off == FTAG_OFF) {
		tw = full_tag_word(r->fx);
		memcpy(out, &tw, 2);
	} else {
		memcpy(out, (const uint8_t *)r + d->off, d->size);
	}
}

void gdb_target_reg_set(enum gdb_arch arch, unsigned int n, struct gdb_regs *r,
			const uint8_t *in)
{
	const struct reg *d = lookup(arch, n, NULL);

	if (!d)
		return;
	if (d->off == FTAG_OFF) {
		uint8_t abridged = 0;

		for (unsigned int phys = 0; phys < 8; phys++)
			if (((in[phys / 4] >> (2 * (phys % 4))) & 3) != 3)
				abridged |= (uint8_t)(1u << phys);
		r->fx[4] = abridged;
	} else {
		memcpy((uint8_t *)r + d->off, in, d->size);
	}
}

const char *gdb_target_arch_name(enum gdb_arch arch)
{
	return arch == GDB_ARCH_AMD64 ? "i386:x86-64" : arch == GDB_ARCH_I386 ? "i386" : "i8086";
}

/* Appends that stop at the buffer's end but keep counting, like snprintf. */
struct xml {
	char *buf;
	size_t size, len;
};

static void emit(struct xml *x, const char *s)
{
	size_t n = strlen(s);

	if (x->len < x->size)
		memcpy(x->buf + x->len, s, x->len + n <= x->size ? n : x->size - x->len);
	x->len += n;
}

static const char eflags_type[] =
	"<flags id=\"i386_eflags\" size=\"4\">"
	"<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>"
	"<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>"
	"<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>"
	"<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>"
	"<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>"
	"<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>"
	"<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>"
	"<field name=\"VIF\" start=\"19\" end=\"19\"/><field name=\"VIP\" start=\"20\" end=\"20\"/>"
	"<field name=\"ID\" start=\"21\" end=\"21\"/></flags>\n";

static const char sse_types[] =
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
	"<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/>"
	"<field name=\"v2_double\" type=\"v2d\"/><field name=\"v16_int8\" type=\"v16i8\"/>"
	"<field name=\"v8_int16\" type=\"v8i16\"/><field name=\"v4_int32\" type=\"v4i32\"/>"
	"<field name=\"v2_int64\" type=\"v2i64\"/><field name=\"uint128\" type=\"uint128\"/>"
	"</union>\n"
	"<flags id=\"i386_mxcsr\" size=\"4\">"
	"<field name=\"IE\" start=\"0\" end=\"0\"/><field name=\"DE\" start=\"1\" end=\"1\"/>"
	"<field name=\"ZE\" start=\"2\" end=\"2\"/><field name=\"OE\" start=\"3\" end=\"3\"/>"
	"<field name=\"UE\" start=\"4\" end=\"4\"/><field name=\"PE\" start=\"5\" end=\"5\"/>"
	"<field name=\"DAZ\" start=\"6\" end=\"6\"/><field name=\"IM\" start=\"7\" end=\"7\"/>"
	"<field name=\"DM\" start=\"8\" end=\"8\"/><field name=\"ZM\" start=\"9\" end=\"9\"/>"
	"<field name=\"OM\" start=\"10\" end=\"10\"/><field name=\"UM\" start=\"11\" end=\"11\"/>"
	"<field name=\"PM\" start=\"12\" end=\"12\"/><field name=\"FZ\" start=\"15\" end=\"15\"/>"
	"</flags>\n";

size_t gdb_target_xml(enum gdb_arch arch, char *buf, size_t size)
{
	struct xml x = { buf, size, 0 };
	unsigned int n = gdb_target_nregs(arch);
	enum feature cur = F_SYSTEM, f = F_CORE;
	char line[160];

	emit(&x, "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
		 "<target version=\"1.0\">\n<architecture>");
	emit(&x, gdb_target_arch_name(arch));
	emit(&x, "</architecture>\n");
	/* GDB has no GNU/Linux support for i8086 and warns; a guest has no OS ABI anyway. */
	if (arch == GDB_ARCH_I8086)
		emit(&x, "<osabi>none</osabi>\n");
	for (unsigned int i = 0; i < n; i++) {
		const struct reg *r = lookup(arch, i, &f);

		if (i == 0 || f != cur) {
			if (i)
				emit(&x, "</feature>\n");
			emit(&x, "<feature name=\"");
			emit(&x, feature_names[f]);
			emit(&x, "\">\n");
			if (f == F_CORE)
				emit(&x, eflags_type);
			else if (f == F_SSE)
				emit(&x, sse_types);
			cur = f;
		}
		hv_snprintf(line, sizeof(line), "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" "
			    "regnum=\"%u\"/>\n", r->name, r->bits, r->type, i);
		emit(&x, line);
	}
	emit(&x, "</feature>\n</target>\n");
	return x.len;
}
