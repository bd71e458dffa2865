/* SPDX-License-Identifier: MIT */
/*
 * MMIO exits: an EPT violation on a page a device registered (hv/core/io.h)
 * is emulated by the instruction emulator (hv/vmx/emulate.c) on the state of
 * the current VMCS, with guest memory through the EPT MMU and the device
 * through its ops.  Faults the instruction would take (#PF through the
 * guest's page tables, #GP/#SS on segments) are injected as hardware would.
 */
#include "hv/core/io.h"
#include "hv/core/request.h"
#include "hv/core/vm.h"
#include "hv/lib/x86.h"
#include "hv/mm/gmem.h"
#include "hv/vmx/emulate.h"
#include "hv/vmx/gva.h"
#include "hv/vmx/mmio.h"
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"

/* REP MOVS/STOS/LODS iterations per exit; the rest resume at the next one. */
#define MMIO_REP_BATCH	64

struct mmio_access {
	struct vcpu *v;
	const struct mmio_range *dev;
};

static int read_phys(void *opaque, uint64_t gpa, void *buf, unsigned int len)
{
	return gmem_read(((struct mmio_access *)opaque)->v->vm, gpa, buf, len);
}

static int write_phys(void *opaque, uint64_t gpa, const void *buf, unsigned int len)
{
	return gmem_write(((struct mmio_access *)opaque)->v->vm, gpa, buf, len);
}

/*
 * The emulated devices' registers are 32 bits wide at 4-byte alignment.  A
 * narrower aligned access reads the low bytes and writes zero-extended; a
 * wider or misaligned one is undefined on hardware: it reads 0 and writes
 * nothing.  Sized devices (PCI) take 1, 2 and 4 bytes at natural alignment as
 * they come, and an aligned 8-byte access as two 4-byte ones, low half first.
 */
static bool register_access(const struct mmio_ops *ops, uint64_t gpa, unsigned int size)
{
	if (ops->sized)
		return !(gpa & (size - 1));
	return size <= 4 && !(gpa & 3);
}

static int dev_read(void *opaque, uint64_t gpa, unsigned int size, uint64_t *val)
{
	struct mmio_access *a = opaque;
	const struct mmio_ops *ops = a->dev->ops;
	uint64_t off = gpa - vm_mmio_base(a->v, a->dev);

	*val = 0;
	if (ops->any_size) {
		*val = ops->read(a->v, off, size);
		return 0;
	}
	if (!register_access(ops, gpa, size))
		return 0;
	if (!ops->sized) {
		uint64_t r = (uint32_t)ops->read(a->v, off, 4);

		*val = size == 4 ? r : r & ((1ULL << (8 * size)) - 1);
	} else if (size == 8) {
		*val = (uint32_t)ops->read(a->v, off, 4);
		*val |= (uint64_t)(uint32_t)ops->read(a->v, off + 4, 4) << 32;
	} else {
		*val = ops->read(a->v, off, size);
	}
	return 0;
}

static int dev_write(void *opaque, uint64_t gpa, unsigned int size, uint64_t val)
{
	struct mmio_access *a = opaque;
	const struct mmio_ops *ops = a->dev->ops;
	uint64_t off = gpa - vm_mmio_base(a->v, a->dev);

	if (ops->any_size) {
		ops->write(a->v, off, size, val);
		return 0;
	}
	if (!register_access(ops, gpa, size))
		return 0;
	if (!ops->sized) {
		ops->write(a->v, off, 4, (uint32_t)val);
	} else if (size == 8) {
		ops->write(a->v, off, 4, (uint32_t)val);
		ops->write(a->v, off + 4, 4, val >> 32);
	} else {
		ops->write(a->v, off, size, val);
	}
	return 0;
}

static const struct emu_ops mmio_emu_ops = {
	.read_phys = read_phys,
	.write_phys = write_phys,
	.mmio_read = dev_read,
	.mmio_write = dev_write,
};

static void load_segment(struct emu_segment *s, unsigned int seg)
{
	/* ES, CS, SS, DS, FS, GS: the VMCS encodings step by 2, in this order. */
	s->selector = (uint16_t)vmread(GUEST_ES_SELECTOR + 2 * seg);
	s->base = vmread(GUEST_ES_BASE + 2 * seg);
	s->limit = (uint32_t)vmread(GUEST_ES_LIMIT + 2 * seg);
	s->ar = (uint32_t)vmread(GUEST_ES_AR_BYTES + 2 * seg);
}

