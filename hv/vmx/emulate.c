/* SPDX-License-Identifier: MIT */
/*
 * The emulator proper: fetch, segmentation and paging checks, routing of
 * each access to the device or to RAM, and execution.  It works on a copy
 * of the registers and commits it only when the instruction (or a REP
 * iteration) has completed, so a fault leaves the guest state as the CPU
 * would: every operand is checked and translated before the first access.
 */
#include "hv/lib/x86.h"
#include "hv/vmx/emulate.h"
#include "hv/vmx/emulate_insn.h"
#include "hv/vmx/gva.h"

#define VEC_UD		6
#define VEC_SS		12
#define VEC_GP		13
#define VEC_PF		14
#define VEC_AC		17

#define PAGE_MASK	(~0xfffULL)
/* A guest PTE changed while its A/D bits were set (another vCPU): walk again, this often. */
#define WALK_TRIES	4

/* One call's working state. */
struct emu_run {
	struct emu_ctxt *c;
	struct emu_insn in;
	uint64_t regs[16];
	uint64_t rflags;
	uint64_t mmio_page;
	struct gva_mmu mmu;
	/* Why the fetch stopped short of 15 bytes: raised if the decoder wants more. */
	enum emu_result fetch_stop;
	struct emu_exception fetch_exc;
	enum emu_why fetch_why;
};

/* A memory operand, checked and translated, not yet accessed. */
struct emu_mem {
	uint64_t la, gpa[2];
	unsigned int size, first;	/* first: the bytes in the first page */
};

static uint64_t size_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static uint64_t sign_extend(uint64_t v, unsigned int size)
{
	unsigned int shift = 64 - 8 * size;

	return (uint64_t)((int64_t)(v << shift) >> shift);
}

static enum emu_result exception(struct emu_run *r, uint8_t vector, bool has_error_code,
				 uint32_t error_code, uint64_t cr2)
{
	r->c->exc = (struct emu_exception){ vector, has_error_code, error_code, cr2 };
	return EMU_INJECT_EXCEPTION;
}

static enum emu_result unhandled(struct emu_run *r, enum emu_why why)
{
	r->c->why = why;
	return EMU_UNHANDLED;
}

static uint64_t reg_read(const struct emu_run *r, unsigned int reg, unsigned int size,
			 bool high8)
{
	if (high8)
		return (r->regs[reg] >> 8) & 0xff;
	return r->regs[reg] & size_mask(size);
}

/* As the CPU writes: 8 and 16 bits merge, 32 bits zero-extend. */
static void reg_write(struct emu_run *r, unsigned int reg, unsigned int size, bool high8,
		      uint64_t val)
{
	uint64_t *p = &r->regs[reg];

	if (high8)
		*p = (*p & ~0xff00ULL) | ((val & 0xff) << 8);
	else if (size < 4)
		*p = (*p & ~size_mask(size)) | (val & size_mask(size));
	else
		*p = val & size_mask(size);
}

static bool canonical(const struct emu_run *r, uint64_t la)
{
	unsigned int shift = r->c->cr4 & CR4_LA57 ? 64 - 57 : 64 - 48;

	return (uint64_t)((int64_t)(la << shift) >> shift) == la;
}

static bool protected_mode(const struct emu_run *r)
{
	return (r->c->cr0 & CR0_PE) && !(r->rflags & RFLAGS_VM);
}

/* Whether [off, off + size) is inside the segment's limit (SDM 5.3). */
static bool within_limit(const struct emu_run *r, const struct emu_segment *s,
			 uint64_t off, unsigned int size)
{
	uint64_t last = off + size - 1;

	if (protected_mode(r) && !(s->ar & EMU_AR_TYPE_CODE) && (s->ar & EMU_AR_TYPE_DOWN))
		return off > s->limit && last <= (s->ar & EMU_AR_DB ? 0xffffffffULL : 0xffffULL);
	return last <= s->limit;
}

/* Segment type checks of protected mode (SDM 5.4.1): none in real and VM86 mode. */
static bool segment_allows(const struct emu_run *r, const struct emu_segment *s, bool write)
{
	if (!protected_mode(r))
		return true;
	if (s->ar & EMU_AR_UNUSABLE)
		return false;
	if (s->ar & EMU_AR_TYPE_CODE)
		return !write && (s->ar & EMU_AR_TYPE_RW);
	return !write || (s->ar & EMU_AR_TYPE_RW);
}

