/* SPDX-License-Identifier: MIT */
/*
 * The VMX side of a debugger's hold on a guest (see debug.h for the
 * handshake).  While attached, a vCPU intercepts #BP and #DB through the
 * exception bitmap and MOV DR through MOV-DR exiting: the hardware DR0-3
 * and the VMCS's DR7 hold the debugger's breakpoints, and the guest's own
 * DR0-3, DR6 and DR7 live in struct vcpu_debug until detach puts them back.
 * A step sets the monitor trap flag for one instruction (RFLAGS.TF where the
 * CPU has no MTF); one the hypervisor emulates instead (CPUID, I/O, HLT) ends
 * the step by moving RIP.
 */
#include "hv/cpu/vmx_caps.h"
#include "hv/lib/x86.h"
#include "hv/vmx/debug.h"
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"
#include "lib/string.h"
#include "smp/atomic.h"

#define CPU_MOV_DR_EXITING_BIT	(1u << 23)
#define CPU_MTF_BIT		(1u << 27)
#define ENTRY_LOAD_DEBUG	(1u << 2)	/* DR7 and DEBUGCTL from the VMCS at entry */
#define EXIT_SAVE_DEBUG		(1u << 2)	/* and into it at exit */
#define EXC_DB			(1u << 1)
#define EXC_BP			(1u << 3)
#define MSR_KERNEL_GS_BASE	0xc0000102
#define RFLAGS_TF		(1ULL << 8)
#define DR6_BD			(1ULL << 13)
#define DR6_BS			(1ULL << 14)
#define DR6_FIXED		DR6_INIT
#define DR7_FIXED		0x400ULL
#define DR7_GE			(1ULL << 9)

static struct vm_debug vm_dbg[VM_MAX];
static struct vcpu_debug vcpu_dbg[VM_MAX][VCPU_MAX];

struct vcpu_debug *vcpu_debug(struct vcpu *v)
{
	return &vcpu_dbg[v->vm->id][v->id];
}

struct vm_debug *vm_debug(struct vm *vm)
{
	return &vm_dbg[vm->id];
}

bool vmx_debug_can_step(void)
{
	return (vmx_caps.proc >> 32) & CPU_MTF_BIT;
}

/* ---- the debug registers of this CPU ---- */

static uint64_t read_dr(unsigned int n)
{
	static uint64_t (*const rd[])(void) = { read_dr0, read_dr1, read_dr2, read_dr3 };

	return n < 4 ? rd[n]() : read_dr6();
}

static void write_dr(unsigned int n, uint64_t v)
{
	static void (*const wr[])(uint64_t) = { write_dr0, write_dr1, write_dr2, write_dr3 };

	if (n < 4)
		wr[n](v);
	else
		write_dr6(v);
}

/* ---- the debugger's side ---- */

static void request(struct vcpu *v)
{
	vcpu_make_request(v, VCPU_REQ_DEBUG);
	vcpu_kick(v);
}

void vm_debug_attach(struct vm *vm)
{
	memset(&vm_dbg[vm->id], 0, sizeof(vm_dbg[vm->id]));
	vm_dbg[vm->id].dr7 = DR7_FIXED;
	vm_dbg[vm->id].attached = true;
	for (unsigned int i = 0; i < vm->cfg.vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		struct vcpu_debug *d = vcpu_debug(v);

		memset(d, 0, sizeof(*d));
		d->cmd = DBG_PAUSE;
		/* Pairs with the acquire in vcpu_debug_sched() (through the request): d first. */
		store_release(&v->debug, d);
		request(v);
	}
}

void vm_debug_pause_all(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg.vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (READ_ONCE(vcpu_debug(v)->cmd) != DBG_PAUSE) {
			WRITE_ONCE(vcpu_debug(v)->cmd, DBG_PAUSE);
			request(v);
		}
	}
}

bool vm_debug_all_paused(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->cfg.vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!load_acquire(&vcpu_debug(v)->paused) && load_acquire(&v->state) != VCPU_DONE)
			return false;
	}
	return true;
}

void vcpu_debug_resume(struct vcpu *v, enum vcpu_dbg_cmd cmd)
{
	/* Pairs with the acquire in vmx_debug_hold_slow(): registers before the command. */
	store_release(&vcpu_debug(v)->cmd, cmd);
	request(v);
}

