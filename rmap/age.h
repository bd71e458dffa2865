/* SPDX-License-Identifier: MIT */
/*
 * Lockless accessed-bit aging through the rmap (docs/mmu-contract.md, rule
 * 6, seed 003).  No mmu_lock: only the head's read-only bit lock, which keeps
 * the chain still.  The caller keeps the EPT tables the entries live in from
 * being freed (a grace-period read section); zaps that race are tolerated.
 */
#ifndef RMAP_AGE_H
#define RMAP_AGE_H

#include <stdbool.h>

#include "rmap/rmap.h"

/*
 * Whether any present entry of @head has its accessed bit set; clears them.
 * Only the accessed bit is ever written, by compare-and-exchange against the
 * value read, so a racing change of R/W/X (or a zap) makes it fail; a failed
 * one counts as young and is not retried.  No TLB flush: a stale translation
 * just leaves the bit clear a while longer, which makes the page look older
 * than it is, never younger.
 */
bool rmap_test_clear_young(struct rmap_head *head);

/* Whether any present entry of @head has its accessed bit set; changes nothing. */
bool rmap_test_young(struct rmap_head *head);

#endif
