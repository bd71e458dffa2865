/* SPDX-License-Identifier: MIT */
/*
 * Tests for hv/vmx/emulate*.c on a fake guest: 1 MiB of RAM at guest-physical
 * 0, a device page at 0xfee00000 that logs each access, and page tables for
 * 32-bit paging and long mode.  A table of cases per mode (16-, 32- and
 * 64-bit code; operand and address sizes by prefix), with expected values
 * from the SDM; then exceptions, REP batching, routing and the callbacks.
 * tests/hv/vmx/test_emulate_vs_cpu.c checks 64-bit forms against the CPU.
 */
#include "tests/host/test.h"
#include "hv/vmx/emulate.h"

#define RAM_SIZE	(1u << 20)
#define MMIO_GPA	0xfee00000ULL
#define MMIO_LA		0x200000ULL	/* where paging maps the device page */
#define RAM_AFTER	0x50000ULL	/* RAM mapped at MMIO_LA + 4 KiB */
#define RAM_BEFORE	0x51000ULL	/* RAM mapped at MMIO_LA - 4 KiB */
#define RO_LA		0x301000ULL	/* read-only, to RAM 0x52000 */
#define NP_LA		0x300000ULL	/* not present */
#define CODE		0x1000ULL	/* RIP, and CS.base 0 */
#define STACK		0x8000ULL

#define CR0_PE		(1ULL << 0)
#define CR0_WP		(1ULL << 16)
#define CR0_AM		(1ULL << 18)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)
#define EFER_NXE	(1ULL << 11)
#define DF		(1ULL << 10)
#define FLAGS6		0x8d5ULL	/* CF PF AF ZF SF OF */

static uint8_t ram[RAM_SIZE];
static uint8_t dev[4096];
static char dev_log[256];
static bool dev_fail;

#include "tests/hv/vmx/guest_ram.h"

static void log_access(char dir, uint64_t gpa, unsigned int size)
{
	size_t n = strlen(dev_log);

	snprintf(dev_log + n, sizeof(dev_log) - n, "%s%c%u:%llx", n ? "," : "", dir, size,
		 (unsigned long long)(gpa - MMIO_GPA));
}

static int mmio_read(void *opaque, uint64_t gpa, unsigned int size, uint64_t *val)
{
	(void)opaque;
	log_access('r', gpa, size);
	if (dev_fail || gpa < MMIO_GPA || gpa + size > MMIO_GPA + 4096)
		return -1;
	*val = 0;
	memcpy(val, dev + (gpa - MMIO_GPA), size);
	return 0;
}

static int mmio_write(void *opaque, uint64_t gpa, unsigned int size, uint64_t val)
{
	(void)opaque;
	log_access('w', gpa, size);
	if (dev_fail || gpa < MMIO_GPA || gpa + size > MMIO_GPA + 4096)
		return -1;
	memcpy(dev + (gpa - MMIO_GPA), &val, size);
	return 0;
}

static struct emu_ops ops = {
	.read_phys = ram_read, .write_phys = ram_write, .cmpxchg_phys = ram_cmpxchg,
	.mmio_read = mmio_read, .mmio_write = mmio_write,
};

/* ---- guest page tables: identity RAM, the device at MMIO_LA ---- */
static uint64_t next_table;

static uint64_t *table_entry(uint64_t table, unsigned int idx)
{
	return (uint64_t *)(ram + table + idx * 8);
}

static uint64_t new_table(void)
{
	uint64_t t = next_table;

	next_table += 4096;
	memset(ram + t, 0, 4096);
	return t;
}

/* 4-level: map one 4 KiB page la -> pa (flags on every level). */
static void map64(uint64_t cr3, uint64_t la, uint64_t pa, uint64_t flags)
{
	uint64_t t = cr3;

	for (int level = 4; level > 1; level--) {
		uint64_t *e = table_entry(t, (la >> (12 + 9 * (level - 1))) & 511);

		if (!(*e & 1))
			*e = new_table() | 7;
		t = *e & ~0xfffULL;
	}
	*table_entry(t, (la >> 12) & 511) = pa | flags;
}

/* 32-bit paging: map one 4 KiB page. */
static void map32(uint64_t cr3, uint64_t la, uint64_t pa, uint32_t flags)
{
	uint32_t *pde = (uint32_t *)(ram + cr3) + (la >> 22), *pte;

	if (!(*pde & 1))
		*pde = (uint32_t)new_table() | 7;
	pte = (uint32_t *)(ram + (*pde & ~0xfffu)) + ((la >> 12) & 1023);
	*pte = (uint32_t)pa | flags;
}

static void map_page(uint64_t cr3, bool wide, uint64_t la, uint64_t pa, uint32_t flags)
{
	if (wide)
		map64(cr3, la, pa, flags);
	else
		map32(cr3, la, pa, flags);
}

/* RAM below 0x60000 at itself, the device page at MMIO_LA with RAM around it. */
static void map_all(uint64_t cr3, bool wide)
{
	for (uint64_t pa = 0; pa < 0x60000; pa += 4096)
		map_page(cr3, wide, pa, pa, 7);
	map_page(cr3, wide, MMIO_LA, MMIO_GPA, 7);
	map_page(cr3, wide, MMIO_LA + 4096, RAM_AFTER, 7);
	map_page(cr3, wide, MMIO_LA - 4096, RAM_BEFORE, 7);
	map_page(cr3, wide, RO_LA, 0x52000, 5);
}

/*
 * A fresh guest in a mode: 16 is real mode with DS at the device page (its
 * cached base, as after unreal-mode tricks) and ES, SS at 0; 32 is flat
 * protected mode with 32-bit paging; 64 is long mode.  Registers are 0 but
 * RSP; RIP is CODE; CPL 0.
 */
