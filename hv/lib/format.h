/* SPDX-License-Identifier: MIT */
/* vsnprintf for the freestanding hypervisor: %d %i %u %x %X %o %p %s %c %%,
 * flags '-' '0' ' ' '+', width and precision (also '*'), length h hh l ll z. */
#ifndef HV_FORMAT_H
#define HV_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

int hv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
__attribute__((format(printf, 3, 4)))
int hv_snprintf(char *buf, size_t size, const char *fmt, ...);

#endif