int vm_debug_set_break(struct vm *vm, uint64_t la, bool insert)
{
	struct vm_debug *vd = &vm_dbg[vm->id];

	for (unsigned int i = 0; i < vd->nbreaks; i++) {
		if (vd->breaks[i] == la) {
			if (!insert)
				vd->breaks[i] = vd->breaks[--vd->nbreaks];
			return 0;
		}
	}
	if (!insert)
		return 0;
	if (vd->nbreaks == DBG_MAX_BREAKS)
		return -1;
	vd->breaks[vd->nbreaks++] = la;
	return 0;
}

/* DR7's R/W and LEN fields of a slot (SDM vol. 3, 18.2.4). */
static uint64_t slot_bits(const struct vm_debug *vd, unsigned int slot)
{
	return vd->dr7 >> (16 + 4 * slot) & 15;
}

static bool slot_used(const struct vm_debug *vd, unsigned int slot)
{
	return vd->dr7 >> (2 * slot) & 3;
}

int vm_debug_hw_slot(struct vm *vm, unsigned int slot, enum vcpu_dbg_hw *kind, uint64_t *addr)
{
	const struct vm_debug *vd = &vm_dbg[vm->id];
	unsigned int rw;

	if (slot > 3 || !slot_used(vd, slot))
		return -1;
	rw = slot_bits(vd, slot) & 3;
	*kind = rw == 0 ? DBG_HW_EXEC : rw == 1 ? DBG_HW_WRITE : DBG_HW_ACCESS;
	*addr = vd->dr[slot];
	return 0;
}

int vm_debug_set_hw(struct vm *vm, enum vcpu_dbg_hw kind, uint64_t addr, unsigned int len,
		    bool insert)
{
	struct vm_debug *vd = &vm_dbg[vm->id];
	static const uint8_t len_bits[9] = { [1] = 0, [2] = 1, [4] = 3, [8] = 2 };
	uint64_t want;

	if (kind == DBG_HW_EXEC)
		len = 1;
	if (len > 8 || (len & (len - 1)) || !len || (addr & (len - 1)))
		return -1;
	want = (kind == DBG_HW_EXEC ? 0 : kind == DBG_HW_WRITE ? 1 : 3) |
	       (uint64_t)(kind == DBG_HW_EXEC ? 0 : len_bits[len]) << 2;
	for (unsigned int s = 0; s < 4; s++) {
		if (slot_used(vd, s) && vd->dr[s] == addr && slot_bits(vd, s) == want) {
			if (!insert)
				vd->dr7 &= ~(3ULL << (2 * s) | 15ULL << (16 + 4 * s));
			return 0;
		}
	}
	if (!insert)
		return 0;
	for (unsigned int s = 0; s < 4; s++) {
		if (!slot_used(vd, s)) {
			vd->dr[s] = addr;
			/* G (global) enable, and GE for exact data breakpoints on old CPUs. */
			vd->dr7 |= 2ULL << (2 * s) | want << (16 + 4 * s) | DR7_GE;
			return 0;
		}
	}
	return -1;
}

void vm_debug_detach(struct vm *vm)
{
	vm_dbg[vm->id].attached = false;
	vm_dbg[vm->id].nbreaks = 0;
	for (unsigned int i = 0; i < vm->cfg.vcpus; i++)
		if (READ_ONCE(vm->vcpus[i].debug))
			vcpu_debug_resume(&vm->vcpus[i], DBG_RUN);
}

/* ---- the vCPU's side ---- */

static void snapshot(struct vcpu *v, struct vcpu_dbg_regs *r)
{
	for (unsigned int i = 0; i < 16; i++)
		r->gpr[i] = vcpu_gpr(v, i);
	r->rip = vmread(GUEST_RIP);
	r->rflags = vmread(GUEST_RFLAGS);
	for (unsigned int s = 0; s < 6; s++) {
		r->sel[s] = vmread(GUEST_ES_SELECTOR + 2 * s);
		r->base[s] = vmread(GUEST_ES_BASE + 2 * s);
	}
	r->cs_ar = vmread(GUEST_CS_AR_BYTES);
	r->cr0 = vcpu_guest_cr0();
	r->cr2 = v->regs.cr2;
	r->cr3 = vmread(GUEST_CR3);
	r->cr4 = vcpu_guest_cr4();
	r->efer = vmread(GUEST_IA32_EFER);
	/* The guest's SWAPGS changes the live MSR: it is current while v runs here. */
	r->kernel_gs_base = rdmsr(MSR_KERNEL_GS_BASE);
	for (unsigned int i = 0; i < 4; i++)
		r->pdpte[i] = vmread(GUEST_PDPTE0 + 2 * i);
}

