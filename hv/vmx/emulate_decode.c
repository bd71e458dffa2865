/* SPDX-License-Identifier: MIT */
/*
 * Instruction decoding for the emulator (SDM vol. 2, chapter 2): legacy and
 * REX prefixes, a table of the opcodes the emulator executes, ModRM, SIB and
 * displacements in 16-, 32- and 64-bit addressing, moffs and immediates.
 * Every form decoded has a memory operand: an instruction without one cannot
 * have faulted on MMIO, so register forms are left unhandled.
 */
#include "hv/vmx/emulate.h"
#include "hv/vmx/emulate_insn.h"

#define F_VALID		(1u << 0)
#define F_BYTE		(1u << 1)	/* 8-bit operands */
#define F_IMM		(1u << 2)	/* immediate of the operand size, 4 bytes at most */
#define F_IMM8		(1u << 3)	/* one-byte immediate, sign-extended */
#define F_LOCK		(1u << 4)	/* LOCK allowed */
#define F_GROUP		(1u << 5)	/* ModRM.reg picks the entry in groups[.grp] */
#define F_SRC8		(1u << 6)	/* MOVZX/MOVSX from a byte */
#define F_SRC16		(1u << 7)	/* MOVZX/MOVSX from a word */
#define F_SRC32		(1u << 8)	/* MOVSXD: from a dword at most */
#define F_STACK		(1u << 9)	/* PUSH/POP: 64 bits by default in 64-bit mode */
#define F_MOFFS		(1u << 10)	/* A0-A3: an address instead of ModRM */
#define F_NOPFX		(1u << 11)	/* MOVNTI: no 66/F2/F3; 32 or 64 bits */
#define F_ONLY64	(1u << 12)	/* MOVSXD: ARPL outside 64-bit mode */

struct opcode {
	uint8_t op, form, grp;
	uint16_t flags;
};

#define OP(o, f, fl)	{ EMU_OP_##o, EMU_FORM_##f, 0, F_VALID | (fl) }
#define GRP(g, fl)	{ 0, 0, (g), F_VALID | F_GROUP | (fl) }
/* 00-3B: op Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev; lock: whether the store forms take LOCK. */
#define ALU(n, o, lock)	[n] = OP(o, MR, F_BYTE | (lock)), [n + 1] = OP(o, MR, (lock)), \
			[n + 2] = OP(o, RM, F_BYTE), [n + 3] = OP(o, RM, 0)

enum { G1 = 1, G1A, G3, G4, G5, G8, G11, NR_GROUPS };

static const struct opcode groups[NR_GROUPS][8] = {
	[G1] = { OP(ADD, MI, F_LOCK), OP(OR, MI, F_LOCK), OP(ADC, MI, F_LOCK),
		 OP(SBB, MI, F_LOCK), OP(AND, MI, F_LOCK), OP(SUB, MI, F_LOCK),
		 OP(XOR, MI, F_LOCK), OP(CMP, MI, 0) },
	[G1A] = { OP(POP, M, F_STACK) },
	/* F6/F7 /1 is an undocumented alias of TEST that Intel and AMD execute. */
	[G3] = { OP(TEST, MI, F_IMM), OP(TEST, MI, F_IMM), OP(NOT, M, F_LOCK),
		 OP(NEG, M, F_LOCK) },
	[G4] = { OP(INC, M, F_LOCK), OP(DEC, M, F_LOCK) },
	[G5] = { OP(INC, M, F_LOCK), OP(DEC, M, F_LOCK), [6] = OP(PUSH, M, F_STACK) },
	[G8] = { [4] = OP(BT, MI, 0), OP(BTS, MI, F_LOCK), OP(BTR, MI, F_LOCK),
		 OP(BTC, MI, F_LOCK) },
	[G11] = { OP(MOV, MI, 0) },
};

