/* SPDX-License-Identifier: MIT */
/*
 * The emulator's arithmetic: results and the six arithmetic flags (SDM
 * vol. 1, 3.4.3.1 and each instruction's "Flags Affected").  Carries and
 * overflows come from the operands' and the result's top bits, so 64-bit
 * operands need no wider type.
 */
#include "hv/vmx/emulate_insn.h"

static uint64_t parity(uint64_t r)
{
	r &= 0xff;
	r ^= r >> 4;
	r ^= r >> 2;
	r ^= r >> 1;
	return r & 1 ? 0 : EMU_PF;
}

/* Carry, overflow and adjust of r = a + b (+ carry in). */
static uint64_t add_flags(uint64_t a, uint64_t b, uint64_t r, uint64_t sign)
{
	uint64_t flags = (a ^ b ^ r) & EMU_AF;

	if (((a & b) | ((a ^ b) & ~r)) & sign)
		flags |= EMU_CF;
	if ((a ^ r) & (b ^ r) & sign)
		flags |= EMU_OF;
	return flags;
}

/* Borrow, overflow and adjust of r = a - b (- borrow in). */
static uint64_t sub_flags(uint64_t a, uint64_t b, uint64_t r, uint64_t sign)
{
	uint64_t flags = (a ^ b ^ r) & EMU_AF;

	if (((~a & b) | (~(a ^ b) & r)) & sign)
		flags |= EMU_CF;
	if ((a ^ b) & (a ^ r) & sign)
		flags |= EMU_OF;
	return flags;
}

uint64_t emu_alu(enum emu_op op, unsigned int size, uint64_t dst, uint64_t src,
		 uint64_t *rflags)
{
	uint64_t mask = size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
	uint64_t sign = 1ULL << (8 * size - 1), cin = *rflags & EMU_CF;
	uint64_t r, flags = 0, keep = 0;

	dst &= mask;
	src &= mask;
	switch (op) {
	case EMU_OP_ADD:
	case EMU_OP_ADC:
		r = dst + src + (op == EMU_OP_ADC ? cin : 0);
		flags = add_flags(dst, src, r, sign);
		break;
	case EMU_OP_SUB:
	case EMU_OP_SBB:
	case EMU_OP_CMP:
		r = dst - src - (op == EMU_OP_SBB ? cin : 0);
		flags = sub_flags(dst, src, r, sign);
		break;
	case EMU_OP_INC:
		r = dst + 1;
		flags = add_flags(dst, 1, r, sign) & ~EMU_CF;
		keep = EMU_CF;
		break;
	case EMU_OP_DEC:
		r = dst - 1;
		flags = sub_flags(dst, 1, r, sign) & ~EMU_CF;
		keep = EMU_CF;
		break;
	case EMU_OP_NEG:
		r = 0 - dst;
		flags = sub_flags(0, dst, r, sign);
		break;
	case EMU_OP_AND:
	case EMU_OP_TEST:
		r = dst & src;		/* CF, OF clear; AF undefined: Intel clears it */
		break;
	case EMU_OP_OR:
		r = dst | src;
		break;
	case EMU_OP_XOR:
		r = dst ^ src;
		break;
	case EMU_OP_NOT:
		return ~dst & mask;	/* no flags */
	default:
		return dst;
	}
	r &= mask;
	flags |= parity(r) | (r ? 0 : EMU_ZF) | (r & sign ? EMU_SF : 0);
	*rflags = (*rflags & ~(EMU_ARITH_FLAGS & ~keep)) | flags;
	return r;
}
