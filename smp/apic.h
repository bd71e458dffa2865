/* SPDX-License-Identifier: MIT */
/* Local APIC access, xAPIC (MMIO) or x2APIC (MSRs), whichever the firmware left on. */
#ifndef SMP_APIC_H
#define SMP_APIC_H

#include <stdbool.h>
#include <stdint.h>

void apic_init_cpu(void);
uint32_t apic_id(void);
bool apic_is_x2apic(void);
void apic_eoi(void);
void apic_send_fixed(uint32_t dest, uint8_t vector);
void apic_send_nmi(uint32_t dest);
void apic_send_init(uint32_t dest);
void apic_send_sipi(uint32_t dest, uint8_t page);
/* A one-shot timer interrupt (VEC_TIMER) to end an idle HLT. */
void apic_timer_calibrate(void);
void apic_timer_arm(uint64_t tsc_deadline);

#endif