static void guest(struct emu_ctxt *c, unsigned int mode)
{
	uint32_t data = mode == 16 ? 0x93 : 0xc093, code = mode == 16 ? 0x9b : 0xc09b;

	memset(ram, 0, sizeof(ram));
	memset(dev, 0, sizeof(dev));
	dev_log[0] = 0;
	dev_fail = false;
	memset(c, 0, sizeof(*c));
	next_table = 0x60000;
	c->regs[4] = STACK;
	c->rip = CODE;
	c->rflags = 2;
	for (int s = 0; s < EMU_NR_SEGS; s++)
		c->seg[s] = (struct emu_segment){ 0, mode == 16 ? 0xffff : 0xffffffff, data, 0 };
	c->seg[EMU_CS].ar = code;
	if (mode == 16) {
		c->seg[EMU_DS].base = MMIO_GPA;
	} else {
		c->cr0 = CR0_PE | CR0_PG | CR0_WP;
		c->cr3 = new_table();
		map_all(c->cr3, mode == 64);
	}
	if (mode == 64) {
		c->cr4 = CR4_PAE;
		c->efer = EFER_LME | EFER_LMA | EFER_NXE;
		c->seg[EMU_CS].ar = 0xa09b;	/* L */
	}
	c->rep_batch = 1000;
	c->ops = &ops;
}

static void put_code(const struct emu_ctxt *c, const uint8_t *b, unsigned int n)
{
	uint64_t la = c->seg[EMU_CS].base + c->rip;

	memcpy(ram + la, b, n);
}

/* ---- the case table ---- */
struct ecase {
	unsigned int mode;
	const char *hex;	/* instruction bytes */
	const char *in;		/* "reg=v", "fl=v" (RFLAGS), "mOFF=v" (device), "rGPA=v" (RAM) */
	const char *out;	/* the same keys, expected; "exc=V,EC", "unhandled", "log=..." */
};

static const char *const reg_names[16] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static int reg_index(const char *name)
{
	for (int i = 0; i < 16; i++)
		if (!strcmp(name, reg_names[i]))
			return i;
	return -1;
}

static unsigned int parse_hex(const char *hex, uint8_t *b)
{
	unsigned int n = 0;

	while (*hex) {
		char *end;

		b[n++] = (uint8_t)strtoul(hex, &end, 16);
		hex = end;
		while (*hex == ' ')
			hex++;
	}
	return n;
}

/* Apply "key=value" settings to the guest. */
static void apply(struct emu_ctxt *c, const char *spec)
{
	char buf[512], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(t, '=');
		uint64_t v;

		if (!eq)
			continue;
		*eq = 0;
		v = strtoull(eq + 1, NULL, 0);
		if (reg_index(t) >= 0)
			c->regs[reg_index(t)] = v;
		else if (!strcmp(t, "fl"))
			c->rflags = v | 2;
		else if (t[0] == 'm')
			memcpy(dev + strtoul(t + 1, NULL, 16), &v, 8);
		else if (t[0] == 'r')
			memcpy(ram + strtoul(t + 1, NULL, 16), &v, 8);
	}
}

/*
 * Check the guest against the expected "key=value" list: registers and
 * memory named there, RFLAGS' six arithmetic flags and DF, RIP; everything
 * not named must equal before.  Returns a description of the first
 * mismatch, or NULL.
 */
static const char *verify(const struct emu_ctxt *c, const struct emu_ctxt *before,
			  enum emu_result res, unsigned int len, const char *spec)
{
	static char why[512];
	char buf[512], *save = NULL;
	uint64_t want_regs[16], want_fl = before->rflags, want_rip = before->rip + len;
	int want_res = EMU_OK, want_vec = -1, want_ec = -1;

	memcpy(want_regs, before->regs, sizeof(want_regs));
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(t, '=');
		uint64_t v = eq ? strtoull(eq + 1, NULL, 0) : 0, got = 0;

		if (!strcmp(t, "unhandled")) {
			want_res = EMU_UNHANDLED;
			continue;
		}
		if (!eq)
			continue;
		*eq = 0;
		if (reg_index(t) >= 0) {
			want_regs[reg_index(t)] = v;
		} else if (!strcmp(t, "fl")) {
			want_fl = v | 2;
		} else if (!strcmp(t, "rip")) {
			want_rip = v;
		} else if (!strcmp(t, "exc")) {
			want_res = EMU_INJECT_EXCEPTION;
			want_vec = (int)v;
			want_ec = strchr(eq + 1, ',') ? atoi(strchr(eq + 1, ',') + 1) : -1;
		} else if (!strcmp(t, "cr2")) {
			if (c->exc.cr2 != v)
				return snprintf(why, sizeof(why), "cr2 %llx",
						(unsigned long long)c->exc.cr2), why;
		} else if (!strcmp(t, "log")) {
			if (strcmp(dev_log, eq + 1))
				return snprintf(why, sizeof(why), "log \"%s\"", dev_log), why;
		} else if (t[0] == 'm' || t[0] == 'r') {
			uint64_t off = strtoul(t + 1, NULL, 16);

			memcpy(&got, (t[0] == 'm' ? dev : ram) + off, 8);
			if (got != v)
				return snprintf(why, sizeof(why), "%s = %llx", t,
						(unsigned long long)got), why;
		}
	}
	if ((int)res != want_res)
		return snprintf(why, sizeof(why), "result %d why %d vector %u ec %u", res, c->why,
				c->exc.vector, c->exc.error_code), why;
	if (want_res == EMU_INJECT_EXCEPTION) {
		if (c->exc.vector != want_vec || (want_ec >= 0 && c->exc.error_code != (uint32_t)want_ec))
			return snprintf(why, sizeof(why), "exception %u ec %u", c->exc.vector,
					c->exc.error_code), why;
		want_rip = before->rip;
	} else if (want_res == EMU_UNHANDLED) {
		want_rip = before->rip;
	}
	for (int i = 0; i < 16; i++)
		if (c->regs[i] != want_regs[i])
			return snprintf(why, sizeof(why), "%s = %llx", reg_names[i],
					(unsigned long long)c->regs[i]), why;
	if ((c->rflags & (FLAGS6 | DF)) != (want_fl & (FLAGS6 | DF)))
		return snprintf(why, sizeof(why), "rflags = %llx",
				(unsigned long long)c->rflags), why;
	if (c->rip != want_rip)
		return snprintf(why, sizeof(why), "rip = %llx", (unsigned long long)c->rip), why;
	return NULL;
}

