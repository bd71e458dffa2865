/* SPDX-License-Identifier: MIT */
/*
 * The I/O APIC, checked against the 82093AA datasheet (IOREGSEL/IOWIN,
 * IOAPICID, IOAPICVER, the redirection table) and the SDM's local APIC
 * rules for what it delivers (10.8.4: TMR; 10.8.5: EOI of a level-triggered
 * interrupt).  Interrupts come from the PC's COM1 on ISA IRQ 4 (pin 4): a
 * 16550 raises its line while "transmitter holding register empty" is
 * enabled (IER bit 1) and not yet acknowledged (a read of IIR), with OUT2.
 *
 * The window is declared the way drivers declare it: a struct overlay with
 * the select register at +0 and the data window at +0x10.
 */
#include "tests/guests/c/rt.h"

#define IOAPICID	0x00
#define IOAPICVER	0x01
#define REDIR(pin)	(0x10 + 2 * (pin))
#define RTE_MASKED	(1u << 16)
#define RTE_LEVEL	(1u << 15)
#define RTE_REMOTE_IRR	(1u << 14)
#define UART_PIN	4
#define COM1		0x3f8
#define IER		1
#define IIR		2
#define MCR		4
#define MCR_OUT2	0x08
#define IER_THRI	0x02

struct ioapic {
	uint32_t sel;
	uint32_t pad[3];
	uint32_t win;
};
#define io		((volatile struct ioapic *)IOAPIC_BASE)
#define apic		((volatile uint32_t *)LAPIC_BASE)

static uint32_t io_read(uint8_t reg)
{
	io->sel = reg;
	return io->win;
}

static void io_write(uint8_t reg, uint32_t val)
{
	io->sel = reg;
	io->win = val;
}

static unsigned int max_redir;

static void check_registers(void)
{
	uint32_t ver = io_read(IOAPICVER), id = io_read(IOAPICID), e;
	bool masked = true;

	max_redir = (ver >> 16) & 0xff;
	CHECK("ioapic_version", (ver & 0xff) == 0x11 || (ver & 0xff) == 0x20,
	      "IOAPICVER 0x%x (want version 0x11 or 0x20)", ver);
	CHECK("ioapic_max_redir_at_least_23", max_redir >= 23 && max_redir < 240,
	      "maximum redirection entry %u", max_redir);
	io->sel = 0x12;
	CHECK_EQ("ioapic_ioregsel_readback", io->sel & 0xff, 0x12);
	/* A byte store to IOREGSEL, as some drivers do it. */
	*(volatile uint8_t *)IOAPIC_BASE = IOAPICVER;
	CHECK_EQ("ioapic_ioregsel_byte_write", io->win, ver);

	io_write(IOAPICID, 0x0a000000);
	e = io_read(IOAPICID);
	io_write(IOAPICID, id);
	CHECK_EQ("ioapic_id_rw", (e >> 24) & 0xf, 0xa);

	for (unsigned int pin = 0; pin <= max_redir; pin++)
		masked &= !!(io_read(REDIR(pin)) & RTE_MASKED);
	CHECK("ioapic_redir_reset_masked", masked, "an entry is not masked at reset");

	/* Vector, delivery mode, destination mode, polarity, trigger, mask stick;
	 * delivery status (12) and remote IRR (14) are read-only. */
	io_write(REDIR(10), 0x0001ffff);
	io_write(REDIR(10) + 1, 0xff000000);
	e = io_read(REDIR(10));
	CHECK_EQ("ioapic_redir_low_bits", e, 0x0001afff);
	CHECK_EQ("ioapic_redir_destination", io_read(REDIR(10) + 1) & 0xff000000, 0xff000000);
	io_write(REDIR(10), RTE_MASKED);
	io_write(REDIR(10) + 1, 0);
}

/* ---- interrupts from COM1 ---- */

