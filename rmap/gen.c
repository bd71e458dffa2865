/* SPDX-License-Identifier: MIT */
/* Generation sequence numbers and counts; the rules are in rmap/gen.h. */
#include "rmap/gen.h"

#include "lib/string.h"

void gen_seqs_init(struct gen_seqs *gs)
{
	memset(gs, 0, sizeof(*gs));
}

void gen_histogram(const struct gen_seqs *gs, size_t hist[GEN_NR])
{
	long h[GEN_NR] = { 0 };
	uint64_t max = gen_max_seq(gs);

	for (unsigned int i = 0; i < GEN_SEQ_NR; i++)
		h[gen_of_age(gen_age(max, i))] += __atomic_load_n(&gs->nr[i], __ATOMIC_RELAXED);
	for (unsigned int g = 0; g < GEN_NR; g++)
		hist[g] = h[g] > 0 ? (size_t)h[g] : 0;
}

size_t gen_total(const struct gen_seqs *gs)
{
	long n = 0;

	for (unsigned int i = 0; i < GEN_SEQ_NR; i++)
		n += __atomic_load_n(&gs->nr[i], __ATOMIC_RELAXED);
	return n > 0 ? (size_t)n : 0;
}

unsigned int gen_oldest(const struct gen_seqs *gs)
{
	size_t hist[GEN_NR];
	unsigned int g = GEN_OLDEST;

	gen_histogram(gs, hist);
	while (g > GEN_YOUNGEST && !hist[g])
		g--;
	return g;
}