/* PAE paging outside long mode: the PDPTEs the CPU loaded (from the VMCS, with EPT). */
static const uint64_t *load_pdptes(uint64_t cr0, uint64_t cr4, uint64_t efer, uint64_t pdpte[4])
{
	if (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE) || (efer & EFER_LMA))
		return NULL;
	for (unsigned int i = 0; i < 4; i++)
		pdpte[i] = vmread(GUEST_PDPTE0 + 2 * i);
	return pdpte;
}

static unsigned int guest_maxphyaddr(void)
{
	static unsigned int bits;

	if (!bits)
		bits = cpuid(0x80000008, 0).eax & 0xff;
	return bits;
}

/* The guest's paging state from the current VMCS. */
static void load_mmu(struct gva_mmu *m, void *opaque, uint64_t pdpte[4])
{
	m->cr0 = vcpu_guest_cr0();
	m->cr4 = vcpu_guest_cr4();
	m->cr3 = vmread(GUEST_CR3);
	m->efer = vmread(GUEST_IA32_EFER);
	m->rflags = vmread(GUEST_RFLAGS);
	m->cpl = (vmread(GUEST_SS_AR_BYTES) >> 5) & 3;
	m->maxphyaddr = guest_maxphyaddr();
	m->pdptes = load_pdptes(m->cr0, m->cr4, m->efer, pdpte);
	m->read_phys = read_phys;
	m->opaque = opaque;
}

int mmio_gva_to_gpa(struct vcpu *v, uint64_t gva, unsigned int access, uint64_t *gpa,
		    uint32_t *pf_error)
{
	struct mmio_access a = { v, NULL };
	struct gva_mmu m = { 0 };
	struct gva_walk w;
	uint64_t pdpte[4];
	enum gva_result r;

	load_mmu(&m, &a, pdpte);
	r = gva_translate(&m, gva, access, &w);
	*gpa = w.gpa;
	*pf_error = w.error_code;
	return r == GVA_OK ? 0 : r == GVA_FAULT ? 1 : -1;
}

static const char *const why_names[] = {
	[EMU_WHY_NONE] = "", [EMU_WHY_INSN] = "by an instruction the hypervisor does not emulate",
	[EMU_WHY_FETCH] = "by an instruction it cannot fetch",
	[EMU_WHY_RAM] = "with a memory operand or page table outside guest RAM",
	[EMU_WHY_MMIO] = "that the device refused",
};

static void commit(struct vcpu *v, const struct emu_ctxt *c)
{
	for (unsigned int i = 0; i < 16; i++)
		vcpu_set_gpr(v, i, c->regs[i]);
	vmwrite(GUEST_RFLAGS, c->rflags);
	/* A REP instruction that stopped mid-way (rip unchanged) has not completed. */
	if (c->rip != vmread(GUEST_RIP))
		vcpu_complete_insn(c->rip);
}

int mmio_emulate(struct vcpu *v, const struct mmio_range *dev, uint64_t gpa)
{
	struct mmio_access a = { v, dev };
	struct emu_ctxt c = { 0 };
	struct gva_mmu m = { 0 };
	uint64_t pdpte[4];
	enum emu_result r;

	load_mmu(&m, &a, pdpte);
	for (unsigned int i = 0; i < 16; i++)
		c.regs[i] = vcpu_gpr(v, i);
	c.rip = vmread(GUEST_RIP);
	c.rflags = m.rflags;
	c.cr0 = m.cr0;
	c.cr3 = m.cr3;
	c.cr4 = m.cr4;
	c.efer = m.efer;
	c.cpl = m.cpl;
	for (unsigned int s = 0; s < EMU_NR_SEGS; s++)
		load_segment(&c.seg[s], s);
	c.pdptes = m.pdptes;
	c.maxphyaddr = m.maxphyaddr;
	c.rep_batch = MMIO_REP_BATCH;
	c.ops = &mmio_emu_ops;
	c.opaque = &a;

	r = emu_mmio(&c, gpa);
	if (r == EMU_OK) {
		commit(v, &c);
		return vm_stopping(v->vm);
	}
	if (r == EMU_INJECT_EXCEPTION) {
		if (c.exc.vector == 14)
			v->regs.cr2 = c.exc.cr2;
		vcpu_inject_exception(v, c.exc.vector, c.exc.has_error_code, c.exc.error_code);
		return 0;
	}
	guest_fail(v, "MMIO at %llx %s (%u-bit code: %02x %02x %02x %02x %02x %02x)",
		   (unsigned long long)gpa, why_names[c.why], c.mode, c.insn[0], c.insn[1],
		   c.insn[2], c.insn[3], c.insn[4], c.insn[5]);
	return 1;
}
