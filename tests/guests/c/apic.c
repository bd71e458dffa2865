/* SPDX-License-Identifier: MIT */
/*
 * The local APIC in xAPIC mode, checked against the Intel SDM volume 3,
 * chapter 10 ("Advanced Programmable Interrupt Controller"): reset state
 * (10.4.7.1), software disable (10.4.7.2), ID and version (10.4.6, 10.4.8),
 * LVT bits (10.5.1), ESR (10.5.3), the timer (10.5.4), ICR and self IPIs
 * (10.6.1), TPR/PPR (10.8.3), IRR/ISR/EOI (10.8.4, 10.8.5), DFR/LDR
 * (10.6.2).
 *
 * Written the way drivers are: plain C through volatile pointers (the
 * compiler picks the instructions, differently at -O0 and -O2 and in each
 * mode), a struct overlay, read-modify-write in C, and inline assembly for
 * the forms compilers rarely emit (XCHG, LOCK CMPXCHG, BT/BTS/BTR, string
 * instructions, PUSH/POP with a memory operand).
 */
#include "tests/guests/c/rt.h"

#define ID		0x020
#define VER		0x030
#define TPR		0x080
#define PPR		0x0a0
#define EOI		0x0b0
#define LDR		0x0d0
#define DFR		0x0e0
#define SVR		0x0f0
#define ISR		0x100
#define TMR		0x180
#define IRR		0x200
#define ESR		0x280
#define LVT_CMCI	0x2f0
#define ICR_LO		0x300
#define ICR_HI		0x310
#define LVT_TIMER	0x320
#define LVT_THERMAL	0x330
#define LVT_PMC		0x340
#define LVT_LINT0	0x350
#define LVT_LINT1	0x360
#define LVT_ERROR	0x370
#define TMICT		0x380
#define TMCCT		0x390
#define TDCR		0x3e0

#define MASKED		(1u << 16)
#define SELF_FIXED	0x00040000u	/* ICR: destination shorthand "self", fixed, edge */
#define TIMER_PERIODIC	(1u << 17)
#define DIV_1		0xb
#define DIV_16		0x3
#define APIC_BASE	LAPIC_BASE
#define apic		((volatile uint32_t *)APIC_BASE)

/* The register file as a driver might declare it: 64 registers, 16 bytes apart. */
struct lapic_regs {
	struct {
		uint32_t val;
		uint32_t pad[3];
	} reg[64];
};
#define lapic		((volatile struct lapic_regs *)APIC_BASE)

#define R(off)		apic[(off) / 4]

static unsigned int max_lvt;

/* The bit of @vector in the 256-bit IRR/ISR/TMR at @base, through the struct overlay. */
static bool vec_bit(unsigned int base, unsigned int vector)
{
	return lapic->reg[base / 16 + vector / 32].val & (1u << (vector % 32));
}

static bool all_zero(unsigned int base)
{
	for (unsigned int i = 0; i < 8; i++)
		if (R(base + i * 16))
			return false;
	return true;
}

static void self_ipi(unsigned int vector)
{
	R(ICR_LO) = SELF_FIXED | vector;
}

/* ---- reset state and identification ---- */

static void check_reset_state(void)
{
	uint64_t base = rdmsr(0x1b);
	uint32_t r[4], v = R(VER);
	bool lvts = true;

	cpuid(1, 0, r);
	CHECK("apic_cpuid_apic_bit", r[3] & (1u << 9), "CPUID.1:EDX 0x%x", r[3]);
	CHECK("apic_base_msr", (base & (1u << 11)) && (base & (1u << 8)) &&
	      ((base >> 12) & 0xffffff) == 0xfee00, "IA32_APIC_BASE 0x%llx (want EN, BSP, "
	      "base 0xfee00000)", (unsigned long long)base);
	CHECK_EQ("apic_id_matches_cpuid", R(ID) >> 24, r[1] >> 24);
	max_lvt = (v >> 16) & 0xff;
	CHECK("apic_version", (v & 0xff) >= 0x10 && (v & 0xff) <= 0x15 && max_lvt >= 4,
	      "version register 0x%x (want an integrated APIC 0x10-0x15, max LVT >= 4)", v);

	/* SDM 10.4.7.1: the state after power-up or RESET. */
	CHECK("apic_reset_tpr_ldr_zero", !R(TPR) && !R(LDR), "TPR 0x%x LDR 0x%x", R(TPR), R(LDR));
	CHECK_EQ("apic_reset_dfr_ones", R(DFR), 0xffffffff);
	CHECK_EQ("apic_reset_svr", R(SVR), 0xff);
	lvts = R(LVT_TIMER) == MASKED && R(LVT_LINT0) == MASKED && R(LVT_LINT1) == MASKED &&
	       R(LVT_ERROR) == MASKED;
	if (max_lvt >= 4)
		lvts &= R(LVT_PMC) == MASKED;
	if (max_lvt >= 5)
		lvts &= R(LVT_THERMAL) == MASKED;
	if (max_lvt >= 6)
		lvts &= R(LVT_CMCI) == MASKED;
	CHECK("apic_reset_lvts_masked", lvts, "timer 0x%x LINT0 0x%x LINT1 0x%x error 0x%x",
	      R(LVT_TIMER), R(LVT_LINT0), R(LVT_LINT1), R(LVT_ERROR));
	CHECK("apic_reset_irr_isr_tmr_zero", all_zero(IRR) && all_zero(ISR) && all_zero(TMR),
	      "a pending, in-service or level bit at reset");
	CHECK("apic_reset_icr_zero", !R(ICR_LO) && !R(ICR_HI), "ICR 0x%x:%x", R(ICR_HI),
	      R(ICR_LO));
	CHECK("apic_reset_timer_zero", !R(TMICT) && !R(TMCCT) && !R(TDCR),
	      "initial 0x%x current 0x%x divide 0x%x", R(TMICT), R(TMCCT), R(TDCR));
}

