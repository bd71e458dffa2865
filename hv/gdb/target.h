/* SPDX-License-Identifier: MIT */
/*
 * What GDB is told about an x86 vCPU: the register set of its mode (i8086
 * for real mode, i386 for protected mode, i386:x86-64 for long mode), as a
 * target description (qXfer:features:read:target.xml) and as the layout of
 * the `g`/`G` packets.  Both come from one table, so they cannot disagree.
 * Portable: host-tested.
 */
#ifndef HV_GDB_TARGET_H
#define HV_GDB_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum gdb_arch { GDB_ARCH_I8086, GDB_ARCH_I386, GDB_ARCH_AMD64 };

enum { GDB_SEG_ES, GDB_SEG_CS, GDB_SEG_SS, GDB_SEG_DS, GDB_SEG_FS, GDB_SEG_GS };

/* One vCPU's registers as the stub reads and writes them; scalars are 64 bits wide. */
struct gdb_regs {
	uint64_t gpr[16];	/* RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15: the CPU's order */
	uint64_t rip, rflags;
	uint64_t sel[6];	/* selectors, GDB_SEG_* order */
	uint64_t base[6];	/* segment bases */
	uint64_t cr0, cr2, cr3, cr4, efer, kernel_gs_base;
	uint8_t fx[512] __attribute__((aligned(16)));	/* FXSAVE image: x87, MXCSR, XMM */
};

/* Registers in the packet order of @arch. */
unsigned int gdb_target_nregs(enum gdb_arch arch);
/* Bytes of register @n in a packet; 0 if there is no such register. */
unsigned int gdb_target_reg_size(enum gdb_arch arch, unsigned int n);
/* Register @n of @r, little-endian, into @out (gdb_target_reg_size() bytes). */
void gdb_target_reg_get(enum gdb_arch arch, unsigned int n, const struct gdb_regs *r,
			uint8_t *out);
/* Set register @n from @in; bits the packet does not carry keep their value. */
void gdb_target_reg_set(enum gdb_arch arch, unsigned int n, struct gdb_regs *r,
			const uint8_t *in);
/* The register GDB's `$pc` is in the packet order (rip or eip). */
unsigned int gdb_target_pc_reg(enum gdb_arch arch);
/* The target description; its length (it is not written past @size). */
size_t gdb_target_xml(enum gdb_arch arch, char *buf, size_t size);
/* "i8086", "i386" or "i386:x86-64". */
const char *gdb_target_arch_name(enum gdb_arch arch);

#endif
