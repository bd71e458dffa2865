/* SPDX-License-Identifier: MIT */
/*
 * The emulator against this machine's CPU.  Each instruction form, with
 * random prefixes (66, 67, segment, LOCK, REP, REX), addressing forms
 * (ModRM, SIB, disp8/32, RIP-relative, moffs), operand values and flags,
 * runs natively on ordinary memory, in 64-bit mode and in 32-bit code (a far
 * jump to Linux's compatibility-mode code segment), then in the emulator
 * with the same memory behind its callbacks and the operand's page as the
 * device; registers, memory and the defined flags must agree.  Undefined
 * flags that differ are counted and printed as notes.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tests/host/test.h"
#include "hv/vmx/emulate.h"

#define PAGE		4096
/* One mapping below 2 GiB, so 32-bit addresses reach it; pages LOW..DEST are compared. */
enum { PG_CODE, PG_LOW, PG_MMIO, PG_HIGH, PG_STACK, PG_DEST, NR_PAGES };
#define CODE_OFF	0x100
#define PT_GPA		(1ULL << 44)	/* the emulator's page tables: 1 GiB identity pages */

#define CF		(1ULL << 0)
#define PF		(1ULL << 2)
#define AF		(1ULL << 4)
#define ZF		(1ULL << 6)
#define SF		(1ULL << 7)
#define DF		(1ULL << 10)
#define OF		(1ULL << 11)
#define ARITH		(CF | PF | AF | ZF | SF | OF)

static uint8_t *region;
static uint64_t fs_base, gs_base;
static bool host_is_intel;
static unsigned int cpu_mode;		/* 64, or 32: compatibility mode */
static uint64_t page_tables[2][512];

/* ---- the native side: load every register and RFLAGS, run, save them ---- */
struct cpu_state {
	uint64_t regs[16];
	uint64_t rflags;
};

struct cpu_state vs_in, vs_out;
uint64_t vs_host_rsp;
void *vs_code;
struct __attribute__((packed)) { uint32_t offset; uint16_t selector; } vs_far;
void vs_native_run(void);
void vs_native_run32(void);
void vs_native_exit(void);

#define LOAD(r, i)	"mov vs_in+" #i "(%rip), %" #r "\n"
#define SAVE(r, i)	"mov %" #r ", vs_out+" #i "(%rip)\n"
/* name: load every register and RFLAGS from vs_in, then jump. */
#define NATIVE_RUN(name, jump)							\
	".text\n.globl " name "\n" name ":\n"					\
	"push %rbx\npush %rbp\npush %r12\npush %r13\npush %r14\npush %r15\n"	\
	"mov %rsp, vs_host_rsp(%rip)\n"						\
	/* 64-bit processes run with null DS and ES: 32-bit code needs SS's. */	\
	"mov %ss, %eax\nmov %eax, %ds\nmov %eax, %es\n"				\
	"pushq vs_in+128(%rip)\npopfq\n"						\
	LOAD(rax, 0) LOAD(rcx, 8) LOAD(rdx, 16) LOAD(rbx, 24) LOAD(rbp, 40)		\
	LOAD(rsi, 48) LOAD(rdi, 56) LOAD(r8, 64) LOAD(r9, 72) LOAD(r10, 80)		\
	LOAD(r11, 88) LOAD(r12, 96) LOAD(r13, 104) LOAD(r14, 112) LOAD(r15, 120)	\
	LOAD(rsp, 32) jump "\n"
__asm__(NATIVE_RUN("vs_native_run", "jmp *vs_code(%rip)")
	/* Far jumps change no flag: to Linux's 32-bit user code segment. */
	NATIVE_RUN("vs_native_run32", "ljmp *vs_far(%rip)")
	".globl vs_native_exit\nvs_native_exit:\n"
	SAVE(rax, 0) SAVE(rcx, 8) SAVE(rdx, 16) SAVE(rbx, 24) SAVE(rsp, 32) SAVE(rbp, 40)
	SAVE(rsi, 48) SAVE(rdi, 56) SAVE(r8, 64) SAVE(r9, 72) SAVE(r10, 80) SAVE(r11, 88)
	SAVE(r12, 96) SAVE(r13, 104) SAVE(r14, 112) SAVE(r15, 120)
	"mov vs_host_rsp(%rip), %rsp\n"
	"pushfq\npopq vs_out+128(%rip)\ncld\n"
	"pop %r15\npop %r14\npop %r13\npop %r12\npop %rbp\npop %rbx\nret\n");

static sigjmp_buf native_jmp;

static void on_signal(int sig)
{
	siglongjmp(native_jmp, sig);
}

static uint8_t *code_at(void)
{
	return region + PG_CODE * PAGE + CODE_OFF;
}

/*
 * Run insn natively on vs_in; 0, or the signal it raised.  It is followed by
 * a jump back to vs_native_exit: in 32-bit code a far jump to a 64-bit stub.
 */
