/* SPDX-License-Identifier: MIT */
/* Short names for the paging-entry bits the page-walk tests build guests from (hv/lib/x86.h). */
#ifndef TESTS_HV_VMX_PAGING_BITS_H
#define TESTS_HV_VMX_PAGING_BITS_H

#include "hv/lib/x86.h"

#define P	PTE_P
#define RW	PTE_RW
#define US	PTE_US
#define A	PTE_A
#define D	PTE_D
#define PS	PTE_PS
#define XD	PTE_XD

#endif