static enum emu_result linearize(struct emu_run *r, unsigned int seg, uint64_t off,
				 unsigned int size, bool write, uint64_t *la)
{
	const struct emu_segment *s = &r->c->seg[seg];
	uint8_t vector = seg == EMU_SS ? VEC_SS : VEC_GP;

	if (r->c->mode == 64) {
		*la = off + (seg >= EMU_FS ? s->base : 0);
		if (!canonical(r, *la) || !canonical(r, *la + size - 1))
			return exception(r, vector, true, 0, 0);
	} else {
		if (!segment_allows(r, s, write) || !within_limit(r, s, off, size))
			return exception(r, vector, true, 0, 0);
		*la = (s->base + off) & 0xffffffffULL;
	}
	if (r->c->cpl == 3 && (r->c->cr0 & CR0_AM) && (r->rflags & RFLAGS_AC) &&
	    (*la & (size - 1)))
		return exception(r, VEC_AC, true, 0, 0);
	return EMU_OK;
}

static enum emu_result translate(struct emu_run *r, uint64_t la, unsigned int access,
				 uint64_t *gpa)
{
	struct gva_walk walk;
	enum gva_result g = GVA_RETRY;

	r->mmu.rflags = r->rflags;
	for (unsigned int i = 0; i < WALK_TRIES && g == GVA_RETRY; i++)
		g = gva_translate(&r->mmu, la, access, &walk);
	if (g == GVA_FAULT)
		return exception(r, VEC_PF, true, walk.error_code, la);
	if (g != GVA_OK)
		return unhandled(r, EMU_WHY_RAM);
	*gpa = walk.gpa;
	return EMU_OK;
}

/* Check and translate seg:off for size bytes; nothing is accessed yet. */
static enum emu_result mem_map(struct emu_run *r, unsigned int seg, uint64_t off,
			       unsigned int size, bool write, struct emu_mem *m)
{
	unsigned int access = write ? GVA_WRITE : 0;
	enum emu_result res;

	res = linearize(r, seg, off, size, write, &m->la);
	if (res != EMU_OK)
		return res;
	m->size = size;
	m->first = 4096 - (unsigned int)(m->la & 0xfff);
	if (m->first > size)
		m->first = size;
	res = translate(r, m->la, access, &m->gpa[0]);
	if (res == EMU_OK && m->first < size)
		res = translate(r, (m->la & PAGE_MASK) + 4096, access, &m->gpa[1]);
	return res;
}

/* One page's part of an access: the device's page or RAM. */
static enum emu_result access_page(struct emu_run *r, uint64_t gpa, uint8_t *buf,
				   unsigned int len, bool write)
{
	const struct emu_ops *ops = r->c->ops;
	void *opaque = r->c->opaque;

	if ((gpa & PAGE_MASK) != r->mmio_page) {
		if (write ? ops->write_phys(opaque, gpa, buf, len) :
			    ops->read_phys(opaque, gpa, buf, len))
			return unhandled(r, EMU_WHY_RAM);
		return EMU_OK;
	}
	/* The device sees 1, 2, 4 or 8 bytes: the odd rest of a split access in pieces. */
	while (len) {
		unsigned int n = 8;
		uint64_t v = 0;

		while (n > len)
			n >>= 1;
		if (write) {
			for (unsigned int i = 0; i < n; i++)
				v |= (uint64_t)buf[i] << (8 * i);
			if (ops->mmio_write(opaque, gpa, n, v))
				return unhandled(r, EMU_WHY_MMIO);
		} else {
			if (ops->mmio_read(opaque, gpa, n, &v))
				return unhandled(r, EMU_WHY_MMIO);
			for (unsigned int i = 0; i < n; i++)
				buf[i] = (uint8_t)(v >> (8 * i));
		}
		gpa += n, buf += n, len -= n;
	}
	return EMU_OK;
}

