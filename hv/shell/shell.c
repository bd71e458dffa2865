/* SPDX-License-Identifier: MIT */
/*
 * The shell loop on CPU 0: poll the UART, feed the line editor, run
 * commands.  A fault inside a command resumes here (trap_set_recovery), so a
 * broken command never costs the console.
 */
#include "hv/core/vm.h"
#include "hv/cpu/console.h"
#include "hv/cpu/serial.h"
#include "hv/cpu/trap.h"
#include "hv/gdb/session.h"
#include "hv/guest/guest.h"
#include "hv/mm/gmem.h"
#include "hv/shell/line_edit.h"
#include "hv/shell/shell.h"
#include "hv/vdev/uart.h"
#include "lib/printk.h"
#include "smp/atomic.h"
#include "smp/grace.h"
#include "smp/percpu.h"
#include "smp/time.h"

#define SHELL_MAX_ARGS	16

static struct line_edit editor;

static void shell_out(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	console_write(s, n);
}

static size_t shell_completer(void *ctx, const char *prefix, const char **matches, size_t max)
{
	(void)ctx;
	return shell_complete(shell_cmds, shell_ncmds, prefix, matches, max);
}

static void run_line(char *line)
{
	char *argv[SHELL_MAX_ARGS];
	const char *err = NULL;
	const struct shell_cmd *cmd;
	int argc = shell_split_err(line, argv, SHELL_MAX_ARGS, &err);

	if (argc < 0) {
		pr_info("error: %s\n", err ? err : "cannot parse the line");
		return;
	}
	if (argc == 0)
		return;
	cmd = shell_find(shell_cmds, shell_ncmds, argv[0]);
	if (!cmd) {
		pr_info("error: unknown command '%s' (try 'help')\n", argv[0]);
		return;
	}
	cmd->fn(argc, argv);
}

extern struct vm *console_vm;

/*
 * A line half typed, its last key less than a second ago: the reaper's
 * "memory freed" line would land inside its echo, so it waits (a second at
 * most, so a line left half typed does not keep a guest's memory).
 */
static bool typing(uint64_t key_quiet)
{
	return editor.len && !editor.done && !deadline_passed(key_quiet);
}

void shell_run(void)
{
	static uint64_t next_reap, key_quiet;

	line_edit_init(&editor, SHELL_PROMPT, shell_out, NULL);
	line_edit_set_completer(&editor, shell_completer, NULL);
	if (trap_set_recovery())
		pr_info("shell: the last command faulted; the shell goes on\n");
	line_edit_prompt(&editor);
	for (;;) {
		struct vm *attached = READ_ONCE(console_vm);
		int c;

		if (gdb_session_poll())		/* GDB gave COM1 back */
			line_edit_prompt(&editor);
		c = gdb_session_owns_console() ? -1 : serial_getc();

		if (c < 0) {
			if (deadline_passed(next_reap)) {
				/* The control CPU's housekeeping: a quiescent state for grace periods. */
				grace_quiescent();
				if (!typing(key_quiet))
					vm_reap_all();
				gmem_background();
				next_reap = deadline_us(10000);
				/* The attached guest ended (not a reset): the terminal comes back. */
				if (attached && READ_ONCE(attached->state) != VM_RUNNING &&
				    !READ_ONCE(attached->restart_request)) {
					WRITE_ONCE(console_vm, NULL);
					pr_info("\nconsole detached from %s (guest %s)\n",
						attached->cfg.name, vm_state_name(attached->state));
					line_edit_prompt(&editor);
				}
			}
			cpu_relax();
			continue;
		}
		if (attached) {
			if (c == 0x1d) {	/* Ctrl-] */
				WRITE_ONCE(console_vm, NULL);
				pr_info("\nconsole detached from %s\n", attached->cfg.name);
				line_edit_prompt(&editor);
			} else {
				uart_console_input(attached, (uint8_t)c);
			}
			continue;
		}
		key_quiet = deadline_us(1000000);
		switch (line_edit_feed(&editor, (char)c)) {
		case LE_LINE:
			run_line(editor.buf);
			/* `console NAME` and `gdb NAME com1` hand the line over: no prompt. */
			if (!READ_ONCE(console_vm) && !gdb_session_owns_console())
				line_edit_prompt(&editor);
			break;
		case LE_INTERRUPT:
			line_edit_prompt(&editor);
			break;
		default:
			break;
		}
	}
}
