/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for hv/vmx/emulate*.c and gva.c: the input is a guest
 * state (mode, control registers, segments, registers), the guest's memory
 * (page tables included) and the instruction bytes.  The emulator must
 * return one of its results with a consistent report, never read past the
 * bytes its fetch callback gave (they sit at the end of a heap block for
 * ASan to see), and hand the device only whole, in-page accesses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/vmx/emulate.h"

#define RAM_SIZE	(16 * 4096)

static uint8_t ram[RAM_SIZE];
static uint64_t mmio_page;

#include "tests/hv/vmx/guest_ram.h"

struct input {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct input *in, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes && in->n; i++, in->n--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}

static void check_device_access(uint64_t gpa, unsigned int size)
{
	if (!size || size > 8 || (size & (size - 1)) || (gpa & ~0xfffULL) != mmio_page ||
	    (gpa & 0xfff) + size > 4096)
		abort();
}

static int mmio_read(void *opaque, uint64_t gpa, unsigned int size, uint64_t *val)
{
	(void)opaque;
	check_device_access(gpa, size);
	*val = gpa * 0x9e3779b97f4a7c15ULL;
	return (gpa & 0xff) == 0xee;		/* a register that refuses */
}

static int mmio_write(void *opaque, uint64_t gpa, unsigned int size, uint64_t val)
{
	(void)opaque;
	(void)val;
	check_device_access(gpa, size);
	return (gpa & 0xff) == 0xee;
}

/* The instruction bytes: exactly insn_n of them, at the end of a heap block. */
static const uint8_t *insn;
static unsigned int insn_n;

static unsigned int fetch(void *opaque, uint64_t la, uint8_t *buf, unsigned int len)
{
	(void)opaque;
	(void)la;
	if (len > insn_n)
		len = insn_n;
	memcpy(buf, insn, len);
	return len;
}

static void set_mode(struct emu_ctxt *c, unsigned int mode)
{
	switch (mode) {
	case 0:					/* real mode */
		break;
	case 1:					/* 16-bit protected */
		c->cr0 |= 1;
		break;
	case 2:					/* 32-bit, paging off */
		c->cr0 |= 1;
		c->seg[EMU_CS].ar |= EMU_AR_DB;
		break;
	case 3:					/* 32-bit paging */
		c->cr0 |= 0x80000001;
		c->seg[EMU_CS].ar |= EMU_AR_DB;
		break;
	case 4:					/* PAE */
		c->cr0 |= 0x80000001;
		c->cr4 |= 0x20;
		c->seg[EMU_CS].ar |= EMU_AR_DB;
		break;
	case 5:					/* compatibility mode */
		c->cr0 |= 0x80000001;
		c->cr4 |= 0x20;
		c->efer |= 0x500;
		c->seg[EMU_CS].ar |= EMU_AR_DB;
		break;
	default:				/* 64-bit, 4- or 5-level */
		c->cr0 |= 0x80000001;
		c->cr4 |= 0x20 | (mode == 7 ? 1u << 12 : 0);
		c->efer |= 0x500;
		c->seg[EMU_CS].ar |= EMU_AR_L;
		break;
	}
}

static void check_result(const struct emu_ctxt *c, const struct emu_ctxt *before,
			 enum emu_result res)
{
	uint64_t mask = c->mode == 64 ? ~0ULL : c->mode == 32 ? 0xffffffffULL : 0xffffULL;

