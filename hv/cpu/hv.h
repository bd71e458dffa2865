/* SPDX-License-Identifier: MIT */
/* Hypervisor-wide facts. */
#ifndef HV_HV_H
#define HV_HV_H

#include "hv/cpu/bootinfo.h"

#define HV_VERSION	"hv 0.1.0"

extern const struct boot_info *boot_info;

/* Print the boot summary: CPUs online, VT-x per CPU, memory. */
void hv_report_boot(void);

#endif
