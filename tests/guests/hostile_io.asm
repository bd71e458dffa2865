; SPDX-License-Identifier: MIT
; hostile: random MSRs (each #GP or emulated, never a crash) and random
; ports (absent ones read all ones).  Exit 0 when the rules held.
%include "guest.inc"
org 0x100000
start:
	call install_idt
	xor r15d, r15d
	mov qword [trap_skip], 2
	mov r12d, 0x1234567		; a simple LCG drives the MSR numbers
	mov r13d, 64
.msr:	imul r12d, r12d, 1103515245
	add r12d, 12345
	mov ecx, r12d
	rdmsr
	dec r13d
	jnz .msr
	mov rax, [trap_counts + 13 * 8]
	REPORT 0, rax			; how many #GP
	mov dx, 0x1234			; absent ports read all ones
	in al, dx
	cmp al, 0xff
	je .1
	or r15d, 1
.1:	mov dx, 0x2f8
	in eax, dx
	cmp eax, 0xffffffff
	je .2
	or r15d, 2
.2:	mov dx, 0x80			; writes to absent ports vanish
	out dx, al
	mov dx, 0xcf8
	mov eax, 0x80000000
	out dx, eax
	PRINT "random MSRs and ports survived"
	REPORT 1, r15
	EXIT r15d
	GUEST_TRAPS