static const struct opcode one_byte[256] = {
	ALU(0x00, ADD, F_LOCK), ALU(0x08, OR, F_LOCK), ALU(0x10, ADC, F_LOCK),
	ALU(0x18, SBB, F_LOCK), ALU(0x20, AND, F_LOCK), ALU(0x28, SUB, F_LOCK),
	ALU(0x30, XOR, F_LOCK), ALU(0x38, CMP, 0),
	[0x63] = OP(MOVSX, RM, F_SRC32 | F_ONLY64),
	[0x80] = GRP(G1, F_BYTE | F_IMM), [0x81] = GRP(G1, F_IMM), [0x83] = GRP(G1, F_IMM8),
	[0x84] = OP(TEST, MR, F_BYTE), [0x85] = OP(TEST, MR, 0),
	[0x86] = OP(XCHG, MR, F_BYTE | F_LOCK), [0x87] = OP(XCHG, MR, F_LOCK),
	[0x88] = OP(MOV, MR, F_BYTE), [0x89] = OP(MOV, MR, 0),
	[0x8a] = OP(MOV, RM, F_BYTE), [0x8b] = OP(MOV, RM, 0),
	[0x8f] = GRP(G1A, 0),
	[0xa0] = OP(MOV, RM, F_BYTE | F_MOFFS), [0xa1] = OP(MOV, RM, F_MOFFS),
	[0xa2] = OP(MOV, MR, F_BYTE | F_MOFFS), [0xa3] = OP(MOV, MR, F_MOFFS),
	[0xa4] = OP(MOVS, STRING, F_BYTE), [0xa5] = OP(MOVS, STRING, 0),
	[0xaa] = OP(STOS, STRING, F_BYTE), [0xab] = OP(STOS, STRING, 0),
	[0xac] = OP(LODS, STRING, F_BYTE), [0xad] = OP(LODS, STRING, 0),
	[0xc6] = GRP(G11, F_BYTE | F_IMM), [0xc7] = GRP(G11, F_IMM),
	[0xf6] = GRP(G3, F_BYTE), [0xf7] = GRP(G3, 0),
	[0xfe] = GRP(G4, F_BYTE), [0xff] = GRP(G5, 0),
};

static const struct opcode two_byte[256] = {
	[0xa3] = OP(BT, MR, 0), [0xab] = OP(BTS, MR, F_LOCK),
	[0xb3] = OP(BTR, MR, F_LOCK), [0xbb] = OP(BTC, MR, F_LOCK),
	[0xb0] = OP(CMPXCHG, MR, F_BYTE | F_LOCK), [0xb1] = OP(CMPXCHG, MR, F_LOCK),
	[0xb6] = OP(MOVZX, RM, F_SRC8), [0xb7] = OP(MOVZX, RM, F_SRC16),
	[0xba] = GRP(G8, F_IMM8),
	[0xbe] = OP(MOVSX, RM, F_SRC8), [0xbf] = OP(MOVSX, RM, F_SRC16),
	[0xc0] = OP(XADD, MR, F_BYTE | F_LOCK), [0xc1] = OP(XADD, MR, F_LOCK),
	[0xc3] = OP(MOV, MR, F_NOPFX),
};

struct reader {
	const uint8_t *b;
	unsigned int avail, pos;
};

struct prefixes {
	bool opsize, addrsize, lock;
	int seg;			/* -1: none */
	uint8_t rep;			/* 0, F2 or F3: the last one */
	uint8_t rex;			/* 0: none */
};

#define REX_B		1
#define REX_X		2
#define REX_R		4
#define REX_W		8

/* n more bytes, little-endian; an error if the instruction would pass 15 or avail. */
static enum emu_decode_result take(struct reader *r, unsigned int n, uint64_t *val)
{
	if (r->pos + n > 15)
		return EMU_DEC_GP;
	if (r->pos + n > r->avail)
		return EMU_DEC_SHORT;
	*val = 0;
	for (unsigned int i = 0; i < n; i++)
		*val |= (uint64_t)r->b[r->pos + i] << (8 * i);
	r->pos += n;
	return EMU_DEC_OK;
}

static uint64_t sign_extend(uint64_t v, unsigned int bytes)
{
	unsigned int shift = 64 - 8 * bytes;

	return bytes >= 8 ? v : (uint64_t)((int64_t)(v << shift) >> shift);
}

static int segment_prefix(uint8_t b)
{
	switch (b) {
	case 0x26: return EMU_ES;
	case 0x2e: return EMU_CS;
	case 0x36: return EMU_SS;
	case 0x3e: return EMU_DS;
	case 0x64: return EMU_FS;
	case 0x65: return EMU_GS;
	}
	return -1;
}