static int run_native(const uint8_t *insn, unsigned int len)
{
	uint8_t *code = code_at(), *stub = region + PG_CODE * PAGE + 0xf00;
	uint64_t exit_addr = (uint64_t)(uintptr_t)vs_native_exit;
	uint32_t stub32 = (uint32_t)(uintptr_t)stub;
	int sig;

	memcpy(code, insn, len);
	memcpy(stub, "\xff\x25\x00\x00\x00\x00", 6);	/* jmp *0(%rip) */
	memcpy(stub + 6, &exit_addr, 8);
	if (cpu_mode == 64) {
		memcpy(code + len, stub, 14);
	} else {
		code[len] = 0xea;			/* ljmp $0x33, stub */
		memcpy(code + len + 1, &stub32, 4);
		memcpy(code + len + 5, "\x33\x00", 2);
	}
	vs_code = code;
	vs_far.offset = (uint32_t)(uintptr_t)code;
	vs_far.selector = 0x23;
	sig = sigsetjmp(native_jmp, 1);
	if (sig)
		return sig;
	if (cpu_mode == 64)
		vs_native_run();
	else
		vs_native_run32();
	return 0;
}

static void native_init(void)
{
	static uint8_t altstack[1 << 16];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_ONSTACK | SA_NODEFER };
	unsigned int eax, ebx, ecx, edx;

	region = mmap(NULL, NR_PAGES * PAGE, PROT_READ | PROT_WRITE | PROT_EXEC,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (region == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	sigaltstack(&ss, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs_base);
	/* GS is free in 64-bit Linux processes: a base 1 MiB below the region. */
	gs_base = (uint64_t)(uintptr_t)region - (1 << 20);
	if (syscall(SYS_arch_prctl, ARCH_SET_GS, gs_base))
		gs_base = 0;
	__cpuid(0, eax, ebx, ecx, edx);
	host_is_intel = ebx == 0x756e6547 && edx == 0x49656e69 && ecx == 0x6c65746e;
	page_tables[0][0] = (PT_GPA + PAGE) | 7;
	for (int i = 0; i < 4; i++)
		page_tables[1][i] = ((uint64_t)i << 30) | 0x87;
}

/* ---- the emulator's side: the same memory, the MMIO page as the device ---- */
static unsigned int mmio_accesses, mmio_bad;

static uint64_t region_gpa(unsigned int page)
{
	return (uint64_t)(uintptr_t)region + page * PAGE;
}

static bool in_region(uint64_t gpa, unsigned int len)
{
	return gpa >= region_gpa(0) && gpa + len <= region_gpa(NR_PAGES);
}

static int read_phys(void *opaque, uint64_t gpa, void *buf, unsigned int len)
{
	(void)opaque;
	if (gpa >= PT_GPA && gpa + len <= PT_GPA + sizeof(page_tables)) {
		memcpy(buf, (uint8_t *)page_tables + (gpa - PT_GPA), len);
		return 0;
	}
	if (!in_region(gpa, len))
		return -1;
	memcpy(buf, (void *)(uintptr_t)gpa, len);
	return 0;
}

static int write_phys(void *opaque, uint64_t gpa, const void *buf, unsigned int len)
{
	(void)opaque;
	if (!in_region(gpa, len) || gpa < region_gpa(PG_LOW))
		return -1;
	memcpy((void *)(uintptr_t)gpa, buf, len);
	return 0;
}

static bool mmio_ok(uint64_t gpa, unsigned int size)
{
	mmio_accesses++;
	if ((size & (size - 1)) || size > 8 || (gpa & ~0xfffULL) != region_gpa(PG_MMIO) ||
	    (gpa & 0xfff) + size > PAGE) {
		mmio_bad++;
		return false;
	}
	return true;
}

static int mmio_read(void *opaque, uint64_t gpa, unsigned int size, uint64_t *val)
{
	(void)opaque;
	if (!mmio_ok(gpa, size))
		return -1;
	*val = 0;
	memcpy(val, (void *)(uintptr_t)gpa, size);
	return 0;
}

static int mmio_write(void *opaque, uint64_t gpa, unsigned int size, uint64_t val)
{
	(void)opaque;
	if (!mmio_ok(gpa, size))
		return -1;
	memcpy((void *)(uintptr_t)gpa, &val, size);
	return 0;
}

static const struct emu_ops ops = {
	.read_phys = read_phys, .write_phys = write_phys,
	.mmio_read = mmio_read, .mmio_write = mmio_write,
};

static void emu_setup(struct emu_ctxt *c, const struct cpu_state *in, unsigned int batch)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->regs, in->regs, sizeof(c->regs));
	c->rflags = in->rflags;
	c->rip = (uint64_t)(uintptr_t)code_at();
	c->cr0 = 0x80010001;		/* PG, WP, PE */
	c->cr4 = 0x20;			/* PAE */
	c->efer = 0xd00;		/* NXE, LMA, LME */
	c->cr3 = PT_GPA;
	c->cpl = 3;
	for (int s = 0; s < EMU_NR_SEGS; s++)
		c->seg[s] = (struct emu_segment){ 0, 0xffffffff, 0xc0f3, 0x2b };
	if (cpu_mode == 64)
		c->seg[EMU_CS] = (struct emu_segment){ 0, 0xffffffff, 0xa0fb, 0x33 };
	else
		c->seg[EMU_CS] = (struct emu_segment){ 0, 0xffffffff, 0xc0fb, 0x23 };
	c->seg[EMU_FS].base = fs_base;
	c->seg[EMU_GS].base = gs_base;
	c->rep_batch = batch;
	c->ops = &ops;
}

