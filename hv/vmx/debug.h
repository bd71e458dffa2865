/* SPDX-License-Identifier: MIT */
/*
 * A debugger's hold on a guest's vCPUs (hv/vmx/debug.c), for the GDB stub
 * (hv/gdb/): all-stop pauses, a snapshot of the registers while paused,
 * INT3 and debug-register breakpoints (#BP and #DB intercepted, the guest's
 * own DR0-7 kept aside behind MOV-DR exits) and single steps by the monitor
 * trap flag (or RFLAGS.TF without it) with interrupts held off.
 *
 * The handshake, per vCPU: the debugger writes what it wants (registers,
 * then cmd with release) and makes VCPU_REQ_DEBUG with a kick; the vCPU's
 * CPU acts at the top of its run loop, on its own VMCS, and publishes
 * `paused` with release after its snapshot.  A vCPU that hits a breakpoint
 * or ends a step sets cmd to DBG_PAUSE itself and pauses; the debugger sees
 * a vCPU paused with DBG_PAUSE it did not ask for and stops the others.
 * The debugger changes a guest's breakpoints only while every vCPU is
 * paused, so the vCPUs read them without a lock.
 */
#ifndef HV_VMX_DEBUG_H
#define HV_VMX_DEBUG_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/core/request.h"
#include "hv/core/vm.h"

#define DBG_MAX_BREAKS	64

enum vcpu_dbg_cmd { DBG_RUN, DBG_STEP, DBG_PAUSE };

/* Why a vCPU paused. */
enum vcpu_dbg_stop {
	DBG_STOP_NONE,		/* asked to (attach, all-stop, Ctrl-C) */
	DBG_STOP_BREAK,		/* one of the debugger's INT3s; RIP is at it */
	DBG_STOP_HW,		/* a debug register of the debugger matched: stop_slot */
	DBG_STOP_STEP,		/* a single step ended */
};

enum vcpu_dbg_hw { DBG_HW_EXEC, DBG_HW_WRITE, DBG_HW_ACCESS };

/* What the debugger reads and may write while the vCPU is paused. */
struct vcpu_dbg_regs {
	uint64_t gpr[16];		/* RAX..R15, the CPU's order */
	uint64_t rip, rflags;
	uint64_t sel[6], base[6];	/* ES, CS, SS, DS, FS, GS */
	uint64_t cs_ar;
	uint64_t cr0, cr2, cr3, cr4, efer, kernel_gs_base;
	uint64_t pdpte[4];		/* PAE paging: the PDPTEs the CPU holds */
};

struct vcpu_debug {
	/* Written by the debugger while the vCPU is paused; cmd last, with release. */
	int cmd;			/* enum vcpu_dbg_cmd; the vCPU sets DBG_PAUSE itself too */
	bool step_irqs;			/* let interrupts in during a step */
	bool regs_dirty;		/* regs (and the FXSAVE image v->fx) changed */
	struct vcpu_dbg_regs regs;	/* valid while paused */
	/* Written by the vCPU's CPU before paused is published. */
	int paused;
	int stop;			/* enum vcpu_dbg_stop */
	unsigned int stop_slot;
	bool halted;			/* in HLT or waiting for SIPI when it paused */
	bool valid;			/* regs hold a snapshot (a vCPU that ended never paused) */
	/* The vCPU's CPU only. */
	bool held, applied, stepping, step_hit;
	bool step_tf, guest_tf;		/* stepping by RFLAGS.TF; the guest's own TF */
	int event;			/* a stop an exit handler found, for the next pause */
	unsigned int event_slot;
	uint64_t step_rip;
	/* The control bits attach changed, as they were. */
	uint32_t saved_exc, saved_proc, saved_entry, saved_exit;
	uint64_t guest_dr[4], guest_dr6, guest_dr7;	/* the guest's own while attached */
};

/* A guest's breakpoints; changed only while all its vCPUs are paused. */
struct vm_debug {
	bool attached;
	uint64_t dr[4], dr7;		/* the debugger's debug registers */
	uint64_t breaks[DBG_MAX_BREAKS];	/* linear addresses of its INT3s */
	unsigned int nbreaks;
};

/* ---- the debugger's side: the shell's CPU ---- */

/* Take @vm: fresh state, #BP/#DB/MOV-DR intercepted at each vCPU's resume, all paused. */
void vm_debug_attach(struct vm *vm);
/* Ask every vCPU to pause (those paused already stay). */
void vm_debug_pause_all(struct vm *vm);
/*
 * Has every vCPU published its pause (or ended: a vCPU halted with interrupts
 * off never comes back)?  Registers and stop reasons are then valid.
 */
bool vm_debug_all_paused(struct vm *vm);
/* The vCPU's state; valid fields per the rules above. */
struct vcpu_debug *vcpu_debug(struct vcpu *v);
struct vm_debug *vm_debug(struct vm *vm);
/* Let a paused vCPU go on (DBG_RUN) or execute one instruction (DBG_STEP). */
void vcpu_debug_resume(struct vcpu *v, enum vcpu_dbg_cmd cmd);
/* The debugger's INT3 at linear @la; -1 when the table is full. */
int vm_debug_set_break(struct vm *vm, uint64_t la, bool insert);
/* A debug-register breakpoint or watchpoint; -1: bad length or alignment, or no register. */
int vm_debug_set_hw(struct vm *vm, enum vcpu_dbg_hw kind, uint64_t addr, unsigned int len,
		    bool insert);
/* Debug register @slot as set: its kind and address; -1 when unused. */
int vm_debug_hw_slot(struct vm *vm, unsigned int slot, enum vcpu_dbg_hw *kind, uint64_t *addr);
/* Whether this CPU has the monitor trap flag (else steps use RFLAGS.TF and #DB). */
bool vmx_debug_can_step(void);
/* Let go: the guest's own debug state back, every vCPU resumed. */
void vm_debug_detach(struct vm *vm);

/* ---- the vCPU's side: its CPU, VMCS current (hv/vmx/ only) ---- */

bool vmx_debug_hold_slow(struct vcpu *v);

/* At the top of the run loop: true while the debugger holds v (leave the slice). */
static inline bool vmx_debug_hold(struct vcpu *v)
{
	return v->debug && vmx_debug_hold_slow(v);
}

/* During a step: no interrupt or NMI goes in, so `stepi` stays in the code stepped. */
static inline bool vmx_debug_events_held(const struct vcpu *v)
{
	return v->debug && v->debug->stepping && !v->debug->step_irqs;
}

/* #BP and #DB exits while attached: 0 handled; -1 not the debugger's (an NMI). */
int vmx_debug_exception(struct vcpu *v);
/* MOV to or from a debug register, intercepted while attached. */
int vmx_debug_dr_exit(struct vcpu *v);
/* The monitor trap flag's exit: the step's instruction is done. */
int vmx_debug_mtf_exit(struct vcpu *v);

/*
 * For the scheduler, on v's own CPU: 1 run it (the debugger asked for
 * something), -1 do not (held), 0 no say.
 */
static inline int vcpu_debug_sched(struct vcpu *v)
{
	if (!v->debug)
		return 0;
	/* Acquire pairs with the release in vcpu_make_request(): the debugger's writes first. */
	if (__atomic_load_n(&v->requests, __ATOMIC_ACQUIRE) & (1UL << VCPU_REQ_DEBUG))
		return 1;
	return v->debug->held ? -1 : 0;
}

#endif
