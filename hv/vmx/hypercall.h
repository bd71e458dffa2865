/* SPDX-License-Identifier: MIT */
/*
 * The hypercall ABI (docs/hypercalls.md): VMCALL with the number in RAX and
 * arguments in RDI, RSI, RDX; the result comes back in RAX, negative on error.
 * Guest pointers are guest physical addresses.  Only CPL 0 may call.
 */
#ifndef HV_HYPERCALL_H
#define HV_HYPERCALL_H

#define HC_VERSION		0	/* -> HC_ABI_VERSION */
#define HC_CONSOLE_WRITE	1	/* (gpa, len <= 4096) -> bytes written */
#define HC_EXIT			2	/* (status): the guest ends */
#define HC_YIELD		3	/* give up the rest of the time slice */
#define HC_INFO			4	/* (gpa of struct hv_info) -> 0 */
#define HC_REPORT		5	/* (key 0-3, value): a result the test harness reads */

#define HC_ABI_VERSION		0x00010000

#define HC_ENOSYS		(-1)	/* no such hypercall */
#define HC_EFAULT		(-2)	/* a pointer outside guest memory */
#define HC_EINVAL		(-3)	/* a bad argument */
#define HC_EPERM		(-4)	/* called from CPL > 0 */

struct hv_info {
	unsigned int abi;
	unsigned int vcpu_id;
	unsigned int nr_vcpus;
	unsigned int reserved;
	unsigned long long mem_bytes;
	unsigned long long tsc_khz;
};

#endif
