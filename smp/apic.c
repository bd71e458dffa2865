/* SPDX-License-Identifier: MIT */
#include "hv/trap.h"
#include "hv/x86.h"
#include "smp/apic.h"
#include "smp/atomic.h"
#include "smp/cpu.h"

#define APIC_BASE_EXTD		(1ULL << 10)
#define APIC_BASE_EN		(1ULL << 11)
#define APIC_MMIO		0xfee00000ULL

#define REG_ID		0x20
#define REG_TPR		0x80
#define REG_EOI		0xb0
#define REG_SVR		0xf0
#define REG_ICR_LO	0x300
#define REG_ICR_HI	0x310

#define ICR_FIXED	0x000
#define ICR_NMI		0x400
#define ICR_INIT	0x500
#define ICR_SIPI	0x600
#define ICR_PENDING	(1u << 12)
#define ICR_ASSERT	(1u << 14)

/* Set once on the BSP before any AP starts; APs follow the BSP's mode. */
static bool x2apic;

static uint32_t reg_read(uint32_t reg)
{
	if (x2apic)
		return (uint32_t)rdmsr(0x800 + (reg >> 4));
	return *(volatile uint32_t *)(uintptr_t)(APIC_MMIO + reg);
}

static void reg_write(uint32_t reg, uint32_t v)
{
	if (x2apic)
		wrmsr(0x800 + (reg >> 4), v);
	else
		*(volatile uint32_t *)(uintptr_t)(APIC_MMIO + reg) = v;
}

bool apic_is_x2apic(void)
{
	return x2apic;
}

void apic_init_cpu(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	if (smp_processor_id() == 0)
		x2apic = base & APIC_BASE_EXTD;
	else if (x2apic && !(base & APIC_BASE_EXTD))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN | APIC_BASE_EXTD);
	reg_write(REG_TPR, 0);
	reg_write(REG_SVR, 0x100 | VEC_SPURIOUS);
}

uint32_t apic_id(void)
{
	return x2apic ? reg_read(REG_ID) : reg_read(REG_ID) >> 24;
}

void apic_eoi(void)
{
	reg_write(REG_EOI, 0);
}

static void send_icr(uint32_t dest, uint32_t lo)
{
	if (x2apic) {
		wrmsr(0x830, ((uint64_t)dest << 32) | lo);
		return;
	}
	/* Bounded wait for the previous IPI to leave. */
	for (int i = 0; i < 1000000 && (reg_read(REG_ICR_LO) & ICR_PENDING); i++)
		cpu_relax();
	reg_write(REG_ICR_HI, dest << 24);
	reg_write(REG_ICR_LO, lo);
}

void apic_send_fixed(uint32_t dest, uint8_t vector)
{
	send_icr(dest, ICR_FIXED | ICR_ASSERT | vector);
}

void apic_send_nmi(uint32_t dest)
{
	send_icr(dest, ICR_NMI | ICR_ASSERT);
}

void apic_send_init(uint32_t dest)
{
	send_icr(dest, ICR_INIT | ICR_ASSERT);
}

void apic_send_sipi(uint32_t dest, uint8_t page)
{
	send_icr(dest, ICR_SIPI | ICR_ASSERT | page);
}