/* Narrow reads and the other ways a driver reads a register. */
static void check_read_forms(void)
{
	uint32_t v = R(VER), copy, pushed = 0;

	CHECK_EQ("apic_byte_read", *(volatile uint8_t *)(APIC_BASE + VER), v & 0xff);
	CHECK_EQ("apic_word_read", *(volatile uint16_t *)(APIC_BASE + VER), v & 0xffff);
	CHECK_EQ("apic_struct_overlay_read", lapic->reg[VER / 16].val, v);
	__builtin_memcpy(&copy, (const void *)(APIC_BASE + VER), 4);
	CHECK_EQ("apic_memcpy_register", copy, v);
#ifdef __x86_64__
	/* PUSH m64 would read 8 bytes of a 4-byte register: 16 bits it is. */
	__asm__ __volatile__("pushw %1; popw %w0" : "+r"(pushed) : "m"(R(VER)) : "memory");
	CHECK_EQ("apic_push_mem", pushed & 0xffff, v & 0xffff);
#else
	__asm__ __volatile__("pushl %1; popl %0" : "=r"(pushed) : "m"(R(VER)) : "memory");
	CHECK_EQ("apic_push_mem", pushed, v);
#endif
}

/* ---- registers: what sticks, what reads as fixed ---- */

static void check_sw_disable(void)
{
	/* SDM 10.4.7.2: while SVR.8 is clear, the LVT masks cannot be cleared. */
	R(LVT_LINT0) = 0x30;
	CHECK_EQ("apic_sw_disabled_lvt_stays_masked", R(LVT_LINT0), MASKED | 0x30);
	R(LVT_LINT0) = MASKED;
	R(SVR) = 0x1ff;
	CHECK_EQ("apic_svr_enable", R(SVR) & 0x1ff, 0x1ff);
}

static void check_registers(void)
{
	uint32_t d;

	R(TPR) = 0x5a;
	CHECK_EQ("apic_tpr_rw", R(TPR) & 0xff, 0x5a);
	CHECK_EQ("apic_ppr_is_tpr_when_idle", R(PPR) & 0xff, 0x5a);
	R(TPR) = 0;

	R(LDR) = 0xa5000000;
	CHECK_EQ("apic_ldr_rw", R(LDR), 0xa5000000);
	R(LDR) = 0;
	/* DFR bits 27:0 read as ones whatever is written. */
	R(DFR) = 0x0fffffff;
	d = R(DFR);
	R(DFR) = 0;
	CHECK("apic_dfr_model_bits", d == 0x0fffffff && R(DFR) == 0x0fffffff,
	      "after 0x0fffffff: 0x%x; after 0: 0x%x", d, R(DFR));
	R(DFR) = 0xffffffff;

	/* LVTs: the writable bits stick; delivery status, remote IRR and reserved bits read 0. */
	R(LVT_LINT0) = 0x0001ffff;
	CHECK_EQ("apic_lvt_lint0_bits", R(LVT_LINT0), 0x0001a7ff);
	R(LVT_LINT1) = 0x000104ff;	/* NMI */
	CHECK_EQ("apic_lvt_lint1_bits", R(LVT_LINT1), 0x000104ff);
	R(LVT_ERROR) = 0x0001ffff;
	CHECK_EQ("apic_lvt_error_bits", R(LVT_ERROR), 0x000100ff);
	R(LVT_TIMER) = 0x0003ffff;	/* periodic, masked */
	CHECK_EQ("apic_lvt_timer_bits", R(LVT_TIMER), 0x000300ff);
	if (max_lvt >= 4) {
		R(LVT_PMC) = 0x000104ff;
		CHECK_EQ("apic_lvt_pmc_bits", R(LVT_PMC), 0x000104ff);
		R(LVT_PMC) = MASKED;
	} else {
		rt_skip("apic_lvt_pmc_bits", "no performance-counter LVT");
	}
	R(LVT_LINT0) = MASKED;
	R(LVT_LINT1) = MASKED;
	R(LVT_ERROR) = MASKED;
	R(LVT_TIMER) = MASKED;

	/* Read-modify-write in C: GCC makes it OR/AND on memory at -O2. */
	R(LVT_LINT0) |= 1u << 15;
	d = R(LVT_LINT0);
	R(LVT_LINT0) &= ~(1u << 15);
	CHECK("apic_c_read_modify_write", d == (MASKED | 1u << 15) && R(LVT_LINT0) == MASKED,
	      "LINT0 after |= 0x%x, after &= 0x%x", d, R(LVT_LINT0));

	R(TDCR) = 0xf;
	CHECK_EQ("apic_tdcr_bits", R(TDCR), 0xb);
	R(TDCR) = 0;

	R(ICR_HI) = 0xab000000;
	CHECK_EQ("apic_icr_high_rw", R(ICR_HI) & 0xff000000, 0xab000000);
	R(ICR_HI) = 0;
}

