/* SPDX-License-Identifier: MIT */
/*
 * One GDB session: the stub (stub.c) on a serial port, the guest's vCPUs
 * behind it (hv/vmx/debug.h), all on the shell's CPU.  Each poll moves the
 * session along without waiting: bytes from the line into a ring, a stop
 * when a vCPU stopped itself or GDB sent Ctrl-C, the stop reply once every
 * vCPU has published its pause, and the ring's bytes into the stub while
 * no stop is in progress (so GDB's packets queue rather than overrun the
 * UART's FIFO).
 *
 * All-stop with several events: the vCPU that stepped is reported first,
 * then the lowest one that stopped.  An unreported INT3 or instruction
 * breakpoint is dropped, as the vCPU hits it again when resumed; an
 * unreported finished step or watchpoint is kept and reported at the next
 * resume instead of resuming (gdbserver does the same).
 */
#include "hv/core/vm.h"
#include "hv/cpu/console.h"
#include "hv/cpu/serial.h"
#include "hv/gdb/guest_state.h"
#include "hv/gdb/session.h"
#include "hv/gdb/stub.h"
#include "hv/guest/guest.h"
#include "hv/lib/format.h"
#include "hv/vmx/debug.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "smp/atomic.h"

#define RX_RING		8192
#define CTRL_RBRACKET	0x1d	/* Ctrl-]: give the line back, as `console` does */
#define MSR_CARRIER	0xa0	/* DCD | DSR: someone is on the other end */
#define RFLAGS_RF	(1ULL << 16)

enum sess_state { S_STOPPING, S_STOPPED, S_RUNNING };

struct pending {
	int stop;			/* enum vcpu_dbg_stop not yet told to GDB */
	unsigned int slot;
};

static struct session {
	bool active;
	struct vm *vm;
	uint64_t start_tsc;		/* another value: the guest was restarted */
	uint16_t port;
	unsigned int com;
	bool on_console;		/* COM1: the shell's line, muted meanwhile */
	enum sess_state state;
	bool stub_ready;		/* the stub exists once the first stop is complete */
	bool interrupted;		/* Ctrl-C asked for this stop */
	bool resumed[VCPU_MAX];		/* let run by the last resume */
	unsigned int step_tid;		/* the thread the last resume stepped; 0: none */
	bool step_irqs;
	bool carrier_armed;		/* GDB has spoken: a dropped carrier means it is gone */
	uint8_t carrier;
	const char *why;		/* how it ended */
	unsigned int rx_head, rx_tail;
	uint8_t rx[RX_RING];
	struct pending pending[VCPU_MAX];
	char state_text[48];
	struct gdb_stub stub;
} sess;

/* ---- the line ---- */

static void drain_rx(void)
{
	int c;

	while ((c = serial_port_getc(sess.port)) >= 0) {
		unsigned int next = (sess.rx_head + 1) % RX_RING;

		if (next == sess.rx_tail)
			continue;	/* full: GDB resends after its timeout */
		sess.rx[sess.rx_head] = (uint8_t)c;
		sess.rx_head = next;
	}
}

static void line_put(void *ctx, const char *buf, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		serial_port_putc(sess.port, (uint8_t)buf[i]);
		/* GDB's acks and Ctrl-C may arrive meanwhile: keep the FIFO from overrunning. */
		if ((i & 15) == 15)
			drain_rx();
	}
}

/*
 * The other end hung up: a carrier that was there once GDB spoke is gone.
 * Not before: closing the terminal program to start GDB drops DTR too.
 */
static bool line_lost(void)
{
	uint8_t msr;

	if (!sess.stub_ready || !sess.stub.packets)
		return false;
	msr = serial_port_modem_status(sess.port) & MSR_CARRIER;
	if (!sess.carrier_armed) {
		sess.carrier_armed = true;
		sess.carrier = msr;
	}
	return sess.carrier && !msr;
}

/* ---- stops ---- */

static struct vcpu *vcpu_of(unsigned int tid)
{
	return &sess.vm->vcpus[tid - 1];
}

static void stop_all(void)
{
	vm_debug_pause_all(sess.vm);
	sess.state = S_STOPPING;
}

/* A vCPU let run has paused with DBG_PAUSE it set itself: a breakpoint or a step. */
static bool vcpu_stopped_itself(void)
{
	for (unsigned int i = 0; i < sess.vm->cfg.vcpus; i++) {
		struct vcpu_debug *d = vcpu_debug(&sess.vm->vcpus[i]);

		if (sess.resumed[i] && load_acquire(&d->paused) && READ_ONCE(d->cmd) == DBG_PAUSE)
			return true;
	}
	return false;
}

