/* SPDX-License-Identifier: MIT */
/* APIC virtualization (hv/vmx/apicv.h). */
#include "ept/invalidate.h"
#include "hv/core/guest_boot.h"
#include "hv/core/io.h"
#include "hv/core/request.h"
#include "hv/core/vm.h"
#include "hv/cpu/page_alloc.h"
#include "hv/cpu/vmx_caps.h"
#include "hv/lib/x86.h"
#include "hv/mm/gmem.h"
#include "hv/vdev/lapic.h"
#include "hv/vmx/apicv.h"
#include "hv/vmx/mmio.h"
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"
#include "lib/string.h"

#define APIC_ACCESS_LINEAR_READ		0
#define APIC_ACCESS_LINEAR_WRITE	1

#define APICV_PROC2	(SEC_VIRT_APIC_ACCESSES | SEC_APIC_REGISTER_VIRT | SEC_VIRT_INTR_DELIVERY)

bool apicv_supported(void)
{
	uint32_t proc1 = (uint32_t)(vmx_caps.proc >> 32), proc2 = (uint32_t)(vmx_caps.proc2 >> 32);

	return vmx_caps.valid && (proc1 & CPU_TPR_SHADOW) && (proc1 & CPU_SECONDARY_CONTROLS) &&
	       (proc2 & APICV_PROC2) == APICV_PROC2;
}