static bool run_cases(const struct ecase *cases, size_t n)
{
	bool ok = true;

	for (size_t i = 0; i < n; i++) {
		const struct ecase *k = &cases[i];
		struct emu_ctxt c, before;
		uint8_t b[32];
		unsigned int len = parse_hex(k->hex, b);
		enum emu_result res;
		const char *why;

		guest(&c, k->mode);
		apply(&c, k->in);
		put_code(&c, b, len);
		before = c;
		res = emu_mmio(&c, MMIO_GPA);
		why = verify(&c, &before, res, len, k->out);
		if (why) {
			printf("# %u-bit [%s] in {%s}: %s\n", k->mode, k->hex, k->in, why);
			ok = false;
		}
	}
	return ok;
}

#define RUN(cases) CHECK(run_cases(cases, sizeof(cases) / sizeof(cases[0])))

/* Real mode: 16-bit operands and addresses, 66 and 67 to widen them. */
static const struct ecase cases16[] = {
	{ 16, "89 07", "rbx=0x100 rax=0x11223344", "m100=0x3344 log=w2:100" },
	{ 16, "66 89 07", "rbx=0x100 rax=0x11223344", "m100=0x11223344 log=w4:100" },
	{ 16, "67 89 03", "rbx=0x100 rax=0x5566", "m100=0x5566" },
	{ 16, "8b 00", "rbx=0x80 rsi=0x80 m100=0xbeef", "rax=0xbeef log=r2:100" },
	{ 16, "8b 01", "rbx=0x80 rdi=0x80 m100=0xbeef", "rax=0xbeef" },
	{ 16, "3e 8b 02", "rbp=0x80 rsi=0x80 m100=0xbeef", "rax=0xbeef" },
	{ 16, "3e 8b 03", "rbp=0x80 rdi=0x80 m100=0xbeef", "rax=0xbeef" },
	{ 16, "8b 04", "rsi=0x100 m100=0xbeef", "rax=0xbeef" },
	{ 16, "8b 05", "rdi=0x100 m100=0xbeef", "rax=0xbeef" },
	{ 16, "8b 06 00 01", "m100=0xbeef", "rax=0xbeef" },
	{ 16, "8b 07", "rbx=0x100 m100=0xbeef", "rax=0xbeef" },
	{ 16, "8b 47 ff", "rbx=0x101 m100=0xbeef", "rax=0xbeef" },
	{ 16, "8b 87 00 01", "rbx=0 m100=0xbeef", "rax=0xbeef" },
	/* [bp+si] and [bp+disp] use SS: RAM at 0 here, no device access. */
	{ 16, "8b 02", "rbp=0x80 rsi=0x80 r100=0x1234 m100=0xbeef", "rax=0x1234 log=" },
	{ 16, "8b 46 10", "rbp=0xf0 r100=0x1234", "rax=0x1234 log=" },
	/* 16-bit effective addresses wrap at 64 KiB; upper register halves are ignored. */
	{ 16, "8b 00", "rbx=0x1ffff rsi=0x101 m100=0xbeef", "rax=0xbeef" },
	{ 16, "8b 87 ff ff", "rbx=0x101 m100=0xbeef", "rax=0xbeef" },
	{ 16, "67 8b 44 4b 10", "rbx=0x10 rcx=0x70 m100=0xbeef", "rax=0xbeef" },
	{ 16, "a1 00 01", "rax=0xffff0000 m100=0x1234", "rax=0xffff1234" },
	{ 16, "67 a1 00 01 00 00", "m100=0x1234", "rax=0x1234" },
	{ 16, "a2 00 01", "rax=0x1234", "m100=0x34 log=w1:100" },
	{ 16, "66 a3 00 01", "rax=0x87654321", "m100=0x87654321" },
	{ 16, "88 27", "rbx=0x100 rax=0xaa55", "m100=0xaa" },
	{ 16, "8a 3f", "rbx=0x100 m100=0x77", "rbx=0x7700" },
	{ 16, "c6 07 ab", "rbx=0x100", "m100=0xab" },
	{ 16, "c7 07 34 12", "rbx=0x100", "m100=0x1234" },
	{ 16, "66 c7 07 78 56 34 12", "rbx=0x100", "m100=0x12345678" },
	{ 16, "01 07", "rbx=0x100 rax=1 m100=0xffff", "m100=0 fl=0x55 log=r2:100,w2:100" },
	{ 16, "83 07 ff", "rbx=0x100 m100=0x8000", "m100=0x7fff fl=0x805" },
	{ 16, "3b 07", "rbx=0x100 rax=0x10 m100=0x20", "fl=0x85" },
	{ 16, "f7 1f", "rbx=0x100 m100=1", "m100=0xffff fl=0x95" },
	{ 16, "0f b6 07", "rbx=0x100 rax=0xffffffff m100=0x80", "rax=0xffff0080" },
	{ 16, "0f be 07", "rbx=0x100 m100=0x80", "rax=0xff80" },
	{ 16, "66 0f bf 07", "rbx=0x100 m100=0x8000", "rax=0xffff8000" },
	/* BT with a register offset: words, signed, outside the operand. */
	{ 16, "0f a3 07", "rbx=0x100 rax=17 m102=2", "fl=1 log=r2:102" },
	{ 16, "0f a3 07", "rbx=0x102 rax=0xffff m100=0x8000", "fl=1 log=r2:100" },
	{ 16, "0f ab 07", "rbx=0x100 rax=0x10", "m102=1 fl=0" },
	{ 16, "0f ba 37 13", "rbx=0x100 m100=0x8", "m100=0 fl=1" },
	/* PUSH/POP: the stack is RAM at SS:SP, the operand the device. */
	{ 16, "ff 37", "rbx=0x100 m100=0x1234", "rsp=0x7ffe r7ffe=0x1234" },
	{ 16, "66 ff 37", "rbx=0x100 m100=0x12345678", "rsp=0x7ffc r7ffc=0x12345678" },
	{ 16, "8f 07", "rbx=0x100 r8000=0xabcd", "rsp=0x8002 m100=0xabcd" },
	/* Strings: DS:SI (the device) to ES:DI (RAM at 0). */
	{ 16, "a4", "rsi=0x100 rdi=0x200 m100=0x42", "rsi=0x101 rdi=0x201 r200=0x42" },
	{ 16, "f3 a5", "rsi=0x100 rdi=0x200 rcx=2 m100=0x44443333",
	  "rsi=0x104 rdi=0x204 rcx=0 r200=0x44443333 log=r2:100,r2:102" },
	{ 16, "f3 a5", "rsi=0x102 rdi=0x202 rcx=2 fl=0x400 m100=0x44443333",
	  "rsi=0xfe rdi=0x1fe rcx=0 r200=0x44443333" },
	{ 16, "f3 a4", "rsi=0x100 rdi=0x200 rcx=0x10000", "log=" },
	{ 16, "ac", "rsi=0x100 rax=0x1234 m100=0x56", "rsi=0x101 rax=0x1256" },
	{ 16, "26 ac", "rsi=0x100 r100=0x56 m100=0x99", "rsi=0x101 rax=0x56 log=" },
	{ 16, "ab", "rdi=0xfffe rax=0x1234", "rdi=0 rfffe=0x1234" },
	/* Not in 16/32-bit code: 40-4f are INC/DEC, 63 is ARPL. */
	{ 16, "48 89 07", "", "unhandled" },
	{ 16, "63 07", "", "unhandled" },
};

