/* SPDX-License-Identifier: MIT */
/*
 * One guest frame's state word, without a per-memslot lock (rmap/memslot.c):
 * a vCPU populating and refaulting it, reclaim evicting it inside an
 * invalidation, and the ager moving its generation, all by compare-and-
 * exchange on the slot word (docs/reclaim.md, "The pieces").
 *
 *	EMPTY		never touched (reads as zeros)
 *	RESIDENT(p, g)	backed by host page p, generation g (YOUNG or OLD)
 *	EVICTING(p)	claimed by reclaim inside an open invalidation
 *	EVICTED(h)	in the store under handle h
 *	LOADING(h)	claimed by one refault, which restores h
 *
 * Host pages and store handles are named by small numbers with an alive bit;
 * the guest's data is one value, which the vCPU increments through its
 * mapping and must find again after every refault ("bit for bit").
 *
 * Safety, at every state:
 *	- a leaf maps only a live page (rule 2 of docs/mmu-contract.md);
 *	- a RESIDENT or EVICTING slot names a live page, an EVICTED or LOADING
 *	  one a live handle;
 *	- nobody reads a dropped handle or a freed page;
 *	- the vCPU reads back what it wrote last;
 *	- a page pinned for a copy is alive and holds the guest's last write.
 *
 * Mutants (-D, each must make spin report an assertion violation):
 *	MUT_NO_RETRY_LOST_CMPXCHG	populate keeps its page after losing the race
 *	MUT_EVICT_OUTSIDE_INVALIDATION	reclaim claims and frees without an invalidation
 *	MUT_REFAULT_UNCLAIMED		refault restores a handle without claiming it
 *	MUT_AGE_PLAIN_STORE		the ager writes the generation with a plain
 *					store, losing a state change made meanwhile
 *	MUT_EVICT_PINNED		reclaim claims a page the hypervisor has
 *					pinned for a copy
 */

#define EMPTY		0
#define RESIDENT	1
#define EVICTING	2
#define EVICTED		3
#define LOADING		4

#define YOUNG		0
#define OLD		1

#define NONE		255
#define NEVICT		2	/* reclaim runs */
#define NAGE		3	/* aging passes */
#define NPAGE		3
#define NHANDLE		3

/* The slot word: changed only by cmpxchg (atomic blocks below). */
byte state = EMPTY;
byte sp = NONE;		/* the page of RESIDENT/EVICTING */
byte sgen = YOUNG;
byte sh = NONE;		/* the handle of EVICTED/LOADING */
byte pins;		/* RESIDENT only: memslot_access() copying */
byte pinned = NONE;	/* the page it copies */

bool page_alive[NPAGE];
byte page_data[NPAGE];
bool handle_alive[NHANDLE];
byte handle_data[NHANDLE];

/* The gfn's EPT leaf and its accessed bit; mmu_lock reduced to atomic blocks. */
byte leaf = NONE;
bool accessed;
byte seq;
byte in_progress;

byte written;		/* the guest's data: what the vCPU wrote last */

#define SLOT_OK								\
	((state != RESIDENT && state != EVICTING || page_alive[sp]) &&	\
	 (state != EVICTED && state != LOADING || handle_alive[sh]))

/* Fires in any state where an invariant is broken. */
active proctype monitor()
{
end:	atomic { !(leaf == NONE || page_alive[leaf]) || !(SLOT_OK) ||
		     !(pinned == NONE || page_alive[pinned] && page_data[pinned] == written) ->
			assert(false) }
}

inline alloc_page(p)
{
	atomic {
		if
		:: !page_alive[0] -> p = 0
		:: else -> if
			:: !page_alive[1] -> p = 1
			:: else -> assert(!page_alive[2]); p = 2
			fi
		fi;
		page_alive[p] = true
	}
}

inline free_page(p)
{
	atomic { assert(page_alive[p]); page_alive[p] = false }
}

/* Two vCPUs: each touches the page twice, faulting when its leaf is gone. */
active [2] proctype vcpu()
{
	byte s, p, h, touches = 0;

	do
	:: touches == 2 -> break
	:: else ->
		/* Locals reset each round: a retry is the same state as the first try. */
		d_step { s = 0; p = NONE; h = NONE };
		if
		:: atomic { leaf != NONE ->
			/* Through the mapping: read back, then write the next value. */
			assert(page_alive[leaf]);
			assert(page_data[leaf] == written);
			written++;
			page_data[leaf] = written;
			accessed = true;
			touches++ }
		:: atomic { leaf == NONE -> s = seq }
			/* Resolve the gfn to a page, without mmu_lock. */
resolve:
			if
			:: atomic { state == RESIDENT -> p = sp; assert(page_alive[p]) }
			:: atomic { state == EMPTY -> skip };
				/* A private page, zeroed: one step (nobody else sees it yet). */
				atomic { alloc_page(p); page_data[p] = 0 };
				if
				:: atomic { state == EMPTY -> state = RESIDENT; sp = p; sgen = YOUNG }
				:: atomic { state != EMPTY ->
#ifdef MUT_NO_RETRY_LOST_CMPXCHG
					skip }
#else
					page_alive[p] = false }	/* lost: free ours, look again */
					goto resolve