/* ---- instruction forms on the APIC page ---- */

static void check_insn_forms(void)
{
	uint32_t a, v = R(VER), buf = 0, val = 0x60;
	uint8_t zf, cf;
	uintptr_t si, di, cx;

	R(TPR) = 0x20;
	a = 0x30;
	__asm__ __volatile__("xchgl %0, %1" : "+r"(a), "+m"(R(TPR)) : : "memory");
	CHECK("apic_xchg", a == 0x20 && R(TPR) == 0x30, "old 0x%x, TPR now 0x%x", a, R(TPR));

	a = 0x30;
	__asm__ __volatile__("lock cmpxchgl %2, %1; setz %0"
			     : "=q"(zf), "+m"(R(TPR)), "+r"(val), "+a"(a) : : "memory");
	CHECK("apic_lock_cmpxchg_success", zf && R(TPR) == 0x60, "ZF %u, TPR 0x%x", zf, R(TPR));
	a = 0x11;
	val = 0x70;
	__asm__ __volatile__("lock cmpxchgl %2, %1; setz %0"
			     : "=q"(zf), "+m"(R(TPR)), "+r"(val), "+a"(a) : : "memory");
	CHECK("apic_lock_cmpxchg_failure", !zf && a == 0x60 && R(TPR) == 0x60,
	      "ZF %u, EAX 0x%x, TPR 0x%x", zf, a, R(TPR));

	R(TPR) = 0;
	__asm__ __volatile__("btsl $5, %1; setc %0" : "=q"(cf), "+m"(R(TPR)) : : "memory");
	CHECK("apic_bts", !cf && R(TPR) == 0x20, "CF %u, TPR 0x%x", cf, R(TPR));
	__asm__ __volatile__("btl $5, %1; setc %0" : "=q"(cf) : "m"(R(TPR)) : "memory");
	CHECK("apic_bt_imm", cf, "CF clear for TPR 0x%x", R(TPR));
	__asm__ __volatile__("btrl $5, %1; setc %0" : "=q"(cf), "+m"(R(TPR)) : : "memory");
	CHECK("apic_btr", cf && R(TPR) == 0, "CF %u, TPR 0x%x", cf, R(TPR));

	a = 0x70;
	di = APIC_BASE + TPR;
	cx = 1;
	__asm__ __volatile__("cld; " ADDR32 "rep stosl" : "+D"(di), "+c"(cx) : "a"(a) : "memory");
	CHECK("apic_rep_stos", R(TPR) == 0x70 && cx == 0 && di == APIC_BASE + TPR + 4,
	      "TPR 0x%x, count %lu", R(TPR), (unsigned long)cx);

	si = APIC_BASE + VER;
	di = (uintptr_t)&buf;
	cx = 1;
	__asm__ __volatile__("cld; " ADDR32 "rep movsl" : "+S"(si), "+D"(di), "+c"(cx) : : "memory");
	CHECK("apic_rep_movs_from_apic", buf == v && si == APIC_BASE + VER + 4,
	      "copied 0x%x, want 0x%x", buf, v);

	val = 0x40;
	si = (uintptr_t)&val;
	di = APIC_BASE + TPR;
	__asm__ __volatile__("cld; " ADDR32 "movsl" : "+S"(si), "+D"(di) : : "memory");
	CHECK_EQ("apic_movs_to_apic", R(TPR), 0x40);

	si = APIC_BASE + VER;
	buf = 0;
	di = (uintptr_t)&buf;
	__asm__ __volatile__("std; " ADDR32 "movsl; cld" : "+S"(si), "+D"(di) : : "memory");
	CHECK("apic_movs_backwards", buf == v && si == APIC_BASE + VER - 4,
	      "copied 0x%x, source now 0x%lx", buf, (unsigned long)si);

	si = APIC_BASE + VER;
	__asm__ __volatile__("cld; " ADDR32 "lodsl" : "=a"(a), "+S"(si) : : "memory");
	CHECK("apic_lods", a == v && si == APIC_BASE + VER + 4, "loaded 0x%x", a);

	val = 0x50;
#ifdef __x86_64__
	/* POP m64 would write 8 bytes to a 4-byte register: 16 bits it is. */
	__asm__ __volatile__("pushw %w1; popw %0" : "=m"(R(TPR)) : "r"(val) : "memory");
#else
	__asm__ __volatile__("pushl %1; popl %0" : "=m"(R(TPR)) : "r"(val) : "memory");
#endif
	CHECK_EQ("apic_pop_mem", R(TPR), 0x50);
	R(TPR) = 0;
}