	if (c->mode != 16 && c->mode != 32 && c->mode != 64)
		abort();
	switch (res) {
	case EMU_OK:
		if (!c->insn_len || c->insn_len > 15)
			abort();
		if (c->rip != before->rip && c->rip != ((before->rip + c->insn_len) & mask))
			abort();
		break;
	case EMU_INJECT_EXCEPTION:
		if (c->exc.vector != 6 && c->exc.vector != 12 && c->exc.vector != 13 &&
		    c->exc.vector != 14 && c->exc.vector != 17)
			abort();
		if (c->exc.has_error_code != (c->exc.vector != 6) || c->rip != before->rip)
			abort();
		if (c->exc.vector != 14 && c->exc.error_code)
			abort();
		break;
	case EMU_UNHANDLED:
		if (c->why < EMU_WHY_INSN || c->why > EMU_WHY_MMIO || c->rip != before->rip)
			abort();
		break;
	default:
		abort();
	}
	if (c->insn_len > 15)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct emu_ops with_fetch = {
		.read_phys = ram_read, .write_phys = ram_write, .cmpxchg_phys = ram_cmpxchg,
		.mmio_read = mmio_read, .mmio_write = mmio_write, .fetch = fetch,
	};
	static const struct emu_ops walking = {
		.read_phys = ram_read, .write_phys = ram_write, .cmpxchg_phys = ram_cmpxchg,
		.mmio_read = mmio_read, .mmio_write = mmio_write,
	};
	struct input in = { data, size };
	struct emu_ctxt c = { 0 }, before;
	uint64_t pdptes[4], knobs;
	uint8_t *heap;
	enum emu_result res;

	if (size < 16)
		return 0;
	insn_n = data[0] % 16;
	in.p++, in.n--;
	if (insn_n > in.n)
		insn_n = (unsigned int)in.n;
	heap = malloc(insn_n ? insn_n : 1);
	memcpy(heap, in.p + in.n - insn_n, insn_n);
	insn = heap;
	in.n -= insn_n;

	knobs = take(&in, 8);
	set_mode(&c, knobs & 7);
	c.cpl = (knobs >> 3) & 3;
	c.cr0 |= (knobs & (1u << 5) ? 1u << 16 : 0) | (knobs & (1u << 6) ? 1u << 18 : 0);
	c.cr4 |= (knobs & (1u << 7) ? 1u << 4 : 0) | (knobs & (1u << 8) ? 3u << 20 : 0) |
		 (knobs & (1u << 9) ? 1u << 22 : 0);
	c.efer |= knobs & (1u << 10) ? 1u << 11 : 0;
	c.rflags = take(&in, 4) | 2;
	c.maxphyaddr = (knobs >> 11) & 1 ? 36 + ((knobs >> 12) & 15) : 0;
	c.no_1g_pages = (knobs >> 16) & 1;
	c.pkru = (uint32_t)(knobs >> 32);
	c.rep_batch = (knobs >> 17) & 63;
	c.cr3 = take(&in, 3) & (RAM_SIZE - 1);
	mmio_page = (take(&in, 1) & 31) << 12;
	for (int i = 0; i < EMU_NR_SEGS; i++) {
		c.seg[i].base = take(&in, 1) & 1 ? take(&in, 8) : 0;
		c.seg[i].limit = take(&in, 1) & 1 ? (uint32_t)take(&in, 4) : 0xffffffff;
		c.seg[i].ar |= (uint32_t)take(&in, 3);
	}
	for (int i = 0; i < 16; i++)
		c.regs[i] = take(&in, 1) & 1 ? take(&in, 8) : take(&in, 1) << 8;
	c.rip = take(&in, 1) & 1 ? take(&in, 8) : take(&in, 2);
	for (int i = 0; i < 4; i++)
		pdptes[i] = take(&in, 8);
	c.pdptes = (knobs >> 23) & 1 ? pdptes : NULL;
	c.ops = (knobs >> 24) & 1 ? &walking : &with_fetch;
	/* The rest is guest RAM, page tables and code included, repeated. */
	memset(ram, 0, sizeof(ram));
	for (size_t i = 0; in.n && i < RAM_SIZE; i += in.n)
		memcpy(ram + i, in.p, in.n < RAM_SIZE - i ? in.n : RAM_SIZE - i);
	if (c.ops == &walking)
		memcpy(ram + (c.rip & (RAM_SIZE - 1) & ~15ULL), insn, insn_n);

	before = c;
	res = emu_mmio(&c, mmio_page | (knobs >> 25 & 0xfff));
	check_result(&c, &before, res);
	free(heap);
	return 0;
}
