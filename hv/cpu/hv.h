/* SPDX-License-Identifier: MIT */
/* Hypervisor-wide facts. */
#ifndef HV_HV_H
#define HV_HV_H

#include "boot/bootinfo.h"

#define HV_VERSION	"hv 0.1.0"

/* What the loader handed over (hv/cpu/boot_info.c); set once by hv_main(). */
extern const struct boot_info *boot_info;

#endif
