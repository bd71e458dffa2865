/* SPDX-License-Identifier: MIT */
/*
 * A GDB remote stub for an x86 guest, in all-stop mode: threads are vCPUs
 * (thread ids 1..n), the target is either stopped (every thread) or running.
 * The stub parses packets and answers them; what it needs of the target it
 * asks through struct gdb_ops.  It keeps the software breakpoints itself
 * (INT3 written through ops->write_mem, the original bytes shown to GDB's
 * memory reads).  qSupported opens each GDB connection: the stub goes back
 * to ack mode and removes what an earlier GDB inserted (one that was killed
 * or lost its line without a detach), stopping the target first if it runs.
 * Portable: no hv/ headers below hv/lib; host-tested and fuzzed.
 */
#ifndef HV_GDB_STUB_H
#define HV_GDB_STUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/gdb/rsp.h"
#include "hv/gdb/target.h"

#define GDB_MAX_THREADS		8
#define GDB_MAX_SW_BREAKS	64
#define GDB_MAX_HW_BREAKS	8	/* more than x86's 4 debug registers: the target refuses */

/* What one thread does at a resume. */
enum gdb_action { GDB_STAY, GDB_CONTINUE, GDB_STEP };

/* Breakpoint types of the Z/z packets. */
enum gdb_break_type { GDB_BP_SW, GDB_BP_HW, GDB_WP_WRITE, GDB_WP_READ, GDB_WP_ACCESS };

/* Why the target stopped, for the stop reply. */
enum gdb_stop_kind {
	GDB_STOP_TRAP,		/* attach, a finished step: SIGTRAP */
	GDB_STOP_SWBREAK,	/* an INT3 of ours */
	GDB_STOP_HWBREAK,	/* an instruction breakpoint in a debug register */
	GDB_STOP_WATCH,		/* a write watchpoint at addr */
	GDB_STOP_AWATCH,	/* an access watchpoint at addr */
	GDB_STOP_INTERRUPT,	/* Ctrl-C: SIGINT */
	GDB_STOP_EXITED,	/* the guest ended with status */
	GDB_STOP_KILLED,	/* the guest was stopped or failed */
};

struct gdb_stop {
	enum gdb_stop_kind kind;
	unsigned int tid;	/* the thread that stopped (1-based) */
	uint64_t addr;		/* GDB_STOP_WATCH/AWATCH */
	int status;		/* GDB_STOP_EXITED */
};

struct gdb_ops {
	/* Bytes to the line. */
	void (*put)(void *ctx, const char *buf, size_t n);
	/* Registers of thread @tid (1-based); 0, or -1 when they cannot be had. */
	int (*get_regs)(void *ctx, unsigned int tid, struct gdb_regs *r);
	/* New values; -1 (nothing written) if a register that cannot change would. */
	int (*set_regs)(void *ctx, unsigned int tid, const struct gdb_regs *r);
	/*
	 * Guest-virtual memory through thread @tid's page tables; the bytes done
	 * from @addr on, fewer than @n where an address is not mapped.
	 */
	size_t (*read_mem)(void *ctx, unsigned int tid, uint64_t addr, void *buf, size_t n);
	size_t (*write_mem)(void *ctx, unsigned int tid, uint64_t addr, const void *buf,
			    size_t n);
	/*
	 * Insert or remove a breakpoint or watchpoint.  GDB_BP_SW: only to tell
	 * the target where the stub's INT3s are.  0 done, -1 failed, 1 not
	 * supported (an empty reply).
	 */
	int (*breakpoint)(void *ctx, enum gdb_break_type type, uint64_t addr, unsigned int len,
			  bool insert);
	/*
	 * Resume: act[tid - 1] for every thread.  The target answers later with
	 * gdb_stub_stopped(), also when it stops at once.
	 */
	void (*resume)(void *ctx, const enum gdb_action *act);
	/* Ctrl-C while running: stop every thread, then gdb_stub_stopped(). */
	void (*interrupt)(void *ctx);
	/* GDB is done: resume without the debugger (@kill: end the guest instead). */
	void (*detach)(void *ctx, bool kill);
	/* Optional: "monitor" commands; writes a reply line into @out. */
	void (*monitor)(void *ctx, const char *cmd, char *out, size_t n);
	/* Optional: a line for `info threads` about thread @tid. */
	void (*thread_info)(void *ctx, unsigned int tid, char *out, size_t n);
};

struct gdb_sw_break {
	uint64_t addr;
	uint8_t orig;
	bool used;
};

/* A Z1-Z4 the target took, so a new GDB can be rid of it. */
struct gdb_hw_break {
	uint64_t addr;
	unsigned int len;
	enum gdb_break_type type;
	bool used;
};

struct gdb_stub {
	const struct gdb_ops *ops;
	void *ctx;
	enum gdb_arch arch;
	unsigned int nthreads;
	struct gdb_rsp rsp;
	bool no_ack;		/* after QStartNoAckMode */
	bool gdb_swbreak;	/* GDB understands swbreak/hwbreak stop reasons */
	bool running;
	bool new_gdb;		/* qSupported while running: answer it once stopped */
	bool done;		/* detached or killed: the session is over */
	unsigned int g_thread;	/* Hg: registers and memory (1-based) */
	unsigned int c_thread;	/* Hc: legacy s/c; 0: all */
	struct gdb_stop last_stop;
	struct gdb_sw_break sw[GDB_MAX_SW_BREAKS];
	struct gdb_hw_break hw[GDB_MAX_HW_BREAKS];
	/* The last reply, framed, for a resend after '-'. */
	char out[2 * GDB_PACKET_MAX + 8];
	size_t out_len;
	char reply[GDB_PACKET_MAX + 1];
	struct gdb_regs regs;	/* scratch for g/G/p/P */
	uint8_t mem[GDB_PACKET_MAX];	/* scratch for m/M/X */
	char xml[12288];	/* the target description, built at init */
	size_t xml_len;
	/* Counters for the shell and for tests. */
	unsigned long packets, bad_checksums, too_long, unknown;
};

/* A stopped target of @nthreads threads in mode @arch (the stop GDB's `?` hears of). */
void gdb_stub_init(struct gdb_stub *s, const struct gdb_ops *ops, void *ctx,
		   enum gdb_arch arch, unsigned int nthreads);
/* One byte from the line; answers go out through ops->put. */
void gdb_stub_input(struct gdb_stub *s, uint8_t c);
/* The target stopped after a resume or an interrupt: send the stop reply. */
void gdb_stub_stopped(struct gdb_stub *s, const struct gdb_stop *stop);
/* Put every INT3 back to the original byte (at detach, or when the guest ends). */
void gdb_stub_remove_breakpoints(struct gdb_stub *s);
/* Whether @addr holds one of the stub's INT3s. */
bool gdb_stub_has_sw_break(const struct gdb_stub *s, uint64_t addr);

#endif
