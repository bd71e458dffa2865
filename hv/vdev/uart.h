/* SPDX-License-Identifier: MIT */
/*
 * The guest's 16550 at 0x3F8 (vm->uart), and the hypervisor's terminal
 * attached to it by the shell's `console NAME`.
 */
#ifndef HV_VDEV_UART_H
#define HV_VDEV_UART_H

#include <stdint.h>

struct vm;

/* The guest the terminal is attached to, or NULL; the shell alone writes it. */
extern struct vm *console_vm;

/* Attach the terminal; a partial line the guest wrote (its prompt) shows at once. */
void uart_attach(struct vm *vm);
/* A byte typed on the terminal, into the guest's receive FIFO. */
void uart_console_input(struct vm *vm, uint8_t c);

#endif
