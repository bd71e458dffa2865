/* SPDX-License-Identifier: MIT */
#include "hv/cpu/power.h"
#include "hv/lib/x86.h"
#include "lib/printk.h"
#include "smp/smp.h"
#include "smp/time.h"

static const struct acpi_info *acpi;

void power_init(const struct boot_info *bi)
{
	acpi = &bi->acpi;
}

void power_off(void)
{
	static const char bochs_shutdown[] = "Shutdown";

	pr_info("powering off\n");
	smp_stop_others();
	if (acpi && acpi->s5_valid && acpi->pm1a_cnt) {
		/* SLP_TYP in bits 10-12, SLP_EN bit 13. */
		outw(acpi->pm1a_cnt, (uint16_t)((acpi->s5_typ_a << 10) | (1 << 13)));
		if (acpi->pm1b_cnt)
			outw(acpi->pm1b_cnt, (uint16_t)((acpi->s5_typ_b << 10) | (1 << 13)));
		udelay(100000);
	}
	/* Bochs's shutdown port, then QEMU's isa-debug-exit (status 0 -> exit 1). */
	for (const char *s = bochs_shutdown; *s; s++)
		outb(0x8900, *s);
	outb(0xf4, 0);
	pr_err("power off failed: no ACPI S5 and no emulator exit port; halting\n");
	for (;;) {
		irq_disable();
		halt();
	}
}

void power_reboot(void)
{
	pr_info("rebooting\n");
	smp_stop_others();
	if (acpi && acpi->reset_valid) {
		if (acpi->reset_space == 1)
			outb((uint16_t)acpi->reset_addr, acpi->reset_value);
		else if (acpi->reset_space == 0)
			*(volatile uint8_t *)(uintptr_t)acpi->reset_addr = acpi->reset_value;
		udelay(100000);
	}
	outb(0xcf9, 0x02);
	udelay(10);
	outb(0xcf9, 0x06);	/* PCI reset control: hard reset */
	udelay(100000);
	outb(0x64, 0xfe);	/* i8042 reset line */
	udelay(100000);
	/* Last resort: a triple fault through an empty IDT. */
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = { 0, 0 };
	__asm__ __volatile__("lidt %0; int3" : : "m"(idtr));
	for (;;)
		halt();
}