/* One APIC-access page per guest, made by whichever vCPU gets there first. */
static uint64_t apic_access_page(struct vm *vm)
{
	uint64_t pa = READ_ONCE(vm->apic_access_pa), fresh;

	if (pa)
		return pa;
	fresh = page_alloc(0);
	if (!fresh)
		return 0;
	memset((void *)(uintptr_t)fresh, 0, PAGE_SIZE);
	if (!__atomic_compare_exchange_n(&vm->apic_access_pa, &pa, fresh, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		page_free(fresh, 0);
		return pa;
	}
	return fresh;
}

/*
 * Bochs's VT-x, known by the VMCS revision its sources pick to be unique
 * (0x2B).  Bochs 2.7 delivers a pending virtual interrupt when a host
 * interrupt (a kick) arrives, whatever the guest's RFLAGS.IF:
 * InterruptAcknowledge() tests that one is pending, not that it is
 * unmasked.  A Linux guest then took its timer interrupt inside
 * spin_lock_irqsave() and deadlocked.  Its exits during such a delivery also
 * report a stale event.  Under Bochs the hypervisor injects the APIC's
 * interrupts itself, with the TPR shadow and register virtualization kept
 * (docs/guest-platform.md).
 */
#define VMCS_REVISION_BOCHS	0x2b

static bool virtual_intr_delivery_usable(void)
{
	return (vmx_caps.basic & 0x7fffffff) != VMCS_REVISION_BOCHS;
}

void apicv_setup(struct vcpu *v, uint32_t *proc, uint32_t *proc2)
{
	uint64_t access;

	v->apicv = v->apicv_vid = false;
	if (!v->vm->cfg.apicv || !apicv_supported() || !(access = apic_access_page(v->vm)))
		return;
	v->apicv = true;
	v->apicv_vid = virtual_intr_delivery_usable();
	/* CR8 goes to the shadowed TPR: no exits for it either. */
	*proc = (*proc | CPU_TPR_SHADOW) & ~(CPU_CR8_LOAD_EXITING | CPU_CR8_STORE_EXITING);
	*proc2 |= v->apicv_vid ? APICV_PROC2 : APICV_PROC2 & ~SEC_VIRT_INTR_DELIVERY;
	v->apic_access_on = true;
	vmwrite(VIRTUAL_APIC_PAGE_ADDR, v->lapic->regs_pa);
	vmwrite(APIC_ACCESS_ADDR, access);
	vmwrite(TPR_THRESHOLD, 0);
	v->tpr_threshold = 0;
	memset(v->eoi_exit, 0, sizeof(v->eoi_exit));
	if (!v->apicv_vid)
		return;
	for (unsigned int i = 0; i < 4; i++)
		vmwrite(EOI_EXIT_BITMAP0 + 2 * i, 0);
	vmwrite(GUEST_INTR_STATUS, 0);
}

/* Take the APIC-access page out of every root of @vm, as the shell's `ept zap` does. */
static void unmap_apic_page(struct vm *vm)
{
	uint64_t gfn = GUEST_LAPIC_BASE >> PAGE_SHIFT;
	bool opened = ept_invalidate_begin(&vm->ept, gfn, gfn + 1);

	ept_invalidate_end(&vm->ept, gfn, gfn + 1, opened);
}

/*
 * One page serves the whole guest at the default base, but each vCPU's
 * xAPIC answers at its own base: once one leaves the default (or turns its
 * xAPIC off), that base must reach the model for every vCPU, and the old
 * one must read as unassigned.  The flag goes first, so that a fault that
 * missed it and maps the page again finds it after (apicv_fault_apic_page()).
 */
static void stop_apic_page(struct vm *vm)
{
	if (!__atomic_exchange_n(&vm->apic_page_off, true, __ATOMIC_SEQ_CST))
		unmap_apic_page(vm);
}

/*
 * RVI: the highest requested vector, which the CPU delivers when the guest
 * can take it; nothing while the APIC is software-disabled, which the CPU
 * does not look at.  SVI: the highest in service.  Level-triggered vectors
 * end with an exit, for the I/O APIC's Remote IRR.
 */
static void set_intr_status(struct vcpu *v)
{
	struct vlapic *l = v->lapic;
	int rvi = lapic_sw_enabled(v) ? lapic_highest_irr(l) : -1, svi = lapic_highest_isr(l);
	uint64_t tmr[4];

	/* Always written: the CPU moves RVI and SVI itself as it delivers and retires. */
	vmwrite(GUEST_INTR_STATUS, (uint16_t)((rvi < 0 ? 0 : rvi) | (svi < 0 ? 0 : svi) << 8));
	lapic_get_tmr(l, tmr);
	for (unsigned int i = 0; i < 4; i++) {
		if (tmr[i] != v->eoi_exit[i]) {
			vmwrite(EOI_EXIT_BITMAP0 + 2 * i, tmr[i]);
			v->eoi_exit[i] = tmr[i];
		}
	}
}

/*
 * Without virtual-interrupt delivery the hypervisor injects, and the guest
 * lowers its TPR without an exit: a vector that only the TPR holds back
 * sets the threshold, so that lowering the TPR below its class exits.
 */
static void set_tpr_threshold(struct vcpu *v)
{
	struct vlapic *l = v->lapic;
	int irr = lapic_highest_irr(l), isr = lapic_highest_isr(l);
	uint32_t tpr = lapic_get_cr8(v), want = 0;

	if (irr >= 0 && (uint32_t)irr >> 4 <= tpr && (isr < 0 || irr >> 4 > isr >> 4))
		want = (uint32_t)irr >> 4;
	if (want != v->tpr_threshold) {
		vmwrite(TPR_THRESHOLD, want);
		v->tpr_threshold = (uint8_t)want;
	}
}

void apicv_before_entry(struct vcpu *v)
{
	bool xapic = lapic_xapic_mmio(v) &&
		     (v->lapic->apic_base & ~0xfffULL) == GUEST_LAPIC_BASE;

	/* A relocated, disabled or x2APIC local APIC: the page goes, for the whole guest. */
	if (!xapic && !READ_ONCE(v->vm->apic_page_off))
		stop_apic_page(v->vm);
	xapic = xapic && !READ_ONCE(v->vm->apic_page_off);
	lapic_sync_posted(v);
	if (v->apicv_vid)
		set_intr_status(v);
	else
		set_tpr_threshold(v);
	/* In x2APIC mode, disabled or moved, the xAPIC page is not the APIC's (SDM 29.5). */
	if (xapic != v->apic_access_on) {
		uint32_t proc2 = (uint32_t)vmread(SECONDARY_VM_EXEC_CONTROL);

		vmwrite(SECONDARY_VM_EXEC_CONTROL, xapic ? proc2 | SEC_VIRT_APIC_ACCESSES :
							   proc2 & ~SEC_VIRT_APIC_ACCESSES);
		v->apic_access_on = xapic;
	}
}

bool apicv_maps_apic_page(struct vcpu *v, uint64_t gpa)
{
	return v->apicv && v->apic_access_on && !READ_ONCE(v->vm->apic_page_off) &&
	       (gpa & ~0xfffULL) == GUEST_LAPIC_BASE;
}

int apicv_fault_apic_page(struct vcpu *v, uint64_t gpa, uint64_t qual)
{
	int rc = gmem_fault(v, gpa, qual) ? 1 : 0;

	/*
	 * Mapped after stop_apic_page() zapped it?  Then its flag was set
	 * before our mmu_lock section began: we see it, and zap again.
	 */
	if (READ_ONCE(v->vm->apic_page_off))
		unmap_apic_page(v->vm);
	return rc;
}

/*
 * A fault-like access the CPU does not virtualize (PPR, the current count, a
 * read-only or reserved register): emulate the instruction on the register
 * page's model, as an EPT violation there would be.
 */
int apicv_handle_access(struct vcpu *v)
{
	uint64_t q = vmread(EXIT_QUALIFICATION), gpa = GUEST_LAPIC_BASE + (q & 0xfff);
	unsigned int type = (q >> 12) & 15;
	const struct mmio_range *dev = vm_find_mmio(v, gpa);

	if ((type != APIC_ACCESS_LINEAR_READ && type != APIC_ACCESS_LINEAR_WRITE) || !dev) {
		guest_fail(v, "APIC access of type %u at offset %llx (not emulated)", type,
			   (unsigned long long)(q & 0xfff));
		return 1;
	}
	return mmio_emulate(v, dev, gpa);
}

/* The guest lowered its TPR below a held-back vector's class: the entry injects it. */
int apicv_handle_tpr_below(struct vcpu *v)
{
	(void)v;
	return 0;
}

int apicv_handle_eoi(struct vcpu *v)
{
	lapic_virtual_eoi(v, (uint8_t)vmread(EXIT_QUALIFICATION));
	return 0;
}

/* Trap-like: the write is in the page and RIP is past the instruction. */
int apicv_handle_write(struct vcpu *v)
{
	lapic_apic_write(v, (uint32_t)vmread(EXIT_QUALIFICATION) & 0xfff);
	return vm_stopping(v->vm);
}
