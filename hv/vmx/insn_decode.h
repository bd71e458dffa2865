/* SPDX-License-Identifier: MIT */
/*
 * Just enough x86 decoding for MMIO exits: the MOV forms compilers emit for
 * device registers (88/89/8A/8B, C6/C7, MOVZX 0F B6/B7, XCHG 87).  EPT gives
 * the address; the decoder gives the length, the width, the direction and
 * the register or immediate.  Portable: host-tested.
 */
#ifndef HV_INSN_DECODE_H
#define HV_INSN_DECODE_H

#include <stdbool.h>
#include <stdint.h>

struct mmio_insn {
	unsigned int len;		/* bytes, prefixes included */
	unsigned int size;		/* access width: 1, 2, 4 or 8 */
	bool write;			/* guest stores to the device */
	bool has_imm;			/* the stored value is imm, not a register */
	uint64_t imm;
	unsigned int reg;		/* GPR number (RAX=0 .. R15=15) */
	bool high8;			/* AH/CH/DH/BH: bits 15:8 of reg */
	unsigned int dst_size;		/* loads: bytes written to reg (MOVZX widens) */
	bool xchg;			/* load and store both */
};

/*
 * Decode at most avail bytes; mode64: a 64-bit code segment, def32: the
 * default operand size is 32 (CS.D or long mode).  0 on success, -1 for
 * anything else (the caller stops the guest with the bytes).
 */
int insn_decode_mmio(const uint8_t *b, unsigned int avail, bool mode64, bool def32,
		     struct mmio_insn *out);

#endif