#endif
				fi
			:: atomic { state == EVICTED -> skip };
				/* The page first, privately (allocating may reclaim), then the claim. */
				atomic { alloc_page(p) };
				if
				:: atomic { state == EVICTED ->
#ifdef MUT_REFAULT_UNCLAIMED
					h = sh }
#else
					h = sh; state = LOADING }
#endif
				:: atomic { state != EVICTED -> page_alive[p] = false; p = NONE };
					goto resolve
				fi;
				atomic { assert(handle_alive[h]); page_data[p] = handle_data[h] };
#ifdef MUT_REFAULT_UNCLAIMED
				if
				:: atomic { state == EVICTED && sh == h ->
					state = RESIDENT; sp = p; sgen = YOUNG; sh = NONE;
					handle_alive[h] = false }
				:: atomic { !(state == EVICTED && sh == h) -> page_alive[p] = false };
					goto resolve
				fi
#else
				/* Only the claimer leaves LOADING: a plain store would do. */
				atomic { state = RESIDENT; sp = p; sgen = YOUNG; sh = NONE;
					 handle_alive[h] = false }
#endif
			:: atomic { state == EVICTING -> p = sp }
				/*
				 * Being evicted: the resolver hands out the claimed page, which
				 * the install below must refuse (the invalidation is open).
				 */
			:: atomic { state == LOADING -> p = NONE }
				/* Restored by another refault: fault again later (the code waits). */
			fi;
			/* Install under mmu_lock, unless an invalidation ran or runs. */
			atomic {
				if
				:: p != NONE && in_progress == 0 && seq == s -> leaf = p
				:: else -> skip
				fi
			}
		fi
	od
}

/* Reclaim: evict the page if it is old, inside an invalidation of the gfn. */
active proctype reclaim()
{
	byte p, h, n = 0;

	do
	:: n == NEVICT -> break
	:: else ->
		d_step { n++; p = NONE; h = NONE };
#ifndef MUT_EVICT_OUTSIDE_INVALIDATION
		atomic { in_progress++; leaf = NONE };	/* begin: count, zap, flush */
#endif
		if
#ifdef MUT_EVICT_PINNED
		:: atomic { state == RESIDENT && sgen == OLD -> p = sp; state = EVICTING }
#else
		:: atomic { state == RESIDENT && sgen == OLD && pins == 0 -> p = sp; state = EVICTING }
#endif
			/* Compress into the store; it may refuse (incompressible). */
			if
			:: atomic {
				h = (handle_alive[0] -> (handle_alive[1] -> 2 : 1) : 0);
				assert(!handle_alive[h]);
				assert(page_alive[p]);
				handle_alive[h] = true;
				handle_data[h] = page_data[p] }
				atomic { state = EVICTED; sh = h; sp = NONE };
				free_page(p);
				h = NONE
			:: atomic { state = RESIDENT; sgen = YOUNG }
			fi
		:: atomic { !(state == RESIDENT && sgen == OLD && pins == 0) -> skip }
		fi;
#ifndef MUT_EVICT_OUTSIDE_INVALIDATION
		atomic { seq++; in_progress-- }	/* end */
#endif
	od
}

/* The ager: accessed since the last pass -> young, else one generation older. */
active proctype ager()
{
	byte p = NONE, g = 0, n = 0;
	bool young;

	do
	:: n == NAGE -> break
	:: atomic { n < NAGE && state != RESIDENT -> n++ }
	:: atomic { n < NAGE && state == RESIDENT -> n++; p = sp }
		/* The leaf's accessed bit (test and clear; a lost race would count as young). */
		atomic { young = accessed; accessed = false; g = (young -> YOUNG : OLD) };
#ifdef MUT_AGE_PLAIN_STORE
		atomic { state = RESIDENT; sp = p; sgen = g; p = NONE; g = 0; young = false }
#else
		/* cmpxchg: only if the slot still holds p; a lost race skips the page. */
		atomic {
			if
			:: state == RESIDENT && sp == p -> sgen = g
			:: else -> skip
			fi;
			p = NONE; g = 0; young = false
		}
#endif
	od
}

/*
 * The hypervisor's own access (memslot_access()): pin a resident page by
 * cmpxchg on its word, copy, unpin.  (A page not resident is resolved again
 * first, the vCPUs' part; here the access waits for a resident page.)
 */
active proctype hv_access()
{
	/* One copy, whenever the page is resident (it may never be: then none). */
end:	atomic { state == RESIDENT -> pinned = sp; pins++ };
	/* Copying: the monitor checks the pinned page all along. */
	atomic { pins--; pinned = NONE }
}
