/* SPDX-License-Identifier: MIT */
/* The local APIC's register layout and bits, shared by hv/vdev/lapic*.c only. */
#ifndef HV_VDEV_LAPIC_REGS_H
#define HV_VDEV_LAPIC_REGS_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/vdev/lapic.h"
#include "smp/atomic.h"

#define APIC_ID		0x20
#define APIC_VER	0x30
#define APIC_TPR	0x80
#define APIC_APR	0x90
#define APIC_PPR	0xa0
#define APIC_EOI	0xb0
#define APIC_LDR	0xd0
#define APIC_DFR	0xe0
#define APIC_SVR	0xf0
#define APIC_ISR	0x100
#define APIC_TMR	0x180
#define APIC_IRR	0x200
#define APIC_ESR	0x280
#define APIC_LVT_CMCI	0x2f0
#define APIC_ICR	0x300
#define APIC_ICR2	0x310
#define APIC_LVTT	0x320
#define APIC_LVTERR	0x370
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define APIC_TDCR	0x3e0
#define APIC_SELF_IPI	0x3f0

#define APIC_BASE_BSP	(1ULL << 8)
#define APIC_BASE_EXTD	(1ULL << 10)
#define APIC_BASE_EN	(1ULL << 11)

#define SVR_ENABLE	(1u << 8)
#define LVT_MASKED	(1u << 16)
#define LVT_TIMER_MODE(l) (((l) >> 17) & 3)
#define TIMER_ONESHOT	0
#define TIMER_PERIODIC	1
#define TIMER_TSCDL	2

#define ICR_MODE(lo)	((lo) & 0x700)
#define ICR_FIXED	0x000
#define ICR_LOWEST	0x100
#define ICR_NMI		0x400
#define ICR_INIT	0x500
#define ICR_SIPI	0x600
#define ICR_LOGICAL	(1u << 11)
#define ICR_ASSERT	(1u << 14)
#define ICR_LEVEL	(1u << 15)

/* 7 LVTs: CMCI at 0x2f0, then timer .. error at 0x320 .. 0x370. */

/* The register at @off of the page (offsets are 16-byte aligned). */
static inline uint32_t *apic_reg(const struct vlapic *l, uint32_t off)
{
	return &l->regs[off >> 2];
}

static inline uint32_t reg_get(const struct vlapic *l, uint32_t off)
{
	return READ_ONCE(*apic_reg(l, off));
}

static inline void reg_set(struct vlapic *l, uint32_t off, uint32_t val)
{
	WRITE_ONCE(*apic_reg(l, off), val);
}

/* Word @i of the 256-bit register at @base (ISR, TMR, IRR): 32 bits every 16 bytes. */
static inline uint32_t *vec_word(const struct vlapic *l, uint32_t base, unsigned int i)
{
	return apic_reg(l, base + 0x10 * i);
}

static inline bool x2apic_mode(const struct vlapic *l)
{
	return l->apic_base & APIC_BASE_EXTD;
}

static inline bool sw_enabled(const struct vlapic *l)
{
	return (l->apic_base & APIC_BASE_EN) && (reg_get(l, APIC_SVR) & SVR_ENABLE);
}

static inline uint32_t lvt_get(const struct vlapic *l, unsigned int i)
{
	return reg_get(l, i ? APIC_LVTT + 0x10 * (i - 1) : APIC_LVT_CMCI);
}

static inline void lvt_set(struct vlapic *l, unsigned int i, uint32_t val)
{
	reg_set(l, i ? APIC_LVTT + 0x10 * (i - 1) : APIC_LVT_CMCI, val);
}

/* The highest vector set in the 256-bit register at @base, or -1. */
static inline int highest_vec(const struct vlapic *l, uint32_t base)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w = READ_ONCE(*vec_word(l, base, (unsigned int)i));

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

static inline bool vec_test(const struct vlapic *l, uint32_t base, unsigned int v)
{
	return (READ_ONCE(*vec_word(l, base, v / 32)) >> (v % 32)) & 1;
}

/* The owner's updates of its page: plain read-modify-write, no other writer. */
static inline void vec_set(struct vlapic *l, uint32_t base, unsigned int v)
{
	uint32_t *w = vec_word(l, base, v / 32);

	WRITE_ONCE(*w, *w | 1u << (v % 32));
}

static inline void vec_clear(struct vlapic *l, uint32_t base, unsigned int v)
{
	uint32_t *w = vec_word(l, base, v / 32);

	WRITE_ONCE(*w, *w & ~(1u << (v % 32)));
}

/* A bit in a CPU-shared 256-bit bitmap (posted vectors): atomic, ordered before the kick. */
static inline void set_bit32(uint32_t *regs, unsigned int v)
{
	__atomic_fetch_or(&regs[v / 32], 1u << (v % 32), __ATOMIC_SEQ_CST);
}

static inline void clear_bit32(uint32_t *regs, unsigned int v)
{
	__atomic_fetch_and(&regs[v / 32], ~(1u << (v % 32)), __ATOMIC_SEQ_CST);
}

/* lapic_timer.c, for the register file */
void lapic_timer_start(struct vlapic *l);
uint32_t lapic_timer_current(const struct vlapic *l);
void lapic_timer_write_lvt(struct vlapic *l, uint32_t val);
void lapic_timer_write_deadline(struct vcpu *v, uint64_t val);
/* lapic.c: INIT resets all but the ID and IA32_APIC_BASE */
void lapic_init_reset(struct vcpu *v);
/* lapic_ipi.c */
void lapic_send_ipi(struct vcpu *v, uint32_t lo, uint32_t dest);

#endif
