/* SPDX-License-Identifier: MIT */
/* The guest table: creating a guest and finding it (see hv/core/vm.h). */
#include "hv/core/unit.h"
#include "hv/core/vm.h"
#include "lib/string.h"

struct vm vms[VM_MAX];
/* Serialises lifecycle changes (create, start, stop, end) of every guest. */
spinlock_t vm_lock = SPINLOCK_INIT_ORDER(LOCK_ORDER_VM);

static const char *const state_names[] = {
	[VM_EMPTY] = "empty", [VM_STOPPED] = "stopped", [VM_RUNNING] = "running",
	[VM_EXITED] = "exited", [VM_FAILED] = "failed",
};

const char *vm_state_name(int state)
{
	return state >= 0 && state <= VM_FAILED ? state_names[state] : "?";
}

struct vm *vm_find(const char *name)
{
	for (int i = 0; i < VM_MAX; i++)
		if (vms[i].state != VM_EMPTY && !strcmp(vms[i].cfg.name, name))
			return &vms[i];
	return NULL;
}

int vm_create(const struct guest_config *cfg)
{
	for (int i = 0; i < VM_MAX; i++) {
		struct vm *vm = &vms[i];

		if (vm->state != VM_EMPTY)
			continue;
		memset(vm, 0, sizeof(*vm));
		vm->id = i;
		vm->cfg = *cfg;
		for (unsigned int v = 0; v < VCPU_MAX; v++) {
			vm->vcpus[v].vm = vm;
			vm->vcpus[v].id = v;
		}
		if (vm_units_create(vm))
			return -1;
		vm->state = VM_STOPPED;
		return i;
	}
	return -1;
}

