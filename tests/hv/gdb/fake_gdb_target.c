/* SPDX-License-Identifier: MIT */
/*
 * The stub over stdin/stdout with the fake target behind it, for Debian's
 * GDB to drive (`target remote | fake_gdb_target amd64|i386|i8086`): what
 * the hypervisor's stub says to a real GDB, without an emulator.  Used by
 * test_gdb_fake.py.
 */
#include <stdlib.h>
#include <unistd.h>

#include "tests/hv/gdb/fake_target.h"

static struct fake fake;
static struct gdb_stub stub;

static void to_stdout(const char *buf, size_t n)
{
	while (n) {
		ssize_t w = write(1, buf, n);

		if (w <= 0)
			exit(1);
		buf += w;
		n -= (size_t)w;
	}
}

int main(int argc, char **argv)
{
	const char *a = argc > 1 ? argv[1] : "amd64";
	enum gdb_arch arch = !strcmp(a, "i386") ? GDB_ARCH_I386 :
			     !strcmp(a, "i8086") ? GDB_ARCH_I8086 : GDB_ARCH_AMD64;
	uint8_t buf[4096];

	fake_init(&fake, &stub, arch);
	fake.sink = to_stdout;
	while (!stub.done) {
		ssize_t n = read(0, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n && !stub.done; i++)
			gdb_stub_input(&stub, buf[i]);
	}
	return 0;
}
