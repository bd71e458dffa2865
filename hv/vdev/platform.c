/* SPDX-License-Identifier: MIT */
/*
 * The guest's fixed platform ports, what a stock kernel touches besides the
 * UART and the APICs: the CMOS RTC (time from the host's RTC, the rest of
 * CMOS as guest RAM), the i8042's reset line, the ACPI PM1 blocks (S5 is
 * power-off), the FADT reset register, and the isa-debug-exit port that
 * test guests end with.  hv/load/acpi_build.c describes these.
 */
#include "hv/core/guest_boot.h"
#include "hv/core/request.h"
#include "hv/core/unit.h"
#include "hv/core/vm.h"
#include "hv/lib/x86.h"
#include "lib/string.h"

#define CMOS_STATUS_A	0x0a
#define CMOS_STATUS_B	0x0b
#define CMOS_STATUS_C	0x0c
#define CMOS_STATUS_D	0x0d
#define CMOS_CENTURY	0x32

#define PM1_SCI_EN	(1u << 0)
#define PM1_SLP_EN	(1u << 13)

#define PORT_DEBUG_EXIT	0xf4		/* QEMU's and Bochs's isa-debug-exit */

/* The guest serialises these ports itself (rtc_lock), as on hardware: no lock. */
struct vplatform {
	uint8_t cmos_index;
	uint8_t cmos_ram[128];
	uint16_t pm1_cnt, pm1_en, pm1_sts;
};

static struct vplatform platforms[VM_MAX];

/* The host's RTC ports: one CPU at a time (index, then data). */
static spinlock_t host_cmos_lock = SPINLOCK_INIT_ORDER(LOCK_ORDER_HOST_CMOS);

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

static uint8_t cmos_read(const struct vplatform *p, uint8_t r)
{
	if (is_time_reg(r) || r == CMOS_STATUS_A)
		return host_cmos(r);
	if (r == CMOS_STATUS_B)	/* the host's data format, the guest's enables */
		return (host_cmos(r) & 0x06) | (p->cmos_ram[r] & ~0x86);
	if (r == CMOS_STATUS_C)
		return 0;
	if (r == CMOS_STATUS_D)
		return 0x80;		/* battery good */
	return p->cmos_ram[r & 0x7f];
}

static void cmos_write(struct vplatform *p, uint8_t r, uint8_t val)
{
	/* The guest cannot set the host's clock: time writes vanish. */
	if (!is_time_reg(r) && r != CMOS_STATUS_A && r != CMOS_STATUS_C && r != CMOS_STATUS_D)
		p->cmos_ram[r & 0x7f] = val;
}

static void pm1_write(struct vcpu *v, uint16_t port, uint32_t val)
{
	struct vplatform *p = v->vm->platform;

	if (port == PORT_PM1A_EVT) {
		p->pm1_sts &= ~(uint16_t)val;	/* write one to clear */
	} else if (port == PORT_PM1A_EVT + 2) {
		p->pm1_en = (uint16_t)val;
	} else if (port == PORT_PM1A_CNT) {
		p->pm1_cnt = (uint16_t)val & ~PM1_SLP_EN;
		if ((val & PM1_SLP_EN) && ((val >> 10) & 7) == ACPI_S5_SLP_TYP)
			vm_guest_poweroff(v);
	}
}

static uint32_t pm1_read(const struct vplatform *p, uint16_t port)
{
	if (port == PORT_PM1A_EVT)
		return p->pm1_sts;
	if (port == PORT_PM1A_EVT + 2)
		return p->pm1_en;
	return p->pm1_cnt | PM1_SCI_EN;	/* always in ACPI mode: SMI_CMD is 0 */
}

static void cmos_io(struct vcpu *v, uint16_t port, bool in, unsigned int size, uint32_t *val)
{
	struct vplatform *p = v->vm->platform;

	(void)size;
	if (port == 0x70) {
		if (in)
			*val = 0xff;	/* write-only on real chipsets */
		else
			p->cmos_index = *val & 0x7f;
	} else if (in) {
		*val = cmos_read(p, p->cmos_index);
	} else {
		cmos_write(p, p->cmos_index, (uint8_t)*val);
	}
}

/* The i8042: data reads 0; status says idle; command 0xFE pulses the reset line. */
static void i8042_io(struct vcpu *v, uint16_t port, bool in, unsigned int size, uint32_t *val)
{
	(void)size;
	if (port == 0x60) {
		if (in)
			*val = 0;
	} else if (in) {
		*val = 0x14;	/* system flag, not inhibited, both buffers empty */
	} else if ((*val & 0xff) == 0xfe) {
		vm_guest_reset(v, "i8042 reset line");
	}
}

static void reset_io(struct vcpu *v, uint16_t port, bool in, unsigned int size, uint32_t *val)
{
	(void)port;
	(void)size;
	if (in)
		*val = 0;
	else if (*val & 4)
		vm_guest_reset(v, "reset register 0xcf9");
}

static void pm1_io(struct vcpu *v, uint16_t port, bool in, unsigned int size, uint32_t *val)
{
	(void)size;
	if (in)
		*val = pm1_read(v->vm->platform, port);
	else
		pm1_write(v, port, *val);
}

static void debug_exit_io(struct vcpu *v, uint16_t port, bool in, unsigned int size,
			  uint32_t *val)
{
	(void)port;
	(void)size;
	if (!in) {
		guest_exit(v, (int)*val);
		return;
	}
	*val = 0xffffffffu;	/* write-only: reads like an absent port */
	v->vm->unknown_ports++;
}

static int platform_attach(struct vm *vm)
{
	vm->platform = &platforms[vm->id];
	return vm_register_pio(vm, 0x70, 2, cmos_io) ||
	       vm_register_pio(vm, 0x60, 1, i8042_io) ||
	       vm_register_pio(vm, 0x64, 1, i8042_io) ||
	       vm_register_pio(vm, PORT_RESET, 1, reset_io) ||
	       vm_register_pio(vm, PORT_PM1A_EVT, 1, pm1_io) ||
	       vm_register_pio(vm, PORT_PM1A_EVT + 2, 1, pm1_io) ||
	       vm_register_pio(vm, PORT_PM1A_CNT, 1, pm1_io) ||
	       vm_register_pio(vm, PORT_DEBUG_EXIT, 1, debug_exit_io) ? -1 : 0;
}

static void platform_reset(struct vm *vm)
{
	struct vplatform *p = vm->platform;
	uint8_t ram[sizeof(p->cmos_ram)];

	/* CMOS RAM is battery-backed: it survives the guest's own reset (a warm start). */
	memcpy(ram, p->cmos_ram, sizeof(ram));
	memset(p, 0, sizeof(*p));
	if (vm->warm_start)
		memcpy(p->cmos_ram, ram, sizeof(ram));
	else
		p->cmos_ram[CMOS_STATUS_B] = 0x02;	/* 24-hour mode until the guest says else */
}

DEFINE_VDEV_UNIT(platform, .vm_create = platform_attach, .vm_reset = platform_reset);
