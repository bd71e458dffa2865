/* SPDX-License-Identifier: MIT */
/*
 * Requests instead of calls upward (KVM's kvm_make_request()).  Whatever
 * finds that a guest must end (an exit handler, a device, the memory code)
 * records why and sets a request; the vCPU loop (hv/vmx/vcpu.c) acts on it
 * before its next entry, and the lifecycle (hv/guest/) reaps the guest.
 */
#ifndef HV_CORE_REQUEST_H
#define HV_CORE_REQUEST_H

#include <stdbool.h>

#include "hv/core/vm.h"
#include "smp/atomic.h"

enum vcpu_request {
	VCPU_REQ_DUMP,		/* guest_fail() on this vCPU: print its state, VMCS loaded */
	VCPU_REQ_DEBUG,		/* the debugger wants a pause, a resume or a step (hv/vmx/debug.h) */
};

/* Any CPU; a request for a running vCPU also needs vcpu_kick(). */
static inline void vcpu_make_request(struct vcpu *v, enum vcpu_request req)
{
	__atomic_fetch_or(&v->requests, 1UL << req, __ATOMIC_RELEASE);
}

/* The vCPU's own CPU: take @req if set. */
static inline bool vcpu_check_request(struct vcpu *v, enum vcpu_request req)
{
	if (!(READ_ONCE(v->requests) & (1UL << req)))
		return false;
	/* Acquire pairs with the release in vcpu_make_request(). */
	__atomic_fetch_and(&v->requests, ~(1UL << req), __ATOMIC_ACQUIRE);
	return true;
}

/* Make @cpu leave guest mode or HLT soon (an IPI; nothing when it is this CPU). */
void cpu_kick(unsigned int cpu);
void vcpu_kick(struct vcpu *v);
void vm_kick_all(struct vm *vm);

/*
 * Ending a guest from one of its vCPUs (on that vCPU's CPU): every vCPU
 * leaves at its next exit, the hypervisor and other guests go on.
 */
/* Stop the guest for a reason; the vCPU's state is dumped before it leaves. */
void guest_fail(struct vcpu *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The debug-exit port or the exit hypercall. */
void guest_exit(struct vcpu *v, int status);
/* ACPI S5 from the guest: it ends with status 0. */
void vm_guest_poweroff(struct vcpu *v);
/* A reset from the guest: it ends and the shell's loop starts it again. */
void vm_guest_reset(struct vcpu *v, const char *how);
/* A failure outside any vCPU (no VMCS to dump), from any CPU. */
void vm_fail_nodump(struct vm *vm, const char *reason);

/* Has the guest been told to stop (its vCPUs leave at their next chance)? */
static inline bool vm_stopping(const struct vm *vm)
{
	return READ_ONCE(vm->stop_request);
}

#endif