static volatile uint32_t h_rte, h_rte_after, h_iir, h_tmr;
static unsigned int while_masked;

static bool uart_edge_hook(unsigned int vector)
{
	h_iir = inb(COM1 + IIR);		/* acknowledges THRE: the line drops */
	(void)vector;
	return false;
}

/* Level: Remote IRR holds until our EOI, then clears. */
static bool uart_level_hook(unsigned int vector)
{
	h_rte = io_read(REDIR(UART_PIN));
	h_tmr = apic[(0x180 + vector / 32 * 16) / 4] & (1u << (vector % 32));
	h_iir = inb(COM1 + IIR);
	apic[0xb0 / 4] = 0;
	h_rte_after = io_read(REDIR(UART_PIN));
	return true;
}

static void uart_irq(bool on)
{
	outb(COM1 + MCR, on ? MCR_OUT2 : 0);
	outb(COM1 + IER, on ? IER_THRI : 0);
}

static void check_uart_interrupts(void)
{
	uint32_t dest = (apic[0x20 / 4] >> 24) << 24;

	apic[0xf0 / 4] = 0x1ff;			/* software-enabled, TPR 0 */
	apic[0x80 / 4] = 0;

	/* Edge-triggered, active high, fixed, physical destination: our APIC ID. */
	rt_irq_reset();
	rt_irq_hook = uart_edge_hook;
	io_write(REDIR(UART_PIN) + 1, dest);
	io_write(REDIR(UART_PIN), 0x64);
	uart_irq(true);
	rt_wait_change(&rt_irq_count[0x64], 0, 20 * RT_PERIOD);
	uart_irq(false);
	cli();
	io_write(REDIR(UART_PIN), RTE_MASKED | 0x64);
	CHECK_EQ("ioapic_edge_delivers", rt_irq_count[0x64], 1);
	CHECK_EQ("ioapic_uart_iir_thre", h_iir & 0x0f, 0x02);

	/* Level-triggered: Remote IRR and TMR set in the handler, Remote IRR cleared by EOI. */
	rt_irq_reset();
	rt_irq_hook = uart_level_hook;
	io_write(REDIR(UART_PIN), RTE_LEVEL | 0x65);
	uart_irq(true);
	rt_wait_change(&rt_irq_count[0x65], 0, 20 * RT_PERIOD);
	uart_irq(false);
	rt_delay(RT_PERIOD);
	cli();
	CHECK_EQ("ioapic_level_delivers_once", rt_irq_count[0x65], 1);
	CHECK("ioapic_remote_irr_until_eoi", (h_rte & RTE_REMOTE_IRR) &&
	      !(h_rte_after & RTE_REMOTE_IRR), "entry 0x%x in the handler, 0x%x after EOI",
	      h_rte, h_rte_after);
	CHECK("ioapic_level_sets_tmr", h_tmr, "TMR bit clear for a level-triggered vector");

	/* Masked, a level pin waits; unmasking it delivers. */
	rt_irq_reset();
	rt_irq_hook = uart_level_hook;
	io_write(REDIR(UART_PIN), RTE_MASKED | RTE_LEVEL | 0x66);
	uart_irq(true);
	rt_delay(RT_PERIOD);
	while_masked = rt_irq_count[0x66];
	io_write(REDIR(UART_PIN), RTE_LEVEL | 0x66);
	rt_wait_change(&rt_irq_count[0x66], 0, 20 * RT_PERIOD);
	uart_irq(false);
	cli();
	io_write(REDIR(UART_PIN), RTE_MASKED);
	io_write(REDIR(UART_PIN) + 1, 0);
	CHECK("ioapic_masked_level_waits_for_unmask", !while_masked && rt_irq_count[0x66] == 1,
	      "%u while masked, %u after unmasking", while_masked, rt_irq_count[0x66]);
	rt_irq_hook = NULL;
}

void test_ioapic(void)
{
	check_registers();
	check_uart_interrupts();
}