/* Protected mode, flat, 32-bit paging: 32-bit operands and addresses. */
static const struct ecase cases32[] = {
	{ 32, "89 03", "rbx=0x200100 rax=0x11223344", "m100=0x11223344 log=w4:100" },
	{ 32, "66 89 03", "rbx=0x200100 rax=0x11223344", "m100=0x3344" },
	{ 32, "89 04 24", "rsp=0x200100 rax=7", "m100=7" },
	{ 32, "89 44 8b 10", "rbx=0x2000f0 rcx=0 rax=7", "m100=7" },
	{ 32, "89 44 8b f0", "rbx=0x200000 rcx=0x44 rax=7", "m100=7" },
	{ 32, "89 05 00 01 20 00", "rax=7", "m100=7" },
	{ 32, "89 04 25 00 01 20 00", "rax=7", "m100=7" },
	{ 32, "89 84 24 00 01 20 00", "rsp=0 rax=7", "m100=7" },
	{ 32, "89 4d 00", "rbp=0x200100 rcx=7", "m100=7" },
	{ 32, "89 44 05 00", "rbp=0x200000 rax=0x100", "m100=0x100" },
	{ 32, "a1 00 01 20 00", "m100=0x12345678", "rax=0x12345678" },
	{ 32, "66 a1 00 01 20 00", "rax=0xaaaaaaaa m100=0x5678", "rax=0xaaaa5678" },
	{ 32, "88 3b", "rbx=0x200100", "m100=0x01" },
	{ 32, "0f b7 03", "rbx=0x200100 m100=0x8001", "rax=0x8001" },
	{ 32, "0f bf 03", "rbx=0x200100 m100=0x8001", "rax=0xffff8001" },
	{ 32, "87 03", "rbx=0x200100 rax=1 m100=2", "rax=2 m100=1 log=r4:100,w4:100" },
	{ 32, "f0 0f c1 03", "rbx=0x200100 rax=1 m100=0xffffffff", "rax=0xffffffff m100=0 fl=0x55" },
	{ 32, "0f b1 0b", "rbx=0x200100 rax=5 rcx=9 m100=5", "m100=9 fl=0x44" },
	{ 32, "0f b1 0b", "rbx=0x200100 rax=4 rcx=9 m100=5", "rax=5 m100=5 fl=0x95 "
	  "log=r4:100,w4:100" },
	{ 32, "0f a3 03", "rbx=0x200100 rax=0xffffffe1 m0fc=0x2", "fl=1" },
	{ 32, "ff 33", "rbx=0x200100 m100=0x12345678", "rsp=0x7ffc r7ffc=0x12345678" },
	{ 32, "8f 03", "rbx=0x200100 r8000=0x12345678", "rsp=0x8004 m100=0x12345678" },
	/* POP [ESP+d]: the address uses ESP after the pop. */
	{ 32, "8f 44 24 fc", "rsp=0x200100 m100=0x55", "rsp=0x200104 m100=0x55 log=r4:100,w4:100" },
	{ 32, "fe 03", "rbx=0x200100 m100=0xff", "m100=0 fl=0x54" },
	{ 32, "fe 07", "rdi=0x200100 m100=0x7f fl=1", "m100=0x80 fl=0x891" },
	{ 32, "ff 0b", "rbx=0x200100 fl=1 m100=0", "m100=0xffffffff fl=0x95" },
	{ 32, "f6 03 81", "rbx=0x200100 m100=0x80", "fl=0x80" },
	{ 32, "f7 13", "rbx=0x200100 m100=0x0f0f0f0f fl=0x8d5", "m100=0xf0f0f0f0" },
	{ 32, "81 33 ff 00 00 00", "rbx=0x200100 m100=0x1ff", "m100=0x100 fl=4" },
	{ 32, "19 03", "rbx=0x200100 rax=1 fl=1 m100=2", "m100=0 fl=0x44" },
	{ 32, "11 03", "rbx=0x200100 rax=0x7fffffff fl=1 m100=0", "m100=0x80000000 fl=0x894" },
	{ 32, "f3 ab", "rdi=0x2000f8 rcx=3 rax=0x5a5a5a5a",
	  "rdi=0x200104 rcx=0 m0f8=0x5a5a5a5a5a5a5a5a m100=0x5a5a5a5a" },
	{ 32, "f3 ad", "rsi=0x200100 rcx=2 m100=0x0000000200000001", "rsi=0x200108 rcx=0 rax=2" },
	{ 32, "67 ac", "rsi=0xffff0100 rax=0 r100=0x33", "rsi=0xffff0101 rax=0x33" },
	{ 32, "40", "", "unhandled" },
	{ 32, "0f 05", "", "unhandled" },
	{ 32, "89 c3", "", "unhandled" },
	{ 32, "f6 23", "rbx=0x200100", "unhandled" },
	{ 32, "f0 8b 03", "rbx=0x200100", "exc=6" },
	{ 32, "f0 a4", "", "exc=6" },
	{ 32, "f0 38 03", "rbx=0x200100", "exc=6" },
	{ 32, "f0 0f a3 03", "rbx=0x200100", "exc=6" },
};

