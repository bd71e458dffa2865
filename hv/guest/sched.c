/* SPDX-License-Identifier: MIT */
/*
 * vCPUs on physical CPUs.  Each CPU other than CPU 0 (the shell's) runs the
 * vCPUs pinned to it round-robin, a time slice each (the VMX preemption
 * timer ends a slice), and halts when none is runnable.  A run queue is
 * changed by the shell (add) and by its own CPU (remove), under its lock.
 */
#include "hv/core/request.h"
#include "hv/core/vm.h"
#include "hv/cpu/trap.h"
#include "hv/guest/sched.h"
#include "hv/lib/x86.h"
#include "hv/mm/gmem.h"
#include "hv/vdev/lapic.h"
#include "hv/vmx/debug.h"
#include "hv/vmx/vmx.h"
#include "lib/printk.h"
#include "smp/apic.h"
#include "smp/grace.h"
#include "smp/percpu.h"

#define RQ_MAX		16

struct run_queue {
	spinlock_t lock;
	unsigned int n, next;
	struct vcpu *v[RQ_MAX];
	struct vcpu *last;		/* whose syscall MSRs and DR0-DR3/DR6 are in the hardware */
	uint64_t armed;			/* its CPU only: the host APIC timer's deadline; 0: off */
};

static struct run_queue rqs[SMP_MAX_CPUS] = {
	[0 ... SMP_MAX_CPUS - 1] = { .lock = SPINLOCK_INIT_ORDER(LOCK_ORDER_RUNQUEUE) },
};

void sched_add(struct vcpu *v)
{
	struct run_queue *rq = &rqs[v->cpu];

	spin_lock(&rq->lock);
	if (rq->n < RQ_MAX)
		rq->v[rq->n++] = v;
	spin_unlock(&rq->lock);
	vcpu_kick(v);
}

static void kick_handler(struct trap_frame *tf)
{
	(void)tf;
}

void sched_init(void)
{
	trap_set_handler(VEC_KICK, kick_handler);
	trap_set_handler(VEC_TIMER, kick_handler);	/* the wake-up is the point */
}

/* Has v something to do?  Its own CPU only (the timer state is the owner's). */
static bool vcpu_ready(struct vcpu *v)
{
	int dbg = vcpu_debug_sched(v);

	if (dbg)
		return dbg > 0;
	if (READ_ONCE(v->lapic->init_pending))
		return true;
	if (READ_ONCE(v->wait_sipi))
		return READ_ONCE(v->lapic->sipi_vector) >= 0;
	if (v->halted)
		return lapic_has_wakeup(v);
	return true;
}

static struct vcpu *pick(struct run_queue *rq)
{
	struct vcpu *v = NULL;

	spin_lock(&rq->lock);
	for (unsigned int i = 0; i < rq->n; i++) {
		struct vcpu *c = rq->v[(rq->next + i) % rq->n];

		if ((READ_ONCE(c->state) == VCPU_RUNNABLE && vcpu_ready(c)) ||
		    READ_ONCE(c->vm->stop_request)) {
			v = c;
			rq->next = (rq->next + i + 1) % rq->n;
			break;
		}
	}
	spin_unlock(&rq->lock);
	return v;
}

/* The earliest guest timer among this CPU's halted vCPUs; 0: none. */
static uint64_t next_wakeup(struct run_queue *rq)
{
	uint64_t first = 0;

	spin_lock(&rq->lock);
	for (unsigned int i = 0; i < rq->n; i++) {
		struct vcpu *v = rq->v[i];
		uint64_t d = v->halted && v->halt_if && vcpu_debug_sched(v) >= 0 ?
			     lapic_next_deadline(v) : 0;

		if (d && (!first || d < first))
			first = d;
	}
	spin_unlock(&rq->lock);
	return first;
}

static void remove(struct run_queue *rq, struct vcpu *v)
{
	/* Its EPT root goes before the guest can be torn down. */
	gmem_vcpu_put_root(v);
	spin_lock(&rq->lock);
	for (unsigned int i = 0; i < rq->n; i++) {
		if (rq->v[i] == v) {
			rq->v[i] = rq->v[--rq->n];
			break;
		}
	}
	if (rq->last == v)
		rq->last = NULL;
	spin_unlock(&rq->lock);
	/* Pairs with the acquire in vm_stop(): the vCPU is off this CPU for good. */
	store_release(&v->state, VCPU_DONE);
}

/*
 * What VMX leaves in the hardware between a vCPU's slices: the syscall MSRs
 * and DR0-DR3/DR6 (only DR7 is in the VMCS, SDM 27.3.1).  The guest writes
 * the debug registers without exits, so the last vCPU's are read back.
 */
static void switch_guest_state(struct run_queue *rq, struct vcpu *v)
{
	struct vcpu *prev = rq->last;

	if (prev == v)
		return;
	if (prev) {	/* the guest's SWAPGS may have changed it since its WRMSR */
		prev->msr_kernel_gs = rdmsr(0xc0000102);
		prev->dr[0] = read_dr0();
		prev->dr[1] = read_dr1();
		prev->dr[2] = read_dr2();
		prev->dr[3] = read_dr3();
		prev->dr6 = read_dr6();
	}
	write_dr0(v->dr[0]);
	write_dr1(v->dr[1]);
	write_dr2(v->dr[2]);
	write_dr3(v->dr[3]);
	write_dr6(v->dr6);
	wrmsr(0xc0000081, v->msr_star);
	wrmsr(0xc0000082, v->msr_lstar);
	wrmsr(0xc0000083, v->msr_cstar);
	wrmsr(0xc0000084, v->msr_fmask);
	wrmsr(0xc0000102, v->msr_kernel_gs);
	rq->last = v;
}

void sched_cpu_loop(void)
{
	struct run_queue *rq = &rqs[smp_processor_id()];
	char err[128];
	uint64_t wake;

	for (;;) {
		struct vcpu *v = pick(rq);

		if (!v) {
			grace_quiescent();
			/*
			 * Interrupts are off since pick(): a kick sent after it stays
			 * pending and ends the HLT at once, so no wake-up is lost.
			 */
			wake = next_wakeup(rq);
			if (wake || rq->armed)	/* no APIC write when idle without timers */
				apic_timer_arm(wake);
			rq->armed = wake;
			__asm__ __volatile__("sti; hlt; cli" ::: "memory");
			continue;
		}
		if (READ_ONCE(v->vm->stop_request) || READ_ONCE(v->state) != VCPU_RUNNABLE) {
			remove(rq, v);
			continue;
		}
		if (!v->loaded && vcpu_setup(v, err, sizeof(err))) {
			pr_err("[%s] vCPU %u cannot start on CPU %u: %s\n", v->vm->cfg.name, v->id,
			       smp_processor_id(), err);
			vm_fail_nodump(v->vm, err);
			remove(rq, v);
			continue;
		}
		switch_guest_state(rq, v);
		vcpu_run_slice(v);
		if (READ_ONCE(v->state) == VCPU_DONE || READ_ONCE(v->vm->stop_request))
			remove(rq, v);
	}
}