/*
 * ---- every ALU, move and bit form on a register, against the CPU ----
 *
 * Each form runs twice: on a variable in RAM, which the CPU executes, and on
 * TPR, which the hypervisor's emulator executes.  TPR keeps bits 7:0, so
 * operands stay below 0x100: the results must agree in those bits, and the
 * register operand and the flags the SDM defines for the instruction must
 * agree entirely.  PRE sets the flags the form reads or must leave alone.
 */
#ifdef __x86_64__
#define FLAGS_SAVE	"; pushfq; popq %q[f]"
#else
#define FLAGS_SAVE	"; pushfl; popl %k[f]"
#endif
#define FL_ALL		0x8d5ul		/* OF SF ZF AF PF CF */
#define FL_LOGIC	0x8c5ul		/* AF undefined */
#define FL_CF		0x001ul		/* BT*: the others undefined */
#define FL_SAME		"cmpl %[r], %[r]; "	/* known flags, for forms that keep them */

static void check_form(const char *name, uint32_t ram, uint32_t tpr, uint32_t r_ram,
		       uint32_t r_tpr, unsigned long f_ram, unsigned long f_tpr)
{
	rt_check(name, (ram & 0xff) == tpr && r_ram == r_tpr && f_ram == f_tpr,
		 "TPR 0x%x (RAM 0x%x), register 0x%x (RAM 0x%x), flags 0x%lx (RAM 0x%lx)",
		 tpr, ram, r_tpr, r_ram, f_tpr, f_ram);
}

#define FORM16(name, pre, insn, a, b, fmask) do {						\
	uint32_t ram_ = (a), r1_ = (b), r2_ = (b);						\
	unsigned long f1_, f2_;									\
												\
	__asm__ __volatile__(pre insn FLAGS_SAVE						\
			     : [m] "+m"(ram_), [r] "+q"(r1_), [f] "=r"(f1_) : : "cc", "memory"); \
	R(TPR) = (a);										\
	__asm__ __volatile__(pre insn FLAGS_SAVE						\
			     : [m] "+m"(R(TPR)), [r] "+q"(r2_), [f] "=r"(f2_) : : "cc", "memory"); \
	check_form(name, ram_, R(TPR), r1_, r2_, f1_ & (fmask), f2_ & (fmask));			\
} while (0)

/*
 * The real-mode image must fit below 64 KiB: there FORM16 forms run and the
 * others are skipped (the 32- and 64-bit builds run them all; the emulator's
 * 16-bit decoding of every form is in tests/hv/vmx/test_emulate).
 */
#ifdef RT_REAL
#define FORM(name, pre, insn, a, b, fmask) \
	rt_skip(name, "no room in the real-mode image; the 32- and 64-bit guests run it")
#else
#define FORM FORM16
#endif