/* ---- random instances ---- */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool chance(unsigned int percent)
{
	return below(100) < percent;
}

/* Operand values: small, boundary and random ones. */
static uint64_t value(void)
{
	static const uint64_t edges[] = {
		0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
		0xffffffff, 0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL,
	};
	uint64_t r = rnd();

	switch (below(4)) {
	case 0:
		return below(4);
	case 1:
		return edges[below(sizeof(edges) / sizeof(edges[0]))] ^ (chance(50) ? ~0ULL : 0);
	default:
		return r;
	}
}

#define BYTE		(1u << 0)
#define IMM		(1u << 1)	/* immediate of the operand size */
#define IMM8		(1u << 2)
#define LOCK		(1u << 3)
#define MOFFS		(1u << 4)
#define STRING		(1u << 5)
#define STACK		(1u << 6)
#define NO66		(1u << 7)
#define BTREG		(1u << 8)	/* ModRM.reg is a bit offset */
#define CMPX		(1u << 9)	/* compares the accumulator with memory */
#define POP		(1u << 10)
#define ONLY64		(1u << 11)

struct form {
	char name[24];
	uint8_t opc[2], oplen;
	int8_t digit;			/* /digit, or -1: ModRM.reg is a register */
	uint16_t flags;
	uint8_t src;			/* MOVZX/MOVSX source size; 4: MOVSXD */
	uint64_t undef;			/* flags the SDM leaves undefined */
};

#define MAX_FORMS	128
static struct form forms[MAX_FORMS];
static unsigned int nr_forms;

static void add_form(const char *name, uint8_t op0, int op1, int digit, unsigned int flags,
		     unsigned int src, uint64_t undef)
{
	struct form *f = &forms[nr_forms++];

	snprintf(f->name, sizeof(f->name), "%s", name);
	f->opc[0] = op0;
	f->opc[1] = (uint8_t)op1;
	f->oplen = op1 < 0 ? 1 : 2;
	f->digit = (int8_t)digit;
	f->flags = (uint16_t)flags;
	f->src = (uint8_t)src;
	f->undef = undef;
}

