/* SPDX-License-Identifier: MIT */
/*
 * Every lock of the hypervisor, outermost first, in one table (after Xen's
 * arch/x86/mm/mm-locks.h).  A CPU takes locks only in increasing order: the
 * lock primitives check it where LOCK_ORDER_CHECK is on (the hypervisor
 * always, host tests built with DEBUG) and warn once, naming both locks, on
 * the first acquisition against it.  A lock left at order 0 is not checked
 * (the rwlock's own queue lock).  Trylocks may go against the order, since
 * they cannot wait; they still count as held.
 */
#ifndef SMP_LOCK_ORDER_H
#define SMP_LOCK_ORDER_H

#include <stdint.h>

#include "lib/check.h"

#if defined(DEBUG) || !defined(HOSTED)
#define LOCK_ORDER_CHECK 1
#endif

enum lock_order {
	LOCK_ORDER_NONE = 0,
	LOCK_ORDER_VM,		/* vm_lock: guest lifecycle, vm->state (hv/core/vm.c) */
	LOCK_ORDER_NETSW,	/* a virtual network's switch: ports, MAC table (hv/virtio/netswitch.c) */
	LOCK_ORDER_VIRTIO,	/* a virtio device: transport, queues, device state (hv/virtio/) */
	LOCK_ORDER_RECLAIM_RUN,	/* reclaim->run_lock: one reclaim run, across invalidations */
	LOCK_ORDER_LAYOUT,	/* ept->layout_lock: guest memory regions */
	LOCK_ORDER_INVAL_ALL,	/* ept->inval_all_lock: one all-roots invalidation at a time */
	LOCK_ORDER_MMU,		/* ept->mmu_lock (rwlock): EPT entries and roots */
	LOCK_ORDER_RECLAIM,	/* reclaim->lock: the list of memslots and the cursor */
	LOCK_ORDER_MEMSLOT,	/* ms->age_lock: one aging pass of a memslot at a time */
	LOCK_ORDER_ROOTS,	/* ept->roots_lock: the root list and links */
	LOCK_ORDER_STORE,	/* zstore->lock: the store's index and pages */
	LOCK_ORDER_RMAP_POOL,	/* the rmap descriptor pool (hv/mm/gmem.c) */
	LOCK_ORDER_RUNQUEUE,	/* a CPU's run queue (hv/guest/sched.c) */
	LOCK_ORDER_UART,	/* a guest's 16550 (hv/vdev/uart.c) */
	LOCK_ORDER_PCI,		/* a guest's PCI bus: config spaces, MSI-X (hv/vdev/pci.c) */
	LOCK_ORDER_IOAPIC,	/* a guest's I/O APIC: its pins fire from inside the UART's lock */
	LOCK_ORDER_HOST_CMOS,	/* the host's RTC index/data ports (hv/vdev/platform.c) */
	LOCK_ORDER_TLB,		/* a CPU's queued INVEPTs (hv/mm/tlb.c) */
	LOCK_ORDER_CALL,	/* cross-CPU calls, one at a time (smp/call.c) */
	LOCK_ORDER_GRACE,	/* grace-period state and callback lists (smp/grace.c) */
	LOCK_ORDER_MEMSLOT_META,/* ms->meta_lock: backing a chunk of per-gfn metadata (rmap/memslot.c) */
	LOCK_ORDER_VMAP,	/* the vmap area's reservations and tables (hv/cpu/vmap.c) */
	LOCK_ORDER_PAGE_ALLOC,	/* the buddy allocator (hv/cpu/page_alloc.c) */
	LOCK_ORDER_CONSOLE,	/* printk: innermost, anything may print */
	LOCK_ORDER_MAX
};

static const char *const lock_order_names[LOCK_ORDER_MAX] = {
	[LOCK_ORDER_NONE] = "unordered", [LOCK_ORDER_VM] = "vm_lock",
	[LOCK_ORDER_NETSW] = "netswitch lock", [LOCK_ORDER_VIRTIO] = "virtio device lock",
	[LOCK_ORDER_RECLAIM_RUN] = "reclaim run_lock", [LOCK_ORDER_LAYOUT] = "layout_lock",
	[LOCK_ORDER_INVAL_ALL] = "inval_all_lock", [LOCK_ORDER_MMU] = "mmu_lock",
	[LOCK_ORDER_ROOTS] = "roots_lock", [LOCK_ORDER_RECLAIM] = "reclaim lock",
	[LOCK_ORDER_MEMSLOT] = "memslot age_lock", [LOCK_ORDER_STORE] = "store lock",
	[LOCK_ORDER_RMAP_POOL] = "rmap pool lock", [LOCK_ORDER_RUNQUEUE] = "run queue lock",
	[LOCK_ORDER_UART] = "uart lock", [LOCK_ORDER_PCI] = "pci bus lock",
	[LOCK_ORDER_IOAPIC] = "ioapic lock",
	[LOCK_ORDER_HOST_CMOS] = "host cmos lock", [LOCK_ORDER_TLB] = "tlb queue lock",
	[LOCK_ORDER_CALL] = "call_lock", [LOCK_ORDER_GRACE] = "grace_lock",
	[LOCK_ORDER_MEMSLOT_META] = "memslot meta_lock", [LOCK_ORDER_VMAP] = "vmap lock", [LOCK_ORDER_PAGE_ALLOC] = "page allocator lock", [LOCK_ORDER_CONSOLE] = "console_lock",
};

_Static_assert(LOCK_ORDER_MAX <= 64, "held locks are one bit each in a 64-bit mask");

#ifdef LOCK_ORDER_CHECK
/* The orders this CPU (hosted: this thread) holds, one bit each. */
#ifdef HOSTED
extern __thread uint64_t hosted_locks_held;
static inline uint64_t locks_held(void)
{
	return hosted_locks_held;
}

static inline void locks_held_set(uint64_t m)
{
	hosted_locks_held = m;
}
#else
/* struct percpu keeps the mask at offset 16 (checked in smp/percpu.h). */
static inline uint64_t locks_held(void)
{
	uint64_t m;

	__asm__ __volatile__("movq %%gs:16, %0" : "=r"(m));
	return m;
}

static inline void locks_held_set(uint64_t m)
{
	__asm__ __volatile__("movq %0, %%gs:16" : : "r"(m) : "memory");
}
#endif

static inline const char *lock_order_name(unsigned int order)
{
	return order < LOCK_ORDER_MAX ? lock_order_names[order] : "?";
}

/* Before waiting for a lock of @order: nothing of that order or later may be held. */
static inline void lock_order_acquire(unsigned int order, bool trylock)
{
	uint64_t held;

	if (!order)
		return;
	held = locks_held();
	if (!trylock && (held >> order))
		WARN_ONCE(1, "lock order: taking %s while holding %s",
			  lock_order_name(order), lock_order_name(63 - __builtin_clzll(held)));
	locks_held_set(held | (1ULL << order));
}

static inline void lock_order_release(unsigned int order)
{
	if (order)
		locks_held_set(locks_held() & ~(1ULL << order));
}
#else
static inline void lock_order_acquire(unsigned int order, bool trylock)
{
	(void)order;
	(void)trylock;
}

static inline void lock_order_release(unsigned int order)
{
	(void)order;
}

static inline void locks_held_set(uint64_t m)
{
	(void)m;
}
#endif

#endif
