/* SPDX-License-Identifier: MIT */
/*
 * The guest's fixed platform ports, what a stock kernel touches besides the
 * UART and the APICs: the CMOS RTC (time from the host's RTC, the rest of
 * CMOS as guest RAM), the i8042's reset line, the ACPI PM1 blocks (S5 is
 * power-off) and the FADT reset register.  hv/acpi_build.c describes these.
 */
#include "hv/core/guest_boot.h"
#include "hv/cpu/printk.h"
#include "hv/core/vm.h"
#include "hv/lib/x86.h"

#define CMOS_STATUS_A	0x0a
#define CMOS_STATUS_B	0x0b
#define CMOS_STATUS_C	0x0c
#define CMOS_STATUS_D	0x0d
#define CMOS_CENTURY	0x32

#define PM1_SCI_EN	(1u << 0)
#define PM1_SLP_EN	(1u << 13)

/* The host's RTC ports: one CPU at a time (index, then data). */
static spinlock_t host_cmos_lock = SPINLOCK_INIT;

static uint8_t host_cmos(uint8_t reg)
{
	uint8_t v;

	spin_lock(&host_cmos_lock);
	outb(0x70, reg | 0x80);		/* keep NMIs masked as the firmware left them */
	v = inb(0x71);
	spin_unlock(&host_cmos_lock);
	return v;
}

static bool is_time_reg(uint8_t r)
{
	return r == 0 || r == 2 || r == 4 || (r >= 6 && r <= 9) || r == CMOS_CENTURY;
}

static uint8_t cmos_read(struct vm *vm, uint8_t r)
{
	if (is_time_reg(r) || r == CMOS_STATUS_A)
		return host_cmos(r);
	if (r == CMOS_STATUS_B)	/* the host's data format, the guest's enables */
		return (host_cmos(r) & 0x06) | (vm->cmos_ram[r] & ~0x86);
	if (r == CMOS_STATUS_C)
		return 0;
	if (r == CMOS_STATUS_D)
		return 0x80;		/* battery good */
	return vm->cmos_ram[r & 0x7f];
}

static void cmos_write(struct vm *vm, uint8_t r, uint8_t val)
{
	/* The guest cannot set the host's clock: time writes vanish. */
	if (!is_time_reg(r) && r != CMOS_STATUS_A && r != CMOS_STATUS_C && r != CMOS_STATUS_D)
		vm->cmos_ram[r & 0x7f] = val;
}

static int pm1_write(struct vcpu *v, uint16_t port, uint32_t val)
{
	struct vm *vm = v->vm;

	if (port == PORT_PM1A_EVT) {
		vm->pm1_sts &= ~(uint16_t)val;		/* write one to clear */
	} else if (port == PORT_PM1A_EVT + 2) {
		vm->pm1_en = (uint16_t)val;
	} else if (port == PORT_PM1A_CNT) {
		vm->pm1_cnt = (uint16_t)val & ~PM1_SLP_EN;
		if ((val & PM1_SLP_EN) && ((val >> 10) & 7) == ACPI_S5_SLP_TYP) {
			vm_guest_poweroff(v);
			return 1;
		}
	}
	return 0;
}

static uint32_t pm1_read(struct vm *vm, uint16_t port)
{
	if (port == PORT_PM1A_EVT)
		return vm->pm1_sts;
	if (port == PORT_PM1A_EVT + 2)
		return vm->pm1_en;
	return vm->pm1_cnt | PM1_SCI_EN;	/* always in ACPI mode: SMI_CMD is 0 */
}

int platform_io(struct vcpu *v, uint16_t port, bool in, uint32_t *val)
{
	struct vm *vm = v->vm;
	int ret = 0;

	switch (port) {
	case 0x70:
		if (in)
			*val = 0xff;	/* write-only on real chipsets */
		else
			vm->cmos_index = *val & 0x7f;
		return 0;
	case 0x71:
		if (in)
			*val = cmos_read(vm, vm->cmos_index);
		else
			cmos_write(vm, vm->cmos_index, (uint8_t)*val);
		return 0;
	case 0x60:
		if (in)
			*val = 0;
		return 0;
	case 0x64:
		if (in) {
			*val = 0x14;	/* system flag, not inhibited, both buffers empty */
		} else if ((*val & 0xff) == 0xfe) {
			vm_guest_reset(v, "i8042 reset line");
			return 1;
		}
		return 0;
	case PORT_RESET:
		if (in) {
			*val = 0;
		} else if (*val & 4) {
			vm_guest_reset(v, "reset register 0xcf9");
			return 1;
		}
		return 0;
	case PORT_PM1A_EVT: case PORT_PM1A_EVT + 2: case PORT_PM1A_CNT:
		if (in)
			*val = pm1_read(vm, port);
		else
			ret = pm1_write(v, port, *val);
		return ret;
	default:
		return -1;
	}
}
