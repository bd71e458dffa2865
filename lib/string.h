/* SPDX-License-Identifier: MIT */
/* mem and str functions: lib/string.c in the hypervisor, libc when hosted. */
#ifndef HV_STRING_H
#define HV_STRING_H

#include <stddef.h>

#ifdef HOSTED
#include <string.h>
#else
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strncpy(char *dst, const char *src, size_t n);
#endif

#endif
