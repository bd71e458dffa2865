/* SPDX-License-Identifier: MIT */
/* Walking the registered device units (hv/core/unit.h). */
#include "hv/core/unit.h"
#include "hv/core/vm.h"
#include "lib/printk.h"

int vm_units_create(struct vm *vm)
{
	const struct vdev_unit *u;

	for_each_vdev_unit(u) {
		if (u->vm_create && u->vm_create(vm)) {
			pr_err("guest %s: device %s cannot attach\n", vm->cfg.name, u->name);
			return -1;
		}
	}
	return 0;
}

void vm_units_reset(struct vm *vm)
{
	const struct vdev_unit *u;

	for_each_vdev_unit(u)
		if (u->vm_reset)
			u->vm_reset(vm);
}

void vcpu_units_reset(struct vcpu *v)
{
	const struct vdev_unit *u;

	for_each_vdev_unit(u)
		if (u->vcpu_reset)
			u->vcpu_reset(v);
}

void vm_units_flush(struct vm *vm)
{
	const struct vdev_unit *u;

	for_each_vdev_unit(u)
		if (u->vm_flush)
			u->vm_flush(vm);
}

void vm_units_release(struct vm *vm)
{
	const struct vdev_unit *u;

	for_each_vdev_unit(u)
		if (u->vm_release)
			u->vm_release(vm);
}
