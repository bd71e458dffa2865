/* SPDX-License-Identifier: MIT */
/* Non-local return for fault recovery (hv/lib/setjmp.asm). */
#ifndef HV_SETJMP_H
#define HV_SETJMP_H

#include <stdint.h>

struct jmp_buf {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
};

__attribute__((returns_twice)) int hv_setjmp(struct jmp_buf *jb);
__attribute__((noreturn)) void hv_longjmp(struct jmp_buf *jb, int val);

#endif