/* Long mode: REX, 64-bit operands, RIP-relative, 8-byte moffs, canonical checks. */
static const struct ecase cases64[] = {
	{ 64, "48 89 03", "rbx=0x200100 rax=0x1122334455667788", "m100=0x1122334455667788 "
	  "log=w8:100" },
	{ 64, "89 03", "rbx=0x200100 rax=0x1122334455667788", "m100=0x55667788" },
	{ 64, "8b 03", "rbx=0x200100 rax=-1 m100=0x80000000", "rax=0x80000000" },
	{ 64, "66 8b 03", "rbx=0x200100 rax=-1 m100=0x1234", "rax=0xffffffffffff1234" },
	{ 64, "66 48 8b 03", "rbx=0x200100 m100=-2", "rax=-2" },
	{ 64, "41 89 03", "r11=0x200100 rax=5", "m100=5" },
	{ 64, "44 89 03", "rbx=0x200100 r8=6", "m100=6" },
	{ 64, "42 89 04 23", "rbx=0x200000 r12=0x100 rax=7", "m100=7" },
	{ 64, "41 89 04 24", "r12=0x200100 rax=7", "m100=7" },
	{ 64, "41 89 45 00", "r13=0x200100 rax=7", "m100=7" },
	{ 64, "88 23", "rbx=0x200100 rax=0xbbaa", "m100=0xbb" },
	{ 64, "40 88 23", "rbx=0x200100 rsp=0x11", "m100=0x11" },
	{ 64, "40 8a 3b", "rbx=0x200100 m100=0x99 rdi=0x1234", "rdi=0x1299" },
	{ 64, "8a 3b", "rbx=0x200100 m100=0x99", "rbx=0x209900" },
	{ 64, "45 8a 3b", "r11=0x200100 m100=0x99 r15=-1", "r15=0xffffffffffffff99" },
	/* REX must come last: a legacy prefix after it cancels it. */
	{ 64, "48 66 89 03", "rbx=0x200100 rax=-1", "m100=0xffff" },
	{ 64, "8b 05 fa f0 1f 00", "m100=0x1234", "rax=0x1234" },
	{ 64, "67 8b 05 f9 f0 1f 00", "m100=0x1234", "rax=0x1234" },
	{ 64, "c7 05 f6 f0 1f 00 78 56 34 12", "", "m100=0x12345678" },
	{ 64, "48 a1 00 01 20 00 00 00 00 00", "m100=0x1122334455667788",
	  "rax=0x1122334455667788" },
	{ 64, "67 a1 00 01 20 00", "m100=0x99", "rax=0x99" },
	{ 64, "a2 00 01 20 00 00 00 00 00", "rax=0x77", "m100=0x77" },
	{ 64, "67 89 03", "rbx=0xffffffff00200100 rax=1", "m100=1" },
	{ 64, "48 63 03", "rbx=0x200100 m100=0x80000000", "rax=0xffffffff80000000" },
	{ 64, "63 03", "rbx=0x200100 rax=-1 m100=0x80000000", "rax=0x80000000" },
	{ 64, "48 c7 03 ff ff ff ff", "rbx=0x200100", "m100=-1" },
	{ 64, "48 0f c3 03", "rbx=0x200100 rax=-3", "m100=-3" },
	{ 64, "66 0f c3 03", "rbx=0x200100", "unhandled" },
	{ 64, "ff 33", "rbx=0x200100 m100=0x1122334455667788", "rsp=0x7ff8 "
	  "r7ff8=0x1122334455667788" },
	{ 64, "66 ff 33", "rbx=0x200100 m100=0x1234", "rsp=0x7ffe r7ffe=0x1234" },
	{ 64, "8f 03", "rbx=0x200100 r8000=0x1122334455667788", "rsp=0x8008 "
	  "m100=0x1122334455667788" },
	{ 64, "0f b1 0b", "rbx=0x200100 rax=0xffffffff00000005 rcx=9 m100=5", "m100=9 fl=0x44" },
	{ 64, "0f b1 0b", "rbx=0x200100 rax=0xffffffff00000004 rcx=9 m100=5", "rax=5 fl=0x95" },
	{ 64, "48 0f a3 03", "rbx=0x200108 rax=-1", "log=r8:100" },
	{ 64, "48 0f ab 03", "rbx=0x200100 rax=0x7f", "m108=0x8000000000000000" },
	{ 64, "0f ba 2b 41", "rbx=0x200100 m100=2", "m100=2 fl=1" },
	{ 64, "f3 48 a5", "rsi=0x200100 rdi=0x3000 rcx=2 m100=1 m108=2",
	  "rsi=0x200110 rdi=0x3010 rcx=0 r3000=1 r3008=2" },
	{ 64, "f3 67 a4", "rsi=0x200100 rdi=0x3000 rcx=0xffffffff00000000", "rcx=0 log=" },
	/* Non-canonical: #GP, or #SS when the segment is SS (rSP/rBP base). */
	{ 64, "89 03", "rbx=0x0000800000000000", "exc=13,0" },
	{ 64, "89 45 00", "rbp=0x0000800000000000", "exc=12,0" },
	{ 64, "36 89 03", "rbx=0x0000800000000000", "exc=13,0" },
	{ 64, "48 89 03", "rbx=0x00007ffffffffffc", "exc=13,0" },
	{ 64, "66 66 66 66 66 66 66 66 66 66 66 48 89 03", "rbx=0x200100", "m100=0" },
	{ 64, "66 66 66 66 66 66 66 66 66 66 66 66 48 c7 03 00 00 00 00", "rbx=0x200100",
	  "exc=13,0" },
	{ 64, "f6 63 00", "rbx=0x200100", "unhandled" },
	{ 64, "ff 13", "rbx=0x200100", "unhandled" },
	{ 64, "c4 e2 79 18 03", "rbx=0x200100", "unhandled" },
};

TEST(real_mode_forms)
{
	RUN(cases16);
}

TEST(protected_mode_forms)
{
	RUN(cases32);
}

TEST(long_mode_forms)
{
	RUN(cases64);
}

/* Run the bytes at RIP once, against the device page. */
static enum emu_result step(struct emu_ctxt *c, const char *hex)
{
	uint8_t b[32];
	unsigned int n = parse_hex(hex, b);

	put_code(c, b, n);
	return emu_mmio(c, MMIO_GPA);
}

