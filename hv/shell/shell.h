/* SPDX-License-Identifier: MIT */
/* The serial debug shell. */
#ifndef HV_SHELL_H
#define HV_SHELL_H

#include "hv/shell/parse.h"

#define SHELL_PROMPT	"hv> "

__attribute__((noreturn)) void shell_run(void);

/* The command table, hv/shell/cmds.c. */
extern const struct shell_cmd shell_cmds[];
extern const unsigned int shell_ncmds;

/* The guest-memory half of `mem` (hv/shell/cmd_mem.c). */
void shell_mem_reclaim_report(void);
/* What `mem` shows of a guest's devices and of the disks (hv/shell/cmd_virtio.c). */
struct vm;
void shell_mem_devices_report(struct vm *vm);
void shell_mem_disks_report(void);

#endif