static void check_alu_forms(void)
{
	FORM16("apic_form_add_imm8", "", "addl $0x11, %[m]", 0x20, 0, FL_ALL);
	FORM("apic_form_add_imm32", "", "addl $0x12345, %[m]", 0x20, 0, FL_ALL);
	FORM("apic_form_add_byte_imm", "", "addb $0x7f, %[m]", 0x20, 0, FL_ALL);
	FORM("apic_form_add_reg_to_mem", "", "addl %[r], %[m]", 0x20, 0x33, FL_ALL);
	FORM("apic_form_add_mem_to_reg", "", "addl %[m], %[r]", 0x20, 0x33, FL_ALL);
	FORM("apic_form_or_imm8", "", "orl $0x41, %[m]", 0x22, 0, FL_LOGIC);
	FORM("apic_form_or_byte_reg", "", "orb %b[r], %[m]", 0x21, 0x84, FL_LOGIC);
	FORM("apic_form_or_mem_to_reg", "", "orl %[m], %[r]", 0x21, 0x1000, FL_LOGIC);
	FORM("apic_form_adc_imm8", "stc; ", "adcl $0x10, %[m]", 0x20, 0, FL_ALL);
	FORM("apic_form_adc_reg_to_mem", "stc; ", "adcl %[r], %[m]", 0x7f, 0x7f, FL_ALL);
	FORM16("apic_form_adc_mem_to_reg", "stc; ", "adcl %[m], %[r]", 0x20, 0xffffffdf, FL_ALL);
	FORM("apic_form_sbb_imm8", "stc; ", "sbbl $0x10, %[m]", 0x20, 0, FL_ALL);
	FORM16("apic_form_sbb_reg_to_mem", "stc; ", "sbbl %[r], %[m]", 0x20, 0x20, FL_ALL);
	FORM("apic_form_sbb_mem_to_reg", "stc; ", "sbbl %[m], %[r]", 0x80, 0x20, FL_ALL);
	FORM("apic_form_and_imm8", "", "andl $0x3c, %[m]", 0xe7, 0, FL_LOGIC);
	FORM("apic_form_and_reg_to_mem", "", "andl %[r], %[m]", 0xf0, 0x0f, FL_LOGIC);
	FORM("apic_form_and_mem_to_reg", "", "andl %[m], %[r]", 0xa5, 0xffff00ff, FL_LOGIC);
	FORM("apic_form_sub_imm8", "", "subl $0x30, %[m]", 0x20, 0, FL_ALL);
	FORM("apic_form_sub_reg_to_mem", "", "subl %[r], %[m]", 0x80, 0x01, FL_ALL);
	FORM("apic_form_sub_mem_to_reg", "", "subl %[m], %[r]", 0x90, 0x10, FL_ALL);
	FORM("apic_form_xor_imm8", "", "xorl $0x5a, %[m]", 0x5a, 0, FL_LOGIC);
	FORM("apic_form_xor_reg_to_mem", "", "xorl %[r], %[m]", 0x5a, 0xa5, FL_LOGIC);
	FORM("apic_form_xor_mem_to_reg", "", "xorl %[m], %[r]", 0x5a, 0x80000000, FL_LOGIC);
	FORM("apic_form_cmp_imm8", "", "cmpl $0x40, %[m]", 0x20, 0, FL_ALL);
	FORM("apic_form_cmp_reg_mem", "", "cmpl %[r], %[m]", 0x80, 0x7f, FL_ALL);
	FORM("apic_form_cmp_mem_reg", "", "cmpl %[m], %[r]", 0x80, 0x80, FL_ALL);
	FORM("apic_form_test_imm", "", "testl $0x30, %[m]", 0x20, 0, FL_LOGIC);
	FORM("apic_form_test_reg", "", "testl %[r], %[m]", 0x20, 0x40, FL_LOGIC);
	FORM("apic_form_not", FL_SAME, "notl %[m]", 0x5a, 0, FL_ALL);
	FORM("apic_form_neg", "", "negl %[m]", 0x10, 0, FL_ALL);
	FORM("apic_form_inc", "stc; ", "incl %[m]", 0x7f, 0, FL_ALL);
	FORM("apic_form_dec", "clc; ", "decl %[m]", 0x00, 0, FL_ALL);
	FORM16("apic_form_xadd", "", "xaddl %[r], %[m]", 0x20, 0x13, FL_ALL);
	FORM("apic_form_btc_imm", "", "btcl $4, %[m]", 0x30, 0, FL_CF);
	FORM16("apic_form_btc_reg", "", "btcl %[r], %[m]", 0x30, 3, FL_CF);
	FORM("apic_form_mov_imm", FL_SAME, "movl $0x77, %[m]", 0x20, 0, FL_ALL);
	FORM("apic_form_mov_byte_imm", FL_SAME, "movb $0x66, %[m]", 0x20, 0, FL_ALL);
	FORM("apic_form_mov_byte_load", FL_SAME, "movb %[m], %b[r]", 0x9c, 0x12345678, FL_ALL);
	FORM("apic_form_mov_byte_store", FL_SAME, "movb %b[r], %[m]", 0x20, 0x4d, FL_ALL);
	FORM("apic_form_mov_word_load", FL_SAME, "movw %[m], %w[r]", 0x9c, 0x12345678, FL_ALL);
	FORM("apic_form_movnti", FL_SAME, "movnti %[r], %[m]", 0x20, 0x44, FL_ALL);
	FORM16("apic_form_movsx_byte", FL_SAME, "movsbl %[m], %[r]", 0x90, 0, FL_ALL);
	FORM("apic_form_movsx_word", FL_SAME, "movswl %[m], %[r]", 0x90, 0, FL_ALL);
	FORM("apic_form_movzx_byte", FL_SAME, "movzbl %[m], %[r]", 0x90, ~0u, FL_ALL);
	FORM("apic_form_movzx_word", FL_SAME, "movzwl %[m], %[r]", 0x90, ~0u, FL_ALL);
	R(TPR) = 0;
}