static enum emu_result mem_access(struct emu_run *r, const struct emu_mem *m, uint64_t *val,
				  bool write)
{
	uint8_t buf[8];
	enum emu_result res;

	for (unsigned int i = 0; i < m->size; i++)
		buf[i] = (uint8_t)(*val >> (8 * i));
	res = access_page(r, m->gpa[0], buf, m->first, write);
	if (res == EMU_OK && m->first < m->size)
		res = access_page(r, m->gpa[1], buf + m->first, m->size - m->first, write);
	if (res != EMU_OK || write)
		return res;
	*val = 0;
	for (unsigned int i = 0; i < m->size; i++)
		*val |= (uint64_t)buf[i] << (8 * i);
	return EMU_OK;
}

static enum emu_result mem_read(struct emu_run *r, const struct emu_mem *m, uint64_t *val)
{
	*val = 0;
	return mem_access(r, m, val, false);
}

static enum emu_result mem_write(struct emu_run *r, const struct emu_mem *m, uint64_t val)
{
	return mem_access(r, m, &val, true);
}

static uint64_t effective_address(const struct emu_run *r)
{
	const struct emu_insn *in = &r->in;
	uint64_t ea = in->disp;

	if (in->base >= 0)
		ea += r->regs[in->base];
	if (in->index >= 0)
		ea += r->regs[in->index] << in->scale;
	if (in->rip_relative)
		ea += r->c->rip + in->len;
	return ea & size_mask(in->addrsize);
}

/* The register or immediate source of an MR or MI form. */
static uint64_t source(const struct emu_run *r)
{
	const struct emu_insn *in = &r->in;

	if (in->form == EMU_FORM_MI)
		return in->imm & size_mask(in->opsize);
	return reg_read(r, in->reg, in->opsize, in->reg_high8);
}

static uint64_t compute(struct emu_run *r, uint64_t dst, uint64_t src)
{
	const struct emu_insn *in = &r->in;

	switch (in->op) {
	case EMU_OP_MOV:
		return src;
	case EMU_OP_MOVZX:
		return src & size_mask(in->msize);
	case EMU_OP_MOVSX:
		return sign_extend(src, in->msize);
	default:
		return emu_alu(in->op, in->opsize, dst, src, &r->rflags);
	}
}

/* MOV, MOVZX, MOVSX, MOVNTI, the ALU group, TEST, NOT, NEG, INC, DEC. */
static enum emu_result exec_simple(struct emu_run *r)
{
	const struct emu_insn *in = &r->in;
	bool loads = in->op != EMU_OP_MOV && in->op != EMU_OP_MOVZX && in->op != EMU_OP_MOVSX;
	bool stores = in->op != EMU_OP_CMP && in->op != EMU_OP_TEST;
	uint64_t dst = 0, src;
	struct emu_mem m;
	enum emu_result res;

	if (in->form == EMU_FORM_RM) {
		res = mem_map(r, in->seg, effective_address(r), in->msize, false, &m);
		if (res == EMU_OK)
			res = mem_read(r, &m, &src);
		if (res != EMU_OK)
			return res;
		dst = compute(r, reg_read(r, in->reg, in->opsize, in->reg_high8), src);
		if (stores)
			reg_write(r, in->reg, in->opsize, in->reg_high8, dst);
		return EMU_OK;
	}
	res = mem_map(r, in->seg, effective_address(r), in->msize, stores, &m);
	if (res == EMU_OK && loads)
		res = mem_read(r, &m, &dst);
	if (res != EMU_OK)
		return res;
	dst = compute(r, dst, source(r));
	return stores ? mem_write(r, &m, dst) : EMU_OK;
}

/* XCHG, XADD and CMPXCHG: memory and a register both change. */
static enum emu_result exec_exchange(struct emu_run *r)
{
	const struct emu_insn *in = &r->in;
	uint64_t old, src = source(r), acc;
	struct emu_mem m;
	enum emu_result res;

	res = mem_map(r, in->seg, effective_address(r), in->opsize, true, &m);
	if (res == EMU_OK)
		res = mem_read(r, &m, &old);
	if (res != EMU_OK)
		return res;
	switch (in->op) {
	case EMU_OP_XCHG:
		res = mem_write(r, &m, src);
		break;
	case EMU_OP_XADD:
		res = mem_write(r, &m, emu_alu(EMU_OP_ADD, in->opsize, old, src, &r->rflags));
		break;
	default:
		acc = reg_read(r, EMU_RAX, in->opsize, false);
		emu_alu(EMU_OP_CMP, in->opsize, acc, old, &r->rflags);
		/* The destination is written either way, with itself on failure. */
		if (r->rflags & EMU_ZF)
			return mem_write(r, &m, src);
		res = mem_write(r, &m, old);
		if (res == EMU_OK)
			reg_write(r, EMU_RAX, in->opsize, false, old);
		return res;
	}
	if (res == EMU_OK)
		reg_write(r, in->reg, in->opsize, in->reg_high8, old);
	return res;
}

