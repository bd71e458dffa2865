/* SPDX-License-Identifier: MIT */
/*
 * Inside the emulator: the decoded instruction (emulate_decode.c) and the
 * arithmetic with its flags (emulate_alu.c), shared with emulate.c and the
 * tests; not for the emulator's users.
 */
#ifndef HV_VMX_EMULATE_INSN_H
#define HV_VMX_EMULATE_INSN_H

#include <stdbool.h>
#include <stdint.h>

enum emu_op {
	/* The ALU group, in the order of opcode bits 5:3 and of ModRM.reg in 80-83. */
	EMU_OP_ADD, EMU_OP_OR, EMU_OP_ADC, EMU_OP_SBB,
	EMU_OP_AND, EMU_OP_SUB, EMU_OP_XOR, EMU_OP_CMP,
	EMU_OP_TEST, EMU_OP_NOT, EMU_OP_NEG, EMU_OP_INC, EMU_OP_DEC,
	EMU_OP_MOV, EMU_OP_MOVZX, EMU_OP_MOVSX, EMU_OP_XCHG, EMU_OP_CMPXCHG, EMU_OP_XADD,
	/* The BT group, in the order of ModRM.reg 4..7 in 0F BA. */
	EMU_OP_BT, EMU_OP_BTS, EMU_OP_BTR, EMU_OP_BTC,
	EMU_OP_MOVS, EMU_OP_STOS, EMU_OP_LODS, EMU_OP_PUSH, EMU_OP_POP,
};

/* Where the operands are; every form has a memory operand. */
enum emu_form {
	EMU_FORM_MR,		/* destination memory, source register */
	EMU_FORM_RM,		/* destination register, source memory */
	EMU_FORM_MI,		/* destination memory, source immediate */
	EMU_FORM_M,		/* memory only */
	EMU_FORM_STRING,	/* [rSI] and/or [rDI] */
};

struct emu_insn {
	enum emu_op op;
	enum emu_form form;
	unsigned int len;
	unsigned int opsize;		/* 1, 2, 4 or 8: the register operand's */
	unsigned int msize;		/* the memory operand's: opsize but for MOVZX/MOVSX */
	unsigned int addrsize;		/* 2, 4 or 8 */
	bool lock, rep;			/* rep: F2 or F3, both REP for MOVS/STOS/LODS */
	unsigned int reg;		/* register operand: GPR number */
	bool reg_high8;			/* AH, CH, DH, BH: bits 15:8 of GPR reg - 4 */
	/* Memory operand: seg:[base + (index << scale) + disp (+ next RIP)]. */
	unsigned int seg;		/* strings: the source's */
	int base, index;		/* GPR number, or -1 */
	unsigned int scale;
	bool rip_relative;
	uint64_t disp;			/* sign-extended to 64 bits */
	uint64_t imm;			/* sign-extended to 64 bits */
};

enum emu_decode_result {
	EMU_DEC_OK,
	EMU_DEC_SHORT,		/* the instruction goes on past the bytes given */
	EMU_DEC_UNHANDLED,	/* not an instruction the emulator knows */
	EMU_DEC_UD,		/* an invalid encoding: #UD (LOCK where it is not allowed) */
	EMU_DEC_GP,		/* longer than 15 bytes: #GP(0) */
};

/*
 * Decode the instruction in b[0..avail) for a 16-, 32- or 64-bit code
 * segment; never reads past avail.
 */
enum emu_decode_result emu_decode(const uint8_t *b, unsigned int avail, unsigned int mode,
				  struct emu_insn *in);

/* Arithmetic flags (the six of them), by bit. */
#define EMU_CF		(1ULL << 0)
#define EMU_PF		(1ULL << 2)
#define EMU_AF		(1ULL << 4)
#define EMU_ZF		(1ULL << 6)
#define EMU_SF		(1ULL << 7)
#define EMU_DF		(1ULL << 10)
#define EMU_OF		(1ULL << 11)
#define EMU_ARITH_FLAGS	(EMU_CF | EMU_PF | EMU_AF | EMU_ZF | EMU_SF | EMU_OF)

/*
 * dst op src on size-byte operands (ALU group, TEST, NOT, NEG, INC, DEC):
 * returns the result and updates *rflags as the SDM defines op's flags,
 * undefined ones as Intel CPUs leave them.
 */
uint64_t emu_alu(enum emu_op op, unsigned int size, uint64_t dst, uint64_t src,
		 uint64_t *rflags);

#endif
