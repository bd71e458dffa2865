/* SPDX-License-Identifier: MIT */
/* The `gdb` command: stop a guest for GDB on a serial line (hv/gdb/session.h, docs/gdb.md). */
#include "hv/core/config.h"
#include "hv/core/vm.h"
#include "hv/gdb/session.h"
#include "hv/guest/guest.h"
#include "lib/printk.h"
#include "lib/string.h"

int cmd_gdb(int argc, char **argv)
{
	unsigned int com = guests_config()->gdb_port == 2 ? 2 : 1;
	struct vm *vm;

	if (argc < 2 || argc > 3 ||
	    (argc == 3 && strcmp(argv[2], "com1") && strcmp(argv[2], "com2"))) {
		pr_info("usage: gdb NAME [com1|com2]\n");
		return -1;
	}
	if (argc == 3)
		com = argv[2][3] == '2' ? 2 : 1;
	vm = vm_find(argv[1]);
	if (!vm) {
		pr_info("error: no guest named '%s' (see 'guests')\n", argv[1]);
		return -1;
	}
	return gdb_session_start(vm, com);
}