/* What the debugger may change (hv/gdb/session.c refuses the rest). */
static void write_back(struct vcpu *v, const struct vcpu_dbg_regs *r)
{
	for (unsigned int i = 0; i < 16; i++)
		vcpu_set_gpr(v, i, r->gpr[i]);
	vmwrite(GUEST_RIP, r->rip);
	vmwrite(GUEST_RFLAGS, r->rflags);
}

static void pause(struct vcpu *v, struct vcpu_debug *d)
{
	snapshot(v, &d->regs);
	if (!d->applied) {
		/* Not intercepted yet: the hardware holds the guest's own values. */
		for (unsigned int i = 0; i < 4; i++)
			d->guest_dr[i] = read_dr(i);
		d->guest_dr6 = read_dr(6);
		d->guest_dr7 = vmread(GUEST_DR7);
	}
	/* The debugger reads and writes the FPU image while v is paused. */
	__asm__ __volatile__("fxsave %0" : "=m"(v->fx));
	d->stop = d->event;
	d->stop_slot = d->event_slot;
	d->event = DBG_STOP_NONE;
	d->halted = v->halted || READ_ONCE(v->wait_sipi);
	d->regs_dirty = false;
	d->valid = true;
	d->held = true;
	/* Pairs with the acquire in vm_debug_all_paused(): the snapshot before the flag. */
	store_release(&d->paused, 1);
}

static void set_ctl_bits(enum vmcs_field field, uint32_t bits, bool on)
{
	uint32_t v = (uint32_t)vmread(field);

	if (((v & bits) != 0) != on)
		vmwrite(field, on ? v | bits : v & ~bits);
}

static uint32_t mov_dr_exiting(void)
{
	return (vmx_caps.proc >> 32) & CPU_MOV_DR_EXITING_BIT;
}

/*
 * The debugger's debug registers, before every entry: other vCPUs of this
 * CPU may have run, and a SIPI rewrites the entry controls.  VM entry loads
 * DR7 from the VMCS only with "load debug controls" (without it the guest
 * runs with the 0x400 every VM exit leaves in DR7).
 */
static void load_debugger_drs(const struct vm_debug *vd)
{
	for (unsigned int i = 0; i < 4; i++)
		if (slot_used(vd, i))
			write_dr(i, vd->dr[i]);
	vmwrite(GUEST_DR7, vd->dr7 | DR7_FIXED);
	set_ctl_bits(VM_ENTRY_CONTROLS, ENTRY_LOAD_DEBUG & (uint32_t)(vmx_caps.entry >> 32), true);
}

/* Bring the VMCS in line with attach or detach. */
static void apply(struct vcpu_debug *d, const struct vm_debug *vd)
{
	uint32_t exc = (uint32_t)vmread(EXCEPTION_BITMAP);

	if (vd->attached && !d->applied) {
		d->saved_exc = exc & (EXC_DB | EXC_BP);
		d->saved_proc = (uint32_t)vmread(CPU_BASED_VM_EXEC_CONTROL) & CPU_MOV_DR_EXITING_BIT;
		d->saved_entry = (uint32_t)vmread(VM_ENTRY_CONTROLS) & ENTRY_LOAD_DEBUG;
		d->saved_exit = (uint32_t)vmread(VM_EXIT_CONTROLS) & EXIT_SAVE_DEBUG;
		vmwrite(EXCEPTION_BITMAP, exc | EXC_DB | EXC_BP);
		set_ctl_bits(CPU_BASED_VM_EXEC_CONTROL, mov_dr_exiting(), true);
		set_ctl_bits(VM_EXIT_CONTROLS, EXIT_SAVE_DEBUG & (uint32_t)(vmx_caps.exit >> 32),
			     true);
		d->applied = true;
	} else if (!vd->attached && d->applied) {
		vmwrite(EXCEPTION_BITMAP, (exc & ~(EXC_DB | EXC_BP)) | d->saved_exc);
		if (!d->saved_proc)
			set_ctl_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_MOV_DR_EXITING_BIT, false);
		for (unsigned int i = 0; i < 4; i++)
			write_dr(i, d->guest_dr[i]);
		write_dr(6, d->guest_dr6);
		vmwrite(GUEST_DR7, d->guest_dr7);
		set_ctl_bits(VM_ENTRY_CONTROLS, ENTRY_LOAD_DEBUG, d->saved_entry);
		set_ctl_bits(VM_EXIT_CONTROLS, EXIT_SAVE_DEBUG, d->saved_exit);
		d->applied = false;
	}
	if (d->applied)
		load_debugger_drs(vd);
}