static struct gdb_stop stop_of(unsigned int tid, const struct pending *p)
{
	struct gdb_stop st = { .kind = GDB_STOP_TRAP, .tid = tid };
	enum vcpu_dbg_hw kind;
	uint64_t addr;

	if (p->stop == DBG_STOP_BREAK) {
		st.kind = GDB_STOP_SWBREAK;
	} else if (p->stop == DBG_STOP_HW && !vm_debug_hw_slot(sess.vm, p->slot, &kind, &addr)) {
		st.kind = kind == DBG_HW_EXEC ? GDB_STOP_HWBREAK :
			  kind == DBG_HW_WRITE ? GDB_STOP_WATCH : GDB_STOP_AWATCH;
		st.addr = addr;
	}
	return st;
}

/* Tell GDB about thread @tid's pending stop, and forget it. */
static void report(unsigned int tid)
{
	struct pending *p = &sess.pending[tid - 1];
	struct gdb_stop st = stop_of(tid, p);

	if (st.kind == GDB_STOP_HWBREAK) {
		/* RF: the instruction runs once without hitting its breakpoint again. */
		struct vcpu_debug *d = vcpu_debug(vcpu_of(tid));

		d->regs.rflags |= RFLAGS_RF;
		d->regs_dirty = true;
	}
	p->stop = DBG_STOP_NONE;
	sess.state = S_STOPPED;
	gdb_stub_stopped(&sess.stub, &st);
}

/* A stop kept from an earlier all-stop (a step or a watchpoint); 0: none. */
static unsigned int kept_stop(void)
{
	for (unsigned int i = 0; i < sess.vm->cfg.vcpus; i++)
		if (sess.pending[i].stop != DBG_STOP_NONE)
			return i + 1;
	return 0;
}

/* Every vCPU is paused: collect why, pick one stop for GDB. */
static void all_stopped(void)
{
	unsigned int n = sess.vm->cfg.vcpus, tid = 0;

	for (unsigned int i = 0; i < n; i++) {
		struct vcpu_debug *d = vcpu_debug(&sess.vm->vcpus[i]);

		if (sess.resumed[i] && d->stop != DBG_STOP_NONE)
			sess.pending[i] = (struct pending){ d->stop, d->stop_slot };
		sess.resumed[i] = false;
	}
	if (sess.step_tid && sess.pending[sess.step_tid - 1].stop != DBG_STOP_NONE)
		tid = sess.step_tid;
	if (!tid)
		tid = kept_stop();
	/* The others: INT3s and instruction breakpoints fire again; steps and watches wait. */
	for (unsigned int i = 0; i < n; i++) {
		int s = sess.pending[i].stop;
		enum vcpu_dbg_hw kind;
		uint64_t addr;

		if (i + 1 == tid)
			continue;
		if (s == DBG_STOP_BREAK ||
		    (s == DBG_STOP_HW &&
		     (vm_debug_hw_slot(sess.vm, sess.pending[i].slot, &kind, &addr) ||
		      kind == DBG_HW_EXEC)))
			sess.pending[i].stop = DBG_STOP_NONE;
	}
	if (tid) {
		report(tid);
	} else {
		struct gdb_stop st = { .kind = sess.interrupted ? GDB_STOP_INTERRUPT : GDB_STOP_TRAP,
				       .tid = sess.stub.g_thread };

		sess.state = S_STOPPED;
		gdb_stub_stopped(&sess.stub, &st);
	}
}

/* ---- struct gdb_ops over the guest ---- */

static int op_get_regs(void *ctx, unsigned int tid, struct gdb_regs *r)
{
	(void)ctx;
	return gdb_guest_get_regs(vcpu_of(tid), r);
}

static int op_set_regs(void *ctx, unsigned int tid, const struct gdb_regs *r)
{
	(void)ctx;
	return gdb_guest_set_regs(vcpu_of(tid), r);
}

static size_t op_read_mem(void *ctx, unsigned int tid, uint64_t addr, void *buf, size_t n)
{
	(void)ctx;
	return gdb_guest_mem(vcpu_of(tid), addr, buf, n, false);
}

static size_t op_write_mem(void *ctx, unsigned int tid, uint64_t addr, const void *buf,
			   size_t n)
{
	(void)ctx;
	return gdb_guest_mem(vcpu_of(tid), addr, (void *)buf, n, true);
}

