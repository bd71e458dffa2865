/* SPDX-License-Identifier: MIT */
/*
 * Tests for hv/vmx/insn_decode.c: the MOV forms a kernel uses on APIC and I/O
 * APIC registers, with the lengths objdump gives for the same bytes.
 */
#include "tests/host/test.h"
#include "hv/vmx/insn_decode.h"

static struct mmio_insn in;

static int dec64(const uint8_t *b, unsigned int n)
{
	return insn_decode_mmio(b, n, true, true, &in);
}

TEST(store_register_disp32)
{
	/* mov %eax,-0xa03000(%rip) style: 89 05 disp32 */
	static const uint8_t b[] = { 0x89, 0x05, 0x00, 0x10, 0x20, 0xff };

	CHECK_EQ(dec64(b, sizeof(b)), 0);
	CHECK_EQ(in.len, 6);
	CHECK_EQ(in.size, 4);
	CHECK(in.write);
	CHECK_EQ(in.reg, 0);
}

TEST(load_with_rex_r_and_disp8)
{
	/* mov 0x20(%rdx),%r9d: 44 8b 4a 20 */
	static const uint8_t b[] = { 0x44, 0x8b, 0x4a, 0x20 };

	CHECK_EQ(dec64(b, sizeof(b)), 0);
	CHECK_EQ(in.len, 4);
	CHECK(!in.write);
	CHECK_EQ(in.reg, 9);
	CHECK_EQ(in.dst_size, 4);
}

TEST(sib_with_no_base_and_disp32)
{
	/* mov %ecx,0xfee000b0(,%riz,1): 89 0c 25 b0 00 e0 fe */
	static const uint8_t b[] = { 0x89, 0x0c, 0x25, 0xb0, 0x00, 0xe0, 0xfe };

	CHECK_EQ(dec64(b, sizeof(b)), 0);
	CHECK_EQ(in.len, 7);
	CHECK_EQ(in.reg, 1);
}

TEST(store_immediate)
{
	/* movl $0x0,0xb0(%rax): c7 80 b0 00 00 00 00 00 00 00 */
	static const uint8_t b[] = { 0xc7, 0x80, 0xb0, 0, 0, 0, 0x78, 0x56, 0x34, 0x12 };

	CHECK_EQ(dec64(b, sizeof(b)), 0);
	CHECK_EQ(in.len, 10);
	CHECK(in.write && in.has_imm);
	CHECK_EQ(in.imm, 0x12345678);
}

TEST(byte_forms_and_high_registers)
{
	/* mov %ah,(%rbx): 88 23 -> AH without REX */
	static const uint8_t b1[] = { 0x88, 0x23 };
	/* mov %spl,(%rbx): 40 88 23 -> SPL with REX */
	static const uint8_t b2[] = { 0x40, 0x88, 0x23 };

	CHECK_EQ(dec64(b1, sizeof(b1)), 0);
	CHECK(in.high8);
	CHECK_EQ(in.reg, 0);
	CHECK_EQ(in.size, 1);
	CHECK_EQ(dec64(b2, sizeof(b2)), 0);
	CHECK(!in.high8);
	CHECK_EQ(in.reg, 4);
}

TEST(movzx_and_operand_size)
{
	/* movzwl 0x10(%rdi),%eax: 0f b7 47 10 */
	static const uint8_t b1[] = { 0x0f, 0xb7, 0x47, 0x10 };
	/* mov %ax,(%rdi): 66 89 07 */
	static const uint8_t b2[] = { 0x66, 0x89, 0x07 };
	/* mov %rax,(%rdi): 48 89 07 */
	static const uint8_t b3[] = { 0x48, 0x89, 0x07 };

	CHECK_EQ(dec64(b1, sizeof(b1)), 0);
	CHECK_EQ(in.size, 2);
	CHECK_EQ(in.dst_size, 4);
	CHECK_EQ(in.len, 4);
	CHECK_EQ(dec64(b2, sizeof(b2)), 0);
	CHECK_EQ(in.size, 2);
	CHECK_EQ(dec64(b3, sizeof(b3)), 0);
	CHECK_EQ(in.size, 8);
}

TEST(xchg_is_load_and_store)
{
	/* xchg %eax,0x300(%rdx): 87 82 00 03 00 00 */
	static const uint8_t b[] = { 0x87, 0x82, 0x00, 0x03, 0x00, 0x00 };

	CHECK_EQ(dec64(b, sizeof(b)), 0);
	CHECK(in.xchg && in.write);
	CHECK_EQ(in.len, 6);
}

TEST(protected_mode_16bit_addressing)
{
	/* 32-bit code: 67 89 07 is mov %eax,(%bx) with 16-bit addressing */
	static const uint8_t b[] = { 0x67, 0x89, 0x07 };

	CHECK_EQ(insn_decode_mmio(b, sizeof(b), false, true, &in), 0);
	CHECK_EQ(in.len, 3);
	/* 16-bit code, mod 0 rm 6: disp16 */
	static const uint8_t c[] = { 0x89, 0x06, 0x34, 0x12 };

	CHECK_EQ(insn_decode_mmio(c, sizeof(c), false, false, &in), 0);
	CHECK_EQ(in.len, 4);
	CHECK_EQ(in.size, 2);
}

TEST(refuses_what_it_cannot_emulate)
{
	static const uint8_t add[] = { 0x01, 0x07 };		/* add %eax,(%rdi) */
	static const uint8_t regreg[] = { 0x89, 0xc0 };		/* mov %eax,%eax */
	static const uint8_t cut[] = { 0x89, 0x05, 0x00 };	/* truncated disp32 */
	static const uint8_t c7_1[] = { 0xc7, 0x08, 0, 0, 0, 0 };	/* C7 /1 is not MOV */

	CHECK_EQ(dec64(add, sizeof(add)), -1);
	CHECK_EQ(dec64(regreg, sizeof(regreg)), -1);
	CHECK_EQ(dec64(cut, sizeof(cut)), -1);
	CHECK_EQ(dec64(c7_1, sizeof(c7_1)), -1);
}
