/* SPDX-License-Identifier: MIT */
/*
 * A paused guest as the stub sees it (hv/gdb/guest_state.c): a vCPU's
 * snapshot (hv/vmx/debug.h) as struct gdb_regs and back, and guest-virtual
 * memory through that vCPU's page tables.  Only while the vCPU is paused.
 */
#ifndef HV_GDB_GUEST_STATE_H
#define HV_GDB_GUEST_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/gdb/target.h"

struct vcpu;

/* The register set of the vCPU's mode: real, protected or long. */
enum gdb_arch gdb_guest_arch(struct vcpu *v);
/* 0, or -1 when the vCPU never paused (it ended first). */
int gdb_guest_get_regs(struct vcpu *v, struct gdb_regs *r);
/* General registers, RIP, RFLAGS and the FPU image; -1 if anything else would change. */
int gdb_guest_set_regs(struct vcpu *v, const struct gdb_regs *r);
/* Bytes copied to or from guest-virtual @addr, through v's page tables. */
size_t gdb_guest_mem(struct vcpu *v, uint64_t addr, void *buf, size_t n, bool write);

#endif
