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

void apicv_setup(struct vcpu *v, uint32_t *proc, uint32_t *proc2)
{
	uint64_t access;

	v->apicv = false;
	if (!v->vm->cfg.apicv || !apicv_supported() || !(access = apic_access_page(v->vm)))
		return;
	v->apicv = true;
	/* CR8 goes to the shadowed TPR: no exits for it either. */
	*proc = (*proc | CPU_TPR_SHADOW) & ~(CPU_CR8_LOAD_EXITING | CPU_CR8_STORE_EXITING);
	*proc2 |= APICV_PROC2;
	v->apic_access_on = true;
	vmwrite(VIRTUAL_APIC_PAGE_ADDR, v->lapic->regs_pa);
	vmwrite(APIC_ACCESS_ADDR, access);
	vmwrite(TPR_THRESHOLD, 0);
	for (unsigned int i = 0; i < 4; i++)
		vmwrite(EOI_EXIT_BITMAP0 + 2 * i, 0);
	memset(v->eoi_exit, 0, sizeof(v->eoi_exit));
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

void apicv_before_entry(struct vcpu *v)
{
	struct vlapic *l = v->lapic;
	int rvi, svi;
	uint16_t status;
	uint64_t tmr[4];
	bool xapic = lapic_xapic_mmio(v) &&
		     (v->lapic->apic_base & ~0xfffULL) == GUEST_LAPIC_BASE;

	/* A relocated, disabled or x2APIC local APIC: the page goes, for the whole guest. */
	if (!xapic && !READ_ONCE(v->vm->apic_page_off))
		stop_apic_page(v->vm);
	xapic = xapic && !READ_ONCE(v->vm->apic_page_off);
	lapic_sync_posted(v);
	/*
	 * RVI: the highest requested vector, which the CPU delivers when the
	 * guest can take it; nothing while the APIC is software-disabled, which
	 * the CPU does not look at.  SVI: the highest in service.
	 */
	rvi = lapic_sw_enabled(v) ? lapic_highest_irr(l) : -1;
	svi = lapic_highest_isr(l);
	/* Always written: the CPU moves RVI and SVI itself as it delivers and retires. */
	status = (uint16_t)((rvi < 0 ? 0 : rvi) | (svi < 0 ? 0 : svi) << 8);
	vmwrite(GUEST_INTR_STATUS, status);
	v->entry_svi = (uint8_t)(status >> 8);
	/* Level-triggered vectors end with an exit, for the I/O APIC's Remote IRR. */
	lapic_get_tmr(l, tmr);
	for (unsigned int i = 0; i < 4; i++) {
		if (tmr[i] != v->eoi_exit[i]) {
			vmwrite(EOI_EXIT_BITMAP0 + 2 * i, tmr[i]);
			v->eoi_exit[i] = tmr[i];
		}
	}
	/* In x2APIC mode, disabled or moved, the xAPIC page is not the APIC's (SDM 29.5). */
	if (xapic != v->apic_access_on) {
		uint32_t proc2 = (uint32_t)vmread(SECONDARY_VM_EXEC_CONTROL);

		vmwrite(SECONDARY_VM_EXEC_CONTROL, xapic ? proc2 | SEC_VIRT_APIC_ACCESSES :
							   proc2 & ~SEC_VIRT_APIC_ACCESSES);
		v->apic_access_on = xapic;
	}
}

/*
 * Bochs's VT-x, known by the VMCS revision its sources pick to be unique
 * (0x2B): its IDT-vectoring information is stale after an exit during the
 * delivery of a virtual interrupt (docs/guest-platform.md).
 */
#define VMCS_REVISION_BOCHS	0x2b

static bool stale_idt_vectoring(void)
{
	return (vmx_caps.basic & 0x7fffffff) == VMCS_REVISION_BOCHS;
}

/*
 * Virtual-interrupt delivery of V sets SVI to V before the IDT is read
 * (SDM 29.2.2); an exit during it reports an external interrupt with vector
 * V (SDM 27.2.4), and V is still SVI.  Bochs 2.7 records nothing for this
 * delivery (VMX_Deliver_Virtual_Interrupt() never calls VMexit_Event()) and
 * reports the last event it did record, of any type and vector, which
 * re-injected would be a stale fault or NMI, with V stuck in service.
 * There, the delivery was V's when a virtual interrupt came in this run
 * (SVI moved: a delivery raises it above what was in service) and the
 * interrupted context could take it (RFLAGS.IF, which the cut-short
 * delivery did not clear).  A recorded event in delivery looks the same
 * only inside a handler that set IF before its EOI and then faulted: not
 * Linux, and only under Bochs.  The CPUs the SDM describes report V: theirs
 * is taken as is.
 */
uint32_t apicv_idt_vectoring(struct vcpu *v, uint32_t idt)
{
	uint8_t svi;

	if (!v->apicv || !stale_idt_vectoring())
		return idt;
	svi = (uint8_t)(vmread(GUEST_INTR_STATUS) >> 8);
	if (!svi || svi == v->entry_svi || !(vmread(GUEST_RFLAGS) & RFLAGS_IF))
		return idt;
	if (((idt >> 8) & 7) != 0)	/* a fault, NMI or software event: Bochs's stale one */
		v->stale_idt_fixed++;
	return INTR_INFO_VALID | INTR_TYPE_EXT_INTR | svi;
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
