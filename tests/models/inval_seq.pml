/* SPDX-License-Identifier: MIT */
/*
 * The invalidation sequence (docs/mmu-contract.md, item 2; seeds 000 and 001):
 * faulting vCPUs racing range invalidations that free the backing pages.
 *
 * Guest frames: gfn 0 is a hole (no guest memory), gfns 1 and 2 are backed.
 * A backing page is named by its generation: pagegen[g] is the page that backs
 * gfn g now; an invalidation frees it by bumping the generation, so any older
 * generation names a freed page.  ept[g] is the leaf installed for g: the
 * generation it maps, or NONE.
 *
 * Safety: no installed leaf ever maps a freed page, i.e. at every state
 *	ept[g] == NONE || ept[g] == pagegen[g]
 * (stronger than "after the invalidation completed": it must hold from the
 * moment the page is freed).  Also: in_progress never underflows, and once
 * everyone is done the counts are balanced and mmu_lock is free.
 *
 * The model is sequentially consistent.  A barrier is modelled as program
 * order; a mutant that drops a barrier moves the statements it ordered.
 *
 * Configuration (-D):
 *	END_UNLOCKED	the end side does not take mmu_lock; the count updates
 *			are then ordered only by the smp_wmb()/smp_rmb() pair.
 *			Default: end takes mmu_lock for write, as KVM does.
 * Mutants (-D, each must make spin report an assertion violation):
 *	MUT_NO_RECHECK			fault installs without the check under the lock
 *	MUT_NO_IN_PROGRESS_CHECK	fault checks only seq
 *	MUT_NO_SEQ_CHECK		fault checks only in_progress and the range
 *	MUT_SNAPSHOT_AFTER_RESOLVE	seq snapshot taken after resolving the page
 *	MUT_NO_WIDEN			a nested begin overwrites the range
 *	MUT_SKIP_BY_START		range-skip looks only at the start gfn
 *	MUT_DEC_BEFORE_SEQ		end drops in_progress before bumping seq
 *					(unsafe with END_UNLOCKED only)
 *	MUT_SEQ_CHECK_FIRST		fault reads seq before in_progress
 *					(unsafe with END_UNLOCKED only)
 * With the end side under mmu_lock, MUT_DEC_BEFORE_SEQ and MUT_SEQ_CHECK_FIRST
 * are safe (no fault can look between the two updates): the barrier pair only
 * matters where a count is read or written without the lock.
 * Variant that must stay safe: MUT_NO_RANGE_CHECK (retry on any open
 * invalidation: only spurious retries).
 */

#define NGFN	3
#define NONE	0
#define NVCPU	2
#define NFAULT	2	/* faults per vCPU */
#define NINV	2	/* invalidations, concurrent with each other */

/* Protected by mmu_lock (write) for changes; seq is also read locklessly. */
byte seq;
byte in_progress;
byte rstart;
byte rend;

/* The primary MMU's state: changed by the invalidator outside mmu_lock. */
byte pagegen[NGFN] = 1;

/* Leaves: installed under mmu_lock (read), zapped under mmu_lock (write). */
byte ept[NGFN];

byte done;

#define LEAF_OK(g)	(ept[g] == NONE || ept[g] == pagegen[g])
#define INVARIANT	(LEAF_OK(1) && LEAF_OK(2) && in_progress <= NINV)

/* mmu_lock: a reader-writer lock. */
bool writer;
byte readers;

inline read_lock()	{ atomic { !writer -> readers++ } }
inline read_unlock()	{ readers-- }
inline write_lock()	{ atomic { !writer && readers == 0 -> writer = true } }
inline write_unlock()	{ writer = false }

/*
 * The fault path's check under mmu_lock (read), in two steps because with
 * END_UNLOCKED the counts may change between the two reads: first in_progress
 * and the range (the range only changes under the write lock), then seq.
 * smp_rmb() between them pairs with smp_wmb() in inval_end().
 */
#if defined(MUT_NO_RECHECK)
#define CHECK_FIRST(g, snap)	false
#define CHECK_SECOND(g, snap)	false
#elif defined(MUT_SEQ_CHECK_FIRST)
#define CHECK_FIRST(g, snap)	(seq != snap)
#define CHECK_SECOND(g, snap)	IN_RANGE(g)
#elif defined(MUT_NO_SEQ_CHECK)
#define CHECK_FIRST(g, snap)	IN_RANGE(g)
#define CHECK_SECOND(g, snap)	false
#elif defined(MUT_NO_IN_PROGRESS_CHECK)
#define CHECK_FIRST(g, snap)	false
#define CHECK_SECOND(g, snap)	(seq != snap)
#else
#define CHECK_FIRST(g, snap)	IN_RANGE(g)
#define CHECK_SECOND(g, snap)	(seq != snap)
#endif

