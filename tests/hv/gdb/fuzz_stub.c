/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for hv/gdb/stub.c and rsp.c: the input is what arrives on
 * the serial line (the first byte picks the mode), fed byte by byte to a
 * stub with the fake target behind it, once raw and once with every packet
 * given a good checksum, so the fuzzer reaches the commands.  The stub must
 * never read or write out of bounds (ASan/UBSan) and every reply it frames
 * must parse back.
 */
#include <stdlib.h>

#include "tests/hv/gdb/fake_target.h"

static struct fake fake;
static struct gdb_stub stub;

static void check_output(void)
{
	struct gdb_rsp r;

	gdb_rsp_init(&r);
	for (size_t i = 0; i < fake.out_len; i++) {
		enum gdb_rsp_event e = gdb_rsp_feed(&r, (uint8_t)fake.out[i]);

		if (e == RSP_BAD_CHECKSUM || e == RSP_TOO_LONG)
			abort();	/* the stub framed something wrong */
	}
	fake.out_len = 0;
}

static void feed(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < size && !stub.done; i++) {
		gdb_stub_input(&stub, data[i]);
		if (fake.out_len > sizeof(fake.out) / 2)
			check_output();
	}
	check_output();
}

/* Each '\n'-separated piece becomes one well-framed packet. */
static void feed_framed(const uint8_t *data, size_t size)
{
	static char framed[2 * GDB_PACKET_MAX + 16];
	size_t start = 0;

	for (size_t i = 0; i <= size && !stub.done; i++) {
		if (i < size && data[i] != '\n')
			continue;
		if (i - start <= GDB_PACKET_MAX) {
			size_t n = gdb_rsp_frame(framed, sizeof(framed), (const char *)data + start,
						 i - start);

			feed((const uint8_t *)framed, n);
		}
		start = i + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum gdb_arch arch;

	if (!size)
		return 0;
	arch = (enum gdb_arch)(data[0] % 3);
	fake_init(&fake, &stub, arch);
	feed(data + 1, size - 1);
	fake_init(&fake, &stub, arch);
	feed_framed(data + 1, size - 1);
	return 0;
}