/*
 * MOV with a moffs operand (A0-A3).  Real-mode GNU as would truncate the
 * address to 16 bits: those are spelt out, with the 0x67 and 0x66 prefixes.
 */
static void check_moffs_forms(void)
{
	uint32_t a = 0x58, b = 0x12345600;

	R(TPR) = 0x31;
#ifdef RT_REAL
	__asm__ __volatile__(".byte 0x67, 0x66, 0xa1; .long 0xfee00080" : "=a"(b) : : "memory");
	CHECK_EQ("apic_form_moffs_load", b, 0x31);
	__asm__ __volatile__(".byte 0x67, 0x66, 0xa3; .long 0xfee00080" : : "a"(a) : "memory");
	CHECK_EQ("apic_form_moffs_store", R(TPR), 0x58);
	b = 0x12345600;
	__asm__ __volatile__(".byte 0x67, 0xa0; .long 0xfee00080" : "+a"(b) : : "memory");
	CHECK_EQ("apic_form_moffs_byte_load", b, 0x12345658);
	a = 0x27;
	__asm__ __volatile__(".byte 0x67, 0xa2; .long 0xfee00080" : : "a"(a) : "memory");
	CHECK_EQ("apic_form_moffs_byte_store", R(TPR), 0x27);
#else
#ifdef __x86_64__
#define MOFFS_MOV	"movabs"
#else
#define MOFFS_MOV	"mov"
#endif
	__asm__ __volatile__(MOFFS_MOV "l 0xfee00080, %0" : "=a"(b) : : "memory");
	CHECK_EQ("apic_form_moffs_load", b, 0x31);
	__asm__ __volatile__(MOFFS_MOV "l %0, 0xfee00080" : : "a"(a) : "memory");
	CHECK_EQ("apic_form_moffs_store", R(TPR), 0x58);
	b = 0x12345600;
	__asm__ __volatile__(MOFFS_MOV "b 0xfee00080, %b0" : "+a"(b) : : "memory");
	CHECK_EQ("apic_form_moffs_byte_load", b, 0x12345658);
	a = 0x27;
	__asm__ __volatile__(MOFFS_MOV "b %b0, 0xfee00080" : : "a"(a) : "memory");
	CHECK_EQ("apic_form_moffs_byte_store", R(TPR), 0x27);
#endif
	R(TPR) = 0;
}

/* ---- ESR ---- */

static void check_esr(void)
{
	uint32_t esr;

	R(ESR) = 0;
	cli();
	self_ipi(3);
	/* SDM 10.5.3: an illegal vector (0-15) is not delivered; the write latches the error. */
	R(ESR) = 0;
	esr = R(ESR);
	CHECK("apic_esr_illegal_vector", esr & 0x60, "ESR 0x%x (want send or receive illegal "
	      "vector, bits 5/6)", esr);
	CHECK("apic_illegal_vector_not_pending", !vec_bit(IRR, 3), "IRR bit 3 set");
	R(ESR) = 0;
	CHECK_EQ("apic_esr_write_clears", R(ESR), 0);
}

/* ---- interrupts: IRR, ISR, PPR, EOI, priority ---- */

static volatile uint32_t h_isr, h_irr, h_ppr, h_tmr;

static bool snapshot_hook(unsigned int vector)
{
	h_isr = vec_bit(ISR, vector);
	h_irr = vec_bit(IRR, vector);
	h_tmr = vec_bit(TMR, vector);
	h_ppr = R(PPR);
	return false;			/* the default EOI */
}

/* In service: raise TPR above the vector's class, PPR follows TPR, then put it back. */
static bool tpr_above_hook(unsigned int vector)
{
	uint32_t tpr = R(TPR);

	R(TPR) = 0x95;
	h_ppr = R(PPR);
	R(TPR) = tpr;
	(void)vector;
	return false;
}

