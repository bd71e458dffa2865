/* SPDX-License-Identifier: MIT */
/*
 * The guest's 16550 at 0x3F8.  Output is line-buffered and printed with the
 * guest's name; while `console NAME` attaches the terminal to the guest,
 * output goes out raw (so prompts without a newline show) and typed bytes
 * fill the receive FIFO.  Interrupts: received data and THR empty, gated
 * by MCR OUT2 as on a PC, on IRQ 4 of the guest's I/O APIC.
 */
#include "hv/core/unit.h"
#include "hv/core/vm.h"
#include "hv/cpu/console.h"
#include "hv/vdev/ioapic.h"
#include "hv/vdev/uart.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "smp/lockdep.h"

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

#define UART_PORT	0x3f8
#define UART_RX_SIZE	256

struct vuart {
	/* Everything below; the guest's port accesses and the console's input take it. */
	spinlock_t lock;
	/* TX: a line buffer printed with the guest's name; RX: a FIFO fed by `console NAME`. */
	char tx_line[160];
	unsigned int tx_len;
	uint8_t rx[UART_RX_SIZE];
	unsigned int rx_head, rx_tail;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thre_pending;		/* THR-empty interrupt not yet acknowledged */
	bool irq_line;			/* the level on IRQ 4 */
};

static struct vuart uarts[VM_MAX];

struct vm *console_vm;		/* the guest the terminal is attached to, if any */

static void uart_flush(struct vm *vm)
{
	struct vuart *u = vm->uart;

	if (u->tx_len) {
		pr_info("[%s] %.*s\n", vm->cfg.name, (int)u->tx_len, u->tx_line);
		u->tx_len = 0;
	}
}

static void uart_tx(struct vm *vm, uint8_t c)
{
	struct vuart *u = vm->uart;

	if (READ_ONCE(console_vm) == vm) {
		char ch = (char)c;

		uart_flush(vm);
		console_write(&ch, 1);
		return;
	}
	if (c == '\r')
		return;
	if (c == '\n' || u->tx_len == sizeof(u->tx_line)) {
		uart_flush(vm);
		if (c == '\n')
			return;
	}
	u->tx_line[u->tx_len++] = (c >= 0x20 && c < 0x7f) || c == '\t' ? (char)c : '?';
}

static bool rx_ready(const struct vm *vm)
{
	const struct vuart *u = vm->uart;

	return u->rx_head != u->rx_tail;
}

/* Drive IRQ 4 from the interrupt sources; the caller holds u->lock. */
static void update_irq(struct vm *vm)
{
	struct vuart *u = vm->uart;
	bool level = (((u->ier & IER_RDI) && rx_ready(vm)) ||
		      ((u->ier & IER_THRI) && u->thre_pending)) &&
		     (u->mcr & MCR_OUT2);

	lockdep_assert_held(&u->lock);
	if (level != u->irq_line) {
		u->irq_line = level;
		ioapic_set_irq(vm, UART_IRQ, level);
	}
}

static uint8_t read_iir(struct vm *vm)
{
	struct vuart *u = vm->uart;
	uint8_t fifo = u->fcr & 1 ? 0xc0 : 0;

	lockdep_assert_held(&u->lock);
	if ((u->ier & IER_RDI) && rx_ready(vm))
		return fifo | IIR_RDI;
	if ((u->ier & IER_THRI) && u->thre_pending) {
		u->thre_pending = false;	/* reading IIR acknowledges THRE */
		return fifo | IIR_THRI;
	}
	return fifo | IIR_NONE;
}

/* Attach the terminal; a partial line the guest wrote (its prompt) shows at once. */
void uart_attach(struct vm *vm)
{
	struct vuart *u = vm->uart;

	spin_lock(&u->lock);
	console_write(u->tx_line, u->tx_len);
	u->tx_len = 0;
	WRITE_ONCE(console_vm, vm);
	spin_unlock(&u->lock);
}

void uart_console_input(struct vm *vm, uint8_t c)
{
	struct vuart *u = vm->uart;

	spin_lock(&u->lock);
	if ((u->rx_head + 1) % UART_RX_SIZE != u->rx_tail) {
		u->rx[u->rx_head] = c;
		u->rx_head = (u->rx_head + 1) % UART_RX_SIZE;
	}
	update_irq(vm);
	spin_unlock(&u->lock);
}

static void uart_io(struct vcpu *v, uint16_t port, bool in, unsigned int size, uint32_t *val)
{
	struct vm *vm = v->vm;
	struct vuart *u = vm->uart;
	bool dlab = u->lcr & 0x80;
	uint8_t b = (uint8_t)*val;

	(void)size;
	spin_lock(&u->lock);
	switch (port - UART_PORT) {
	case 0:
		if (dlab) {
			if (in) *val = u->dll; else u->dll = b;
		} else if (in) {
			*val = 0;
			if (u->rx_head != u->rx_tail) {
				*val = u->rx[u->rx_tail];
				u->rx_tail = (u->rx_tail + 1) % UART_RX_SIZE;
			}
		} else {
			uart_tx(vm, b);
			/* Sent at once: THR is empty again, a new THRE edge. */
			u->thre_pending = true;
			if (u->irq_line) {
				u->irq_line = false;
				ioapic_set_irq(vm, UART_IRQ, false);
			}
		}
		break;
	case 1:
		if (dlab) {
			if (in) *val = u->dlm; else u->dlm = b;
		} else {
			if (in) {
				*val = u->ier;
			} else {
				if ((b & IER_THRI) && !(u->ier & IER_THRI))
					u->thre_pending = true;
				u->ier = b & 0x0f;
			}
		}
		break;
	case 2:
		if (in)
			*val = read_iir(vm);
		else {
			u->fcr = b & 0xc9;
			if (b & 0x02)		/* clear the receive FIFO */
				u->rx_tail = u->rx_head;
		}
		break;
	case 3:
		if (in) *val = u->lcr; else u->lcr = b;
		break;
	case 4:
		if (in) *val = u->mcr; else u->mcr = b & 0x1f;
		break;
	case 5:
		if (in)
			*val = LSR_THRE | LSR_TEMT | (u->rx_head != u->rx_tail ? LSR_DR : 0);
		break;
	case 6:
		if (in)
			*val = 0xb0;	/* DCD, DSR, CTS */
		break;
	case 7:
		if (in) *val = u->scr; else u->scr = b;
		break;
	}
	update_irq(vm);
	spin_unlock(&u->lock);
}

static int uart_attach_vm(struct vm *vm)
{
	vm->uart = &uarts[vm->id];
	memset(vm->uart, 0, sizeof(*vm->uart));
	spin_lock_init_order(&vm->uart->lock, LOCK_ORDER_UART);
	return vm_register_pio(vm, UART_PORT, 8, uart_io);
}

/* Power-on: FIFO and line empty, interrupts off (the divisor latch and scratch stay). */
static void uart_reset(struct vm *vm)
{
	struct vuart *u = vm->uart;

	u->tx_len = 0;
	u->rx_head = u->rx_tail = 0;
	u->ier = u->lcr = u->mcr = u->fcr = 0;
	u->thre_pending = u->irq_line = false;
}

DEFINE_VDEV_UNIT(uart, .vm_create = uart_attach_vm, .vm_reset = uart_reset, .vm_flush = uart_flush);
