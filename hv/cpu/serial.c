/* SPDX-License-Identifier: MIT */
#include <stdint.h>

#include "hv/cpu/serial.h"
#include "hv/lib/x86.h"

#define COM1		0x3f8
#define UART_THR	0
#define UART_RBR	0
#define UART_IER	1
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define LSR_DR		0x01
#define LSR_THRE	0x20

static bool present;

void serial_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, 0x80);	/* DLAB: 115200 baud */
	outb(COM1 + 0, 1);
	outb(COM1 + 1, 0);
	outb(COM1 + UART_LCR, 0x03);	/* 8N1 */
	outb(COM1 + UART_FCR, 0x07);	/* FIFOs on, cleared */
	outb(COM1 + UART_MCR, 0x03);	/* DTR, RTS */
	/* A missing UART reads all ones; then we stay silent rather than spin. */
	present = inb(COM1 + UART_LSR) != 0xff;
}

static void putc_raw(char c)
{
	/* Bounded: a wedged UART must not hang the hypervisor. */
	for (int i = 0; i < 100000 && !(inb(COM1 + UART_LSR) & LSR_THRE); i++)
		__builtin_ia32_pause();
	outb(COM1 + UART_THR, (uint8_t)c);
}

void serial_write(const char *s, size_t n)
{
	if (!present)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			putc_raw('\r');
		putc_raw(s[i]);
	}
}

int serial_getc(void)
{
	if (!present || !(inb(COM1 + UART_LSR) & LSR_DR))
		return -1;
	return inb(COM1 + UART_RBR);
}