TEST(page_fault_error_codes_and_cr2)
{
	struct emu_ctxt c;

	guest(&c, 64);
	c.regs[3] = NP_LA + 8;
	CHECK_EQ(step(&c, "89 03"), EMU_INJECT_EXCEPTION);
	CHECK_EQ(c.exc.vector, 14);
	CHECK(c.exc.has_error_code);
	CHECK_EQ(c.exc.error_code, 2);			/* W, not present, supervisor */
	CHECK_EQ(c.exc.cr2, NP_LA + 8);
	CHECK_EQ(c.rip, CODE);
	c.cpl = 3;
	CHECK_EQ(step(&c, "8b 03"), EMU_INJECT_EXCEPTION);
	CHECK_EQ(c.exc.error_code, 4);			/* U */
	c.regs[3] = RO_LA;
	CHECK_EQ(step(&c, "8b 03"), EMU_OK);
	c.rip = CODE;
	CHECK_EQ(step(&c, "89 03"), EMU_INJECT_EXCEPTION);
	CHECK_EQ(c.exc.error_code, 7);			/* P, W, U */
	/* Read-modify-write checks for write before reading. */
	c.rip = CODE;
	CHECK_EQ(step(&c, "01 03"), EMU_INJECT_EXCEPTION);
	CHECK_EQ(c.exc.error_code, 7);
	c.cpl = 0;
	c.cr0 &= ~CR0_WP;
	CHECK_EQ(step(&c, "89 03"), EMU_OK);
}

TEST(access_across_a_page_translates_both_before_touching_either)
{
	struct emu_ctxt c;

	guest(&c, 64);
	map64(c.cr3, MMIO_LA + 4096, 0, 0);		/* the page after: not present */
	c.regs[0] = 0x1122334455667788ULL;
	c.regs[3] = MMIO_LA + 4092;
	CHECK_EQ(step(&c, "48 89 03"), EMU_INJECT_EXCEPTION);
	CHECK_EQ(c.exc.vector, 14);
	CHECK_EQ(c.exc.cr2, MMIO_LA + 4096);
	CHECK_STR(dev_log, "");
	/* Mapped again: 4 bytes to the device, 4 to RAM. */
	map64(c.cr3, MMIO_LA + 4096, RAM_AFTER, 7);
	CHECK_EQ(step(&c, "48 89 03"), EMU_OK);
	CHECK_STR(dev_log, "w4:ffc");
	CHECK_EQ(*(uint32_t *)(ram + RAM_AFTER), 0x11223344);
	CHECK_EQ(*(uint32_t *)(dev + 0xffc), 0x55667788);
}

TEST(device_sees_power_of_two_pieces_of_a_split_access)
{
	struct emu_ctxt c;

	guest(&c, 64);
	c.regs[3] = MMIO_LA - 1;			/* 1 byte RAM, 7 bytes device */
	c.regs[0] = 0x8877665544332211ULL;
	CHECK_EQ(step(&c, "48 89 03"), EMU_OK);
	CHECK_STR(dev_log, "w4:0,w2:4,w1:6");
	CHECK_EQ(ram[RAM_BEFORE + 4095], 0x11);
	c.rip = CODE;
	dev_log[0] = 0;
	CHECK_EQ(step(&c, "48 8b 0b"), EMU_OK);
	CHECK_EQ(c.regs[1], 0x8877665544332211ULL);
	CHECK_STR(dev_log, "r4:0,r2:4,r1:6");
}

TEST(fetch_faults_only_when_the_instruction_crosses_into_the_page)
{
	struct emu_ctxt c;

	guest(&c, 64);
	c.efer |= EFER_NXE;
	map64(c.cr3, 0x5000, 0, 0);			/* not present */
	c.rip = 0x4ffe;
	c.regs[3] = MMIO_LA;
	CHECK_EQ(step(&c, "89 03"), EMU_OK);		/* both bytes in the page before */
	c.rip = 0x4fff;
	ram[0x4fff] = 0x89;
	CHECK_EQ(emu_mmio(&c, MMIO_GPA), EMU_INJECT_EXCEPTION);
	CHECK_EQ(c.exc.vector, 14);
	CHECK_EQ(c.exc.error_code, 0x10);		/* I/D: NXE is on */
	CHECK_EQ(c.exc.cr2, 0x5000);
	CHECK_EQ(c.insn_len, 1);
	CHECK_EQ(c.rip, 0x4fff);
	/* An XD code page: the fetch itself faults. */
	map64(c.cr3, 0x4000, 0x4000, 7 | (1ULL << 63));
	c.rip = 0x4ffe;
	CHECK_EQ(emu_mmio(&c, MMIO_GPA), EMU_INJECT_EXCEPTION);
	CHECK_EQ(c.exc.error_code, 0x11);
	CHECK_EQ(c.exc.cr2, 0x4ffe);
}

TEST(fetch_stops_at_the_code_segment_limit)
{
	struct emu_ctxt c;

	guest(&c, 16);
	c.seg[EMU_CS].limit = CODE + 1;
	c.regs[3] = 0x100;
	CHECK_EQ(step(&c, "89 07"), EMU_OK);
	c.rip = CODE;
	CHECK_EQ(step(&c, "c6 07 01"), EMU_INJECT_EXCEPTION);
	CHECK_EQ(c.exc.vector, 13);
	CHECK_EQ(c.exc.error_code, 0);
	c.rip = CODE + 2;				/* past the limit */
	CHECK_EQ(emu_mmio(&c, MMIO_GPA), EMU_INJECT_EXCEPTION);
	CHECK_EQ(c.exc.vector, 13);
	CHECK_EQ(c.insn_len, 0);
	/* IP wraps at 64 KiB in 16-bit code. */
	c.seg[EMU_CS].limit = 0xffff;
	c.rip = 0xfffe;
	CHECK_EQ(step(&c, "89 07"), EMU_OK);
	CHECK_EQ(c.rip, 0);
}

TEST(ops_fetch_is_used_when_given)
{
	static const uint8_t insn[] = { 0x89, 0x03 };
	struct emu_ops o = ops;
	struct emu_ctxt c;
	unsigned int fetch(void *opaque, uint64_t la, uint8_t *buf, unsigned int len);

	guest(&c, 64);
	o.fetch = fetch;
	c.ops = &o;
	c.opaque = (void *)insn;
	c.regs[3] = MMIO_LA;
	c.regs[0] = 9;
	CHECK_EQ(emu_mmio(&c, MMIO_GPA), EMU_OK);
	CHECK_EQ(dev[0], 9);
	CHECK_EQ(c.insn_len, 2);
	c.rip = CODE;
	c.opaque = (void *)(insn + 1);			/* "03": needs more bytes */
	CHECK_EQ(emu_mmio(&c, MMIO_GPA), EMU_UNHANDLED);
	CHECK_EQ(c.why, EMU_WHY_FETCH);
}