#if defined(MUT_NO_RANGE_CHECK)
#define IN_RANGE(g)	(in_progress > 0)
#else
#define IN_RANGE(g)	(in_progress > 0 && rstart <= (g) && (g) < rend)
#endif

/*
 * Lock acquisition is merged with the step after it and release with the step
 * before it (Lipton reduction: acquire moves right, release moves left); each
 * step holds at most one access that can conflict with another process.
 */
proctype vcpu()
{
	byte g, snap, page, n;
	bool stale;

	do
	:: n < NFAULT ->
		n++;
		if
		:: g = 1
		:: g = 2
		fi;
retry:
#if defined(MUT_SNAPSHOT_AFTER_RESOLVE)
		page = pagegen[g];
		snap = seq;
#else
		snap = seq;
		/* smp_rmb(): the snapshot is taken before the page is resolved. */
		page = pagegen[g];
#endif
		atomic {
			read_lock();
			stale = CHECK_FIRST(g, snap)
		}
		stale = stale || CHECK_SECOND(g, snap);
		atomic {
			/* Install with compare-and-exchange: a racing fault may have won. */
			if
			:: !stale && ept[g] == NONE -> ept[g] = page
			:: else
			fi;
			read_unlock();
			snap = 0;
			page = 0
		}
		if
		:: stale -> goto retry
		:: else -> stale = false; g = 0
		fi
	:: else ->
		break
	od;
	done++
}

inline inval_begin(s, e)
{
	atomic {
		write_lock();
		in_progress++;
#if defined(MUT_NO_WIDEN)
		rstart = s;
		rend = e;
#else
		if
		:: in_progress == 1 ->
			rstart = s;
			rend = e
		:: else ->
			if
			:: s < rstart -> rstart = s
			:: else
			fi;
			if
			:: e > rend -> rend = e
			:: else
			fi
		fi;
#endif
		/* Zap in the same critical section as the count. */
		g = s;
		do
		:: g < e -> ept[g] = NONE; g++
		:: else -> break
		od;
		write_unlock()
	}
}

#if defined(MUT_DEC_BEFORE_SEQ)
#define END_BODY	in_progress--; seq++
#else
/* smp_wmb() between the two: pairs with smp_rmb() in the fault's check. */
#define END_BODY	seq++; in_progress--
#endif

inline inval_end()
{
#if defined(END_UNLOCKED)
	END_BODY
#else
	atomic {
		write_lock();
		END_BODY;
		write_unlock()
	}
#endif
}

/* The primary MMU frees (replaces) the pages of [s, e), one at a time. */
inline free_pages(s, e, g)
{
	g = s;
	do
	:: g < e ->
		if
		:: g > 0 -> pagegen[g]++
		:: else
		fi;
		g++
	:: else ->
		break
	od
}

/* Does [s, e) overlap guest memory?  Only gfn 0 is a hole. */
#if defined(MUT_SKIP_BY_START)
#define HAS_MEMORY(s, e)	((s) != 0)
#else
#define HAS_MEMORY(s, e)	((e) > 1)
#endif

/* The ranges an invalidation may cover: [RSTART(r), REND(r)). */
#define NRANGE		5
#define RSTART(r)	((r) == 0 || (r) == 3 -> 0 : ((r) == 1 || (r) == 4 -> 1 : 2))
#define REND(r)		((r) == 0 -> 1 : ((r) == 1 || (r) == 3 -> 2 : 3))

proctype invalidator(byte r)
{
	byte s = RSTART(r), e = REND(r), g;

	if
	:: HAS_MEMORY(s, e) ->
		inval_begin(s, e);
		free_pages(s, e, g);
		inval_end()
	:: else ->
		/* Nothing of the guest's: skip mmu_lock and the counts (seed 001). */
		free_pages(s, e, g)
	fi;
	done++
}

active proctype monitor()
{
end_monitor:
	atomic {
		!INVARIANT ->
		assert(LEAF_OK(1));
		assert(LEAF_OK(2));
		assert(in_progress <= NINV)
	}
}

init {
	byte i, r1, r2;

	atomic {
		i = 0;
		do
		:: i < NVCPU -> run vcpu(); i++
		:: else -> break
		od;
		/*
		 * The two invalidators are identical processes, so ranges (a, b) and
		 * (b, a) give the same behaviours: pick r1 <= r2 only.
		 */
		select(r1 : 0 .. NRANGE - 1);
		select(r2 : r1 .. NRANGE - 1);
		run invalidator(r1);
		run invalidator(r2)
	}
	done == NVCPU + NINV;
	/* Balanced: every begin was ended and mmu_lock is free. */
	assert(in_progress == 0 && !writer && readers == 0)
}
