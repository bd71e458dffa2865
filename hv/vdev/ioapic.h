/* SPDX-License-Identifier: MIT */
/*
 * The guest's I/O APIC (one per guest, vm->ioapic): the interrupt lines of
 * the devices, routed to the local APICs.  The lapic <-> ioapic pair is the
 * one loop in hv/vdev: a level-triggered vector's EOI at the local APIC
 * clears Remote IRR here, and a pin fires into the local APICs.
 */
#ifndef HV_VDEV_IOAPIC_H
#define HV_VDEV_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* An ISA/GSI line changes level (edge pins fire on 0 -> 1); from any CPU. */
void ioapic_set_irq(struct vm *vm, unsigned int pin, bool level);
/* The local APIC's EOI of a level-triggered @vector. */
void ioapic_eoi(struct vm *vm, uint8_t vector);

#endif
