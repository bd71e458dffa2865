/* SPDX-License-Identifier: MIT */
/*
 * Generations of guest pages for reclaim: the sequence numbers of Linux's
 * multi-generational LRU, without its lists.  A memslot counts its aging
 * passes in max_seq; a resident page keeps, in a few bits of its slot word
 * (rmap/memslot.h), the pass (mod GEN_SEQ_NR) in which it was last populated
 * or found young.  Its generation is how many passes ago that was, capped at
 * GEN_OLDEST: an aging pass makes every page one older by incrementing
 * max_seq, and moves a young page to the youngest generation by one
 * compare-and-exchange of its slot word.  Pages older than GEN_FOLD_AGE
 * passes are rewritten to GEN_OLDEST passes old every GEN_FOLD_EVERY passes,
 * so that their numbers never wrap round to young.
 *
 * nr[] counts the resident pages per sequence number; every change of a
 * page's number (populate, aging, eviction) adds to it atomically, so the
 * histogram needs no lock.  A count may be off for a moment (it is changed
 * after the slot word, or an ager applies its changes at the end of a pass)
 * and read negative: readers clamp.
 */
#ifndef RMAP_GEN_H
#define RMAP_GEN_H

#include <stddef.h>
#include <stdint.h>

#define GEN_NR		4
#define GEN_YOUNGEST	0
#define GEN_OLDEST	(GEN_NR - 1)

#define GEN_SEQ_BITS	6
#define GEN_SEQ_NR	(1u << GEN_SEQ_BITS)
#define GEN_FOLD_AGE	32	/* a page this many passes old is rewritten ... */
#define GEN_FOLD_EVERY	16	/* ... by every pass whose number is a multiple of this */

struct gen_seqs {
	/* Aging passes begun: written by the (one) ager, read by anyone. */
	uint64_t max_seq;
	/* Resident pages per sequence number mod GEN_SEQ_NR; atomic adds only. */
	long nr[GEN_SEQ_NR];
};

static inline unsigned int gen_seq_idx(uint64_t seq)
{
	return (unsigned int)(seq & (GEN_SEQ_NR - 1));
}

/* The current pass: what a page populated, refaulted or found young gets. */
static inline uint64_t gen_max_seq(const struct gen_seqs *gs)
{
	return __atomic_load_n(&gs->max_seq, __ATOMIC_RELAXED);
}

/* How many passes ago @idx was the current one, when @max_seq is. */
static inline unsigned int gen_age(uint64_t max_seq, unsigned int idx)
{
	return (unsigned int)((max_seq - idx) & (GEN_SEQ_NR - 1));
}

/* The generation of a page of age @age: 0 youngest, GEN_OLDEST for every older one. */
static inline unsigned int gen_of_age(unsigned int age)
{
	return age < GEN_OLDEST ? age : GEN_OLDEST;
}

static inline void gen_count(struct gen_seqs *gs, unsigned int idx, long delta)
{
	__atomic_fetch_add(&gs->nr[idx], delta, __ATOMIC_RELAXED);
}

void gen_seqs_init(struct gen_seqs *gs);

/* Resident pages per generation (0 youngest) into @hist. */
void gen_histogram(const struct gen_seqs *gs, size_t hist[GEN_NR]);

/* All resident pages counted. */
size_t gen_total(const struct gen_seqs *gs);

/* The oldest generation holding pages; GEN_YOUNGEST when none does. */
unsigned int gen_oldest(const struct gen_seqs *gs);

#endif
