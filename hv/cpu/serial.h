/* SPDX-License-Identifier: MIT */
/*
 * Polled 16550 UARTs: COM1 is the hypervisor's console and shell; the GDB
 * stub may have a port of its own (COM2) or take COM1 over for a while.
 */
#ifndef HV_SERIAL_H
#define HV_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_COM1	0x3f8
#define SERIAL_COM2	0x2f8

void serial_init(void);
/* COM1: text, '\n' sent as CR LF. */
void serial_write(const char *s, size_t n);
/* Next byte received on COM1, or -1 when none is waiting. */
int serial_getc(void);

/* A port at @base set to 115200 8N1 with FIFOs; false if no UART answers there. */
bool serial_port_init(uint16_t base);
/* One raw byte; waits a bounded time for room. */
void serial_port_putc(uint16_t base, uint8_t c);
/* Next byte received, or -1. */
int serial_port_getc(uint16_t base);
/* The modem status register (DCD 0x80, DSR 0x20: the other end is there). */
uint8_t serial_port_modem_status(uint16_t base);

#endif