/*
 * BT, BTS, BTR, BTC.  A register bit offset is signed and may select a bit
 * outside the operand: the operand moves by whole operand sizes (SDM BT).
 */
static enum emu_result exec_bit(struct emu_run *r)
{
	const struct emu_insn *in = &r->in;
	unsigned int bits = 8 * in->opsize, bit;
	uint64_t ea = effective_address(r), v;
	struct emu_mem m;
	enum emu_result res;

	if (in->form == EMU_FORM_MR) {
		int64_t off = (int64_t)sign_extend(source(r), in->opsize);

		ea = (ea + (uint64_t)(off >> (__builtin_ctz(bits))) * in->opsize) &
		     size_mask(in->addrsize);
		bit = (unsigned int)(off & (bits - 1));
	} else {
		bit = (unsigned int)(in->imm & (bits - 1));
	}
	res = mem_map(r, in->seg, ea, in->opsize, in->op != EMU_OP_BT, &m);
	if (res == EMU_OK)
		res = mem_read(r, &m, &v);
	if (res != EMU_OK)
		return res;
	r->rflags = (r->rflags & ~EMU_CF) | ((v >> bit) & 1);
	switch (in->op) {
	case EMU_OP_BTS:
		return mem_write(r, &m, v | (1ULL << bit));
	case EMU_OP_BTR:
		return mem_write(r, &m, v & ~(1ULL << bit));
	case EMU_OP_BTC:
		return mem_write(r, &m, v ^ (1ULL << bit));
	default:
		return EMU_OK;
	}
}

static unsigned int stack_size(const struct emu_run *r)
{
	if (r->c->mode == 64)
		return 8;
	return r->c->seg[EMU_SS].ar & EMU_AR_DB ? 4 : 2;
}

/* PUSH m: the operand's address uses rSP before the decrement. */
static enum emu_result exec_push(struct emu_run *r)
{
	unsigned int size = r->in.opsize, ss = stack_size(r);
	uint64_t sp = (r->regs[EMU_RSP] - size) & size_mask(ss), v;
	struct emu_mem src, dst;
	enum emu_result res;

	res = mem_map(r, r->in.seg, effective_address(r), size, false, &src);
	if (res == EMU_OK)
		res = mem_map(r, EMU_SS, sp, size, true, &dst);
	if (res == EMU_OK)
		res = mem_read(r, &src, &v);
	if (res == EMU_OK)
		res = mem_write(r, &dst, v);
	if (res == EMU_OK)
		reg_write(r, EMU_RSP, ss, false, sp);
	return res;
}

/* POP m: the operand's address uses rSP after the increment (SDM POP). */
static enum emu_result exec_pop(struct emu_run *r)
{
	unsigned int size = r->in.opsize, ss = stack_size(r);
	uint64_t sp = r->regs[EMU_RSP] & size_mask(ss), v;
	struct emu_mem src, dst;
	enum emu_result res;

	res = mem_map(r, EMU_SS, sp, size, false, &src);
	if (res != EMU_OK)
		return res;
	reg_write(r, EMU_RSP, ss, false, sp + size);
	res = mem_map(r, r->in.seg, effective_address(r), size, true, &dst);
	if (res == EMU_OK)
		res = mem_read(r, &src, &v);
	if (res == EMU_OK)
		res = mem_write(r, &dst, v);
	return res;
}

/* One MOVS, STOS or LODS element; rSI and rDI step by DF. */
static enum emu_result string_step(struct emu_run *r)
{
	const struct emu_insn *in = &r->in;
	unsigned int size = in->opsize, as = in->addrsize;
	uint64_t step = r->rflags & EMU_DF ? 0 - (uint64_t)size : size;
	uint64_t si = r->regs[EMU_RSI] & size_mask(as), di = r->regs[EMU_RDI] & size_mask(as);
	uint64_t v = r->regs[EMU_RAX];
	struct emu_mem src, dst;
	enum emu_result res = EMU_OK;

