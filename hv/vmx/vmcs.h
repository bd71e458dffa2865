/* SPDX-License-Identifier: MIT */
/* VMCS field encodings (Intel SDM vol. 3, appendix B) and the VMX instructions. */
#ifndef HV_VMCS_H
#define HV_VMCS_H

#include <stdbool.h>
#include <stdint.h>

enum vmcs_field {
	VIRTUAL_PROCESSOR_ID = 0x0000,
	GUEST_ES_SELECTOR = 0x0800, GUEST_CS_SELECTOR = 0x0802, GUEST_SS_SELECTOR = 0x0804,
	GUEST_DS_SELECTOR = 0x0806, GUEST_FS_SELECTOR = 0x0808, GUEST_GS_SELECTOR = 0x080a,
	GUEST_LDTR_SELECTOR = 0x080c, GUEST_TR_SELECTOR = 0x080e,
	HOST_ES_SELECTOR = 0x0c00, HOST_CS_SELECTOR = 0x0c02, HOST_SS_SELECTOR = 0x0c04,
	HOST_DS_SELECTOR = 0x0c06, HOST_FS_SELECTOR = 0x0c08, HOST_GS_SELECTOR = 0x0c0a,
	HOST_TR_SELECTOR = 0x0c0c,
	IO_BITMAP_A = 0x2000, IO_BITMAP_B = 0x2002, MSR_BITMAP = 0x2004,
	VM_EXIT_MSR_STORE_ADDR = 0x2006, VM_EXIT_MSR_LOAD_ADDR = 0x2008,
	VM_ENTRY_MSR_LOAD_ADDR = 0x200a, TSC_OFFSET = 0x2010, EPT_POINTER = 0x201a,
	GUEST_PHYSICAL_ADDRESS = 0x2400,
	VMCS_LINK_POINTER = 0x2800, GUEST_IA32_DEBUGCTL = 0x2802, GUEST_IA32_PAT = 0x2804,
	GUEST_IA32_EFER = 0x2806,
	HOST_IA32_PAT = 0x2c00, HOST_IA32_EFER = 0x2c02,
	PIN_BASED_VM_EXEC_CONTROL = 0x4000, CPU_BASED_VM_EXEC_CONTROL = 0x4002,
	EXCEPTION_BITMAP = 0x4004, PAGE_FAULT_ERROR_CODE_MASK = 0x4006,
	PAGE_FAULT_ERROR_CODE_MATCH = 0x4008, CR3_TARGET_COUNT = 0x400a,
	VM_EXIT_CONTROLS = 0x400c, VM_EXIT_MSR_STORE_COUNT = 0x400e,
	VM_EXIT_MSR_LOAD_COUNT = 0x4010, VM_ENTRY_CONTROLS = 0x4012,
	VM_ENTRY_MSR_LOAD_COUNT = 0x4014, VM_ENTRY_INTR_INFO_FIELD = 0x4016,
	VM_ENTRY_EXCEPTION_ERROR_CODE = 0x4018, VM_ENTRY_INSTRUCTION_LEN = 0x401a,
	TPR_THRESHOLD = 0x401c, SECONDARY_VM_EXEC_CONTROL = 0x401e,
	VM_INSTRUCTION_ERROR = 0x4400, VM_EXIT_REASON = 0x4402, VM_EXIT_INTR_INFO = 0x4404,
	VM_EXIT_INTR_ERROR_CODE = 0x4406, IDT_VECTORING_INFO_FIELD = 0x4408,
	IDT_VECTORING_ERROR_CODE = 0x440a, VM_EXIT_INSTRUCTION_LEN = 0x440c,
	VMX_INSTRUCTION_INFO = 0x440e,
	GUEST_ES_LIMIT = 0x4800, GUEST_CS_LIMIT = 0x4802, GUEST_SS_LIMIT = 0x4804,
	GUEST_DS_LIMIT = 0x4806, GUEST_FS_LIMIT = 0x4808, GUEST_GS_LIMIT = 0x480a,
	GUEST_LDTR_LIMIT = 0x480c, GUEST_TR_LIMIT = 0x480e, GUEST_GDTR_LIMIT = 0x4810,
	GUEST_IDTR_LIMIT = 0x4812, GUEST_ES_AR_BYTES = 0x4814, GUEST_CS_AR_BYTES = 0x4816,
	GUEST_SS_AR_BYTES = 0x4818, GUEST_DS_AR_BYTES = 0x481a, GUEST_FS_AR_BYTES = 0x481c,
	GUEST_GS_AR_BYTES = 0x481e, GUEST_LDTR_AR_BYTES = 0x4820, GUEST_TR_AR_BYTES = 0x4822,
	GUEST_INTERRUPTIBILITY_INFO = 0x4824, GUEST_ACTIVITY_STATE = 0x4826,
	GUEST_SYSENTER_CS = 0x482a, VMX_PREEMPTION_TIMER_VALUE = 0x482e,
	HOST_IA32_SYSENTER_CS = 0x4c00,
	CR0_GUEST_HOST_MASK = 0x6000, CR4_GUEST_HOST_MASK = 0x6002,
	CR0_READ_SHADOW = 0x6004, CR4_READ_SHADOW = 0x6006,
	EXIT_QUALIFICATION = 0x6400, GUEST_LINEAR_ADDRESS = 0x640a,
	GUEST_CR0 = 0x6800, GUEST_CR3 = 0x6802, GUEST_CR4 = 0x6804,
	GUEST_ES_BASE = 0x6806, GUEST_CS_BASE = 0x6808, GUEST_SS_BASE = 0x680a,
	GUEST_DS_BASE = 0x680c, GUEST_FS_BASE = 0x680e, GUEST_GS_BASE = 0x6810,
	GUEST_LDTR_BASE = 0x6812, GUEST_TR_BASE = 0x6814, GUEST_GDTR_BASE = 0x6816,
	GUEST_IDTR_BASE = 0x6818, GUEST_DR7 = 0x681a, GUEST_RSP = 0x681c, GUEST_RIP = 0x681e,
	GUEST_RFLAGS = 0x6820, GUEST_PENDING_DBG_EXCEPTIONS = 0x6822,
	GUEST_SYSENTER_ESP = 0x6824, GUEST_SYSENTER_EIP = 0x6826,
	HOST_CR0 = 0x6c00, HOST_CR3 = 0x6c02, HOST_CR4 = 0x6c04, HOST_FS_BASE = 0x6c06,
	HOST_GS_BASE = 0x6c08, HOST_TR_BASE = 0x6c0a, HOST_GDTR_BASE = 0x6c0c,
	HOST_IDTR_BASE = 0x6c0e, HOST_IA32_SYSENTER_ESP = 0x6c10,
	HOST_IA32_SYSENTER_EIP = 0x6c12, HOST_RSP = 0x6c14, HOST_RIP = 0x6c16,
};

