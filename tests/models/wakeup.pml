/* SPDX-License-Identifier: MIT */
/*
 * Waking a halted vCPU (hv/vdev/lapic.c, hv/guest/sched.c): a sender on another CPU
 * posts the interrupt in the vCPU's IRR, then kicks the vCPU's CPU with an
 * IPI (lapic_set_irq).  The vCPU's CPU checks for work with interrupts off
 * (pick() -> vcpu_ready() -> lapic_has_wakeup()) and, finding none, halts
 * with `sti; hlt`, which takes a pending IPI without a window in between.
 * NMIs (a count, nmi_queued) and INIT/SIPI are posted the same way, an
 * atomic RMW then the kick: `irr` stands for any of them.
 *
 * Safety: once a sender has posted and kicked, the CPU is never asleep with
 * the interrupt still posted and no IPI pending to wake it (a lost wakeup).
 *
 * Mutants (-D, each must make spin report an assertion violation):
 *	MUT_STI_BEFORE_CHECK	the CPU enables interrupts before it checks IRR
 *	MUT_KICK_BEFORE_POST	the sender kicks before it posts to IRR
 */

#define NPOST	2

bool irr;		/* the posted vector (bits merge, as in the IRR) */
bool ipi;		/* the kick, pending at the CPU's local APIC */
bool intr_on;		/* the CPU's RFLAGS.IF */
bool asleep;		/* in HLT */
bool posting;		/* a sender is between its two steps */

active proctype sender()
{
	byte n = 0;

	do
	:: n < NPOST ->
		posting = true;
#ifdef MUT_KICK_BEFORE_POST
		ipi = true;
		irr = true;
#else
		irr = true;	/* set_bit32(irr): a locked RMW, ordered before the ICR write */
		ipi = true;	/* sched_kick() */
#endif
		posting = false;
		n++
	:: else -> break
	od
}

/* The CPU taking the IPI whenever its interrupts are on: the kick handler. */
active proctype interrupt()
{
end_wait:
	do
	:: atomic { intr_on && ipi -> ipi = false; asleep = false }
	od
}

active proctype cpu()
{
end_loop:
	do
	:: intr_on = false;		/* cli: pick() runs with interrupts off */
#ifdef MUT_STI_BEFORE_CHECK
		intr_on = true;
#endif
		if
		:: irr -> irr = false	/* vcpu_ready(): run the vCPU, inject */
		:: else ->
			/* sti; hlt: the STI shadow covers HLT, so no interrupt comes between. */
			atomic { intr_on = true; asleep = !ipi };
			/* asleep until interrupt() takes the kick */
end_halted:		(!asleep)
		fi
	od
}

/* A lost wakeup: asleep, work posted, and nothing pending to end the HLT. */
active proctype monitor()
{
end_watch:
	atomic { !posting && asleep && irr && !ipi -> assert(false) }
}