static int op_breakpoint(void *ctx, enum gdb_break_type type, uint64_t addr, unsigned int len,
			 bool insert)
{
	(void)ctx;
	switch (type) {
	case GDB_BP_SW:
		return vm_debug_set_break(sess.vm, addr, insert);
	case GDB_BP_HW:
		return vm_debug_set_hw(sess.vm, DBG_HW_EXEC, addr, 1, insert);
	case GDB_WP_WRITE:
		return vm_debug_set_hw(sess.vm, DBG_HW_WRITE, addr, len, insert);
	case GDB_WP_ACCESS:
		return vm_debug_set_hw(sess.vm, DBG_HW_ACCESS, addr, len, insert);
	default:
		return 1;	/* x86 has no read-only watchpoint */
	}
}

static void op_resume(void *ctx, const enum gdb_action *act)
{
	unsigned int kept = kept_stop();

	(void)ctx;
	if (kept) {
		report(kept);
		return;
	}
	sess.interrupted = false;
	sess.step_tid = 0;
	for (unsigned int i = 0; i < sess.vm->cfg.vcpus; i++) {
		struct vcpu *v = &sess.vm->vcpus[i];

		sess.resumed[i] = act[i] != GDB_STAY;
		if (!sess.resumed[i])
			continue;
		if (act[i] == GDB_STEP) {
			sess.step_tid = i + 1;
			vcpu_debug(v)->step_irqs = sess.step_irqs;
		}
	}
	sess.state = S_RUNNING;
	for (unsigned int i = 0; i < sess.vm->cfg.vcpus; i++)
		if (sess.resumed[i])
			vcpu_debug_resume(&sess.vm->vcpus[i],
					  act[i] == GDB_STEP ? DBG_STEP : DBG_RUN);
}

static void op_interrupt(void *ctx)
{
	(void)ctx;
	sess.interrupted = true;
	stop_all();
}

static void op_detach(void *ctx, bool kill)
{
	(void)ctx;
	vm_debug_detach(sess.vm);
	sess.why = kill ? "GDB killed the guest" : "GDB detached";
	if (kill)
		vm_stop(sess.vm, "killed from GDB");
}

static void op_monitor(void *ctx, const char *cmd, char *out, size_t n)
{
	size_t len = 0;

	(void)ctx;
	if (!strcmp(cmd, "step-irqs on") || !strcmp(cmd, "step-irqs off")) {
		sess.step_irqs = cmd[11] == 'n';
		hv_snprintf(out, n, "interrupts during a step: %s\n",
			    sess.step_irqs ? "delivered" : "held off");
	} else if (!strcmp(cmd, "vcpus")) {
		for (unsigned int i = 0; i < sess.vm->cfg.vcpus && len < n; i++) {
			struct vcpu *v = &sess.vm->vcpus[i];
			struct vcpu_debug *d = vcpu_debug(v);

			len += (size_t)hv_snprintf(out + len, n - len,
						   "vCPU %u on CPU %u: rip %llx%s\n", i, v->cpu,
						   (unsigned long long)d->regs.rip,
						   d->halted ? ", halted" : "");
		}
	} else {
		hv_snprintf(out, n, "monitor commands: vcpus, step-irqs on|off "
			    "(interrupts during stepi; off by default)\n");
	}
}

static void op_thread_info(void *ctx, unsigned int tid, char *out, size_t n)
{
	struct vcpu *v = vcpu_of(tid);

	(void)ctx;
	hv_snprintf(out, n, "vCPU %u on CPU %u%s", v->id, v->cpu,
		    vcpu_debug(v)->halted ? ", halted" : "");
}

static const struct gdb_ops ops = {
	.put = line_put, .get_regs = op_get_regs, .set_regs = op_set_regs,
	.read_mem = op_read_mem, .write_mem = op_write_mem, .breakpoint = op_breakpoint,
	.resume = op_resume, .interrupt = op_interrupt, .detach = op_detach,
	.monitor = op_monitor, .thread_info = op_thread_info,
};

/* ---- the session ---- */

int gdb_session_start(struct vm *vm, unsigned int com)
{
	uint16_t port = com == 2 ? SERIAL_COM2 : SERIAL_COM1;

	if (sess.active) {
		pr_info("error: GDB is on guest %s already (one session at a time)\n",
			sess.vm->cfg.name);
		return -1;
	}
	if (READ_ONCE(vm->state) != VM_RUNNING) {
		pr_info("error: guest %s is not running\n", vm->cfg.name);
		return -1;
	}
	if (port != SERIAL_COM1 && !serial_port_init(port)) {
		pr_info("error: no 16550 answers at COM%u (%x)\n", com, port);
		return -1;
	}
	memset(&sess, 0, sizeof(sess));
	sess.vm = vm;
	sess.start_tsc = vm->start_tsc;
	sess.port = port;
	sess.com = com == 2 ? 2 : 1;
	sess.on_console = port == SERIAL_COM1;
	sess.state = S_STOPPING;
	vm_debug_attach(vm);
	if (sess.on_console)
		pr_info("gdb: guest %s stopping; COM1 is GDB's until it detaches "
			"(Ctrl-] gives it back)\n", vm->cfg.name);
	else
		pr_info("gdb: guest %s stopping; GDB on COM%u\n", vm->cfg.name, sess.com);
	if (sess.on_console)
		console_mute(true);
	sess.active = true;
	return 0;
}

