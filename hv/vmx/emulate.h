/* SPDX-License-Identifier: MIT */
/*
 * The x86 instruction emulator for guest accesses to emulated MMIO, after
 * KVM's arch/x86/kvm/emulate.c: given the guest state and the guest-physical
 * address EPT faulted on, fetch and decode the instruction at CS:RIP, check
 * and translate its memory operands as the CPU would, and execute it with
 * the device behind the callbacks.  Portable and pure: the caller supplies
 * the state and the callbacks, and applies the result.  docs/emulator.md
 * lists the instructions.
 */
#ifndef HV_VMX_EMULATE_H
#define HV_VMX_EMULATE_H

#include <stdbool.h>
#include <stdint.h>

/* Segment registers, numbered as in instruction encodings. */
enum emu_seg { EMU_ES, EMU_CS, EMU_SS, EMU_DS, EMU_FS, EMU_GS, EMU_NR_SEGS };

/* GPRs, numbered as in instruction encodings (R8..R15 are 8..15). */
enum emu_gpr { EMU_RAX, EMU_RCX, EMU_RDX, EMU_RBX, EMU_RSP, EMU_RBP, EMU_RSI, EMU_RDI };

/* Segment access rights in the VMCS's format (SDM 24.4.1). */
#define EMU_AR_TYPE_CODE	(1u << 3)	/* type bit 3: code, else data */
#define EMU_AR_TYPE_DOWN	(1u << 2)	/* data: expand-down */
#define EMU_AR_TYPE_RW		(1u << 1)	/* data: writable; code: readable */
#define EMU_AR_L		(1u << 13)	/* CS: 64-bit code */
#define EMU_AR_DB		(1u << 14)	/* CS: 32-bit code; SS: 32-bit stack */
#define EMU_AR_UNUSABLE		(1u << 16)

struct emu_segment {
	uint64_t base;
	uint32_t limit;			/* in bytes, granularity applied, as in the VMCS */
	uint32_t ar;			/* EMU_AR_* and the rest of the VMCS format */
	uint16_t selector;
};

/*
 * The caller's side.  Each returns 0 on success, nonzero if the address is
 * not what the callback serves; the emulator then gives up (EMU_UNHANDLED).
 */
struct emu_ops {
	/* Guest RAM; also used for the guest's page tables. */
	int (*read_phys)(void *opaque, uint64_t gpa, void *buf, unsigned int len);
	int (*write_phys)(void *opaque, uint64_t gpa, const void *buf, unsigned int len);
	/* Optional: sets A/D bits in guest page tables (see struct gva_mmu). */
	int (*cmpxchg_phys)(void *opaque, uint64_t gpa, uint64_t old, uint64_t new,
			    unsigned int len);
	/* The device on the faulting page: size 1, 2, 4 or 8, never across the page. */
	int (*mmio_read)(void *opaque, uint64_t gpa, unsigned int size, uint64_t *val);
	int (*mmio_write)(void *opaque, uint64_t gpa, unsigned int size, uint64_t val);
	/*
	 * Optional: up to len instruction bytes at linear address la; returns how
	 * many it could give.  NULL: the emulator walks the guest page tables.
	 */
	unsigned int (*fetch)(void *opaque, uint64_t la, uint8_t *buf, unsigned int len);
};

enum emu_result {
	EMU_OK,			/* state updated; RIP advanced unless a REP is unfinished */
	/* Inject ctxt->exc; the state is as before the instruction (or the REP iteration). */
	EMU_INJECT_EXCEPTION,
	EMU_UNHANDLED,		/* ctxt->why says why; the state is as it was */
};

enum emu_why {
	EMU_WHY_NONE,
	EMU_WHY_INSN,		/* "by an instruction the hypervisor does not emulate" */
	EMU_WHY_FETCH,		/* ops->fetch gave fewer bytes than the instruction has */
	EMU_WHY_RAM,		/* read/write_phys failed: guest RAM or page tables not RAM */
	EMU_WHY_MMIO,		/* the device callback failed */
};

struct emu_exception {
	uint8_t vector;			/* 6 #UD, 12 #SS, 13 #GP, 14 #PF, 17 #AC */
	bool has_error_code;
	uint32_t error_code;
	uint64_t cr2;			/* #PF: the faulting linear address */
};

struct emu_ctxt {
	/* Guest state: in, and out on EMU_OK. */
	uint64_t regs[16];
	uint64_t rip, rflags;
	/* Guest state: in only. */
	uint64_t cr0, cr3, cr4, efer;	/* EFER.LMA with CS.L selects 64-bit mode */
	unsigned int cpl;
	struct emu_segment seg[EMU_NR_SEGS];
	const uint64_t *pdptes;		/* PAE paging: the PDPTEs the CPU holds, or NULL */
	unsigned int maxphyaddr;	/* 0 means 52 */
	bool no_1g_pages;
	uint32_t pkru;
	unsigned int rep_batch;		/* REP iterations per call at most; 0 means 1 */
	const struct emu_ops *ops;
	void *opaque;

	/* Out. */
	unsigned int mode;		/* 16, 32 or 64: the code segment's */
	uint8_t insn[15];		/* the bytes fetched at CS:RIP */
	unsigned int insn_len;		/* how many; on EMU_OK the instruction's length */
	struct emu_exception exc;	/* EMU_INJECT_EXCEPTION */
	enum emu_why why;		/* EMU_UNHANDLED */
};

/*
 * Emulate the instruction at CS:RIP, whose access faulted on guest-physical
 * gpa: accesses to gpa's page go to ops->mmio_read/mmio_write, any other
 * memory to the RAM callbacks.  REP string instructions run up to rep_batch
 * iterations per call; RIP stays on the instruction until RCX reaches 0.
 */
enum emu_result emu_mmio(struct emu_ctxt *ctxt, uint64_t gpa);

#endif
