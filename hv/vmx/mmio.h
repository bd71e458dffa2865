/* SPDX-License-Identifier: MIT */
/* MMIO exits for the emulated device pages (hv/mmio.c). */
#ifndef HV_MMIO_H
#define HV_MMIO_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

bool mmio_is_device(struct vcpu *v, uint64_t gpa);
/* Emulate the access at gpa by the instruction at RIP; 1: the guest was stopped. */
int mmio_emulate(struct vcpu *v, uint64_t gpa);
int mmio_gva_to_gpa(struct vcpu *v, uint64_t gva, uint64_t *gpa);

#endif