static void check_self_ipi(void)
{
	uint32_t icr;
	uint64_t end;
	uint8_t cf;
	uint32_t bit = 0x41 % 32;

	rt_irq_reset();
	rt_irq_hook = snapshot_hook;
	cli();
	self_ipi(0x41);
	end = rdtsc() + 20 * RT_PERIOD;
	while ((R(ICR_LO) & (1u << 12)) && rdtsc() < end)
		;
	icr = R(ICR_LO);
	CHECK("apic_icr_readback", (icr & ~(1u << 12)) == (SELF_FIXED | 0x41) &&
	      !(icr & (1u << 12)), "ICR 0x%x after sending 0x%x (want it back, idle)", icr,
	      SELF_FIXED | 0x41);
	/* A register bit offset: BT on the IRR word that holds 0x41. */
	__asm__ __volatile__("btl %2, %1; setc %0" : "=q"(cf)
			     : "m"(R(IRR + 0x41 / 32 * 16)), "r"(bit) : "memory");
	CHECK("apic_irr_pending_while_if_clear", cf && !rt_irq_count[0x41], "IRR bit %u, %u "
	      "deliveries", cf, rt_irq_count[0x41]);
	CHECK("apic_isr_clear_while_pending", !vec_bit(ISR, 0x41), "ISR bit set");
	rt_wait_change(&rt_irq_count[0x41], 0, 20 * RT_PERIOD);
	CHECK_EQ("apic_self_ipi_delivered", rt_irq_count[0x41], 1);
	CHECK("apic_isr_set_irr_clear_in_handler", h_isr && !h_irr, "ISR %u IRR %u in the handler",
	      h_isr, h_irr);
	CHECK_EQ("apic_ppr_is_isr_class_in_handler", h_ppr & 0xff, 0x40);
	CHECK("apic_tmr_clear_for_edge", !h_tmr, "TMR bit set for an edge-triggered IPI");
	CHECK("apic_isr_clear_after_eoi", !vec_bit(ISR, 0x41) && all_zero(ISR), "ISR still set");
	rt_delay(RT_PERIOD);
	CHECK_EQ("apic_delivered_once", rt_irq_count[0x41], 1);
	cli();
}

static void check_priority(void)
{
	unsigned int a, b, c;

	rt_irq_reset();
	cli();
	self_ipi(0x51);
	self_ipi(0x91);
	self_ipi(0x61);
	sti();
	rt_delay(RT_PERIOD);
	cli();
	a = rt_irq_log[0], b = rt_irq_log[1], c = rt_irq_log[2];
	CHECK("apic_highest_vector_first", rt_irq_nlog == 3 && a == 0x91 && b == 0x61 && c == 0x51,
	      "%u deliveries: 0x%x 0x%x 0x%x", rt_irq_nlog, a, b, c);

	/* TPR 0x60: a class at or below 6 waits in IRR; class 7 goes through. */
	rt_irq_reset();
	R(TPR) = 0x60;
	sti();
	self_ipi(0x51);
	self_ipi(0x61);
	rt_delay(RT_PERIOD);
	CHECK("apic_tpr_holds_lower_and_equal_class", !rt_irq_nlog && vec_bit(IRR, 0x51) &&
	      vec_bit(IRR, 0x61), "%u deliveries under TPR 0x60", rt_irq_nlog);
	rt_irq_hook = snapshot_hook;
	self_ipi(0x71);
	rt_wait_change(&rt_irq_count[0x71], 0, 20 * RT_PERIOD);
	CHECK("apic_tpr_passes_higher_class", rt_irq_count[0x71] == 1 && rt_irq_nlog == 1,
	      "0x71 delivered %u times, %u deliveries", rt_irq_count[0x71], rt_irq_nlog);
	CHECK_EQ("apic_ppr_isr_class_above_tpr", h_ppr & 0xff, 0x70);
	rt_irq_hook = NULL;
	R(TPR) = 0;
	rt_delay(RT_PERIOD);
	cli();
	CHECK("apic_tpr_lowered_delivers", rt_irq_nlog == 3 && rt_irq_log[1] == 0x61 &&
	      rt_irq_log[2] == 0x51, "%u deliveries after TPR 0", rt_irq_nlog);

	rt_irq_reset();
	rt_irq_hook = tpr_above_hook;
	self_ipi(0x81);
	rt_wait_change(&rt_irq_count[0x81], 0, 20 * RT_PERIOD);
	cli();
	CHECK_EQ("apic_ppr_is_tpr_above_isr_class", h_ppr & 0xff, 0x95);
	rt_irq_hook = NULL;

#ifdef __x86_64__
	{
		uint64_t cr8 = 5, got;

		__asm__ __volatile__("movq %0, %%cr8" : : "r"(cr8) : "memory");
		got = R(TPR);
		R(TPR) = 0x30;
		__asm__ __volatile__("movq %%cr8, %0" : "=r"(cr8));
		CHECK("apic_cr8_is_tpr", (got & 0xf0) == 0x50 && cr8 == 3,
		      "TPR 0x%llx after CR8 = 5; CR8 %llu after TPR = 0x30",
		      (unsigned long long)got, (unsigned long long)cr8);
		R(TPR) = 0;
	}
#else
	rt_skip("apic_cr8_is_tpr", "CR8 exists in 64-bit mode only");
#endif
}

