/* SPDX-License-Identifier: MIT */
#include <stdint.h>

#include "hv/cpu/serial.h"
#include "hv/lib/x86.h"

#define UART_THR	0
#define UART_RBR	0
#define UART_IER	1
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define LSR_DR		0x01
#define LSR_THRE	0x20

static bool present;

bool serial_port_init(uint16_t base)
{
	outb(base + UART_IER, 0);
	outb(base + UART_LCR, 0x80);	/* DLAB: 115200 baud */
	outb(base + 0, 1);
	outb(base + 1, 0);
	outb(base + UART_LCR, 0x03);	/* 8N1 */
	outb(base + UART_FCR, 0x07);	/* FIFOs on, cleared */
	outb(base + UART_MCR, 0x03);	/* DTR, RTS */
	/* A missing UART reads all ones; then we stay silent rather than spin. */
	return inb(base + UART_LSR) != 0xff;
}

void serial_init(void)
{
	present = serial_port_init(SERIAL_COM1);
}

void serial_port_putc(uint16_t base, uint8_t c)
{
	/* Bounded: a wedged UART must not hang the hypervisor. */
	for (int i = 0; i < 100000 && !(inb(base + UART_LSR) & LSR_THRE); i++)
		__builtin_ia32_pause();
	outb(base + UART_THR, c);
}

int serial_port_getc(uint16_t base)
{
	if (!(inb(base + UART_LSR) & LSR_DR))
		return -1;
	return inb(base + UART_RBR);
}

uint8_t serial_port_modem_status(uint16_t base)
{
	return inb(base + UART_MSR);
}

void serial_write(const char *s, size_t n)
{
	if (!present)
		return;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_port_putc(SERIAL_COM1, '\r');
		serial_port_putc(SERIAL_COM1, (uint8_t)s[i]);
	}
}

int serial_getc(void)
{
	return present ? serial_port_getc(SERIAL_COM1) : -1;
}