/* Two bytes at most, from opaque: an instruction cache that knows only these. */
unsigned int fetch(void *opaque, uint64_t la, uint8_t *buf, unsigned int len)
{
	const uint8_t *b = opaque;
	unsigned int n = b[0] == 0x89 ? 2 : 1;

	(void)la;
	memcpy(buf, b, n < len ? n : len);
	return n < len ? n : len;
}

TEST(unhandled_reports_bytes_mode_and_why)
{
	struct emu_ctxt c;

	guest(&c, 32);
	CHECK_EQ(step(&c, "0f a2"), EMU_UNHANDLED);	/* CPUID */
	CHECK_EQ(c.why, EMU_WHY_INSN);
	CHECK_EQ(c.mode, 32);
	CHECK_EQ(c.insn[0], 0x0f);
	CHECK_EQ(c.insn[1], 0xa2);
	CHECK_EQ(c.insn_len, 15);
	CHECK_EQ(c.rip, CODE);
	/* A device that refuses, and memory that is neither RAM nor the device. */
	c.regs[3] = MMIO_LA;
	dev_fail = true;
	CHECK_EQ(step(&c, "8b 03"), EMU_UNHANDLED);
	CHECK_EQ(c.why, EMU_WHY_MMIO);
	dev_fail = false;
	map32(c.cr3, 0x400000, 0x7ff00000, 7);
	c.regs[3] = 0x400000;
	CHECK_EQ(step(&c, "8b 03"), EMU_UNHANDLED);
	CHECK_EQ(c.why, EMU_WHY_RAM);
	/* A page table outside RAM, for data and for code. */
	*(uint32_t *)(ram + c.cr3 + 4 * 2) = 0x7ff00000 | 7;
	c.regs[3] = 0x800000;
	CHECK_EQ(step(&c, "8b 03"), EMU_UNHANDLED);
	CHECK_EQ(c.why, EMU_WHY_RAM);
	c.rip = 0x400000;
	CHECK_EQ(emu_mmio(&c, MMIO_GPA), EMU_UNHANDLED);
	CHECK_EQ(c.why, EMU_WHY_RAM);
	CHECK_EQ(c.insn_len, 0);
}

TEST(fetch_at_a_non_canonical_rip_is_gp)
{
	struct emu_ctxt c;

	guest(&c, 64);
	map64(c.cr3, 0x00007ffffffff000ULL, 0x4000, 7);
	memcpy(ram + 0x4ffe, "\x48\x89", 2);		/* 48 89 | 03 past the canonical end */
	c.rip = 0x00007ffffffffffeULL;
	CHECK_EQ(emu_mmio(&c, MMIO_GPA), EMU_INJECT_EXCEPTION);
	CHECK_EQ(c.exc.vector, 13);
	CHECK_EQ(c.insn_len, 2);
}

TEST(rep_runs_in_batches_and_rip_waits_for_rcx_zero)
{
	struct emu_ctxt c;

	guest(&c, 64);
	c.rep_batch = 2;
	c.regs[1] = 5;
	c.regs[6] = MMIO_LA;
	c.regs[7] = 0x3000;
	memcpy(dev, "abcde", 5);
	CHECK_EQ(step(&c, "f3 a4"), EMU_OK);
	CHECK_EQ(c.regs[1], 3);
	CHECK_EQ(c.rip, CODE);
	CHECK_EQ(emu_mmio(&c, MMIO_GPA), EMU_OK);
	CHECK_EQ(c.regs[1], 1);
	CHECK_EQ(emu_mmio(&c, MMIO_GPA), EMU_OK);
	CHECK_EQ(c.regs[1], 0);
	CHECK_EQ(c.rip, CODE + 2);
	CHECK(!memcmp(ram + 0x3000, "abcde", 5));
	CHECK_EQ(c.regs[6], MMIO_LA + 5);
	/* rep_batch 0 means one iteration per call. */
	c.rep_batch = 0;
	c.rip = CODE;
	c.regs[1] = 2;
	CHECK_EQ(emu_mmio(&c, MMIO_GPA), EMU_OK);
	CHECK_EQ(c.regs[1], 1);
	CHECK_EQ(c.rip, CODE);
}

TEST(rep_fault_keeps_the_iterations_done)
{
	struct emu_ctxt c;

	guest(&c, 64);
	map64(c.cr3, NP_LA - 4096, 0x53000, 7);
	c.regs[1] = 4;
	c.regs[6] = MMIO_LA;
	c.regs[7] = NP_LA - 2;				/* the third store faults */
	CHECK_EQ(step(&c, "f3 a4"), EMU_INJECT_EXCEPTION);
	CHECK_EQ(c.exc.vector, 14);
	CHECK_EQ(c.exc.cr2, NP_LA);
	CHECK_EQ(c.regs[1], 2);
	CHECK_EQ(c.regs[6], MMIO_LA + 2);
	CHECK_EQ(c.regs[7], NP_LA);
	CHECK_EQ(c.rip, CODE);
	/* Both operands are translated first: the faulting element's source was not read. */
	CHECK_STR(dev_log, "r1:0,r1:1");
}

