/* SPDX-License-Identifier: MIT */
/* Polled 16550 UART on COM1: the hypervisor's console and shell. */
#ifndef HV_SERIAL_H
#define HV_SERIAL_H

#include <stdbool.h>
#include <stddef.h>

void serial_init(void);
void serial_write(const char *s, size_t n);
/* Next received byte, or -1 when none is waiting. */
int serial_getc(void);

#endif
