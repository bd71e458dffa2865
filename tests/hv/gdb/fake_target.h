/* SPDX-License-Identifier: MIT */
/*
 * A fake target behind struct gdb_ops for the stub's tests, its fuzz target
 * and the program real GDB drives (fake_gdb_target.c): FAKE_THREADS threads,
 * FAKE_MEM_SIZE bytes of memory at FAKE_MEM_BASE (guest-virtual = linear,
 * nothing else mapped), breakpoints recorded.  A continue stops at once at
 * the lowest INT3 of the stub, or runs until Ctrl-C; a step moves the pc by
 * one byte.  CR3 cannot be written.  Include after defining nothing.
 */
#ifndef TESTS_HV_GDB_FAKE_TARGET_H
#define TESTS_HV_GDB_FAKE_TARGET_H

#include <stdio.h>
#include <string.h>

#include "hv/gdb/stub.h"

#define FAKE_THREADS	2
#define FAKE_MEM_BASE	0x100000ULL
#define FAKE_MEM_SIZE	0x10000ULL

struct fake {
	struct gdb_stub *stub;
	struct gdb_regs regs[FAKE_THREADS];
	uint8_t mem[FAKE_MEM_SIZE];
	/* What the line carried out (the tests read it back). */
	char out[1 << 16];
	size_t out_len;
	void (*sink)(const char *buf, size_t n);	/* NULL: collect in out */
	uint64_t hw_addr[4];
	int hw_type[4];
	unsigned int nhw;
	enum gdb_action last_act[FAKE_THREADS];
	int resumes, interrupts, detached, killed;
};

static void fake_put(void *ctx, const char *buf, size_t n)
{
	struct fake *f = ctx;

	if (f->sink) {
		f->sink(buf, n);
		return;
	}
	if (n > sizeof(f->out) - f->out_len)
		n = sizeof(f->out) - f->out_len;
	memcpy(f->out + f->out_len, buf, n);
	f->out_len += n;
}

static int fake_get_regs(void *ctx, unsigned int tid, struct gdb_regs *r)
{
	struct fake *f = ctx;

	if (tid < 1 || tid > FAKE_THREADS)
		return -1;
	*r = f->regs[tid - 1];
	return 0;
}

static int fake_set_regs(void *ctx, unsigned int tid, const struct gdb_regs *r)
{
	struct fake *f = ctx;

	if (tid < 1 || tid > FAKE_THREADS || r->cr3 != f->regs[tid - 1].cr3)
		return -1;
	f->regs[tid - 1] = *r;
	return 0;
}

static size_t fake_access(struct fake *f, uint64_t addr, void *buf, size_t n, bool write)
{
	uint64_t off = addr - FAKE_MEM_BASE;

	if (addr < FAKE_MEM_BASE || off >= FAKE_MEM_SIZE)
		return 0;
	if (n > FAKE_MEM_SIZE - off)
		n = FAKE_MEM_SIZE - off;
	if (write)
		memcpy(f->mem + off, buf, n);
	else
		memcpy(buf, f->mem + off, n);
	return n;
}

static size_t fake_read_mem(void *ctx, unsigned int tid, uint64_t addr, void *buf, size_t n)
{
	(void)tid;
	return fake_access(ctx, addr, buf, n, false);
}

static size_t fake_write_mem(void *ctx, unsigned int tid, uint64_t addr, const void *buf,
			     size_t n)
{
	(void)tid;
	return fake_access(ctx, addr, (void *)buf, n, true);
}

static int fake_breakpoint(void *ctx, enum gdb_break_type type, uint64_t addr,
			   unsigned int len, bool insert)
{
	struct fake *f = ctx;

	(void)len;
	if (type == GDB_BP_SW)
		return 0;
	if (type == GDB_WP_READ)
		return 1;
	for (unsigned int i = 0; i < f->nhw; i++) {
		if (f->hw_addr[i] == addr && f->hw_type[i] == (int)type) {
			if (!insert) {
				f->hw_addr[i] = f->hw_addr[--f->nhw];
				f->hw_type[i] = f->hw_type[f->nhw];
			}
			return 0;
		}
	}
	if (!insert)
		return 0;
	if (f->nhw == 4)
		return -1;
	f->hw_addr[f->nhw] = addr;
	f->hw_type[f->nhw++] = (int)type;
	return 0;
}

