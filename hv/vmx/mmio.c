/* SPDX-License-Identifier: MIT */
/*
 * MMIO exits: an EPT violation on a page a device registered (hv/core/io.h)
 * is emulated by decoding the faulting instruction (hv/vmx/insn_decode.c),
 * fetched through the guest's own page tables.
 */
#include "hv/core/io.h"
#include "hv/core/request.h"
#include "hv/core/vm.h"
#include "hv/lib/x86.h"
#include "hv/mm/gmem.h"
#include "hv/vmx/insn_decode.h"
#include "hv/vmx/mmio.h"
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"

#define PTE_P		1ULL
#define PTE_PS		(1ULL << 7)
#define ADDR_MASK	0x000ffffffffff000ULL

static int read_pte(struct vm *vm, uint64_t pa, bool wide, uint64_t *pte)
{
	uint32_t v32;

	if (wide)
		return gmem_read(vm, pa, pte, 8);
	if (gmem_read(vm, pa, &v32, 4))
		return -1;
	*pte = v32;
	return 0;
}

/* Guest linear address to guest physical, by the guest's paging mode; -1 if not mapped. */
int mmio_gva_to_gpa(struct vcpu *v, uint64_t gva, uint64_t *gpa)
{
	struct vm *vm = v->vm;
	uint64_t cr0 = vcpu_guest_cr0(), cr4 = vcpu_guest_cr4();
	uint64_t cr3 = vmread(GUEST_CR3), pte;
	bool lma = vmread(GUEST_IA32_EFER) & (1ULL << 10);

	if (!(cr0 & CR0_PG)) {
		*gpa = gva & 0xffffffffULL;
		return 0;
	}
	if (lma || (cr4 & CR4_PAE)) {
		int levels = lma ? 4 : 3;
		uint64_t table = lma ? cr3 & ADDR_MASK : cr3 & 0xffffffe0ULL;

		for (int l = levels; l >= 1; l--) {
			unsigned int shift = 12 + 9 * (l - 1);
			unsigned int idx = (gva >> shift) & (l == 3 && !lma ? 3 : 511);

			if (read_pte(vm, table + idx * 8ULL, true, &pte) || !(pte & PTE_P))
				return -1;
			if (l > 1 && l < 4 && (pte & PTE_PS) && (l == 2 || lma)) {
				uint64_t mask = (1ULL << shift) - 1;

				*gpa = (pte & ADDR_MASK & ~mask) | (gva & mask);
				return 0;
			}
			table = pte & ADDR_MASK;
		}
		*gpa = table | (gva & 0xfff);
		return 0;
	}
	if (read_pte(vm, (cr3 & 0xfffff000ULL) + ((gva >> 22) & 1023) * 4, false, &pte) ||
	    !(pte & PTE_P))
		return -1;
	if ((pte & PTE_PS) && (cr4 & (1ULL << 4))) {
		*gpa = (pte & 0xffc00000ULL) | (gva & 0x3fffff);
		return 0;
	}
	if (read_pte(vm, (pte & 0xfffff000ULL) + ((gva >> 12) & 1023) * 4, false, &pte) ||
	    !(pte & PTE_P))
		return -1;
	*gpa = (pte & 0xfffff000ULL) | (gva & 0xfff);
	return 0;
}

/* Read len guest-linear bytes (across a page boundary too). */
static int read_linear(struct vcpu *v, uint64_t gva, uint8_t *buf, unsigned int len)
{
	while (len) {
		unsigned int n = 4096 - (gva & 0xfff);
		uint64_t gpa;

		if (n > len)
			n = len;
		if (mmio_gva_to_gpa(v, gva, &gpa) || gmem_read(v->vm, gpa, buf, n))
			return -1;
		gva += n, buf += n, len -= n;
	}
	return 0;
}

static uint64_t reg_value(struct vcpu *v, const struct mmio_insn *in)
{
	uint64_t r = vcpu_gpr(v, in->reg);

	return in->high8 ? (r >> 8) & 0xff : r;
}

static void set_reg(struct vcpu *v, const struct mmio_insn *in, uint64_t val, unsigned int size)
{
	uint64_t old = vcpu_gpr(v, in->reg);

	if (in->high8)
		val = (old & ~0xff00ULL) | ((val & 0xff) << 8);
	else if (size == 1)
		val = (old & ~0xffULL) | (val & 0xff);
	else if (size == 2)
		val = (old & ~0xffffULL) | (val & 0xffff);
	else if (size == 4)
		val &= 0xffffffffULL;	/* 32-bit destinations zero-extend */
	vcpu_set_gpr(v, in->reg, val);
}

/* The devices' registers are 32 bits wide: whole registers go in and out. */
static uint64_t dev_read(struct vcpu *v, const struct mmio_range *dev, uint64_t gpa)
{
	return (uint32_t)dev->ops->read(v, gpa - dev->base, 4);
}

static void dev_write(struct vcpu *v, const struct mmio_range *dev, uint64_t gpa, uint64_t val)
{
	dev->ops->write(v, gpa - dev->base, 4, (uint32_t)val);
}

int mmio_emulate(struct vcpu *v, const struct mmio_range *dev, uint64_t gpa)
{
	uint64_t cs_ar = vmread(GUEST_CS_AR_BYTES), rip = vmread(GUEST_RIP), val;
	bool mode64 = (cs_ar >> 13) & 1, def32 = mode64 || ((cs_ar >> 14) & 1);
	uint8_t b[15] = { 0 };
	struct mmio_insn in;
	unsigned int avail = 15;

	if (!mode64)
		rip = (vmread(GUEST_CS_BASE) + rip) & 0xffffffffULL;
	/* Near the end of a page the next may be unmapped: fetch what is there. */
	if (read_linear(v, rip, b, avail)) {
		avail = 4096 - (rip & 0xfff);
		if (avail >= 15 || read_linear(v, rip, b, avail))
			avail = 0;
	}
	if (!avail || insn_decode_mmio(b, avail, mode64, def32, &in)) {
		guest_fail(v, "MMIO at %llx by an instruction the hypervisor does not emulate "
			   "(%02x %02x %02x %02x %02x %02x)", (unsigned long long)gpa,
			   b[0], b[1], b[2], b[3], b[4], b[5]);
		return 1;
	}
	if (in.size == 8 || (gpa & 3)) {
		/* Registers are 32-bit, 16-byte aligned: wider or misaligned is undefined. */
		if (!in.write || in.xchg)
			set_reg(v, &in, 0, in.dst_size);
	} else if (in.xchg) {
		val = dev_read(v, dev, gpa);
		dev_write(v, dev, gpa, reg_value(v, &in));
		set_reg(v, &in, val, in.size);
	} else if (in.write) {
		dev_write(v, dev, gpa, in.has_imm ? in.imm : reg_value(v, &in));
	} else {
		val = dev_read(v, dev, gpa) & (in.size == 4 ? 0xffffffffULL : (1ULL << (8 * in.size)) - 1);
		set_reg(v, &in, val, in.dst_size);
	}
	vcpu_skip(in.len);
	return 0;
}
