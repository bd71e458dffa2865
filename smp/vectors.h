/* SPDX-License-Identifier: MIT */
/* The IDT vectors the machine uses: exceptions it names, and its own IPIs. */
#ifndef SMP_VECTORS_H
#define SMP_VECTORS_H

#define VEC_NMI		2
#define VEC_DF		8
#define VEC_MC		18
#define VEC_CALL	0xf0	/* smp_call_on_cpus() */
#define VEC_KICK	0xf1	/* vcpu_kick(), shootdowns: the VM exit is the point */
#define VEC_TIMER	0xf2	/* apic_timer_arm(): wakes an idle CPU for a guest's timer */
#define VEC_SPURIOUS	0xff

#endif