/*
 * One instruction: the monitor trap flag where the CPU has it; else RFLAGS.TF
 * and the #DB it raises (Bochs has no MTF).  Under STI or MOV-SS blocking, VM
 * entry wants a pending single-step trap (BS) exactly when TF is set.
 */
static void start_step(struct vcpu *v, struct vcpu_debug *d)
{
	d->stepping = true;
	d->step_hit = false;
	d->step_rip = vmread(GUEST_RIP);
	d->step_tf = !vmx_debug_can_step();
	if (d->step_tf) {
		uint64_t rflags = vmread(GUEST_RFLAGS);

		d->guest_tf = rflags & RFLAGS_TF;
		vmwrite(GUEST_RFLAGS, rflags | RFLAGS_TF);
		if (vmread(GUEST_INTERRUPTIBILITY_INFO) & 3)
			vmwrite(GUEST_PENDING_DBG_EXCEPTIONS,
				vmread(GUEST_PENDING_DBG_EXCEPTIONS) | DR6_BS);
	} else {
		set_ctl_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_MTF_BIT, true);
	}
	/* Keeps the exit fast path off: every exit comes back to the hold check. */
	vcpu_make_request(v, VCPU_REQ_DEBUG);
}

/* The step is over: its trap fired, or RIP moved by an emulated instruction. */
static bool step_done(struct vcpu_debug *d)
{
	return d->step_hit || vmread(GUEST_RIP) != d->step_rip;
}

static void end_step(struct vcpu_debug *d)
{
	d->stepping = false;
	if (!d->step_tf) {
		set_ctl_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_MTF_BIT, false);
		return;
	}
	if (!d->guest_tf) {
		/*
		 * Our TF's trap may still be pending: set at entry under STI or
		 * MOV-SS blocking, or by vcpu_skip() after an instruction the
		 * hypervisor emulated.  Left there, it would hit the guest later.
		 */
		vmwrite(GUEST_RFLAGS, vmread(GUEST_RFLAGS) & ~RFLAGS_TF);
		vmwrite(GUEST_PENDING_DBG_EXCEPTIONS,
			vmread(GUEST_PENDING_DBG_EXCEPTIONS) & ~DR6_BS);
	}
}

/* The vCPU stops itself: the debugger learns of it from paused with DBG_PAUSE. */
static void self_stop(struct vcpu_debug *d, int why, unsigned int slot)
{
	if (d->event == DBG_STOP_NONE) {
		d->event = why;
		d->event_slot = slot;
	}
	WRITE_ONCE(d->cmd, DBG_PAUSE);
}

static void resume(struct vcpu *v, struct vcpu_debug *d, const struct vm_debug *vd, int cmd)
{
	if (d->regs_dirty)
		write_back(v, &d->regs);
	apply(d, vd);
	d->held = false;
	if (cmd == DBG_STEP && vd->attached) {
		/* A halted vCPU runs no instruction until woken: the step is the HLT. */
		if (v->halted || READ_ONCE(v->wait_sipi)) {
			self_stop(d, DBG_STOP_STEP, 0);
			pause(v, d);
			return;
		}
		start_step(v, d);
	}
	/* Pairs with the acquire in vm_debug_all_paused(). */
	store_release(&d->paused, 0);
}

bool vmx_debug_hold_slow(struct vcpu *v)
{
	struct vcpu_debug *d = v->debug;
	const struct vm_debug *vd = &vm_dbg[v->vm->id];
	int cmd;

	vcpu_check_request(v, VCPU_REQ_DEBUG);
	/* Pairs with the release in vcpu_debug_resume(): the debugger's writes are visible. */
	cmd = load_acquire(&d->cmd);
	if (d->held) {
		if (cmd == DBG_PAUSE)
			return true;
		resume(v, d, vd, cmd);
		return d->held;
	}
	if (d->stepping) {
		if (step_done(d)) {
			end_step(d);
			self_stop(d, DBG_STOP_STEP, 0);
		} else {
			vcpu_make_request(v, VCPU_REQ_DEBUG);
		}
	}
	if (READ_ONCE(d->cmd) == DBG_PAUSE) {
		if (d->stepping)
			end_step(d);	/* stopped by another vCPU's event mid-step */
		pause(v, d);
		return true;
	}
	if (d->applied)
		load_debugger_drs(vd);
	return false;
}

static bool is_break(const struct vm_debug *vd, uint64_t la)
{
	for (unsigned int i = 0; i < vd->nbreaks; i++)
		if (vd->breaks[i] == la)
			return true;
	return false;
}