	if (in->op != EMU_OP_STOS)
		res = mem_map(r, in->seg, si, size, false, &src);
	if (res == EMU_OK && in->op != EMU_OP_LODS)
		res = mem_map(r, EMU_ES, di, size, true, &dst);
	if (res == EMU_OK && in->op != EMU_OP_STOS)
		res = mem_read(r, &src, &v);
	if (res == EMU_OK && in->op != EMU_OP_LODS)
		res = mem_write(r, &dst, v);
	if (res != EMU_OK)
		return res;
	if (in->op == EMU_OP_LODS)
		reg_write(r, EMU_RAX, size, false, v);
	if (in->op != EMU_OP_STOS)
		reg_write(r, EMU_RSI, as, false, si + step);
	if (in->op != EMU_OP_LODS)
		reg_write(r, EMU_RDI, as, false, di + step);
	return EMU_OK;
}

static void commit(struct emu_run *r)
{
	__builtin_memcpy(r->c->regs, r->regs, sizeof(r->regs));
	r->c->rflags = r->rflags;
}

static void complete(struct emu_run *r)
{
	uint64_t mask = r->c->mode == 64 ? ~0ULL : r->c->mode == 32 ? 0xffffffffULL : 0xffffULL;

	r->rflags &= ~RFLAGS_RF;
	commit(r);
	r->c->rip = (r->c->rip + r->in.len) & mask;
}

/*
 * REP with ECX = 0 and 32-bit addresses: Intel CPUs still zero-extend RCX,
 * and RSI and RDI for MOVS, RDI for STOS (KVM has the same quirk); LODS
 * keeps RSI.  Compatibility-mode code leaves the upper halves visible to
 * 64-bit code later.
 */
static void rep_zero_quirk(struct emu_run *r)
{
	if (r->in.addrsize != 4)
		return;
	r->regs[EMU_RCX] = 0;
	if (r->in.op == EMU_OP_MOVS)
		r->regs[EMU_RSI] &= 0xffffffffULL;
	if (r->in.op != EMU_OP_LODS)
		r->regs[EMU_RDI] &= 0xffffffffULL;
}

/*
 * REP: iterations are committed one by one, so a fault in one leaves the
 * ones before it done, as on the CPU.  RIP moves on when rCX reaches 0.
 */
static enum emu_result exec_string(struct emu_run *r)
{
	unsigned int batch = r->c->rep_batch ? r->c->rep_batch : 1, as = r->in.addrsize;
	enum emu_result res;

	if (!r->in.rep) {
		res = string_step(r);
		if (res == EMU_OK)
			complete(r);
		return res;
	}
	for (unsigned int n = 0;; n++) {
		if (!(r->regs[EMU_RCX] & size_mask(as))) {
			if (!n)
				rep_zero_quirk(r);
			complete(r);
			return EMU_OK;
		}
		if (n == batch)
			return EMU_OK;
		res = string_step(r);
		if (res != EMU_OK)
			return res;
		reg_write(r, EMU_RCX, as, false, r->regs[EMU_RCX] - 1);
		commit(r);
	}
}

static enum emu_result execute(struct emu_run *r)
{
	enum emu_result res;

	switch (r->in.op) {
	case EMU_OP_MOVS:
	case EMU_OP_STOS:
	case EMU_OP_LODS:
		return exec_string(r);
	case EMU_OP_PUSH:
		res = exec_push(r);
		break;
	case EMU_OP_POP:
		res = exec_pop(r);
		break;
	case EMU_OP_BT:
	case EMU_OP_BTS:
	case EMU_OP_BTR:
	case EMU_OP_BTC:
		res = exec_bit(r);
		break;
	case EMU_OP_XCHG:
	case EMU_OP_XADD:
	case EMU_OP_CMPXCHG:
		res = exec_exchange(r);
		break;
	default:
		res = exec_simple(r);
		break;
	}
	if (res == EMU_OK)
		complete(r);
	return res;
}

/* Remember why the fetch stopped at this page; raised only if the bytes are needed. */
static void note_fetch_stop(struct emu_run *r, enum emu_result res)
{
	r->fetch_stop = res;
	r->fetch_exc = r->c->exc;
	r->fetch_why = r->c->why;
	r->c->exc = (struct emu_exception){ 0 };
	r->c->why = EMU_WHY_NONE;
}

