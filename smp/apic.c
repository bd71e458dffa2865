/* SPDX-License-Identifier: MIT */
#include "hv/lib/x86.h"
#include "smp/apic.h"
#include "smp/atomic.h"
#include "smp/cpu.h"
#include "smp/time.h"
#include "smp/vectors.h"

#define APIC_BASE_EXTD		(1ULL << 10)
#define APIC_BASE_EN		(1ULL << 11)
#define APIC_MMIO		0xfee00000ULL

#define REG_ID		0x20
#define REG_TPR		0x80
#define REG_EOI		0xb0
#define REG_SVR		0xf0
#define REG_ICR_LO	0x300
#define REG_ICR_HI	0x310
#define REG_LVTT	0x320
#define REG_TMICT	0x380
#define REG_TMCCT	0x390
#define REG_TDCR	0x3e0
#define LVT_MASKED	(1u << 16)

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

/* Host APIC timer ticks per millisecond at divide-by-1, measured once on the BSP. */
static uint64_t timer_khz;

void apic_timer_calibrate(void)
{
	uint64_t t0;
	uint32_t left;

	reg_write(REG_TDCR, 0xb);
	reg_write(REG_LVTT, LVT_MASKED | VEC_TIMER);
	reg_write(REG_TMICT, 0xffffffffu);
	t0 = rdtsc();
	while (rdtsc() - t0 < tsc_khz)
		cpu_relax();
	left = reg_read(REG_TMCCT);
	reg_write(REG_TMICT, 0);
	timer_khz = 0xffffffffu - left;
}

/* One-shot wake-up of this CPU at a host TSC value; 0 disarms. */
void apic_timer_arm(uint64_t tsc_deadline)
{
	uint64_t now = rdtsc(), delta, ticks;

	if (!tsc_deadline || !timer_khz) {
		reg_write(REG_TMICT, 0);
		return;
	}
	delta = tsc_deadline > now ? tsc_deadline - now : 1;
	if (delta > 1000000000000ULL)
		delta = 1000000000000ULL;	/* keeps delta * timer_khz in 64 bits */
	ticks = delta * timer_khz / tsc_khz;
	ticks = ticks ? ticks : 1;
	reg_write(REG_TDCR, 0xb);
	reg_write(REG_LVTT, VEC_TIMER);
	reg_write(REG_TMICT, ticks > 0xffffffffu ? 0xffffffffu : (uint32_t)ticks);
}
