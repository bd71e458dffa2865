/* SPDX-License-Identifier: MIT */
/* Generations of guest pages; the rules are in rmap/gen.h. */
#include "rmap/age.h"
#include "rmap/gen.h"

static void link_init(struct gen_link *l)
{
	l->next = l->prev = l;
}

static bool link_empty(const struct gen_link *l)
{
	return l->next == l;
}

static void link_add_tail(struct gen_link *head, struct gen_link *l)
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

static void link_del(struct gen_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	link_init(l);
}

/* Move the whole list @from (left empty) to @to, which must be empty. */
static void link_move(struct gen_link *from, struct gen_link *to)
{
	link_init(to);
	if (link_empty(from))
		return;
	to->next = from->next;
	to->prev = from->prev;
	to->next->prev = to;
	to->prev->next = to;
	link_init(from);
}

static struct gen_page *link_page(struct gen_link *l)
{
	return (struct gen_page *)((char *)l - offsetof(struct gen_page, link));
}

static void gen_put(struct gen_lru *lru, struct gen_page *pg, unsigned int gen)
{
	pg->gen = gen;
	pg->epoch = lru->epoch;
	lru->nr[gen]++;
	link_add_tail(&lru->gens[gen], &pg->link);
}

void gen_lru_init(struct gen_lru *lru)
{
	for (unsigned int g = 0; g < GEN_NR; g++) {
		link_init(&lru->gens[g]);
		lru->nr[g] = 0;
	}
	lru->passes = 0;
	lru->epoch = 0;
}

void gen_page_init(struct gen_page *pg)
{
	pg->rmap.val = 0;
	link_init(&pg->link);
	pg->gen = GEN_YOUNGEST;
	pg->tracked = false;
	pg->epoch = 0;
}

void gen_track(struct gen_lru *lru, struct gen_page *pg)
{
	ASSERT(!pg->tracked);
	pg->tracked = true;
	gen_put(lru, pg, GEN_YOUNGEST);
}

void gen_untrack(struct gen_lru *lru, struct gen_page *pg)
{
	ASSERT(pg->tracked);
	/* A page a pass has not reached yet is on the pass's list: no generation counts it. */
	if (pg->epoch == lru->epoch) {
		ASSERT(lru->nr[pg->gen]);
		lru->nr[pg->gen]--;
	}
	link_del(&pg->link);
	pg->tracked = false;
}

size_t gen_age_pass(struct gen_lru *lru)
{
	return gen_age_pass_yield(lru, 0, NULL, NULL);
}

size_t gen_age_pass_yield(struct gen_lru *lru, unsigned int batch, void (*yield)(void *),
			  void *arg)
{
	struct gen_link old[GEN_NR];
	size_t young = 0, n = 0;

	for (unsigned int g = 0; g < GEN_NR; g++) {
		link_move(&lru->gens[g], &old[g]);
		lru->nr[g] = 0;
	}
	/* Pages on old[] now carry an older epoch than any page put back or tracked. */
	lru->epoch++;
	/*
	 * Oldest first, appending: pages already in the oldest generation stay
	 * ahead of those that just arrived, so picks remain oldest-first.
	 */
	for (int g = GEN_OLDEST; g >= 0; g--) {
		while (!link_empty(&old[g])) {
			struct gen_page *pg = link_page(old[g].next);
			unsigned int to = g < GEN_OLDEST ? g + 1 : GEN_OLDEST;

			link_del(&pg->link);
			if (rmap_test_clear_young(&pg->rmap)) {
				to = GEN_YOUNGEST;
				young++;
			}
			gen_put(lru, pg, to);
			/* Pages still on old[] are tracked but off the lists: nobody else moves them. */
			if (yield && ++n % batch == 0)
				yield(arg);
		}
	}
	lru->passes++;
	return young;
}

size_t gen_pick_oldest(struct gen_lru *lru, size_t n, struct gen_page **out)
{
	size_t taken = 0;
	int g = GEN_OLDEST;

	while (g > GEN_YOUNGEST && !lru->nr[g])
		g--;
	while (taken < n && lru->nr[g]) {
		struct gen_page *pg = link_page(lru->gens[g].next);

		gen_untrack(lru, pg);
		if (g != GEN_YOUNGEST && rmap_test_clear_young(&pg->rmap)) {
			/* Touched since the pass: a second chance. */
			pg->tracked = true;
			gen_put(lru, pg, GEN_YOUNGEST);
			continue;
		}
		out[taken++] = pg;
	}
	return taken;
}

void gen_histogram(const struct gen_lru *lru, size_t hist[GEN_NR])
{
	for (unsigned int g = 0; g < GEN_NR; g++)
		hist[g] = lru->nr[g];
}
