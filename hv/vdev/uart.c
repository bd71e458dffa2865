/* SPDX-License-Identifier: MIT */
/*
 * The guest's 16550 at 0x3F8.  Output is line-buffered and printed with the
 * guest's name; while `console NAME` attaches the terminal to the guest,
 * output goes out raw (so prompts without a newline show) and typed bytes
 * fill the receive FIFO.  Interrupts: received data and THR empty, gated
 * by MCR OUT2 as on a PC, on IRQ 4 of the guest's I/O APIC.
 */
#include "hv/cpu/console.h"
#include "hv/cpu/printk.h"
#include "hv/core/vm.h"

#define IER_RDI		0x01
#define IER_THRI	0x02
#define MCR_OUT2	0x08
#define IIR_NONE	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define UART_IRQ	4

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

static bool rx_ready(const struct vm *vm)
{
	return vm->rx_head != vm->rx_tail;
}

/* Drive IRQ 4 from the interrupt sources; the caller holds uart_lock. */
static void update_irq(struct vm *vm)
{
	bool level = (((vm->uart_ier & IER_RDI) && rx_ready(vm)) ||
		      ((vm->uart_ier & IER_THRI) && vm->uart_thre_pending)) &&
		     (vm->uart_mcr & MCR_OUT2);

	if (level != vm->uart_irq_line) {
		vm->uart_irq_line = level;
		ioapic_set_irq(vm, UART_IRQ, level);
	}
}

static uint8_t read_iir(struct vm *vm)
{
	uint8_t fifo = vm->uart_fcr & 1 ? 0xc0 : 0;

	if ((vm->uart_ier & IER_RDI) && rx_ready(vm))
		return fifo | IIR_RDI;
	if ((vm->uart_ier & IER_THRI) && vm->uart_thre_pending) {
		vm->uart_thre_pending = false;	/* reading IIR acknowledges THRE */
		return fifo | IIR_THRI;
	}
	return fifo | IIR_NONE;
}

/* Attach the terminal; a partial line the guest wrote (its prompt) shows at once. */
void uart_attach(struct vm *vm)
{
	spin_lock(&vm->uart_lock);
	console_write(vm->tx_line, vm->tx_len);
	vm->tx_len = 0;
	WRITE_ONCE(console_vm, vm);
	spin_unlock(&vm->uart_lock);
}

void uart_console_input(struct vm *vm, uint8_t c)
{
	spin_lock(&vm->uart_lock);
	if ((vm->rx_head + 1) % UART_RX_SIZE != vm->rx_tail) {
		vm->rx[vm->rx_head] = c;
		vm->rx_head = (vm->rx_head + 1) % UART_RX_SIZE;
	}
	update_irq(vm);
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
			/* Sent at once: THR is empty again, a new THRE edge. */
			vm->uart_thre_pending = true;
			if (vm->uart_irq_line) {
				vm->uart_irq_line = false;
				ioapic_set_irq(vm, UART_IRQ, false);
			}
		}
		break;
	case 1:
		if (dlab) {
			if (in) *val = vm->uart_dlm; else vm->uart_dlm = b;
		} else {
			if (in) {
				*val = vm->uart_ier;
			} else {
				if ((b & IER_THRI) && !(vm->uart_ier & IER_THRI))
					vm->uart_thre_pending = true;
				vm->uart_ier = b & 0x0f;
			}
		}
		break;
	case 2:
		if (in)
			*val = read_iir(vm);
		else {
			vm->uart_fcr = b & 0xc9;
			if (b & 0x02)		/* clear the receive FIFO */
				vm->rx_tail = vm->rx_head;
		}
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
	update_irq(vm);
	spin_unlock(&vm->uart_lock);
}