static void forms_init(void)
{
	static const char *const alu[] = { "add", "or", "adc", "sbb", "and", "sub", "xor",
					   "cmp" };
	static const char *const bt[] = { "bt", "bts", "btr", "btc" };
	char name[24];

	for (int a = 0; a < 8; a++) {
		unsigned int lock = a == 7 ? 0 : LOCK;
		uint64_t undef = a == 1 || a == 4 || a == 6 ? AF : 0;

		snprintf(name, sizeof(name), "%s Eb,Gb", alu[a]);
		add_form(name, (uint8_t)(a * 8), -1, -1, BYTE | lock, 0, undef);
		snprintf(name, sizeof(name), "%s Ev,Gv", alu[a]);
		add_form(name, (uint8_t)(a * 8 + 1), -1, -1, lock, 0, undef);
		snprintf(name, sizeof(name), "%s Gb,Eb", alu[a]);
		add_form(name, (uint8_t)(a * 8 + 2), -1, -1, BYTE, 0, undef);
		snprintf(name, sizeof(name), "%s Gv,Ev", alu[a]);
		add_form(name, (uint8_t)(a * 8 + 3), -1, -1, 0, 0, undef);
		snprintf(name, sizeof(name), "%s Eb,Ib (80)", alu[a]);
		add_form(name, 0x80, -1, a, BYTE | IMM | lock, 0, undef);
		snprintf(name, sizeof(name), "%s Ev,Iz (81)", alu[a]);
		add_form(name, 0x81, -1, a, IMM | lock, 0, undef);
		snprintf(name, sizeof(name), "%s Ev,Ib (83)", alu[a]);
		add_form(name, 0x83, -1, a, IMM8 | lock, 0, undef);
	}
	add_form("test Eb,Gb", 0x84, -1, -1, BYTE, 0, AF);
	add_form("test Ev,Gv", 0x85, -1, -1, 0, 0, AF);
	add_form("xchg Eb,Gb", 0x86, -1, -1, BYTE | LOCK, 0, 0);
	add_form("xchg Ev,Gv", 0x87, -1, -1, LOCK, 0, 0);
	add_form("mov Eb,Gb", 0x88, -1, -1, BYTE, 0, 0);
	add_form("mov Ev,Gv", 0x89, -1, -1, 0, 0, 0);
	add_form("mov Gb,Eb", 0x8a, -1, -1, BYTE, 0, 0);
	add_form("mov Gv,Ev", 0x8b, -1, -1, 0, 0, 0);
	add_form("pop Ev", 0x8f, -1, 0, STACK | POP, 0, 0);
	add_form("mov AL,Ob", 0xa0, -1, -1, BYTE | MOFFS, 0, 0);
	add_form("mov rAX,Ov", 0xa1, -1, -1, MOFFS, 0, 0);
	add_form("mov Ob,AL", 0xa2, -1, -1, BYTE | MOFFS, 0, 0);
	add_form("mov Ov,rAX", 0xa3, -1, -1, MOFFS, 0, 0);
	add_form("movsb", 0xa4, -1, -1, BYTE | STRING, 0, 0);
	add_form("movs", 0xa5, -1, -1, STRING, 0, 0);
	add_form("stosb", 0xaa, -1, -1, BYTE | STRING, 0, 0);
	add_form("stos", 0xab, -1, -1, STRING, 0, 0);
	add_form("lodsb", 0xac, -1, -1, BYTE | STRING, 0, 0);
	add_form("lods", 0xad, -1, -1, STRING, 0, 0);
	add_form("mov Eb,Ib", 0xc6, -1, 0, BYTE | IMM, 0, 0);
	add_form("mov Ev,Iz", 0xc7, -1, 0, IMM, 0, 0);
	add_form("test Eb,Ib", 0xf6, -1, 0, BYTE | IMM, 0, AF);
	add_form("test Eb,Ib (/1)", 0xf6, -1, 1, BYTE | IMM, 0, AF);
	add_form("test Ev,Iz", 0xf7, -1, 0, IMM, 0, AF);
	add_form("test Ev,Iz (/1)", 0xf7, -1, 1, IMM, 0, AF);
	add_form("not Eb", 0xf6, -1, 2, BYTE | LOCK, 0, 0);
	add_form("neg Eb", 0xf6, -1, 3, BYTE | LOCK, 0, 0);
	add_form("not Ev", 0xf7, -1, 2, LOCK, 0, 0);
	add_form("neg Ev", 0xf7, -1, 3, LOCK, 0, 0);
	add_form("inc Eb", 0xfe, -1, 0, BYTE | LOCK, 0, 0);
	add_form("dec Eb", 0xfe, -1, 1, BYTE | LOCK, 0, 0);
	add_form("inc Ev", 0xff, -1, 0, LOCK, 0, 0);
	add_form("dec Ev", 0xff, -1, 1, LOCK, 0, 0);
	add_form("push Ev", 0xff, -1, 6, STACK, 0, 0);
	add_form("movsxd Gv,Ed", 0x63, -1, -1, ONLY64, 4, 0);
	for (int b = 0; b < 4; b++) {
		snprintf(name, sizeof(name), "%s Ev,Gv", bt[b]);
		add_form(name, 0x0f, 0xa3 + 8 * b, -1, BTREG | (b ? LOCK : 0), 0,
			 OF | SF | AF | PF);
		snprintf(name, sizeof(name), "%s Ev,Ib", bt[b]);
		add_form(name, 0x0f, 0xba, 4 + b, IMM8 | (b ? LOCK : 0), 0, OF | SF | AF | PF);
	}
	add_form("cmpxchg Eb,Gb", 0x0f, 0xb0, -1, BYTE | LOCK | CMPX, 0, 0);
	add_form("cmpxchg Ev,Gv", 0x0f, 0xb1, -1, LOCK | CMPX, 0, 0);
	add_form("movzx Gv,Eb", 0x0f, 0xb6, -1, 0, 1, 0);
	add_form("movzx Gv,Ew", 0x0f, 0xb7, -1, 0, 2, 0);
	add_form("movsx Gv,Eb", 0x0f, 0xbe, -1, 0, 1, 0);
	add_form("movsx Gv,Ew", 0x0f, 0xbf, -1, 0, 2, 0);
	add_form("xadd Eb,Gb", 0x0f, 0xc0, -1, BYTE | LOCK, 0, 0);
	add_form("xadd Ev,Gv", 0x0f, 0xc1, -1, LOCK, 0, 0);
	add_form("movnti My,Gy", 0x0f, 0xc3, -1, NO66, 0, 0);
}

