/* SPDX-License-Identifier: MIT */
/*
 * memfill MIB [PASSES]: a Linux guest's fill-and-verify program (in the test
 * initramfs as /bin/memfill; tests/boot/test_bochs_linux.py runs it in an
 * overcommitted guest).  Each pass writes every page of MIB MiB with a
 * pattern that depends on the page's index and the pass, then reads all of
 * it back: a page lost, swapped with another, left from an earlier pass or
 * zeroed by the host's reclaim shows as a mismatch.
 *
 * A page is its index and pass in the first two words, then one word
 * repeated: the host's compressor squeezes it (reclaim refuses pages that do
 * not compress), yet no two pages, nor two passes of one page, are alike.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define PAGE		4096
#define WORDS		(PAGE / sizeof(uint64_t))

static uint64_t page_word(uint64_t page, uint64_t pass)
{
	uint64_t x = page * 0x9e3779b97f4a7c15ULL ^ (pass + 1) * 0xc2b2ae3d27d4eb4fULL;

	x ^= x >> 31;
	return x | 1;			/* never 0: a zeroed page never passes */
}

static void fill(uint64_t *p, uint64_t page, uint64_t pass)
{
	uint64_t w = page_word(page, pass);

	p[0] = page;
	p[1] = pass;
	for (size_t i = 2; i < WORDS; i++)
		p[i] = w;
}

/* The index of the first wrong word of the page, or -1. */
static long check(const uint64_t *p, uint64_t page, uint64_t pass)
{
	uint64_t w = page_word(page, pass);

	if (p[0] != page)
		return 0;
	if (p[1] != pass)
		return 1;
	for (size_t i = 2; i < WORDS; i++)
		if (p[i] != w)
			return (long)i;
	return -1;
}

int main(int argc, char **argv)
{
	unsigned long mib, passes = 1, npages;
	uint64_t *mem;
	char *end;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: memfill MIB [PASSES]\n");
		return 2;
	}
	mib = strtoul(argv[1], &end, 0);
	if (*end || !mib || mib > (1UL << 20)) {
		fprintf(stderr, "memfill: bad size '%s'\n", argv[1]);
		return 2;
	}
	if (argc == 3) {
		passes = strtoul(argv[2], &end, 0);
		if (*end || !passes) {
			fprintf(stderr, "memfill: bad pass count '%s'\n", argv[2]);
			return 2;
		}
	}
	npages = mib * (1UL << 20) / PAGE;
	mem = mmap(NULL, mib << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		perror("memfill: mmap");
		return 1;
	}
	for (unsigned long pass = 0; pass < passes; pass++) {
		for (unsigned long pg = 0; pg < npages; pg++)
			fill(mem + pg * WORDS, pg, pass);
		for (unsigned long pg = 0; pg < npages; pg++) {
			const uint64_t *p = mem + pg * WORDS;
			long bad = check(p, pg, pass);

			if (bad >= 0) {
				printf("memfill: MISMATCH at page %lu word %ld pass %lu: "
				       "%#llx (page %llu pass %llu)\n", pg, bad, pass,
				       (unsigned long long)p[bad], (unsigned long long)p[0],
				       (unsigned long long)p[1]);
				return 1;
			}
		}
		printf("memfill: pass %lu ok\n", pass + 1);
		fflush(stdout);
	}
	printf("memfill: %lu MiB x %lu passes ok\n", mib, passes);
	return 0;
}
