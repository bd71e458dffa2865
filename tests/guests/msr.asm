; SPDX-License-Identifier: MIT
; msr probe: unknown MSRs raise #GP, emulated ones keep what was written,
; the microcode revision reads without faulting.  Exit status: failed checks.
%include "guest.inc"
org 0x100000
start:
	call install_idt
	xor r15d, r15d
	mov qword [trap_skip], 2	; rdmsr/wrmsr are 2 bytes
	mov ecx, 0x12345678		; unknown: #GP
	rdmsr
	cmp qword [trap_counts + 13 * 8], 1
	je .1
	or r15d, 1
.1:	mov ecx, 0x8b			; microcode revision: no fault
	rdmsr
	cmp qword [trap_counts + 13 * 8], 1
	je .2
	or r15d, 2
.2:	mov ecx, 0x277			; PAT keeps its value
	mov eax, 0x00070406
	mov edx, 0x00070106
	wrmsr
	xor eax, eax
	xor edx, edx
	rdmsr
	cmp eax, 0x00070406
	jne .3f
	cmp edx, 0x00070106
	je .4
.3f:	or r15d, 4
.4:	mov ecx, 0xc0000080		; EFER with a reserved bit: #GP
	rdmsr
	or eax, 1 << 20
	wrmsr
	cmp qword [trap_counts + 13 * 8], 2
	je .5
	or r15d, 8
.5:	mov ecx, 0xc0000102		; KERNEL_GS_BASE round trip
	mov eax, 0x12345000
	mov edx, 0xffff8000
	wrmsr
	xor eax, eax
	rdmsr
	cmp eax, 0x12345000
	je .6
	or r15d, 16
.6:	PRINT "msr probe done"
	REPORT 0, r15
	EXIT r15d
	GUEST_TRAPS