struct instance {
	uint8_t b[32];
	unsigned int len;
	struct cpu_state in;
	unsigned int addr_regs;		/* the registers the address depends on, by bit */
	bool expect_ud;			/* LOCK where it is not allowed */
	bool cs_override;		/* 32-bit code: a write through CS is #GP */
};

struct choice {
	bool p66, p67, lock, rex_w;
	uint8_t seg, rep;		/* prefix bytes, or 0 */
	uint64_t seg_base;
	unsigned int opsize, msize, addrsize;
};

static uint64_t addr_mask(const struct choice *ch)
{
	return ch->addrsize == 8 ? ~0ULL : 0xffffffffULL;
}

/* A register value whose low addrsize bytes are v: garbage above for 32-bit addresses. */
static uint64_t addr_reg(const struct choice *ch, uint64_t v)
{
	return ch->addrsize == 8 ? v : (v & 0xffffffffULL) | (rnd() << 32);
}

static unsigned int emit_prefixes(struct instance *x, const struct choice *ch)
{
	uint8_t p[6];
	unsigned int n = 0;

	if (ch->p66)
		p[n++] = 0x66;
	if (ch->p67)
		p[n++] = 0x67;
	if (ch->seg)
		p[n++] = ch->seg;
	if (ch->lock)
		p[n++] = 0xf0;
	if (ch->rep)
		p[n++] = ch->rep;
	for (unsigned int i = n; i > 1; i--) {
		unsigned int j = (unsigned int)below(i);
		uint8_t t = p[i - 1];

		p[i - 1] = p[j];
		p[j] = t;
	}
	x->len = 0;
	/* A REX before a legacy prefix is ignored. */
	if (n && cpu_mode == 64 && chance(5))
		x->b[x->len++] = (uint8_t)(0x40 | below(16));
	memcpy(x->b + x->len, p, n);
	x->len += n;
	return n;
}

static void emit(struct instance *x, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		x->b[x->len++] = (uint8_t)(v >> (8 * i));
}

static void choose(const struct form *f, struct choice *ch)
{
	static const uint8_t segs[] = { 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65 };

	*ch = (struct choice){ 0 };
	ch->p66 = !(f->flags & NO66) && chance(30);
	/* 32-bit code: no REX; no 16-bit addresses, which cannot reach the region. */
	ch->p67 = cpu_mode == 64 && chance(30);
	ch->rex_w = cpu_mode == 64 && chance(30);
	if (chance(30))
		ch->seg = segs[below(cpu_mode == 64 ? 6 : 4)];
	if ((ch->seg == 0x64 && (ch->p67 || !fs_base)) || (ch->seg == 0x65 && !gs_base))
		ch->seg = 0;
	ch->seg_base = ch->seg == 0x64 ? fs_base : ch->seg == 0x65 ? gs_base : 0;
	ch->lock = chance(f->flags & LOCK ? 30 : 2);
	if ((f->flags & STRING) && chance(60))
		ch->rep = chance(50) ? 0xf3 : 0xf2;
	if (f->flags & BYTE)
		ch->opsize = 1;
	else if (f->flags & STACK)
		ch->opsize = ch->p66 && !ch->rex_w ? 2 : cpu_mode == 64 ? 8 : 4;
	else
		ch->opsize = ch->rex_w ? 8 : ch->p66 ? 2 : 4;
	ch->msize = f->src == 4 ? (ch->opsize < 4 ? ch->opsize : 4) : f->src ? f->src : ch->opsize;
	ch->addrsize = ch->p67 || cpu_mode == 32 ? 4 : 8;
}

/* Where the memory operand starts: on the device page, or across either edge of it. */
static uint64_t pick_target(unsigned int size)
{
	uint64_t mmio = region_gpa(PG_MMIO);

	switch (below(size > 1 ? 6 : 4)) {
	case 0:
	case 1:
		return mmio + below(PAGE / size) * size;
	case 2:
	case 3:
		return mmio + below(PAGE - size + 1);
	case 4:
		return mmio + PAGE - 1 - below(size - 1);
	default:
		return mmio - 1 - below(size - 1);
	}
}

static bool fits32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

static bool gen_string(const struct form *f, const struct choice *ch, struct instance *x,
		       uint8_t rex)
{
	uint64_t *r = x->in.regs, mmio = region_gpa(PG_MMIO), dest = region_gpa(PG_DEST);
	bool mmio_src = f->opc[0] >= 0xac || (f->opc[0] < 0xaa && chance(50));
	uint64_t src = mmio + below(PAGE + 64) - 32, dst = dest + 40 + below(PAGE - 96);

	if (f->opc[0] == 0xaa || f->opc[0] == 0xab || !mmio_src) {
		dst = mmio + below(PAGE + 64) - 32;
		src = dest + 40 + below(PAGE - 96);
	}
	r[6] = addr_reg(ch, src - ch->seg_base);
	r[7] = addr_reg(ch, dst);
	if (ch->rep)
		r[1] = addr_reg(ch, below(5));
	/* The emulator has Intel's REP quirk for ECX = 0 (emulate.c): not for others. */
	if (ch->rep && ch->addrsize == 4 && !(r[1] & 0xffffffffULL) && !host_is_intel) {
		r[1] = 0;
		r[6] &= 0xffffffffULL;
		r[7] &= 0xffffffffULL;
	}
	if (rex)
		x->b[x->len++] = rex;
	x->b[x->len++] = f->opc[0];
	return true;
}