TEST(segment_limits_types_and_expand_down)
{
	struct emu_ctxt c;

	guest(&c, 32);
	c.seg[EMU_DS].limit = 0x2000ff;
	c.regs[3] = 0x2000fe;
	CHECK_EQ(step(&c, "66 89 03"), EMU_OK);
	CHECK_EQ(step(&c, "89 03"), EMU_INJECT_EXCEPTION);	/* last byte past the limit */
	CHECK_EQ(c.exc.vector, 13);
	c.seg[EMU_SS].limit = 0xfff;
	c.regs[5] = MMIO_LA;
	CHECK_EQ(step(&c, "89 45 00"), EMU_INJECT_EXCEPTION);
	CHECK_EQ(c.exc.vector, 12);
	CHECK_EQ(c.exc.error_code, 0);
	/* Expand-down: valid offsets are above the limit. */
	c.seg[EMU_SS] = (struct emu_segment){ 0, 0x1fffff, 0xc097, 0 };
	CHECK_EQ(step(&c, "89 45 00"), EMU_OK);
	c.rip = CODE;
	c.regs[5] = 0x1000;
	CHECK_EQ(step(&c, "89 45 00"), EMU_INJECT_EXCEPTION);
	/* Read-only data, execute-only code, unusable segments. */
	c.regs[3] = MMIO_LA;
	c.seg[EMU_DS].limit = 0xffffffff;
	c.seg[EMU_DS].ar = 0xc091;
	CHECK_EQ(step(&c, "8b 03"), EMU_OK);
	c.rip = CODE;
	CHECK_EQ(step(&c, "89 03"), EMU_INJECT_EXCEPTION);
	CHECK_EQ(step(&c, "2e 89 03"), EMU_INJECT_EXCEPTION);
	c.seg[EMU_CS].ar = 0xc099;
	CHECK_EQ(step(&c, "2e 8b 03"), EMU_INJECT_EXCEPTION);
	c.seg[EMU_CS].ar = 0xc09b;
	CHECK_EQ(step(&c, "2e 8b 03"), EMU_OK);
	c.rip = CODE;
	c.seg[EMU_FS].ar |= EMU_AR_UNUSABLE;
	CHECK_EQ(step(&c, "64 8b 03"), EMU_INJECT_EXCEPTION);
	CHECK_EQ(c.exc.vector, 13);
}

TEST(real_and_vm86_mode_skip_segment_types)
{
	struct emu_ctxt c;

	guest(&c, 16);
	c.seg[EMU_DS].ar = 0x91;			/* "read-only": ignored in real mode */
	c.regs[3] = 0x100;
	CHECK_EQ(step(&c, "89 07"), EMU_OK);
	c.rip = CODE;
	c.regs[3] = 0xffff;				/* but the limit holds */
	CHECK_EQ(step(&c, "89 07"), EMU_INJECT_EXCEPTION);
	CHECK_EQ(c.exc.vector, 13);
	c.cr0 = CR0_PE;
	c.rflags |= 1u << 17;				/* VM86 */
	c.regs[3] = 0x100;
	CHECK_EQ(step(&c, "89 07"), EMU_OK);
}

TEST(segment_bases_and_64_bit_fs_gs)
{
	struct emu_ctxt c;

	guest(&c, 64);
	c.seg[EMU_FS].base = MMIO_LA;
	c.seg[EMU_GS].base = MMIO_LA + 0x10;
	c.seg[EMU_ES].base = 0x12345;		/* ignored in 64-bit mode */
	c.regs[3] = 0x100;
	c.regs[0] = 1;
	CHECK_EQ(step(&c, "64 89 03"), EMU_OK);
	CHECK_EQ(dev[0x100], 1);
	CHECK_EQ(step(&c, "65 89 03"), EMU_OK);
	CHECK_EQ(dev[0x110], 1);
	c.regs[3] = MMIO_LA + 0x20;
	CHECK_EQ(step(&c, "26 89 03"), EMU_OK);
	CHECK_EQ(dev[0x20], 1);
	/* FS base + 32-bit effective address. */
	c.regs[3] = 0xffffffff00000200ULL;
	CHECK_EQ(step(&c, "64 67 89 03"), EMU_OK);
	CHECK_EQ(dev[0x200], 1);
}

TEST(alignment_check_at_cpl3)
{
	struct emu_ctxt c;

	guest(&c, 64);
	c.cpl = 3;
	c.cr0 |= CR0_AM;
	c.rflags |= 1u << 18;
	c.regs[3] = MMIO_LA + 2;
	CHECK_EQ(step(&c, "66 89 03"), EMU_OK);
	CHECK_EQ(step(&c, "89 03"), EMU_INJECT_EXCEPTION);
	CHECK_EQ(c.exc.vector, 17);
	CHECK_EQ(c.exc.error_code, 0);
	c.cpl = 0;
	CHECK_EQ(step(&c, "89 03"), EMU_OK);
}

TEST(accessed_and_dirty_bits_set_in_guest_ptes)
{
	struct emu_ctxt c;
	uint64_t *pte;

	guest(&c, 64);
	pte = table_entry(*table_entry(*table_entry(*table_entry(c.cr3, 0) & ~0xfffULL, 0) &
				       ~0xfffULL, 1) & ~0xfffULL, 0);
	CHECK_EQ(*pte & ~0xfffULL, MMIO_GPA);
	c.regs[3] = MMIO_LA;
	CHECK_EQ(step(&c, "8b 03"), EMU_OK);
	CHECK_EQ(*pte & 0x60, 0x20);
	CHECK_EQ(step(&c, "89 03"), EMU_OK);
	CHECK_EQ(*pte & 0x60, 0x60);
}

TEST(pae_paging_with_the_cpus_pdptes)
{
	struct emu_ctxt c;
	uint64_t pd = 0x71000, pt_code = 0x72000, pt_dev = 0x73000, pdptes[4] = { pd | 1 };

	guest(&c, 32);
	c.cr4 |= CR4_PAE;
	c.cr3 = 0x70000;				/* left zero: pdptes[] is what counts */
	*table_entry(pd, 0) = pt_code | 7;
	*table_entry(pt_code, 1) = CODE | 7;
	*table_entry(pd, 1) = pt_dev | 7;
	*table_entry(pt_dev, 0) = MMIO_GPA | 7;
	c.pdptes = pdptes;
	c.regs[3] = MMIO_LA + 8;
	c.regs[0] = 0xab;
	CHECK_EQ(step(&c, "88 03"), EMU_OK);
	CHECK_EQ(dev[8], 0xab);
}

TEST(rf_is_cleared_and_other_flags_kept)
{
	struct emu_ctxt c;

	guest(&c, 64);
	c.rflags = 2 | (1u << 16) | (1u << 9) | DF;
	c.regs[3] = MMIO_LA;
	CHECK_EQ(step(&c, "89 03"), EMU_OK);
	CHECK_EQ(c.rflags, 2 | (1u << 9) | DF);
}
