/* SPDX-License-Identifier: MIT */
/*
 * `make bench-store`: store/lz.c and store/zstore.c on the host, per page kind:
 * compressed size, compress and decompress cost side by side with Debian's
 * liblz4 on the same pages (the same block format), store put/get cost, and
 * the memory a mixed store takes.  Ends with `figure NAME VALUE` lines.  With
 * --instr KIND OP N it only runs N compressions (OP c, or L for LZ4) or
 * decompressions (OP d, or D for LZ4) of KIND pages, for callgrind.
 */
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/lz.h"
#include "store/zstore.h"
#include "tests/store/zpages.h"

#define NPAGES	2000

static const char *const kind_name[ZP_NR_KINDS] = {
	"zero", "text", "random", "repeat", "sparse", "half-rand",
};

static uint16_t work[LZ_WORK_SIZE / 2];
static struct zstore_scratch scratch;
static long pages_live;

static void *pool_alloc(void *ctx)
{
	(void)ctx;
	pages_live++;
	return aligned_alloc(ZSTORE_PAGE_SIZE, ZSTORE_PAGE_SIZE);
}

static void pool_free(void *ctx, void *pg)
{
	(void)ctx;
	pages_live--;
	free(pg);
}

static const struct zstore_ops pool_ops = { pool_alloc, pool_free };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint8_t *gen(enum zp_kind kind, int n, uint64_t seed0)
{
	uint8_t *p = aligned_alloc(ZP_SIZE, (size_t)n * ZP_SIZE);

	for (int i = 0; i < n; i++)
		zp_fill(p + (size_t)i * ZP_SIZE, kind, seed0 + i);
	return p;
}

