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
	test_lapic();
	test_ioapic();
	rt_exit(rt_failures);
}