/* ModRM, SIB and displacement for a memory operand at ea, solving the registers. */
static bool gen_modrm(const struct form *f, const struct choice *ch, struct instance *x,
		      uint64_t ea, unsigned int reg, unsigned int imm_size)
{
	uint64_t *r = x->in.regs, rsp_ea = r[4] + (f->flags & POP ? ch->opsize : 0);
	int nregs = cpu_mode == 64 ? 16 : 8;
	int base = (int)below(nregs), index = chance(50) ? (int)below(nregs) : -1;
	unsigned int scale = (unsigned int)below(4), dkind = (unsigned int)below(3), mod;
	unsigned int kind = (unsigned int)below(100), rex = 0, disp_at;
	int64_t disp = dkind == 1 ? (int8_t)rnd() : dkind == 2 ? (int32_t)rnd() : 0;

	if (index == 4)
		index = -1;
	x->addr_regs = (base >= 0 ? 1u << base : 0) | (index >= 0 ? 1u << index : 0);
	if ((f->flags & BTREG) && ((int)reg == base || (int)reg == index || reg == 4))
		return false;
	if (kind < 8 && cpu_mode == 32)
		kind = 8;			/* no RIP-relative outside 64-bit mode */
	if (kind < 8) {				/* RIP-relative */
		base = index = -1;
	} else if (kind < 16) {			/* disp32 alone, SIB without base or index */
		base = -2;
		index = -1;
		disp = (int64_t)(ea & addr_mask(ch));
		if (ch->addrsize == 8 && !fits32(disp))
			return false;
	} else if (base == 4) {
		uint64_t iv = index >= 0 ? (uint64_t)(int64_t)(below(129) - 64) : 0;

		if (index >= 0)
			r[index] = addr_reg(ch, iv);
		disp = (int64_t)((ea - rsp_ea - (iv << scale)) & addr_mask(ch));
		if (ch->addrsize == 4)
			disp = (int32_t)disp;
		if (!fits32(disp))
			return false;
		dkind = 2;
	} else if (index == base) {
		int64_t m = 1 + (1 << scale), t = (int64_t)ea, v;

		if (ch->addrsize == 4)
			t = (int64_t)(ea & 0xffffffffULL);
		v = t / m + (int64_t)below(7) - 3;
		disp = t - v * m;
		dkind = disp >= -128 && disp < 128 ? 1 : 2;
		r[base] = addr_reg(ch, (uint64_t)v);
	} else {
		uint64_t iv = index >= 0 ? value() : 0;

		if (index >= 0)
			r[index] = iv;
		r[base] = addr_reg(ch, ea - (uint64_t)disp - (iv << scale));
	}
	rex = (ch->rex_w ? 8 : 0) | (reg >= 8 ? 4 : 0) | (index >= 8 ? 2 : 0) |
	      (base >= 8 ? 1 : 0);
	if (rex || (cpu_mode == 64 && chance(30)))
		x->b[x->len++] = (uint8_t)(0x40 | rex);
	memcpy(x->b + x->len, f->opc, f->oplen);
	x->len += f->oplen;
	if (base == -1 && index == -1) {
		mod = 0;
		x->b[x->len++] = (uint8_t)(((reg & 7) << 3) | 5);
		dkind = 2;
	} else if (index < 0 && base >= 0 && (base & 7) != 4) {
		if (dkind == 0 && (base & 7) == 5)
			dkind = 1;
		mod = dkind;
		x->b[x->len++] = (uint8_t)((mod << 6) | ((reg & 7) << 3) | (base & 7));
	} else {
		if (base < 0)
			dkind = 2;
		else if (dkind == 0 && (base & 7) == 5)
			dkind = 1;
		mod = base < 0 ? 0 : dkind;
		x->b[x->len++] = (uint8_t)((mod << 6) | ((reg & 7) << 3) | 4);
		x->b[x->len++] = (uint8_t)((scale << 6) | ((index < 0 ? 4 : index & 7) << 3) |
					   (base < 0 ? 5 : base & 7));
	}
	disp_at = x->len;
	emit(x, (uint64_t)disp, dkind == 1 ? 1 : dkind == 2 ? 4 : 0);
	if (kind < 8) {				/* now the length is known */
		uint64_t next = (uint64_t)(uintptr_t)code_at() + x->len + imm_size;

		disp = (int64_t)(ea - next);
		if (ch->addrsize == 4)
			disp = (int32_t)(uint32_t)disp;
		if (!fits32(disp))
			return false;
		x->len = disp_at;
		emit(x, (uint64_t)disp, 4);
	}
	return true;
}