/* Only what callgrind should count: N (de)compressions of one kind. */
static int instr(int kind, char op, int n)
{
	uint8_t *pages = gen(kind, 64, 0), c[64][LZ_BOUND(ZP_SIZE)], out[ZP_SIZE];
	size_t clen[64], len;

	for (int i = 0; i < 64; i++)
		clen[i] = lz_compress(pages + i * ZP_SIZE, ZP_SIZE, c[i], sizeof(c[i]), work);
	for (int i = 0; i < n; i++) {
		const uint8_t *pg = pages + (i % 64) * ZP_SIZE;

		if (op == 'c')
			lz_compress(pg, ZP_SIZE, c[i % 64], sizeof(c[i % 64]), work);
		else if (op == 'L')
			LZ4_compress_default((const char *)pg, (char *)c[i % 64], ZP_SIZE,
					     sizeof(c[i % 64]));
		else if (op == 'D')
			LZ4_decompress_safe((const char *)c[i % 64], (char *)out,
					    (int)clen[i % 64], ZP_SIZE);
		else if (lz_decompress(c[i % 64], clen[i % 64], out, ZP_SIZE, &len))
			return 1;
	}
	free(pages);
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t c[NPAGES][LZ_BOUND(ZP_SIZE)];
	static size_t clen[NPAGES];
	static uint64_t h[NPAGES], mixed[6 * NPAGES];
	double figures[4] = { 0, 0, 0, 0 };
	uint8_t out[ZP_SIZE];
	struct zstore zs;
	struct zstore_stats st;
	size_t len;

	if (argc == 5 && !strcmp(argv[1], "--instr"))
		return instr(atoi(argv[2]), argv[3][0], atoi(argv[4]));

	printf("%-10s %7s %9s %8s %9s %8s %8s %8s %8s\n", "page", "size%", "comp ns", "MB/s",
	       "decomp ns", "MB/s", "put ns", "get ns", "drop ns");
	for (int kind = 0; kind < ZP_NR_KINDS; kind++) {
		uint8_t *pages = gen(kind, NPAGES, 1000);
		double t0, tc, td, tp, tg, tx;
		size_t total = 0;

		t0 = now();
		for (int i = 0; i < NPAGES; i++) {
			clen[i] = lz_compress(pages + (size_t)i * ZP_SIZE, ZP_SIZE, c[i],
					      sizeof(c[i]), work);
			total += clen[i];
		}
		tc = (now() - t0) / NPAGES;
		t0 = now();
		for (int r = 0; r < 4; r++)
			for (int i = 0; i < NPAGES; i++)
				if (lz_decompress(c[i], clen[i], out, ZP_SIZE, &len))
					return 1;
		td = (now() - t0) / NPAGES / 4;

		zstore_init(&zs, &pool_ops, NULL);
		t0 = now();
		for (int i = 0; i < NPAGES; i++)
			if (zstore_put(&zs, pages + (size_t)i * ZP_SIZE, &scratch, &h[i]))
				return 1;
		tp = (now() - t0) / NPAGES;
		t0 = now();
		for (int i = 0; i < NPAGES; i++)
			if (zstore_get(&zs, h[i], out, &scratch))
				return 1;
		tg = (now() - t0) / NPAGES;
		t0 = now();
		for (int i = 0; i < NPAGES; i++)
			if (zstore_drop(&zs, h[i]))
				return 1;
		tx = (now() - t0) / NPAGES;
		zstore_destroy(&zs);
		printf("%-10s %6.1f%% %9.0f %8.0f %9.0f %8.0f %8.0f %8.0f %8.0f\n", kind_name[kind],
		       100.0 * total / NPAGES / ZP_SIZE, tc, ZP_SIZE * 1e3 / tc, td,
		       ZP_SIZE * 1e3 / td, tp, tg, tx);
		free(pages);
	}

	/*
	 * Ours against liblz4 on the same pages, each page by both in turn so
	 * that both find it in the same cache; several rounds, best kept.
	 */
	printf("\n%-10s %10s %10s %9s %9s %8s %8s %7s\n", "page", "size ours", "size lz4",
	       "comp ns", "lz4 ns", "dec ns", "lz4 ns", "speed");
	for (int kind = 0; kind < ZP_NR_KINDS; kind++) {
		uint8_t *pages = gen(kind, 256, 5000);
		double best[4] = { 1e30, 1e30, 1e30, 1e30 };
		size_t sz[2] = { 0, 0 };

		for (int round = 0; round < 5; round++) {
			double t[4] = { 0, 0, 0, 0 };

			sz[0] = sz[1] = 0;
			for (int i = 0; i < 256; i++) {
				const uint8_t *pg = pages + (size_t)i * ZP_SIZE;
				double t0 = now(), t1, t2, t3, t4;
				size_t a = lz_compress(pg, ZP_SIZE, c[0], sizeof(c[0]), work);
				int b;

				t1 = now();
				b = LZ4_compress_default((const char *)pg, (char *)c[1], ZP_SIZE,
							 sizeof(c[1]));
				t2 = now();
				if (lz_decompress(c[0], a, out, ZP_SIZE, &len))
					return 1;
				t3 = now();
				if (LZ4_decompress_safe((const char *)c[1], (char *)out, b, ZP_SIZE) != ZP_SIZE)
					return 1;
				t4 = now();
				t[0] += t1 - t0, t[1] += t2 - t1, t[2] += t3 - t2, t[3] += t4 - t3;
				sz[0] += a, sz[1] += (size_t)b;
			}
			for (int j = 0; j < 4; j++)
				if (t[j] / 256 < best[j])
					best[j] = t[j] / 256;
		}
		printf("%-10s %9.2f%% %9.2f%% %9.0f %9.0f %8.0f %8.0f %6.2fx\n", kind_name[kind],
		       100.0 * sz[0] / 256 / ZP_SIZE, 100.0 * sz[1] / 256 / ZP_SIZE, best[0], best[1],
		       best[2], best[3], best[1] / best[0]);
		if (kind == ZP_TEXT) {
			figures[0] = best[0] / 1000, figures[1] = best[1] / 1000;
			figures[2] = (double)256 * ZP_SIZE / sz[0], figures[3] = (double)256 * ZP_SIZE / sz[1];
		}
		free(pages);
	}

	/* A mixed store: every kind alike, some pages twice. */
	zstore_init(&zs, &pool_ops, NULL);
	for (int i = 0; i < 6 * NPAGES; i++) {
		int j = i % (5 * NPAGES);

		zp_fill(out, j % ZP_NR_KINDS, j);
		if (zstore_put(&zs, out, &scratch, &mixed[i]))
			return 1;
	}
	zstore_get_stats(&zs, &st);
	printf("\nmixed store of %lu pages (1/6 each kind, 1/6 duplicates):\n",
	       (unsigned long)st.handles);
	printf("  entries %lu (raw %lu), zero handles %lu, dedup hits %lu\n",
	       (unsigned long)st.entries, (unsigned long)st.raw_entries,
	       (unsigned long)st.zero_handles, (unsigned long)st.dedup_hits);
	printf("  compressed bytes %lu, data pages %lu, meta pages %lu\n",
	       (unsigned long)st.compressed_bytes, (unsigned long)st.data_pages,
	       (unsigned long)st.meta_pages);
	printf("  memory / stored: %.1f%% (ratio %.2f:1); slab fill %.1f%%; "
	       "metadata %.1f bytes per stored page, %.1f per entry\n",
	       100.0 * (st.data_pages + st.meta_pages) / st.handles,
	       (double)st.handles / (st.data_pages + st.meta_pages),
	       100.0 * (st.compressed_bytes + st.raw_entries * ZP_SIZE) /
	       ((double)st.data_pages * ZP_SIZE),
	       (double)st.meta_pages * ZP_SIZE / st.handles,
	       (double)st.meta_pages * ZP_SIZE / st.entries);
	for (int i = 0; i < 6 * NPAGES; i++)
		if (zstore_drop(&zs, mixed[i]))
			return 1;
	zstore_get_stats(&zs, &st);
	if (st.data_pages)
		return 1;
	zstore_destroy(&zs);
	printf("\nfigure lz_compress_text_us %.2f\n", figures[0]);
	printf("figure lz4_compress_text_us %.2f\n", figures[1]);
	printf("figure ratio_text %.3f\n", figures[2]);
	printf("figure lz4_ratio_text %.3f\n", figures[3]);
	printf("figure lz_speed_vs_lz4_text %.2f\n", figures[1] / figures[0]);
	return pages_live != 0;
}
