/* SPDX-License-Identifier: MIT */
/* The console: printk's sink, a ring of recent messages, and the log level. */
#ifndef HV_CONSOLE_H
#define HV_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

extern int console_level;

/* Write raw bytes (the shell's echo) under the console lock. */
void console_write(const char *s, size_t n);
/* After a fault or panic: stop waiting for a console lock another CPU may hold (and unmute). */
void console_force_unlock(void);
/* Keep printk and console_write() off COM1 while another user has it; the ring still fills. */
void console_mute(bool mute);
/* Print the message ring, oldest first, messages at or below level. */
void console_dump_log(int level);

#endif
