/* SPDX-License-Identifier: MIT */
/*
 * The VMX instructions, one inline each (Intel SDM vol. 3, chapter 31).
 * The VMCS field encodings they take are in hv/vmx/vmcs.h.
 */
#ifndef HV_CPU_VMX_INSN_H
#define HV_CPU_VMX_INSN_H

#include <stdbool.h>
#include <stdint.h>

static inline uint64_t vmread(uint64_t field)
{
	uint64_t v;

	__asm__ __volatile__("vmread %1, %0" : "=rm"(v) : "r"(field) : "cc");
	return v;
}

/* false when VMfail: the field does not exist or is read-only. */
static inline bool vmwrite(uint64_t field, uint64_t v)
{
	uint8_t fail;

	__asm__ __volatile__("vmwrite %2, %1; setna %0"
			     : "=qm"(fail) : "r"(field), "rm"(v) : "cc", "memory");
	return !fail;
}

static inline bool vmptrld(uint64_t pa)
{
	uint8_t fail;

	__asm__ __volatile__("vmptrld %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static inline bool vmclear(uint64_t pa)
{
	uint8_t fail;

	__asm__ __volatile__("vmclear %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static inline bool vmxon(uint64_t pa)
{
	uint8_t fail;

	__asm__ __volatile__("vmxon %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

#ifdef HOSTED
/* Host tests have no EPT TLB: they define these on their model of one (tests/hv/mm/tlb_env.h). */
void invept_single(uint64_t eptp);
void invept_all(void);
#else
static inline void invept_single(uint64_t eptp)
{
	struct { uint64_t eptp, zero; } desc = { eptp, 0 };

	__asm__ __volatile__("invept %0, %1" : : "m"(desc), "r"(1ULL) : "cc", "memory");
}

static inline void invept_all(void)
{
	struct { uint64_t eptp, zero; } desc = { 0, 0 };

	__asm__ __volatile__("invept %0, %1" : : "m"(desc), "r"(2ULL) : "cc", "memory");
}
#endif

static inline void invvpid_single(uint16_t vpid)
{
	struct { uint64_t vpid, addr; } desc = { vpid, 0 };

	__asm__ __volatile__("invvpid %0, %1" : : "m"(desc), "r"(1ULL) : "cc", "memory");
}

#endif
