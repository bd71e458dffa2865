/* SPDX-License-Identifier: MIT */
/* Time from the TSC, calibrated by the loader against UEFI's Stall(). */
#ifndef SMP_TIME_H
#define SMP_TIME_H

#include <stdint.h>

extern uint64_t tsc_khz;

void time_init(uint64_t khz);
uint64_t time_us(void);		/* since time_init() */
void udelay(uint64_t us);
/* A deadline check for bounded waits: true once us microseconds have passed since start. */
uint64_t deadline_us(uint64_t us);
int deadline_passed(uint64_t deadline);

#endif
