/* SPDX-License-Identifier: MIT */
/*
 * Guest memory in the hypervisor (hv/mm/gmem.c): each guest's EPT MMU (ept/)
 * and memslot (rmap/), one store and one reclaim for all guests, and the
 * memory limit they share.
 */
#ifndef HV_GMEM_H
#define HV_GMEM_H

#include <stdbool.h>
#include <stdint.h>

#include "ept/root.h"
#include "rmap/memslot.h"
#include "rmap/reclaim.h"
#include "store/zstore.h"

struct vm;
struct vcpu;

extern struct zstore gmem_store;
extern struct reclaim gmem_reclaim;

/* Boot, once CPUs are up: the store, reclaim, watermarks, the guests' limit (0: all free). */
void gmem_global_init(uint64_t limit_bytes);
void gmem_limits(uint64_t *charged_pages, uint64_t *limit, uint64_t *reserve);
/* Counters over every guest since boot (resident and evicted: now); control CPU only. */
void gmem_totals(struct memslot_stats *t);

/* The widest guest-physical address a guest may have, in bits (the host's, at most 48). */
unsigned int gmem_phys_bits(void);
/* A guest's memory, empty: populated lazily by EPT violations. */
int gmem_init(struct vm *vm, char *err, unsigned int n);
/* Everything back: roots, tables, pages, stored copies.  No vCPU may hold a root. */
void gmem_destroy(struct vm *vm);
/* The hypervisor's own accesses to guest memory (loader, hypercalls); -1 if out of range. */
int gmem_write(struct vm *vm, uint64_t gpa, const void *src, uint64_t len);
int gmem_read(struct vm *vm, uint64_t gpa, void *dst, uint64_t len);

/* Drop the vCPU's reference to its EPT root (it leaves its CPU, or loads another). */
void gmem_vcpu_put_root(struct vcpu *v);
/*
 * Before an entry: 0 when the vCPU's root is still valid; 1 when a valid
 * one was loaded into v->root and v->eptp (the caller writes the EPTP and
 * drops what its CPU cached of an older root in the same table page); -1
 * when there is no memory for a root even after reclaim: the guest (or a
 * larger one, whose memory the vCPU then waits for) was stopped.
 */
int gmem_vcpu_load_root(struct vcpu *v);
/* An EPT violation at @gpa; 0 to re-enter, -1 when the guest was stopped. */
int gmem_fault(struct vcpu *v, uint64_t gpa, uint64_t qual);
uint64_t gmem_eptp(const struct ept_root *root);

/* Background reclaim from the control CPU's loop. */
void gmem_background(void);

#endif
