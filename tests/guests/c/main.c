/* SPDX-License-Identifier: MIT */
/*
 * A C test guest: the Multiboot promises, guest memory, the local APIC and
 * the I/O APIC, in the mode crt0 put us in; exits with the failure count.
 */
#include "tests/guests/c/rt.h"

void rt_main(void)
{
	rt_printf("C guest: %s mode, gcc -%s\n", RT_MODE, RT_OPT);
	test_multiboot();
	test_memory();
	test_bigmem();
	/* A big guest is about its memory: the APIC checks ran in the others. */
	if (rt_cmdline_has("bigmem"))
		rt_exit(rt_failures);
	test_lapic();
	test_ioapic();
	rt_exit(rt_failures);
}