/* The session is over: the line back to the shell (COM1), a line on the console. */
static bool finish(void)
{
	struct vm *vm = sess.vm;
	bool console = sess.on_console;

	sess.active = false;
	if (console)
		console_mute(false);
	pr_info("\ngdb: %s from guest %s (%lu packets, %lu bad checksums)\n",
		sess.why ? sess.why : "session over", vm->cfg.name, sess.stub.packets,
		sess.stub.bad_checksums);
	return console;
}

/* Let go from this side: GDB is gone or the user took the line back. */
static bool let_go(const char *why)
{
	if (sess.stub_ready)
		gdb_stub_remove_breakpoints(&sess.stub);
	vm_debug_detach(sess.vm);
	sess.why = why;
	return finish();
}

static bool guest_gone(void)
{
	struct vm *vm = sess.vm;

	return READ_ONCE(vm->state) != VM_RUNNING || READ_ONCE(vm->start_tsc) != sess.start_tsc;
}

/* The guest ended under the debugger: GDB hears it exited or was killed. */
static bool guest_ended(void)
{
	struct vm *vm = sess.vm;
	struct gdb_stop st = { .kind = GDB_STOP_KILLED, .tid = 1 };

	if (READ_ONCE(vm->state) == VM_EXITED && !READ_ONCE(vm->restart_request)) {
		st.kind = GDB_STOP_EXITED;
		st.status = vm->exit_status;
	}
	if (sess.stub_ready && !sess.stub.done)
		gdb_stub_stopped(&sess.stub, &st);
	vm_debug(vm)->attached = false;
	sess.why = st.kind == GDB_STOP_EXITED ? "the guest exited" : "the guest ended";
	return finish();
}

static void first_stop(void)
{
	enum gdb_arch arch = gdb_guest_arch(&sess.vm->vcpus[0]);

	gdb_stub_init(&sess.stub, &ops, &sess, arch, sess.vm->cfg.vcpus);
	sess.stub_ready = true;
	sess.state = S_STOPPED;
	pr_info("gdb: guest %s stopped (%s, %u thread%s)\n", sess.vm->cfg.name,
		gdb_target_arch_name(arch), sess.vm->cfg.vcpus, sess.vm->cfg.vcpus > 1 ? "s" : "");
}

/* Bytes from the ring into the stub, while it may take them. */
static bool feed(void)
{
	while (sess.rx_tail != sess.rx_head && sess.state != S_STOPPING && !sess.stub.done) {
		uint8_t c = sess.rx[sess.rx_tail];

		sess.rx_tail = (sess.rx_tail + 1) % RX_RING;
		if (c == CTRL_RBRACKET && sess.stub.rsp.state == RSP_IDLE)
			return true;
		gdb_stub_input(&sess.stub, c);
	}
	return false;
}

bool gdb_session_poll(void)
{
	if (!sess.active)
		return false;
	drain_rx();
	if (sess.stub.done)
		return finish();
	if (guest_gone())
		return guest_ended();
	if (line_lost())
		return let_go("the line dropped");
	if (sess.state == S_RUNNING && vcpu_stopped_itself())
		stop_all();
	if (sess.state == S_STOPPING && vm_debug_all_paused(sess.vm)) {
		if (!sess.stub_ready)
			first_stop();
		else
			all_stopped();
	}
	if (sess.stub_ready && feed())
		return let_go("Ctrl-] on the line");
	if (sess.stub.done)
		return finish();
	return false;
}

bool gdb_session_owns_console(void)
{
	return sess.active && sess.on_console;
}

const char *gdb_session_state(const struct vm *vm)
{
	if (!sess.active || sess.vm != vm)
		return NULL;
	hv_snprintf(sess.state_text, sizeof(sess.state_text), "gdb on COM%u, %s", sess.com,
		    sess.state == S_RUNNING ? "running" :
		    sess.state == S_STOPPED ? "stopped" : "stopping");
	return sess.state_text;
}