/* ---- the timer ---- */

static void check_timer(void)
{
	uint32_t n = (uint32_t)rt_apic_counts(RT_PERIOD), t1, t2, d1, d16, zeros = 0;
	uint64_t end;

	rt_irq_reset();
	R(TDCR) = DIV_1;
	R(LVT_TIMER) = 0x61;				/* one-shot */
	R(TMICT) = n;
	t1 = R(TMCCT);
	t2 = R(TMCCT);
	CHECK("apic_timer_counts_down", t1 <= n && t2 < t1 && t2 > 0,
	      "initial %u, then %u, %u", n, t1, t2);
	rt_wait_change(&rt_irq_count[0x61], 0, 20 * RT_PERIOD);
	CHECK_EQ("apic_timer_oneshot_fires", rt_irq_count[0x61], 1);
	rt_delay(3 * RT_PERIOD);
	CHECK("apic_timer_oneshot_once", rt_irq_count[0x61] == 1 && R(TMCCT) == 0,
	      "%u interrupts, current count %u", rt_irq_count[0x61], R(TMCCT));

	R(LVT_TIMER) = TIMER_PERIODIC | 0x62;
	R(TMICT) = n;
	rt_wait_change(&rt_irq_count[0x62], 0, 20 * RT_PERIOD);
	rt_wait_change(&rt_irq_count[0x62], 1, 20 * RT_PERIOD);
	rt_wait_change(&rt_irq_count[0x62], 2, 20 * RT_PERIOD);
	CHECK("apic_timer_periodic", rt_irq_count[0x62] >= 3, "%u interrupts",
	      rt_irq_count[0x62]);
	/* SDM 10.5.4: the count reloads when it reaches 0; with IF clear it goes on counting. */
	cli();
	end = rdtsc() + 3 * RT_PERIOD;
	while (rdtsc() < end)
		zeros += !R(TMCCT);
	t1 = R(TMCCT);
	CHECK("apic_timer_periodic_reloads", !zeros && t1 > 0 && t1 <= n,
	      "%u reads of 0 over 3 periods; then %u", zeros, t1);
	R(TMICT) = 0;
	sti();
	rt_delay(RT_PERIOD / 4);
	t1 = rt_irq_count[0x62];
	rt_delay(2 * RT_PERIOD);
	CHECK("apic_timer_tmict_zero_stops", rt_irq_count[0x62] == t1 && R(TMCCT) == 0,
	      "%u more interrupts, current count %u", rt_irq_count[0x62] - t1, R(TMCCT));

	R(LVT_TIMER) = MASKED | 0x63;
	R(TMICT) = n;
	t1 = R(TMCCT);
	rt_delay(2 * RT_PERIOD);
	t2 = R(TMCCT);
	CHECK("apic_timer_masked_counts_silently", !rt_irq_count[0x63] && t1 > 0 && t2 == 0,
	      "%u interrupts, count %u then %u", rt_irq_count[0x63], t1, t2);

	/* Divide by 16 counts 16 times slower over the same time. */
	R(TMICT) = 0xffffffff;
	t1 = R(TMCCT);
	rt_delay(RT_PERIOD);
	d1 = t1 - R(TMCCT);
	R(TDCR) = DIV_16;
	R(TMICT) = 0xffffffff;
	t1 = R(TMCCT);
	rt_delay(RT_PERIOD);
	d16 = t1 - R(TMCCT);
	R(TMICT) = 0;
	CHECK("apic_timer_divide_by_16", d16 && d1 / d16 >= 12 && d1 / d16 <= 20,
	      "%u counts at /1, %u at /16 in the same time", d1, d16);
	R(TDCR) = DIV_1;

	/* HLT with interrupts on ends with the timer's interrupt. */
	rt_irq_reset();
	R(LVT_TIMER) = 0x64;
	cli();
	R(TMICT) = n;
	sti_hlt();
	cli();
	CHECK_EQ("apic_timer_wakes_hlt", rt_irq_count[0x64], 1);
	R(LVT_TIMER) = MASKED;
}

void test_lapic(void)
{
	check_reset_state();
	check_read_forms();
	check_sw_disable();
	check_registers();
	check_insn_forms();
	check_alu_forms();
	check_moffs_forms();
	check_esr();
	check_self_ipi();
	check_priority();
	check_timer();
	cli();
}
