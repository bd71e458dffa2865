/* SPDX-License-Identifier: MIT */
/* Ending the machine: ACPI where the tables allow, else the emulators' ports. */
#ifndef HV_POWER_H
#define HV_POWER_H

#include "boot/bootinfo.h"

void power_init(const struct boot_info *bi);
__attribute__((noreturn)) void power_off(void);
__attribute__((noreturn)) void power_reboot(void);

#endif
