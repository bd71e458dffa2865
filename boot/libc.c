/* SPDX-License-Identifier: MIT */
/* What the compiler may call that gnu-efi's libefi lacks (it has memcpy and memset). */
#include <stddef.h>

int memcmp(const void *a, const void *b, size_t n);

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}
