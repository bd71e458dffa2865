/* SPDX-License-Identifier: MIT */
/*
 * EPT TLB shootdowns (hv/mm/tlb.c), after KVM's vcpu->mode protocol: a flusher
 * (a zap that cleared entries) queues an INVEPT request on every CPU, then
 * waits only for the CPUs it sees in guest mode to leave it; a vCPU enters
 * guest mode, then runs its queued INVEPTs, then enters the guest.  The two
 * smp_mb() of the code are the order of these steps (spin's interleavings
 * are sequentially consistent; the mutants reorder the steps instead).
 *
 * Safety: once a flush round has returned, no vCPU in the guest uses a
 * translation through an entry that round cleared.  stale[c] is the oldest
 * round whose cleared entries CPU c may still cache (0: none).
 *
 * Mutants (-D, each must make spin report an assertion violation):
 *	MUT_REQ_BEFORE_MODE	the vCPU reads its requests before entering guest mode
 *	MUT_MODE_BEFORE_QUEUE	the flusher reads the modes before queueing requests
 *	MUT_NO_WAIT		the flusher does not wait for CPUs in guest mode
 */

#define NVCPU	2
#define NENTRY	3	/* VM entries per vCPU */
#define NROUND	2	/* flush rounds */

bool in_guest[NVCPU];
byte exits[NVCPU];
bool req[NVCPU];
byte stale[NVCPU];
byte returned;		/* the last round that returned */

active [NVCPU] proctype vcpu()
{
	byte me = _pid;
	byte n = 0;

	do
	:: n < NENTRY ->
#ifdef MUT_REQ_BEFORE_MODE
		bool pending = req[me];
		in_guest[me] = true;
#else
		in_guest[me] = true;
		bool pending = req[me];
#endif
		if
		:: pending -> atomic { req[me] = false; stale[me] = 0 }	/* INVEPT */
		:: else
		fi;
		/* In the guest: any number of accesses through the TLB. */
		do
		:: assert(stale[me] == 0 || stale[me] > returned)
		:: break
		od;
		exits[me]++;
		in_guest[me] = false;
		n++
	:: else -> break
	od
}

active proctype flusher()
{
	byte round = 1, c, seen[NVCPU];
	bool wait[NVCPU];

	do
	:: round <= NROUND ->
		/* The zap: every CPU may cache what it cleared. */
		for (c : 0 .. NVCPU - 1) {
			if
			:: stale[c] == 0 -> stale[c] = round
			:: else
			fi
		}
#ifdef MUT_MODE_BEFORE_QUEUE
		for (c : 0 .. NVCPU - 1) {
			wait[c] = in_guest[c];
			seen[c] = exits[c]
		}
		for (c : 0 .. NVCPU - 1) { req[c] = true }
#else
		for (c : 0 .. NVCPU - 1) { req[c] = true }
		for (c : 0 .. NVCPU - 1) {
			atomic { wait[c] = in_guest[c]; seen[c] = exits[c] }
		}
#endif
#ifndef MUT_NO_WAIT
		for (c : 0 .. NVCPU - 1) {
			if
			:: wait[c] -> (!in_guest[c] || exits[c] != seen[c])
			:: else
			fi
		}
#endif
		returned = round;
		round++
	:: else -> break
	od
}
