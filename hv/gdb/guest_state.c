/* SPDX-License-Identifier: MIT */
/*
 * Registers and memory of a paused vCPU for the stub.  Only what a debugger
 * edits may change: general registers, RIP, RFLAGS (not VM or the reserved
 * bits, which VM entry checks) and the FPU/SSE image.  Selectors, bases,
 * control registers and EFER are shown but refused, as a bad one would
 * fail the next VM entry and with it the guest.
 */
#include "hv/core/vm.h"
#include "hv/gdb/guest_state.h"
#include "hv/gdb/vmem.h"
#include "hv/lib/x86.h"
#include "hv/mm/gmem.h"
#include "hv/vmx/debug.h"
#include "lib/string.h"

/* RFLAGS bits a debugger may flip: the arithmetic flags, TF, IF, DF, IOPL, NT, RF, AC, VIF, VIP, ID. */
#define RFLAGS_WRITABLE	0x3d7fd5ULL

enum gdb_arch gdb_guest_arch(struct vcpu *v)
{
	const struct vcpu_dbg_regs *r = &vcpu_debug(v)->regs;

	if (r->efer & EFER_LMA)
		return GDB_ARCH_AMD64;
	return r->cr0 & CR0_PE ? GDB_ARCH_I386 : GDB_ARCH_I8086;
}

int gdb_guest_get_regs(struct vcpu *v, struct gdb_regs *r)
{
	const struct vcpu_debug *d = vcpu_debug(v);
	const struct vcpu_dbg_regs *s = &d->regs;

	if (!d->valid)
		return -1;
	memcpy(r->gpr, s->gpr, sizeof(r->gpr));
	r->rip = s->rip;
	r->rflags = s->rflags;
	memcpy(r->sel, s->sel, sizeof(r->sel));
	memcpy(r->base, s->base, sizeof(r->base));
	r->cr0 = s->cr0;
	r->cr2 = s->cr2;
	r->cr3 = s->cr3;
	r->cr4 = s->cr4;
	r->efer = s->efer;
	r->kernel_gs_base = s->kernel_gs_base;
	memcpy(r->fx, v->fx, sizeof(r->fx));
	return 0;
}

static bool canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

int gdb_guest_set_regs(struct vcpu *v, const struct gdb_regs *r)
{
	struct vcpu_debug *d = vcpu_debug(v);
	struct vcpu_dbg_regs *s = &d->regs;

	if (!d->valid || memcmp(r->sel, s->sel, sizeof(r->sel)) ||
	    memcmp(r->base, s->base, sizeof(r->base)) || r->cr0 != s->cr0 || r->cr2 != s->cr2 ||
	    r->cr3 != s->cr3 || r->cr4 != s->cr4 || r->efer != s->efer ||
	    r->kernel_gs_base != s->kernel_gs_base)
		return -1;
	if ((s->efer & EFER_LMA) ? !canonical(r->rip) : r->rip >> 32)
		return -1;
	memcpy(s->gpr, r->gpr, sizeof(s->gpr));
	s->rip = r->rip;
	s->rflags = (s->rflags & ~RFLAGS_WRITABLE) | (r->rflags & RFLAGS_WRITABLE);
	/* MXCSR's reserved bits make FXRSTOR fault in the hypervisor: keep them clear. */
	memcpy(v->fx, r->fx, sizeof(v->fx));
	v->fx[26] = 0;
	v->fx[27] = 0;
	d->regs_dirty = true;
	return 0;
}

static int read_phys(void *opaque, uint64_t gpa, void *buf, unsigned int len)
{
	struct vm *vm = opaque;

	if (!guest_range_is_ram(vm->cfg.memory, gpa, len ? len : 1))
		return -1;
	return gmem_read(vm, gpa, buf, len);
}

static int access_phys(void *opaque, uint64_t gpa, void *buf, size_t n, bool write)
{
	struct vm *vm = opaque;

	if (!guest_range_is_ram(vm->cfg.memory, gpa, n ? n : 1))
		return -1;
	return write ? gmem_write(vm, gpa, buf, n) : gmem_read(vm, gpa, buf, n);
}

size_t gdb_guest_mem(struct vcpu *v, uint64_t addr, void *buf, size_t n, bool write)
{
	const struct vcpu_dbg_regs *s = &vcpu_debug(v)->regs;
	struct gdb_vmem m = {
		.mmu = {
			.cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer,
			.rflags = s->rflags, .read_phys = read_phys, .opaque = v->vm,
			/* With EPT the CPU keeps the PAE PDPTEs in the VMCS. */
			.pdptes = (s->cr0 & CR0_PG) && (s->cr4 & CR4_PAE) && !(s->efer & EFER_LMA) ?
				  s->pdpte : NULL,
		},
		.phys = access_phys,
		.opaque = v->vm,
	};

	if (!vcpu_debug(v)->valid || !v->vm->mem_ready)
		return 0;
	return gdb_vmem_access(&m, addr, buf, n, write);
}
