; SPDX-License-Identifier: MIT
; bench: TSC ticks per instruction of a known loop (report 0, x1000) and
; per CPUID exit round trip (report 1, x1000).
%include "guest.inc"
org 0x100000
%define CAL 200000
%define NCPUID 5000
start:
	mov ecx, CAL
	rdtsc
	shl rdx, 32
	or rax, rdx
	mov r8, rax
.cal:	dec ecx				; 2 instructions per iteration
	jnz .cal
	rdtsc
	shl rdx, 32
	or rax, rdx
	sub rax, r8
	imul rax, rax, 1000
	xor edx, edx
	mov rcx, 2 * CAL
	div rcx
	REPORT 0, rax
	mov r9d, NCPUID
	rdtsc
	shl rdx, 32
	or rax, rdx
	mov r8, rax
.cp:	xor eax, eax
	cpuid
	dec r9d
	jnz .cp
	rdtsc
	shl rdx, 32
	or rax, rdx
	sub rax, r8
	imul rax, rax, 1000
	xor edx, edx
	mov rcx, NCPUID
	div rcx
	REPORT 1, rax
	EXIT 0