static uint64_t *fake_pc(struct fake *f, unsigned int tid)
{
	return &f->regs[tid - 1].rip;
}

static void fake_resume(void *ctx, const enum gdb_action *act)
{
	struct fake *f = ctx;
	struct gdb_stop st = { .kind = GDB_STOP_TRAP };
	uint64_t best = ~0ULL;

	f->resumes++;
	memcpy(f->last_act, act, sizeof(f->last_act));
	for (unsigned int t = 1; t <= FAKE_THREADS; t++) {
		if (act[t - 1] == GDB_STEP) {
			*fake_pc(f, t) += 1;
			st.tid = t;
			gdb_stub_stopped(f->stub, &st);
			return;
		}
	}
	for (unsigned int i = 0; i < GDB_MAX_SW_BREAKS; i++)
		if (f->stub->sw[i].used && f->stub->sw[i].addr < best)
			best = f->stub->sw[i].addr;
	for (unsigned int i = 0; i < f->nhw; i++)
		if (f->hw_type[i] == GDB_BP_HW && f->hw_addr[i] < best)
			best = f->hw_addr[i];
	if (best == ~0ULL)
		return;		/* runs until Ctrl-C */
	*fake_pc(f, 1) = best;
	st.tid = 1;
	st.kind = gdb_stub_has_sw_break(f->stub, best) ? GDB_STOP_SWBREAK : GDB_STOP_HWBREAK;
	gdb_stub_stopped(f->stub, &st);
}

static void fake_interrupt(void *ctx)
{
	struct fake *f = ctx;
	struct gdb_stop st = { .kind = GDB_STOP_INTERRUPT, .tid = 1 };

	f->interrupts++;
	gdb_stub_stopped(f->stub, &st);
}

static void fake_detach(void *ctx, bool kill)
{
	struct fake *f = ctx;

	if (kill)
		f->killed++;
	else
		f->detached++;
}

static void fake_monitor(void *ctx, const char *cmd, char *out, size_t n)
{
	(void)ctx;
	snprintf(out, n, "monitor said: %s\n", cmd);
}

static void fake_thread_info(void *ctx, unsigned int tid, char *out, size_t n)
{
	(void)ctx;
	snprintf(out, n, "vCPU %u on CPU %u", tid - 1, tid);
}

static const struct gdb_ops fake_ops = {
	.put = fake_put, .get_regs = fake_get_regs, .set_regs = fake_set_regs,
	.read_mem = fake_read_mem, .write_mem = fake_write_mem, .breakpoint = fake_breakpoint,
	.resume = fake_resume, .interrupt = fake_interrupt, .detach = fake_detach,
	.monitor = fake_monitor, .thread_info = fake_thread_info,
};

/* A fake in @arch with recognisable registers: thread t's pc is BASE + 0x10 * t. */
static void fake_init(struct fake *f, struct gdb_stub *s, enum gdb_arch arch)
{
	memset(f, 0, sizeof(*f));
	f->stub = s;
	for (unsigned int t = 0; t < FAKE_THREADS; t++) {
		struct gdb_regs *r = &f->regs[t];

		for (unsigned int i = 0; i < 16; i++)
			r->gpr[i] = 0x1111111111111111ULL * (i + 1) + t;
		r->gpr[4] = FAKE_MEM_BASE + FAKE_MEM_SIZE - 0x100 * (t + 1);	/* rsp */
		r->rip = FAKE_MEM_BASE + 0x10 * (t + 1);
		r->rflags = 0x202;
		r->sel[GDB_SEG_CS] = 0x08;
		r->sel[GDB_SEG_SS] = r->sel[GDB_SEG_DS] = r->sel[GDB_SEG_ES] = 0x10;
		r->base[GDB_SEG_FS] = 0x7000;
		r->cr0 = 0x80000011;
		r->cr3 = 0x1000;
		r->cr4 = 0x20;
		r->efer = 0x500;
		r->fx[0] = 0x7f;	/* FCW 0x037f */
		r->fx[1] = 0x03;
		r->fx[24] = 0x80;	/* MXCSR 0x1f80 */
		r->fx[25] = 0x1f;
	}
	for (uint64_t i = 0; i < FAKE_MEM_SIZE; i++)
		f->mem[i] = 0x90;	/* NOPs */
	memcpy(f->mem + 0x1000, "hello, debugger", 16);
	gdb_stub_init(s, &fake_ops, f, arch, FAKE_THREADS);
}

#endif