/* Consume the prefixes; r is left on the opcode. */
static enum emu_decode_result read_prefixes(struct reader *r, unsigned int mode,
					    struct prefixes *p)
{
	for (;;) {
		enum emu_decode_result err;
		uint64_t b;
		int seg;

		err = take(r, 1, &b);
		if (err)
			return err;
		seg = segment_prefix((uint8_t)b);
		if (mode == 64 && (b & 0xf0) == 0x40) {
			p->rex = (uint8_t)b;
			continue;
		}
		if (seg >= 0)
			/* 64-bit mode ignores the ES, CS, SS and DS overrides. */
			p->seg = mode == 64 && seg < EMU_FS ? p->seg : seg;
		else if (b == 0x66)
			p->opsize = true;
		else if (b == 0x67)
			p->addrsize = true;
		else if (b == 0xf0)
			p->lock = true;
		else if (b == 0xf2 || b == 0xf3)
			p->rep = (uint8_t)b;
		else
			break;
		p->rex = 0;		/* REX counts only right before the opcode */
	}
	r->pos--;
	return EMU_DEC_OK;
}

/* The table entry for the opcode at r, a group's resolved by ModRM.reg. */
static enum emu_decode_result lookup(struct reader *r, struct opcode *e)
{
	const struct opcode *table = one_byte, *g;
	enum emu_decode_result err;
	uint64_t b;

	err = take(r, 1, &b);
	if (!err && b == 0x0f) {
		table = two_byte;
		err = take(r, 1, &b);
	}
	if (err)
		return err;
	*e = table[b];
	if (!(e->flags & F_VALID))
		return EMU_DEC_UNHANDLED;
	if (!(e->flags & F_GROUP))
		return EMU_DEC_OK;
	err = take(r, 1, &b);		/* ModRM, read again by memory_operand() */
	if (err)
		return err;
	r->pos--;
	g = &groups[e->grp][(b >> 3) & 7];
	if (!(g->flags & F_VALID))
		return EMU_DEC_UNHANDLED;
	e->op = g->op;
	e->form = g->form;
	e->flags = (uint16_t)((e->flags & ~F_GROUP) | g->flags);
	return EMU_DEC_OK;
}

static void operand_sizes(struct emu_insn *in, const struct opcode *e,
			  const struct prefixes *p, unsigned int mode)
{
	unsigned int def = mode == 16 ? 2 : 4;

	if (e->flags & F_BYTE)
		in->opsize = 1;
	else if ((e->flags & F_STACK) && mode == 64)
		in->opsize = p->opsize && !(p->rex & REX_W) ? 2 : 8;
	else if (e->flags & F_NOPFX)
		in->opsize = p->rex & REX_W ? 8 : 4;
	else if (p->rex & REX_W)
		in->opsize = 8;
	else
		in->opsize = p->opsize ? 6 - def : def;
	in->msize = e->flags & F_SRC8 ? 1 : e->flags & F_SRC16 ? 2 :
		    (e->flags & F_SRC32) && in->opsize == 8 ? 4 : in->opsize;
	if (mode == 64)
		in->addrsize = p->addrsize ? 4 : 8;
	else
		in->addrsize = p->addrsize ? 6 - def : def;
}

/* 16-bit addressing: [BX+SI], [BX+DI], [BP+SI], [BP+DI], [SI], [DI], [BP], [BX]. */
static enum emu_decode_result modrm16(struct reader *r, uint8_t modrm, struct emu_insn *in)
{
	static const int8_t base[8] = { EMU_RBX, EMU_RBX, EMU_RBP, EMU_RBP,
					EMU_RSI, EMU_RDI, EMU_RBP, EMU_RBX };
	static const int8_t index[8] = { EMU_RSI, EMU_RDI, EMU_RSI, EMU_RDI, -1, -1, -1, -1 };
	unsigned int mod = modrm >> 6, rm = modrm & 7;
	enum emu_decode_result err = EMU_DEC_OK;
	uint64_t disp = 0;

	in->base = base[rm];
	in->index = index[rm];
	if (mod == 0 && rm == 6) {
		in->base = -1;
		err = take(r, 2, &disp);
	} else if (mod == 1) {
		err = take(r, 1, &disp);
	} else if (mod == 2) {
		err = take(r, 2, &disp);
	}
	in->disp = sign_extend(disp, mod == 1 ? 1 : 2);
	return err;
}