/* Up to want bytes at la through the guest's page tables, page by page. */
static unsigned int fetch_walk(struct emu_run *r, uint64_t la, unsigned int want)
{
	unsigned int got = 0;

	while (got < want) {
		uint64_t page_la = r->c->mode == 64 ? la + got : (la + got) & 0xffffffffULL, gpa;
		unsigned int n = 4096 - (unsigned int)(page_la & 0xfff);
		enum emu_result res;

		if (n > want - got)
			n = want - got;
		if (r->c->mode == 64 && !canonical(r, page_la))
			res = exception(r, VEC_GP, true, 0, 0);
		else
			res = translate(r, page_la, GVA_FETCH, &gpa);
		if (res == EMU_OK && r->c->ops->read_phys(r->c->opaque, gpa, r->c->insn + got, n))
			res = unhandled(r, EMU_WHY_RAM);
		if (res != EMU_OK) {
			note_fetch_stop(r, res);
			break;
		}
		got += n;
	}
	return got;
}

/* The instruction bytes at CS:RIP, as many of 15 as the CS limit and paging allow. */
static void fetch(struct emu_run *r)
{
	struct emu_ctxt *c = r->c;
	const struct emu_segment *cs = &c->seg[EMU_CS];
	unsigned int want = 15;
	uint64_t la = c->rip;

	if (c->mode != 64) {
		la = (cs->base + c->rip) & 0xffffffffULL;
		if (c->rip > cs->limit)
			want = 0;
		else if (cs->limit - c->rip < 14)
			want = (unsigned int)(cs->limit - c->rip) + 1;
		if (want < 15) {
			exception(r, VEC_GP, true, 0, 0);
			note_fetch_stop(r, EMU_INJECT_EXCEPTION);
		}
	}
	if (c->ops->fetch) {
		c->insn_len = c->ops->fetch(c->opaque, la, c->insn, want);
		if (c->insn_len > want)
			c->insn_len = want;
		if (c->insn_len < want) {
			unhandled(r, EMU_WHY_FETCH);
			note_fetch_stop(r, EMU_UNHANDLED);
		}
	} else {
		c->insn_len = fetch_walk(r, la, want);
	}
}

static unsigned int cpu_mode(const struct emu_ctxt *c)
{
	uint32_t ar = c->seg[EMU_CS].ar;

	if ((c->efer & EFER_LMA) && (ar & EMU_AR_L))
		return 64;
	return ar & EMU_AR_DB ? 32 : 16;
}

enum emu_result emu_mmio(struct emu_ctxt *c, uint64_t gpa)
{
	struct emu_run r = {
		.c = c, .rflags = c->rflags, .mmio_page = gpa & PAGE_MASK,
		.fetch_stop = EMU_OK,
		.mmu = {
			.cr0 = c->cr0, .cr3 = c->cr3, .cr4 = c->cr4, .efer = c->efer,
			.cpl = c->cpl, .maxphyaddr = c->maxphyaddr,
			.no_1g_pages = c->no_1g_pages, .pkru = c->pkru, .pdptes = c->pdptes,
			.read_phys = c->ops->read_phys, .cmpxchg_phys = c->ops->cmpxchg_phys,
			.opaque = c->opaque,
		},
	};

	__builtin_memcpy(r.regs, c->regs, sizeof(r.regs));
	c->mode = cpu_mode(c);
	c->exc = (struct emu_exception){ 0 };
	c->why = EMU_WHY_NONE;
	__builtin_memset(c->insn, 0, sizeof(c->insn));
	fetch(&r);
	switch (emu_decode(c->insn, c->insn_len, c->mode, &r.in)) {
	case EMU_DEC_OK:
		c->insn_len = r.in.len;
		return execute(&r);
	case EMU_DEC_SHORT:
		c->exc = r.fetch_exc;
		c->why = r.fetch_why;
		return r.fetch_stop == EMU_OK ? unhandled(&r, EMU_WHY_FETCH) : r.fetch_stop;
	case EMU_DEC_UD:
		return exception(&r, VEC_UD, false, 0, 0);
	case EMU_DEC_GP:
		return exception(&r, VEC_GP, true, 0, 0);
	default:
		return unhandled(&r, EMU_WHY_INSN);
	}
}
