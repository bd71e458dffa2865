/* SPDX-License-Identifier: MIT */
/* MMIO exits for the device pages of hv/core/io.h (hv/vmx/mmio.c). */
#ifndef HV_VMX_MMIO_H
#define HV_VMX_MMIO_H

#include <stdint.h>

struct mmio_range;
struct vcpu;

/* Emulate the access at @gpa in @dev by the instruction at RIP; 1: the guest was stopped. */
int mmio_emulate(struct vcpu *v, const struct mmio_range *dev, uint64_t gpa);
/*
 * Guest linear address to guest physical through the guest's page tables, for
 * an access of the kinds in hv/vmx/gva.h (GVA_WRITE...).  0: *gpa set; 1: the
 * access faults, inject #PF with *pf_error; -1: a table is not in guest RAM.
 */
int mmio_gva_to_gpa(struct vcpu *v, uint64_t gva, unsigned int access, uint64_t *gpa,
		    uint32_t *pf_error);

#endif
