/* SPDX-License-Identifier: MIT */
/*
 * A GDB session for one guest on a serial port (hv/gdb/session.c): COM1,
 * handed over from the shell until GDB detaches (a machine with one serial
 * line, a BMC's serial-over-LAN), or COM2, a port of its own while the shell
 * stays on COM1.  One session at a time.  It lives on the shell's CPU and is
 * polled from the shell's loop, so it blocks neither the shell nor the
 * other guests; the guest's vCPUs are held by hv/vmx/debug.h.
 */
#ifndef HV_GDB_SESSION_H
#define HV_GDB_SESSION_H

#include <stdbool.h>
#include <stddef.h>

struct vm;

/* Stop @vm for GDB on COM@com (1 or 2); -1 with the reason printed. */
int gdb_session_start(struct vm *vm, unsigned int com);
/* The shell loop's poll; true when a session on COM1 just ended (the shell has the line back). */
bool gdb_session_poll(void);
/* Whether the stub has COM1 now: the shell must not read it. */
bool gdb_session_owns_console(void);
/* For `guests`: "gdb on COM2, stopped" and the like while @vm is debugged; NULL otherwise. */
const char *gdb_session_state(const struct vm *vm);

#endif
