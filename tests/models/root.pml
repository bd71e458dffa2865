/* SPDX-License-Identifier: MIT */
/*
 * The EPT root lifecycle (docs/mmu-contract.md, item 3; seed 002):
 * one root, its refcount and invalid flag, racing
 *  - vCPUs that load it (reference taken under mmu_lock (read), only if the
 *    root is valid), run the guest on it and drop it (without mmu_lock) when
 *    kicked to reload or done;
 *  - the invalidator: marks it invalid and kicks the vCPUs (mmu_lock write),
 *    zaps it while it is still reachable, yielding, then drops the MMU's
 *    reference;
 *  - a zapper of all roots, valid or not (reclaim's range zap and the zap of
 *    invalidated roots must reach roots that vCPUs still run on), which takes
 *    a temporary reference under mmu_lock (read);
 *  - a lockless walker (aging): no reference, only a grace-period read
 *    section around its walk of valid roots.
 * The last reference unlinks the root and frees it after a grace period
 * (call_rcu: the rcu_gp process).  A vCPU that finds the root invalid loads a
 * fresh root instead; fresh roots are not modelled.
 *
 * Safety, checked at every state or at the access:
 *  - no use after free (vCPU on the guest, zapper, invalidator, walker);
 *  - no free before the zap, and the zap happens while the root is reachable;
 *  - a reference is dropped only by one who holds one; refcount >= 0;
 *  - only an invalid root reaches zero; zero is final (never revived);
 *  - an invalid root never becomes valid;
 *  - a vCPU never enters the guest on an invalid root unless a reload request
 *    is pending for it (so it will leave and reload: what kicks rely on);
 *  - at the end every reference is back and the root has been freed.
 *
 * Mutants (-D, each must make spin report an assertion violation):
 *	MUT_GET_INVALID		vCPU load does not check invalid
 *	MUT_GET_FROM_ZERO	get is a plain increment, not increment-if-not-zero
 *	MUT_FREE_BEFORE_ZAP	the MMU's reference is dropped before the zap
 *	MUT_FORCE_ZERO		the invalidator drops the MMU's reference with
 *				refcount_dec_not_one() and, when it saw one, forces
 *				the count to zero (seed 002)
 *	MUT_NO_GRACE		free without waiting for lockless walkers
 */

#define NVCPU	2
#define NLOAD	2	/* loads per vCPU */

/* mmu_lock: a reader-writer lock. */
bool writer;
byte readers;

inline read_lock()	{ atomic { !writer -> readers++ } }
inline read_unlock()	{ readers-- }
inline write_lock()	{ atomic { !writer && readers == 0 -> writer = true } }
inline write_unlock()	{ writer = false }

/* Changed under mmu_lock (write) only; read under mmu_lock or grace. */
bool invalid;
/*
 * The MMU holds one reference until the root is invalidated; each holder of
 * the root (vCPU, zapper) one more.  Zero is final.
 */
short refcount = 1;
/* On the roots list: cleared by the last reference, before call_rcu. */
bool listed = true;
bool zapped;
bool freed;

/* Ghosts for the properties and the end check. */
bool dead;		/* refcount reached zero */
bool ever_invalid;
byte done;		/* workers finished */

/* Reload requests, set with invalid in the same critical section. */
bool req[NVCPU];

/* Grace periods: readers inside a read section, and those a free waits for. */
byte rcu_mask;
byte gp_wait;
bool free_pending;

#define RCU_ZAPPER	1
#define RCU_WALKER	2

inline rcu_read_lock(who)	{ rcu_mask = rcu_mask | who }
inline rcu_read_unlock(who)	{ rcu_mask = rcu_mask & ~who }

#define ROOT_OK	(refcount >= 0 && (!dead || refcount == 0) &&		\
		 (!ever_invalid || invalid) && (!freed || dead))

/* ept_root_get(): increment-if-not-zero. */
inline root_get(ok)
{
#if defined(MUT_GET_FROM_ZERO)
	refcount++;
	ok = true
#else
	atomic {
		if
		:: refcount > 0 -> refcount++; ok = true
		:: else -> ok = false
		fi
	}
#endif
}

/*
 * ept_root_put(): the last reference unlinks the root and queues the free
 * behind a grace period (call_rcu).  The decrement and the unlink are two
 * steps, as in the code: root_dec() then root_unlink().
 */
inline root_dec(last)
{
	atomic {
		assert(refcount > 0);
		refcount--;
		last = refcount == 0;
		if
		:: last -> assert(invalid); dead = true
		:: else
		fi
	}
}

