/* SPDX-License-Identifier: MIT */
/*
 * The guest's 16550 at 0x3F8.  Output is line-buffered and printed with the
 * guest's name; while `console NAME` attaches the terminal to the guest,
 * output goes out raw (so prompts without a newline show) and typed bytes
 * fill the receive FIFO.  No interrupts yet: guests poll LSR.
 */
#include "hv/console.h"
#include "hv/printk.h"
#include "hv/vm.h"

#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

struct vm *console_vm;		/* the guest the terminal is attached to, if any */

void uart_flush(struct vm *vm)
{
	if (vm->tx_len) {
		pr_info("[%s] %.*s\n", vm->cfg.name, (int)vm->tx_len, vm->tx_line);
		vm->tx_len = 0;
	}
}

static void uart_tx(struct vm *vm, uint8_t c)
{
	if (READ_ONCE(console_vm) == vm) {
		char ch = (char)c;

		uart_flush(vm);
		console_write(&ch, 1);
		return;
	}
	if (c == '\r')
		return;
	if (c == '\n' || vm->tx_len == sizeof(vm->tx_line)) {
		uart_flush(vm);
		if (c == '\n')
			return;
	}
	vm->tx_line[vm->tx_len++] = (c >= 0x20 && c < 0x7f) || c == '\t' ? (char)c : '?';
}

void uart_console_input(struct vm *vm, uint8_t c)
{
	spin_lock(&vm->uart_lock);
	if ((vm->rx_head + 1) % UART_RX_SIZE != vm->rx_tail) {
		vm->rx[vm->rx_head] = c;
		vm->rx_head = (vm->rx_head + 1) % UART_RX_SIZE;
	}
	spin_unlock(&vm->uart_lock);
}

void uart_io(struct vcpu *v, uint16_t port, bool in, uint32_t *val)
{
	struct vm *vm = v->vm;
	bool dlab = vm->uart_lcr & 0x80;
	uint8_t b = (uint8_t)*val;

	spin_lock(&vm->uart_lock);
	switch (port - 0x3f8) {
	case 0:
		if (dlab) {
			if (in) *val = vm->uart_dll; else vm->uart_dll = b;
		} else if (in) {
			*val = 0;
			if (vm->rx_head != vm->rx_tail) {
				*val = vm->rx[vm->rx_tail];
				vm->rx_tail = (vm->rx_tail + 1) % UART_RX_SIZE;
			}
		} else {
			uart_tx(vm, b);
		}
		break;
	case 1:
		if (dlab) {
			if (in) *val = vm->uart_dlm; else vm->uart_dlm = b;
		} else {
			if (in) *val = vm->uart_ier; else vm->uart_ier = b & 0x0f;
		}
		break;
	case 2:
		if (in)
			*val = 0xc1;	/* FIFOs on, no interrupt pending */
		break;
	case 3:
		if (in) *val = vm->uart_lcr; else vm->uart_lcr = b;
		break;
	case 4:
		if (in) *val = vm->uart_mcr; else vm->uart_mcr = b & 0x1f;
		break;
	case 5:
		if (in)
			*val = LSR_THRE | LSR_TEMT | (vm->rx_head != vm->rx_tail ? LSR_DR : 0);
		break;
	case 6:
		if (in)
			*val = 0xb0;	/* DCD, DSR, CTS */
		break;
	case 7:
		if (in) *val = vm->uart_scr; else vm->uart_scr = b;
		break;
	}
	spin_unlock(&vm->uart_lock);
}
