/* SPDX-License-Identifier: MIT */
/*
 * Emulated devices register themselves (after Jailhouse's DEFINE_UNIT): each
 * gives hooks that the guest lifecycle calls for every guest, so neither the
 * lifecycle nor the exit path names a device.  Units live in a linker
 * section (.vdev_units, see linker.ld) and run in the order of their names.
 */
#ifndef HV_CORE_UNIT_H
#define HV_CORE_UNIT_H

struct vcpu;
struct vm;

struct vdev_unit {
	const char *name;
	/* Attach to a new guest: point its state at the device's, register ports and MMIO. */
	int (*vm_create)(struct vm *vm);
	/* The power-on state, at each start of the guest (and a guest's reset). */
	void (*vm_reset)(struct vm *vm);
	/* A vCPU's own part of the device (the local APIC), at each start. */
	void (*vcpu_reset)(struct vcpu *v);
	/* Push out what is buffered (the UART's unfinished line) before the guest is reported on. */
	void (*vm_flush)(struct vm *vm);
	/*
	 * The guest ended (its vCPUs are off; its memory goes next): drop what
	 * the device holds for this run.  vm->restart_request says whether the
	 * guest reset itself and starts again (a disk keeps its writes then).
	 */
	void (*vm_release)(struct vm *vm);
};

#define DEFINE_VDEV_UNIT(n, ...)						\
	static const struct vdev_unit __vdev_unit_##n				\
	__attribute__((used, section(".vdev_units." #n), aligned(8))) =	\
		{ .name = #n, __VA_ARGS__ }

extern const struct vdev_unit __vdev_units_start[], __vdev_units_end[];

#define for_each_vdev_unit(u)							\
	for ((u) = __vdev_units_start; (u) < __vdev_units_end; (u)++)

/* Each unit's hook, for the lifecycle; vm_units_create() returns -1 if a unit refused. */
int vm_units_create(struct vm *vm);
void vm_units_reset(struct vm *vm);
void vcpu_units_reset(struct vcpu *v);
void vm_units_flush(struct vm *vm);
void vm_units_release(struct vm *vm);

#endif