inline root_unlink(last)
{
	if
	:: last ->
		listed = false;
		gp_wait = rcu_mask;
		free_pending = true;
		last = false
	:: else
	fi
}

/*
 * Acquiring a lock is merged with the step after it and releasing one with
 * the step before it (Lipton reduction: acquire moves right, release left).
 */
proctype vcpu(byte me)
{
	bool held, last;
	byte n;

	do
	:: n < NLOAD ->
		n++;
		/* Handle the reload request, then load. */
		req[me] = false;
		atomic {
			read_lock();
#if defined(MUT_GET_INVALID)
			root_get(held);
#else
			if
			:: !invalid -> root_get(held)
			:: else -> held = false
			fi;
#endif
			read_unlock()
		}
		if
		:: held ->
			/* VM entry, unless a reload request is pending. */
			if
			:: atomic { req[me] -> req[me] = false }
			:: atomic { !req[me] -> assert(!invalid && !freed) } ->
				/* In the guest: the CPU walks the root. */
				assert(!freed)
			fi;
			/*
			 * Exit and unload: kicked, or the vCPU is done.  KVM puts under
			 * mmu_lock; the model puts without it, which allows more.
			 */
			root_dec(last);
			atomic { root_unlink(last) };
			held = false
		:: else
		fi
	:: else ->
		break
	od;
	done++
}

/* kvm_tdp_mmu_invalidate_roots() then the zap of invalidated roots. */
active proctype invalidator()
{
	bool last;

	atomic {
		write_lock();
		invalid = true;
		ever_invalid = true;
		req[0] = true;
		req[1] = true;
		write_unlock()
	}
#if defined(MUT_FREE_BEFORE_ZAP)
	atomic {
		read_lock();
		root_dec(last)
	}
	atomic {
		root_unlink(last);
		read_unlock()
	}
#endif
	/* Zap while reachable, yielding mmu_lock halfway. */
	atomic {
		read_lock();
		assert(listed && !freed);
		read_unlock()
	}
	atomic {
		read_lock();
		assert(listed && !freed);
		zapped = true
	}
#if defined(MUT_FORCE_ZERO)
	/* refcount_dec_not_one(); if it was one: refcount_set(0). */
	atomic {
		if
		:: refcount != 1 -> refcount--; last = false
		:: else -> last = true
		fi
	}
	if
	:: last ->
		atomic {
			refcount = 0;
			dead = true
		}
	:: else
	fi;
#elif !defined(MUT_FREE_BEFORE_ZAP)
	root_dec(last);
#endif
	atomic {
		root_unlink(last);
		read_unlock()
	}
	done++
}

/* A zap over every root on the list, valid or not, under mmu_lock (read). */
active proctype zapper()
{
	bool held, last;

	atomic {
		read_lock();
		rcu_read_lock(RCU_ZAPPER)
	}
	if
	:: listed -> root_get(held)
	:: else
	fi;
	rcu_read_unlock(RCU_ZAPPER);
	if
	:: held ->
		atomic {
			assert(!freed);
			read_unlock()
		}
		/* Yield: the reference alone keeps the root. */
		atomic {
			read_lock();
			assert(!freed)
		}
		root_dec(last);
		held = false
	:: else
	fi;
	atomic {
		root_unlink(last);
		read_unlock()
	}
	done++
}

/* Lockless aging: walk the valid roots under a grace-period read section. */
active proctype walker()
{
	byte n;

	do
	:: n < 2 ->
		n++;
		rcu_read_lock(RCU_WALKER);
		if
		:: listed && !invalid ->
			assert(!freed);
			assert(!freed)
		:: else
		fi;
		rcu_read_unlock(RCU_WALKER)
	:: else ->
		break
	od;
	done++
}

/* call_rcu(): free once every reader inside at the unlink has left. */
active proctype rcu_gp()
{
end_idle:
	free_pending;
#if !defined(MUT_NO_GRACE)
	do
	:: gp_wait == 0 -> break
	:: (gp_wait & rcu_mask) != gp_wait -> gp_wait = gp_wait & rcu_mask
	od;
#endif
	assert(zapped && !listed);
	freed = true
}

active proctype monitor()
{
end_monitor:
	atomic {
		!ROOT_OK ->
		assert(refcount >= 0);
		assert(!dead || refcount == 0);		/* zero is final */
		assert(!ever_invalid || invalid);	/* invalid is final */
		assert(!freed || dead)
	}
}

init {
	atomic {
		run vcpu(0);
		run vcpu(1)
	}
	/* Everyone else done: all references are back and the root is freed. */
	done == NVCPU + 3 && freed;
	assert(refcount == 0 && !listed && !writer && readers == 0 && rcu_mask == 0)
}
