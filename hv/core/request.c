/* SPDX-License-Identifier: MIT */
/* Ending guests by request, and kicking CPUs (see hv/core/request.h). */
#include <stdarg.h>

#include "hv/core/request.h"
#include "hv/core/unit.h"
#include "hv/cpu/trap.h"
#include "hv/lib/format.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "smp/apic.h"
#include "smp/percpu.h"

void cpu_kick(unsigned int cpu)
{
	if (cpu != smp_processor_id())
		apic_send_fixed(per_cpu(cpu)->apic_id, VEC_KICK);
}

void vcpu_kick(struct vcpu *v)
{
	cpu_kick(v->cpu);
}

void vm_kick_all(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg.vcpus; i++)
		cpu_kick(vm->vcpus[i].cpu);
}

/*
 * End the guest: every vCPU leaves at its next exit; the lifecycle reaps it.
 * The calling vCPU is not marked done here: it still holds its EPT root and
 * may still touch guest memory (its dump, the rest of its exit), and the
 * reaper frees both once all_vcpus_off().  Its scheduler takes it off its
 * CPU on stop_request and marks it done then (hv/guest/sched.c, remove()).
 */
static void vm_end(struct vm *vm, int state)
{
	spin_lock(&vm_lock);
	if (vm->state == VM_RUNNING)
		vm->state = state;
	spin_unlock(&vm_lock);
	WRITE_ONCE(vm->stop_request, true);
	vm_kick_all(vm);
}

void guest_fail(struct vcpu *v, const char *fmt, ...)
{
	struct vm *vm = v->vm;
	va_list ap;

	va_start(ap, fmt);
	hv_vsnprintf(vm->fail_reason, sizeof(vm->fail_reason), fmt, ap);
	va_end(ap);
	/* The guest's own output first: the report follows its last line. */
	vm_units_flush(vm);
	pr_err("guest %s failed: %s\n", vm->cfg.name, vm->fail_reason);
	vcpu_make_request(v, VCPU_REQ_DUMP);
	vm_end(vm, VM_FAILED);
}

void vm_fail_nodump(struct vm *vm, const char *reason)
{
	strncpy(vm->fail_reason, reason, sizeof(vm->fail_reason) - 1);
	pr_err("guest %s failed: %s\n", vm->cfg.name, reason);
	vm_end(vm, VM_FAILED);
}

void guest_exit(struct vcpu *v, int status)
{
	struct vm *vm = v->vm;

	vm_units_flush(vm);
	vm->exit_status = status;
	pr_info("guest %s exited with status %d\n", vm->cfg.name, status);
	vm_end(vm, VM_EXITED);
}

void vm_guest_poweroff(struct vcpu *v)
{
	struct vm *vm = v->vm;

	vm_units_flush(vm);
	vm->exit_status = 0;
	pr_info("guest %s exited with status 0 (powered off: ACPI S5)\n", vm->cfg.name);
	vm_end(vm, VM_EXITED);
}

void vm_guest_reset(struct vcpu *v, const char *how)
{
	struct vm *vm = v->vm;

	vm_units_flush(vm);
	pr_info("guest %s reset itself (%s): restarting\n", vm->cfg.name, how);
	WRITE_ONCE(vm->restart_request, true);
	vm_end(vm, VM_EXITED);
}