static bool gen(const struct form *f, struct instance *x)
{
	struct choice ch;
	uint64_t *r = x->in.regs, target, ea;
	unsigned int reg = (unsigned int)below(cpu_mode / 4), imm_size = 0;
	uint8_t rex = 0;

	if (f->digit >= 0)
		reg = (unsigned int)f->digit;
	choose(f, &ch);
	for (int i = 0; i < 16; i++)
		r[i] = value();
	r[4] = region_gpa(PG_STACK) + 1024 + (chance(80) ? below(256) * 8 : below(2048));
	x->in.rflags = 0x202 | (rnd() & ARITH) | (chance(50) ? DF : 0);
	x->expect_ud = ch.lock && !(f->flags & LOCK);
	x->cs_override = cpu_mode == 32 && ch.seg == 0x2e;
	x->addr_regs = 0;
	emit_prefixes(x, &ch);
	if (f->flags & STRING) {
		if (cpu_mode == 64 && (ch.rex_w || chance(20)))
			rex = (uint8_t)(0x40 | (ch.rex_w ? 8 : 0) | below(8));
		return gen_string(f, &ch, x, rex);
	}
	if (f->flags & (IMM | IMM8))
		imm_size = f->flags & IMM8 || ch.opsize == 1 ? 1 : ch.opsize == 2 ? 2 : 4;
	if (f->flags & BTREG) {
		int64_t bit = (int64_t)below(2 * 8 * 1024) - 8 * 1024;

		target = region_gpa(PG_MMIO) + 1024 + below(2048);
		r[reg] = (uint64_t)bit;
		if (ch.opsize == 2)
			r[reg] = (r[reg] & 0xffff) | (rnd() << 16);
		else if (ch.opsize == 4)
			r[reg] = (r[reg] & 0xffffffffULL) | (rnd() << 32);
	} else {
		target = pick_target(ch.msize);
	}
	ea = target - ch.seg_base;
	if (f->flags & MOFFS) {
		if (cpu_mode == 64 && (ch.rex_w || chance(20)))
			x->b[x->len++] = (uint8_t)(0x40 | (ch.rex_w ? 8 : 0) | below(8));
		x->b[x->len++] = f->opc[0];
		emit(x, ea, ch.addrsize);
		return true;
	}
	if (!gen_modrm(f, &ch, x, ea, reg, imm_size))
		return false;
	emit(x, value(), imm_size);
	if ((f->flags & CMPX) && !(x->addr_regs & 1) && chance(50)) {
		uint64_t mem = 0;

		memcpy(&mem, (void *)(uintptr_t)target, ch.msize);
		r[0] = (r[0] & ~((1ULL << (8 * ch.msize - 1) << 1) - 1)) | mem;
	}
	return true;
}

/* ---- comparing ---- */
struct tally {
	unsigned int runs, native_faults, undef_diffs;
	uint64_t undef_seen;
};

static uint8_t mem_init[NR_PAGES * PAGE], mem_native[NR_PAGES * PAGE];

static void fill_memory(void)
{
	for (size_t i = PAGE; i < sizeof(mem_init); i += 8) {
		uint64_t v = rnd();

		memcpy(region + i, &v, 8);
	}
	memcpy(mem_init + PAGE, region + PAGE, sizeof(mem_init) - PAGE);
}

static void print_insn(const struct form *f, const struct instance *x)
{
	printf("# %s:", f->name);
	for (unsigned int i = 0; i < x->len; i++)
		printf(" %02x", x->b[i]);
	printf("\n");
}

/* Run the emulator until RIP moves on (REP may take several calls). */
static enum emu_result emulate(struct emu_ctxt *c, unsigned int *calls)
{
	uint64_t rip = c->rip;
	enum emu_result res;

	*calls = 0;
	do {
		res = emu_mmio(c, region_gpa(PG_MMIO));
		++*calls;
	} while (res == EMU_OK && c->rip == rip && *calls < 64);
	return res;
}