static void reinject(uint32_t info, bool with_len)
{
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, info & 0x80000fffu);
	if (with_len)
		vmwrite(VM_ENTRY_INSTRUCTION_LEN, vmread(VM_EXIT_INSTRUCTION_LEN));
}

/* A #DB the debugger did not cause: into the guest, with its DR6 as the CPU would set it. */
static void reflect_db(struct vcpu_debug *d, uint32_t info, uint64_t qual)
{
	unsigned int type = info & INTR_TYPE_MASK;

	if (type == INTR_TYPE_PRIV_SW_EXC) {	/* INT1 (ICEBP): a trap past the instruction */
		reinject(info, true);
		return;
	}
	d->guest_dr6 = (d->guest_dr6 | (qual & (DR6_BD | DR6_BS))) | DR6_FIXED;
	reinject(info, false);
}

int vmx_debug_exception(struct vcpu *v)
{
	uint32_t info = (uint32_t)vmread(VM_EXIT_INTR_INFO);
	unsigned int vector = info & 0xff, type = info & INTR_TYPE_MASK;
	struct vcpu_debug *d = v->debug;
	const struct vm_debug *vd = &vm_dbg[v->vm->id];
	uint64_t la, qual, hits;

	if (!d || !(info & INTR_INFO_VALID) || type == INTR_TYPE_NMI || (vector != 1 && vector != 3))
		return -1;
	if (vector == 3) {
		la = vmread(GUEST_RIP) + vmread(GUEST_CS_BASE);
		if (!(vmread(GUEST_IA32_EFER) & EFER_LMA))
			la &= 0xffffffffULL;
		if (vd->attached && is_break(vd, la)) {
			self_stop(d, DBG_STOP_BREAK, 0);	/* RIP stays at the INT3 */
			vcpu_make_request(v, VCPU_REQ_DEBUG);
			return 0;
		}
		reinject(info, true);			/* the guest's own INT3 */
		return 0;
	}
	qual = vmread(EXIT_QUALIFICATION);
	if (d->stepping && d->step_tf && (qual & DR6_BS)) {
		d->step_hit = true;		/* the trap of our own TF: the step is done */
		return 0;
	}
	hits = d->applied ? qual & 15 : 0;
	for (unsigned int s = 0; s < 4; s++) {
		if ((hits >> s & 1) && slot_used(vd, s)) {
			self_stop(d, DBG_STOP_HW, s);
			vcpu_make_request(v, VCPU_REQ_DEBUG);
			return 0;
		}
	}
	reflect_db(d, info, qual);
	return 0;
}

int vmx_debug_dr_exit(struct vcpu *v)
{
	uint64_t q = vmread(EXIT_QUALIFICATION), val;
	unsigned int dr = q & 7, gpr = (q >> 8) & 15;
	bool from = q & 16, shadow = v->debug && v->debug->applied;
	struct vcpu_debug *d = v->debug;

	if (dr == 4 || dr == 5)
		dr += 2;	/* aliases of DR6 and DR7 with CR4.DE clear (set, it #UDs first) */
	if (from) {
		if (dr == 7)
			val = shadow ? d->guest_dr7 : vmread(GUEST_DR7);
		else
			val = shadow ? (dr == 6 ? d->guest_dr6 : d->guest_dr[dr]) : read_dr(dr);
		vcpu_set_gpr(v, gpr, val);
		vcpu_skip_instruction();
		return 0;
	}
	val = vcpu_gpr(v, gpr);
	if (!(vmread(GUEST_CS_AR_BYTES) & (1u << 13)))
		val = (uint32_t)val;		/* outside 64-bit code the move is 32 bits */
	if (dr >= 6 && (val >> 32)) {
		vcpu_inject_exception(v, 13, true, 0);	/* #GP: reserved upper bits */
		return 0;
	}
	if (dr == 7) {
		val |= DR7_FIXED;
		if (shadow)
			d->guest_dr7 = val;
		else
			vmwrite(GUEST_DR7, val);
	} else if (dr == 6) {
		val |= DR6_FIXED;
		if (shadow)
			d->guest_dr6 = val;
		else
			write_dr(6, val);
	} else if (shadow) {
		d->guest_dr[dr] = val;
	} else {
		write_dr(dr, val);
	}
	vcpu_skip_instruction();
	return 0;
}

int vmx_debug_mtf_exit(struct vcpu *v)
{
	if (v->debug && v->debug->stepping)
		v->debug->step_hit = true;
	else
		set_ctl_bits(CPU_BASED_VM_EXEC_CONTROL, CPU_MTF_BIT, false);
	return 0;
}