/* Pin-based controls. */
#define PIN_EXT_INTR_EXITING		(1u << 0)
#define PIN_NMI_EXITING			(1u << 3)
#define PIN_VIRTUAL_NMIS		(1u << 5)
#define PIN_PREEMPTION_TIMER		(1u << 6)
/* Primary processor-based controls. */
#define CPU_INTR_WINDOW_EXITING		(1u << 2)
#define CPU_USE_TSC_OFFSETTING		(1u << 3)
#define CPU_HLT_EXITING			(1u << 7)
#define CPU_CR8_LOAD_EXITING		(1u << 19)
#define CPU_CR8_STORE_EXITING		(1u << 20)
#define CPU_UNCOND_IO_EXITING		(1u << 24)
#define CPU_USE_IO_BITMAPS		(1u << 25)
#define CPU_USE_MSR_BITMAPS		(1u << 28)
#define CPU_SECONDARY_CONTROLS		(1u << 31)
/* Secondary processor-based controls. */
#define SEC_ENABLE_EPT			(1u << 1)
#define SEC_RDTSCP			(1u << 3)
#define SEC_ENABLE_VPID			(1u << 5)
#define SEC_UNRESTRICTED_GUEST		(1u << 7)
#define SEC_INVPCID			(1u << 12)
#define SEC_XSAVES			(1u << 20)
/* VM-exit controls. */
#define EXIT_HOST_ADDR_SPACE_SIZE	(1u << 9)
#define EXIT_SAVE_IA32_PAT		(1u << 18)
#define EXIT_LOAD_IA32_PAT		(1u << 19)
#define EXIT_SAVE_IA32_EFER		(1u << 20)
#define EXIT_LOAD_IA32_EFER		(1u << 21)
/* VM-entry controls. */
#define ENTRY_IA32E_MODE		(1u << 9)
#define ENTRY_LOAD_IA32_PAT		(1u << 14)
#define ENTRY_LOAD_IA32_EFER		(1u << 15)

/* VM-entry interruption information. */
#define INTR_INFO_VALID			(1u << 31)
#define INTR_INFO_DELIVER_CODE		(1u << 11)
#define INTR_TYPE_EXT_INTR		(0u << 8)
#define INTR_TYPE_HW_EXCEPTION		(3u << 8)

#define EXIT_REASON_ENTRY_FAILURE	(1u << 31)

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

static inline void invvpid_single(uint16_t vpid)
{
	struct { uint64_t vpid, addr; } desc = { vpid, 0 };

	__asm__ __volatile__("invvpid %0, %1" : : "m"(desc), "r"(1ULL) : "cc", "memory");
}

#endif