static bool check_one(const struct form *f, const struct instance *x, struct tally *t)
{
	struct emu_ctxt c;
	unsigned int calls;
	enum emu_result res;
	uint64_t diff;
	int sig;

	/* The code page is not restored: it holds the instruction. */
	memcpy(region + PAGE, mem_init + PAGE, sizeof(mem_init) - PAGE);
	vs_in = x->in;
	sig = run_native(x->b, x->len);
	memcpy(mem_native, region, sizeof(mem_native));
	memcpy(region + PAGE, mem_init + PAGE, sizeof(mem_init) - PAGE);
	emu_setup(&c, &x->in, chance(50) ? 1 : 1000);
	mmio_bad = 0;
	res = emulate(&c, &calls);
	t->runs++;
	if (sig || x->expect_ud || x->len > 15) {
		t->native_faults += sig != 0;
		if ((x->len > 15 || x->cs_override) && sig == SIGSEGV &&
		    res == EMU_INJECT_EXCEPTION && c.exc.vector == 13)
			return true;
		if (sig == SIGILL && res == EMU_INJECT_EXCEPTION && c.exc.vector == 6)
			return true;
		print_insn(f, x);
		printf("# native signal %d (expected #UD: %d), emulator %d vector %u\n", sig,
		       x->expect_ud, res, c.exc.vector);
		return false;
	}
	if (res != EMU_OK || c.rip != (uint64_t)(uintptr_t)code_at() + x->len || mmio_bad) {
		print_insn(f, x);
		printf("# emulator: result %d why %d vector %u ec %x rip +%lld bad device "
		       "accesses %u\n", res, c.why, c.exc.vector, c.exc.error_code,
		       (long long)(c.rip - (uint64_t)(uintptr_t)code_at()), mmio_bad);
		return false;
	}
	if (memcmp(c.regs, vs_out.regs, sizeof(c.regs))) {
		print_insn(f, x);
		for (int i = 0; i < 16; i++)
			if (c.regs[i] != vs_out.regs[i])
				printf("# reg %d: emulator %016llx cpu %016llx (in %016llx)\n", i,
				       (unsigned long long)c.regs[i],
				       (unsigned long long)vs_out.regs[i],
				       (unsigned long long)x->in.regs[i]);
		return false;
	}
	diff = (c.rflags ^ vs_out.rflags) & (ARITH | DF);
	if (diff & ~f->undef) {
		print_insn(f, x);
		printf("# rflags: emulator %llx cpu %llx (in %llx)\n",
		       (unsigned long long)c.rflags, (unsigned long long)vs_out.rflags,
		       (unsigned long long)x->in.rflags);
		return false;
	}
	if (diff) {
		t->undef_diffs++;
		t->undef_seen |= diff;
	}
	if (memcmp(region + PAGE, mem_native + PAGE, sizeof(mem_native) - PAGE)) {
		size_t i = PAGE;

		while (region[i] == mem_native[i])
			i++;
		print_insn(f, x);
		printf("# memory at page %zu +%#zx: emulator %02x cpu %02x\n", i / PAGE,
		       i % PAGE, region[i], mem_native[i]);
		return false;
	}
	return true;
}

/*
 * Valgrind runs the code on its own model of the CPU, which gets flags and
 * self-modified code wrong here: under it only the emulator's side runs, for
 * memcheck to check.
 */
static bool under_valgrind(void)
{
	const char *s = getenv("LD_PRELOAD");

	return s && strstr(s, "vgpreload");
}

static void emulate_only(const struct instance *x)
{
	struct emu_ctxt c;
	unsigned int calls;

	memcpy(region + PAGE, mem_init + PAGE, sizeof(mem_init) - PAGE);
	memcpy(code_at(), x->b, x->len);
	emu_setup(&c, &x->in, 1000);
	emulate(&c, &calls);
}

static unsigned int per_form(void)
{
	const char *s = getenv("EMU_VS_CPU_RUNS");

	return s ? (unsigned int)atoi(s) : under_valgrind() ? 40 : 400;
}

/* Every form, per_form() times, in a mode; false at the first mismatch of a form. */
static bool all_forms(unsigned int mode)
{
	unsigned int runs = per_form(), failed = 0, total = 0, tested = 0;

	cpu_mode = mode;
	for (unsigned int i = 0; i < nr_forms; i++) {
		const struct form *f = &forms[i];
		struct tally t = { 0 };

		if ((f->flags & ONLY64) && mode != 64)
			continue;
		tested++;
		for (unsigned int n = 0; n < runs; n++) {
			struct instance x;

			fill_memory();
			if (!gen(f, &x)) {
				n--;
				continue;
			}
			if (under_valgrind()) {
				emulate_only(&x);
				continue;
			}
			if (!check_one(f, &x, &t)) {
				failed++;
				break;
			}
		}
		total += t.runs;
		if (t.undef_diffs)
			printf("# %s: undefined flags %llx differ in %u of %u runs\n", f->name,
			       (unsigned long long)t.undef_seen, t.undef_diffs, t.runs);
	}
	printf("# %u-bit code: %u forms, %u runs\n", mode, tested, total);
	return !failed;
}

TEST(every_form_matches_the_cpu_in_64_bit_mode)
{
	CHECK(all_forms(64));
}

TEST(every_form_matches_the_cpu_in_32_bit_code)
{
	CHECK(all_forms(32));
}

__attribute__((constructor)) static void init(void)
{
	native_init();
	forms_init();
}