/* 32- and 64-bit addressing: ModRM, SIB, disp8/disp32, RIP-relative. */
static enum emu_decode_result modrm32(struct reader *r, uint8_t modrm, uint8_t rex,
				      unsigned int mode, struct emu_insn *in)
{
	unsigned int mod = modrm >> 6, rm = modrm & 7;
	enum emu_decode_result err = EMU_DEC_OK;
	uint64_t sib, disp = 0;

	in->base = (int)(rm | (rex & REX_B ? 8 : 0));
	if (rm == 4) {
		err = take(r, 1, &sib);
		if (err)
			return err;
		in->scale = (unsigned int)(sib >> 6);
		in->index = (int)(((sib >> 3) & 7) | (rex & REX_X ? 8 : 0));
		if (in->index == EMU_RSP)
			in->index = -1;
		in->base = (int)((sib & 7) | (rex & REX_B ? 8 : 0));
		if ((sib & 7) == 5 && mod == 0) {
			in->base = -1;
			mod = 2;	/* disp32 follows */
		}
	} else if (rm == 5 && mod == 0) {
		in->base = -1;
		in->rip_relative = mode == 64;
		mod = 2;
	}
	if (mod == 1)
		err = take(r, 1, &disp);
	else if (mod == 2)
		err = take(r, 4, &disp);
	in->disp = sign_extend(disp, mod == 1 ? 1 : 4);
	return err;
}

static enum emu_decode_result memory_operand(struct reader *r, const struct opcode *e,
					     const struct prefixes *p, unsigned int mode,
					     struct emu_insn *in)
{
	enum emu_decode_result err;
	uint64_t modrm;

	in->seg = EMU_DS;
	if (e->flags & F_MOFFS) {
		err = take(r, in->addrsize, &in->disp);
	} else {
		err = take(r, 1, &modrm);
		if (err)
			return err;
		if ((modrm >> 6) == 3)
			return EMU_DEC_UNHANDLED;	/* no memory operand */
		in->reg = (unsigned int)((modrm >> 3) & 7) | (p->rex & REX_R ? 8 : 0);
		if (in->addrsize == 2)
			err = modrm16(r, (uint8_t)modrm, in);
		else
			err = modrm32(r, (uint8_t)modrm, p->rex, mode, in);
		/* rBP and rSP (not r12, r13) as base address the stack. */
		if (in->base == EMU_RBP || in->base == EMU_RSP)
			in->seg = EMU_SS;
	}
	if (p->seg >= 0)
		in->seg = (unsigned int)p->seg;
	if (in->opsize == 1 && !p->rex && in->reg >= 4 && in->reg < 8) {
		in->reg -= 4;
		in->reg_high8 = true;
	}
	return err;
}

static enum emu_decode_result immediate(struct reader *r, const struct opcode *e,
					struct emu_insn *in)
{
	unsigned int n = e->flags & F_IMM8 ? 1 : in->opsize < 4 ? in->opsize : 4;
	enum emu_decode_result err;

	if (!(e->flags & (F_IMM | F_IMM8)))
		return EMU_DEC_OK;
	err = take(r, n, &in->imm);
	in->imm = sign_extend(in->imm, n);
	return err;
}

enum emu_decode_result emu_decode(const uint8_t *b, unsigned int avail, unsigned int mode,
				  struct emu_insn *in)
{
	struct reader r = { .b = b, .avail = avail };
	struct prefixes p = { .seg = -1 };
	enum emu_decode_result err;
	struct opcode e;

	*in = (struct emu_insn){ .base = -1, .index = -1 };
	err = read_prefixes(&r, mode, &p);
	if (!err)
		err = lookup(&r, &e);
	if (err)
		return err;
	if (((e.flags & F_ONLY64) && mode != 64) ||
	    ((e.flags & F_NOPFX) && (p.opsize || p.rep)))
		return EMU_DEC_UNHANDLED;
	in->op = (enum emu_op)e.op;
	in->form = (enum emu_form)e.form;
	in->lock = p.lock;
	in->rep = p.rep != 0;
	operand_sizes(in, &e, &p, mode);
	if (in->form == EMU_FORM_STRING) {
		in->seg = p.seg >= 0 ? (unsigned int)p.seg : EMU_DS;
	} else {
		err = memory_operand(&r, &e, &p, mode, in);
		if (!err)
			err = immediate(&r, &e, in);
		if (err)
			return err;
	}
	if (p.lock && !(e.flags & F_LOCK))
		return EMU_DEC_UD;
	in->len = r.pos;
	return EMU_DEC_OK;
}
