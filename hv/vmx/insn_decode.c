/* SPDX-License-Identifier: MIT */
#include "hv/vmx/insn_decode.h"

/* ModRM (+SIB, +displacement) length after the opcode; -1 past avail. */
static int modrm_len(const uint8_t *b, unsigned int avail, bool addr16)
{
	uint8_t modrm, mod, rm;
	int len = 1;

	if (avail < 1)
		return -1;
	modrm = b[0];
	mod = modrm >> 6;
	rm = modrm & 7;
	if (mod == 3)
		return 1;
	if (addr16) {
		if (mod == 0 && rm == 6)
			len += 2;
		else
			len += mod == 1 ? 1 : mod == 2 ? 2 : 0;
		return (unsigned int)len <= avail ? len : -1;
	}
	if (rm == 4) {
		if (avail < 2)
			return -1;
		len++;
		if (mod == 0 && (b[1] & 7) == 5)
			len += 4;
	}
	if (mod == 0 && rm == 5)
		len += 4;		/* disp32, or RIP-relative in long mode */
	else if (mod == 1)
		len += 1;
	else if (mod == 2)
		len += 4;
	return (unsigned int)len <= avail ? len : -1;
}

int insn_decode_mmio(const uint8_t *b, unsigned int avail, bool mode64, bool def32,
		     struct mmio_insn *out)
{
	unsigned int i = 0, opsize = def32 ? 4 : 2;
	bool addr16 = !mode64 && !def32, rex = false;
	uint8_t rex_w = 0, rex_r = 0, op;
	int ml;

	*out = (struct mmio_insn){ 0 };
	for (; i < avail && i < 15; i++) {
		uint8_t p = b[i];

		if (p == 0x66)
			opsize = def32 ? 2 : 4;
		else if (p == 0x67)
			addr16 = !mode64 && def32;
		else if (p == 0x2e || p == 0x36 || p == 0x3e || p == 0x26 || p == 0x64 ||
			 p == 0x65 || p == 0xf0 || p == 0xf2 || p == 0xf3)
			continue;
		else
			break;
	}
	if (i < avail && mode64 && (b[i] & 0xf0) == 0x40) {
		rex = true;
		rex_w = b[i] & 8;
		rex_r = b[i] & 4;
		i++;
	}
	if (rex_w)
		opsize = 8;
	if (i >= avail)
		return -1;
	op = b[i++];
	if (op == 0x0f) {
		if (i >= avail)
			return -1;
		op = b[i++];
		if (op != 0xb6 && op != 0xb7)
			return -1;
		out->size = op == 0xb6 ? 1 : 2;
		out->dst_size = opsize;
		out->write = false;
	} else {
		switch (op) {
		case 0x88: case 0x8a: case 0xc6:
			out->size = 1;
			break;
		case 0x89: case 0x8b: case 0xc7: case 0x87:
			out->size = opsize;
			break;
		default:
			return -1;
		}
		out->write = op == 0x88 || op == 0x89 || op == 0xc6 || op == 0xc7 || op == 0x87;
		out->xchg = op == 0x87;
		out->dst_size = out->size;
	}
	if (i >= avail)
		return -1;
	if ((b[i] >> 6) == 3)
		return -1;		/* register operand: not a memory access */
	out->reg = ((b[i] >> 3) & 7) | (rex_r ? 8 : 0);
	if (out->size == 1 && !rex && out->reg >= 4 && out->reg < 8 &&
	    (op == 0x88 || op == 0x8a)) {
		out->reg -= 4;		/* AH, CH, DH, BH */
		out->high8 = true;
	}
	ml = modrm_len(b + i, avail - i, addr16);
	if (ml < 0)
		return -1;
	i += (unsigned int)ml;
	if (op == 0xc6 || op == 0xc7) {
		unsigned int isz = op == 0xc6 ? 1 : opsize == 2 ? 2 : 4;

		if (((b[i - (unsigned int)ml] >> 3) & 7) != 0 || i + isz > avail)
			return -1;	/* C6/C7 /0 only */
		out->has_imm = true;
		for (unsigned int k = 0; k < isz; k++)
			out->imm |= (uint64_t)b[i + k] << (8 * k);
		if (isz == 4 && opsize == 8)
			out->imm = (uint64_t)(int64_t)(int32_t)out->imm;
		i += isz;
	}
	if (i > 15)
		return -1;
	out->len = i;
	return 0;
}
