/* SPDX-License-Identifier: MIT */
/*
 * The guest's I/O APIC at GUEST_IOAPIC_BASE: IOREGSEL at +0x00, IOWIN at
 * +0x10, 24 redirection entries.  ISA IRQs map to pins one to one (the MADT
 * overrides IRQ 0 to GSI 2).  Edge pins fire on a rising level; a level pin
 * keeps Remote IRR set until the guest's EOI for its vector.
 */
#include "hv/core/guest_boot.h"
#include "hv/core/unit.h"
#include "hv/core/vm.h"
#include "hv/vdev/ioapic.h"
#include "hv/vdev/lapic.h"
#include "lib/string.h"
#include "smp/lockdep.h"

#define IOAPIC_ID	0x00
#define IOAPIC_VER	0x01
#define IOAPIC_ARB	0x02
#define IOAPIC_REDIR	0x10

#define RTE_MASKED	(1ULL << 16)
#define RTE_LEVEL	(1ULL << 15)
#define RTE_REMOTE_IRR	(1ULL << 14)
#define RTE_LOGICAL	(1ULL << 11)
/* Writable: vector, delivery mode, dest mode, polarity, trigger, mask, destination. */
#define RTE_WRITABLE	(0xff00000000000fffULL | RTE_LEVEL | RTE_MASKED | (1ULL << 13))

struct vioapic {
	/*
	 * Everything below.  Taken from any vCPU (MMIO, EOI) and from device
	 * interrupts (the UART's lock nests outside it); it nests outside the
	 * local APICs' IRR updates, which take no lock.
	 */
	spinlock_t lock;
	uint32_t sel, id;
	uint64_t redir[GUEST_IOAPIC_PINS];
	uint32_t pin_level;		/* asserted level-triggered pins */
};

static struct vioapic ioapics[VM_MAX];

static void ioapic_reset(struct vm *vm)
{
	struct vioapic *io = vm->ioapic;

	io->sel = 0;
	io->id = vm->cfg.vcpus;		/* after the local APIC IDs, as the MADT says */
	io->pin_level = 0;
	for (int i = 0; i < GUEST_IOAPIC_PINS; i++)
		io->redir[i] = RTE_MASKED;
}

/* Deliver pin's entry; the caller holds io->lock. */
static void fire(struct vm *vm, unsigned int pin)
{
	struct vioapic *io = vm->ioapic;
	uint64_t rte = io->redir[pin];
	uint32_t mode = (uint32_t)rte & 0x700;

	lockdep_assert_held(&io->lock);
	if (rte & RTE_MASKED)
		return;
	if (rte & RTE_LEVEL) {
		if (rte & RTE_REMOTE_IRR)
			return;		/* the last one is still in service */
		io->redir[pin] |= RTE_REMOTE_IRR;
	}
	/* Fixed and lowest-priority only: ExtINT/NMI/SMI have no source here. */
	if (mode == 0x000 || mode == 0x100)
		lapic_deliver(vm, (uint32_t)(rte >> 56), rte & RTE_LOGICAL, mode,
			      (uint8_t)rte, rte & RTE_LEVEL);
}

void ioapic_set_irq(struct vm *vm, unsigned int pin, bool level)
{
	struct vioapic *io = vm->ioapic;
	uint32_t bit = 1u << pin;
	bool was;

	if (pin >= GUEST_IOAPIC_PINS)
		return;
	spin_lock(&io->lock);
	was = io->pin_level & bit;
	io->pin_level = level ? io->pin_level | bit : io->pin_level & ~bit;
	if (level && (!was || (io->redir[pin] & RTE_LEVEL)))
		fire(vm, pin);
	spin_unlock(&io->lock);
}

void ioapic_eoi(struct vm *vm, uint8_t vector)
{
	struct vioapic *io = vm->ioapic;

	spin_lock(&io->lock);
	for (unsigned int pin = 0; pin < GUEST_IOAPIC_PINS; pin++) {
		uint64_t rte = io->redir[pin];

		if ((uint8_t)rte != vector || !(rte & RTE_REMOTE_IRR))
			continue;
		io->redir[pin] &= ~RTE_REMOTE_IRR;
		/* Still asserted: the device wants another interrupt. */
		if (io->pin_level & (1u << pin))
			fire(vm, pin);
	}
	spin_unlock(&io->lock);
}

static uint32_t reg_read(struct vioapic *io)
{
	uint32_t r = io->sel;

	switch (r) {
	case IOAPIC_ID:
	case IOAPIC_ARB:
		return (io->id & 0xf) << 24;
	case IOAPIC_VER:
		return 0x11 | ((GUEST_IOAPIC_PINS - 1) << 16);	/* 82093AA: no EOI register */
	default:
		if (r >= IOAPIC_REDIR && r < IOAPIC_REDIR + 2 * GUEST_IOAPIC_PINS) {
			uint64_t rte = io->redir[(r - IOAPIC_REDIR) / 2];

			return r & 1 ? (uint32_t)(rte >> 32) : (uint32_t)rte;
		}
		return 0xffffffffu;
	}
}

static void reg_write(struct vm *vm, uint32_t val)
{
	struct vioapic *io = vm->ioapic;
	uint32_t r = io->sel;
	unsigned int pin;
	uint64_t rte;

	if (r == IOAPIC_ID) {
		io->id = (val >> 24) & 0xf;
		return;
	}
	if (r < IOAPIC_REDIR || r >= IOAPIC_REDIR + 2 * GUEST_IOAPIC_PINS)
		return;
	pin = (r - IOAPIC_REDIR) / 2;
	rte = io->redir[pin];
	if (r & 1)
		rte = (rte & 0xffffffffULL) | ((uint64_t)val << 32);
	else
		rte = (rte & ~0xffffffffULL) | val;
	io->redir[pin] = (rte & RTE_WRITABLE) | (io->redir[pin] & RTE_REMOTE_IRR);
	/* Unmasking a level pin that is still asserted delivers it now. */
	if ((io->redir[pin] & RTE_LEVEL) && !(io->redir[pin] & RTE_MASKED) &&
	    (io->pin_level & (1u << pin)))
		fire(vm, pin);
}

static uint64_t ioapic_mmio_read(struct vcpu *v, uint64_t off, unsigned int size)
{
	struct vioapic *io = v->vm->ioapic;
	uint32_t val = 0;

	(void)size;
	off &= 0xff;
	spin_lock(&io->lock);
	if (off == 0x00)
		val = io->sel;
	else if (off == 0x10)
		val = reg_read(io);
	spin_unlock(&io->lock);
	return val;
}

static void ioapic_mmio_write(struct vcpu *v, uint64_t off, unsigned int size, uint64_t val)
{
	struct vioapic *io = v->vm->ioapic;

	(void)size;
	off &= 0xff;
	spin_lock(&io->lock);
	if (off == 0x00)
		io->sel = val & 0xff;
	else if (off == 0x10)
		reg_write(v->vm, (uint32_t)val);
	spin_unlock(&io->lock);
}

static const struct mmio_ops ioapic_mmio = {
	.read = ioapic_mmio_read,
	.write = ioapic_mmio_write,
};

static int ioapic_attach(struct vm *vm)
{
	vm->ioapic = &ioapics[vm->id];
	memset(vm->ioapic, 0, sizeof(*vm->ioapic));
	spin_lock_init_order(&vm->ioapic->lock, LOCK_ORDER_IOAPIC);
	return vm_register_mmio(vm, GUEST_IOAPIC_BASE, 0x1000, &ioapic_mmio);
}

DEFINE_VDEV_UNIT(ioapic, .vm_create = ioapic_attach, .vm_reset = ioapic_reset);
