/* SPDX-License-Identifier: MIT */
/*
 * Guest lifecycle.  The shell (CPU 0) starts and stops guests; a guest's
 * vCPUs end it from their own CPUs by request (hv/core/request.h).  Either
 * way the vCPUs leave their run queues before the guest's memory is freed,
 * and no other guest is touched.
 */
#include "hv/core/request.h"
#include "hv/core/unit.h"
#include "hv/core/vm.h"
#include "hv/guest/guest.h"
#include "hv/guest/sched.h"
#include "hv/lib/format.h"
#include "hv/lib/x86.h"
#include "hv/load/load.h"
#include "hv/mm/gmem.h"
#include "hv/vmx/vmx.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "smp/percpu.h"
#include "smp/smp.h"
#include "smp/time.h"

static bool all_vcpus_off(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg.vcpus; i++) {
		int st = load_acquire(&vm->vcpus[i].state);

		if (st != VCPU_DONE && st != VCPU_IDLE)
			return false;
	}
	return true;
}

/* Free what a guest that no longer runs still holds. */
static void vm_reap(struct vm *vm)
{
	if (vm->mem_ready && all_vcpus_off(vm)) {
		vm_units_flush(vm);
		/* Devices first: nothing may reach the guest's memory once it is freed. */
		vm_units_release(vm);
		gmem_destroy(vm);
	}
}

/* The physical CPU of vCPU i: the i-th CPU of the guest's mask, round-robin. */
static int pick_cpu(const struct vm *vm, unsigned int i)
{
	uint64_t mask = vm->cfg.cpu_mask ? vm->cfg.cpu_mask : ~1ULL;
	unsigned int usable[SMP_MAX_CPUS], n = 0;

	mask &= smp_online_mask();
	for (unsigned int c = 0; c < smp_ncpus; c++)
		if (mask & (1ULL << c))
			usable[n++] = c;
	return n ? (int)usable[i % n] : -1;
}

int vm_start(struct vm *vm)
{
	char err[160];

	spin_lock(&vm_lock);
	if (vm->state == VM_RUNNING || !all_vcpus_off(vm)) {
		spin_unlock(&vm_lock);
		pr_info("error: guest %s is already running\n", vm->cfg.name);
		return -1;
	}
	vm->state = VM_STOPPED;
	spin_unlock(&vm_lock);
	vm_reap(vm);

	vm->stop_request = false;
	vm->exit_status = 0;
	vm->fail_reason[0] = 0;
	memset(vm->exit_count, 0, sizeof(vm->exit_count));
	vm->unknown_ports = vm->unknown_msrs = vm->unknown_mmio = 0;
	vm->warm_start = vm->restart_request;
	vm->restart_request = false;
	memset(&vm->boot, 0, sizeof(vm->boot));
	vm->apic_page_off = false;	/* a fresh EPT (gmem_init()): the page may serve again */
	vm_units_reset(vm);
	err[0] = 0;
	if (vmx_global_init(err, sizeof(err)) == 0 && gmem_init(vm, err, sizeof(err)) == 0) {
		if (guest_load_image(vm, err, sizeof(err)) == 0)
			err[0] = 0;
	} else if (!err[0]) {
		hv_snprintf(err, sizeof(err), "cannot set up guest memory");
	}
	for (unsigned int i = 0; !err[0] && i < vm->cfg.vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int cpu = pick_cpu(vm, i);

		if (cpu < 0) {
			hv_snprintf(err, sizeof(err), "no online CPU in its cpus list "
				    "(CPU 0 keeps the shell)");
			break;
		}
		if (v->loaded && v->cpu != (unsigned int)cpu) {
			hv_snprintf(err, sizeof(err), "vCPU %u cannot move from CPU %u to CPU %d",
				    i, v->cpu, cpu);
			break;
		}
		v->vm = vm;
		v->id = i;
		v->cpu = cpu;
		v->vpid = (uint16_t)(vm->id * VCPU_MAX + i + 1);
		v->loaded = false;
		v->exits = 0;
		v->msr_star = v->msr_lstar = v->msr_cstar = v->msr_fmask = 0;
		v->msr_kernel_gs = v->tsc_aux = v->tsc_offset = v->tsc_adjust = 0;
		memset(v->dr, 0, sizeof(v->dr));
		v->dr6 = DR6_INIT;
		v->halted = v->halt_if = v->intr_window = v->nmi_window = false;
		v->nmi_queued = v->nmi_pending = 0;
		v->requests = 0;
		v->debug = NULL;	/* a debugger attaches to a running guest */
		v->misc_enable = 1;		/* fast strings */
		v->mtrr_def_type = 0xc06;	/* MTRRs and fixed ranges on, WB default */
		vcpu_units_reset(v);
		/* An OS image starts its APs itself with INIT/SIPI, as on hardware. */
		v->wait_sipi = i > 0 && vm->boot.aps_wait_sipi;
	}
	if (err[0]) {
		strncpy(vm->fail_reason, err, sizeof(vm->fail_reason) - 1);
		vm->state = VM_FAILED;
		vm_units_release(vm);
		gmem_destroy(vm);
		pr_err("guest %s refused: %s\n", vm->cfg.name, err);
		return -1;
	}
	vm->start_tsc = rdtsc();
	spin_lock(&vm_lock);
	vm->state = VM_RUNNING;
	spin_unlock(&vm_lock);
	for (unsigned int i = 0; i < vm->cfg.vcpus; i++) {
		store_release(&vm->vcpus[i].state, VCPU_RUNNABLE);
		sched_add(&vm->vcpus[i]);
	}
	pr_info("guest %s started: %u vCPU(s), %llu MiB, %s mode, entry %llx\n", vm->cfg.name,
		vm->cfg.vcpus, (unsigned long long)(vm->cfg.memory >> 20),
		config_mode_name(vm->cfg.mode), (unsigned long long)vm->cfg.entry);
	return 0;
}

int vm_stop(struct vm *vm, const char *why)
{
	uint64_t d = deadline_us(2000000);

	WRITE_ONCE(vm->stop_request, true);
	vm_kick_all(vm);
	while (!all_vcpus_off(vm) && !deadline_passed(d))
		cpu_relax();
	if (!all_vcpus_off(vm)) {
		pr_err("error: guest %s did not stop within 2 s\n", vm->cfg.name);
		return -1;
	}
	spin_lock(&vm_lock);
	if (vm->state == VM_RUNNING)
		vm->state = VM_STOPPED;
	spin_unlock(&vm_lock);
	vm_reap(vm);
	pr_info("guest %s stopped (%s)\n", vm->cfg.name, why);
	return 0;
}

/* The shell's idle poll: free guests that ended by themselves. */
void vm_reap_all(void)
{
	for (int i = 0; i < VM_MAX; i++) {
		struct vm *vm = &vms[i];

		if ((vm->state == VM_EXITED || vm->state == VM_FAILED) && vm->mem_ready)
			vm_reap(vm);
		if (vm->state == VM_EXITED && READ_ONCE(vm->restart_request) && all_vcpus_off(vm))
			vm_start(vm);	/* it takes the request: a warm start */
	}
}
