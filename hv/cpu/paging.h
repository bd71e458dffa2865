/* SPDX-License-Identifier: MIT */
/* The hypervisor's own page tables. */
#ifndef HV_PAGING_H
#define HV_PAGING_H

#include <stdint.h>

#include "boot/bootinfo.h"

/*
 * Build and load our tables: physical memory identity-mapped (the direct map,
 * 2 MiB pages, read/write, no-execute except the low 2 MiB that holds the AP
 * trampoline), the image at HV_IMAGE_VA with W^X per section.
 */
void paging_init(const struct boot_info *bi);
/* Set CR0.WP/NE and EFER.NXE on this CPU (the BSP and every AP). */
void cpu_setup_control_regs(void);
/* The leaf entry mapping va, and its level (1 = 4 KiB), or 0 if unmapped. */
uint64_t paging_lookup(uint64_t va, int *level);

#endif
