/* SPDX-License-Identifier: MIT */
/*
 * Interrupts between local APICs: destination matching (physical, flat and
 * cluster logical, x2APIC cluster), the ICR's delivery modes and shorthands,
 * and INIT/SIPI, which the target's CPU applies (see hv/vdev/lapic.h for who
 * touches what).
 */
#include "hv/core/request.h"
#include "hv/core/vm.h"
#include "hv/vdev/lapic_regs.h"

static bool dest_match(struct vcpu *t, uint32_t dest, bool logical)
{
	const struct vlapic *l = t->lapic;
	bool x2 = x2apic_mode(l);
	uint32_t ldr = reg_get(l, APIC_LDR);

	if (!logical)
		return dest == (x2 ? 0xffffffffu : 0xffu) || dest == l->id;
	if (x2)
		return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff);
	dest &= 0xff;
	if (dest == 0xff)
		return true;
	if ((reg_get(l, APIC_DFR) >> 28) == 0xf)	/* flat */
		return (ldr >> 24) & dest;
	return (dest >> 4) == (ldr >> 28) && (dest & (ldr >> 24) & 0xf);	/* cluster */
}

static void deliver_one(struct vcpu *t, uint32_t mode, uint8_t vector, bool level)
{
	switch (mode) {
	case ICR_FIXED:
	case ICR_LOWEST:
		lapic_set_irq(t, vector, level);
		break;
	case ICR_NMI:
		/* Ordered before the kick's ICR write, as for IRR (seq-cst RMW). */
		__atomic_fetch_add(&t->nmi_queued, 1, __ATOMIC_SEQ_CST);
		vcpu_kick(t);
		break;
	case ICR_INIT:
		store_release(&t->lapic->init_pending, true);
		vcpu_kick(t);
		break;
	case ICR_SIPI:
		/* Only a CPU waiting for SIPI takes it; the second SIPI of the pair is dropped. */
		if ((READ_ONCE(t->wait_sipi) || load_acquire(&t->lapic->init_pending)) &&
		    READ_ONCE(t->lapic->sipi_vector) < 0) {
			store_release(&t->lapic->sipi_vector, (int)vector);
			vcpu_kick(t);
		}
		break;
	default:
		break;		/* SMI and the rest: no such thing here */
	}
}

void lapic_deliver(struct vm *vm, uint32_t dest, bool logical, uint32_t mode, uint8_t vector,
		   bool level)
{
	for (unsigned int i = 0; i < vm->cfg.vcpus; i++) {
		struct vcpu *t = &vm->vcpus[i];

		if (!dest_match(t, dest, logical))
			continue;
		deliver_one(t, mode, vector, level);
		if (mode == ICR_LOWEST)
			break;		/* lowest priority: the first match will do */
	}
}

void lapic_send_ipi(struct vcpu *v, uint32_t lo, uint32_t dest)
{
	struct vm *vm = v->vm;
	uint32_t mode = ICR_MODE(lo), shorthand = (lo >> 18) & 3;
	uint8_t vector = lo & 0xff;
	bool level = lo & ICR_LEVEL;

	/*
	 * INIT level de-assert (level 0, trigger level) does nothing on modern
	 * CPUs; any other INIT is an INIT, whatever the level bit says: it is
	 * always issued as assert (SDM 10.6.1).
	 */
	if (mode == ICR_INIT && !(lo & ICR_ASSERT) && (lo & ICR_LEVEL))
		return;
	if ((mode == ICR_FIXED || mode == ICR_LOWEST) && vector < 16)
		__atomic_fetch_or(&v->lapic->esr_pending, 1u << 5, __ATOMIC_RELAXED);	/* send illegal */
	switch (shorthand) {
	case 0:
		lapic_deliver(vm, dest, lo & ICR_LOGICAL, mode, vector, level);
		break;
	case 1:
		deliver_one(v, mode, vector, level);
		break;
	default:
		for (unsigned int i = 0; i < vm->cfg.vcpus; i++)
			if (shorthand == 2 || &vm->vcpus[i] != v)
				deliver_one(&vm->vcpus[i], mode, vector, level);
	}
}

/* The owner applies posted INIT and SIPI; true when v must (re)start in real mode. */
bool lapic_take_init_sipi(struct vcpu *v, int *vector)
{
	struct vlapic *l = v->lapic;

	if (load_acquire(&l->init_pending)) {
		WRITE_ONCE(l->init_pending, false);
		/*
		 * After INIT an AP waits for a SIPI, but the BSP starts at the
		 * reset vector (SDM 8.4.1, 9.1.4), where the firmware would be.
		 * There is none here: the guest restarts from its image, as for
		 * its reset register.
		 */
		if (l->apic_base & APIC_BASE_BSP) {
			vm_guest_reset(v, "INIT to the BSP");
			return false;
		}
		lapic_init_reset(v);
		WRITE_ONCE(v->wait_sipi, true);
		v->halted = false;
	}
	if (READ_ONCE(v->wait_sipi) && load_acquire(&l->sipi_vector) >= 0) {
		*vector = l->sipi_vector;
		WRITE_ONCE(v->wait_sipi, false);
		WRITE_ONCE(l->sipi_vector, -1);
		return true;
	}
	return false;
}
