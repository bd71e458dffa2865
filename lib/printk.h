/* SPDX-License-Identifier: MIT */
/*
 * Printing, for every layer.  The hypervisor's console (hv/cpu/printk.c)
 * assembles a line per CPU and writes it whole under the console lock, so
 * lines from several CPUs never interleave; host tests get a printf-backed
 * version from tests/host/hosted.c.
 */
#ifndef LIB_PRINTK_H
#define LIB_PRINTK_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_ERR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

__attribute__((format(printf, 2, 3)))
int printk(int level, const char *fmt, ...);
int vprintk(int level, const char *fmt, va_list ap);

#define pr_err(...)	printk(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)	printk(LOG_WARN, __VA_ARGS__)
#define pr_info(...)	printk(LOG_INFO, __VA_ARGS__)
#define pr_debug(...)	printk(LOG_DEBUG, __VA_ARGS__)

#endif
