; SPDX-License-Identifier: MIT
; hostile: executes VMX instructions; each must raise #UD in the guest.
; Exit status 0 when all of them did.
%include "guest.inc"
org 0x100000
start:
	call install_idt
	TRY vmxon [rel region]
	TRY vmxoff
	TRY vmread rax, rbx
	TRY vmwrite rbx, rax
	mov rax, [trap_counts + 6 * 8]
	REPORT 0, rax
	cmp rax, 4
	jne .bad
	PRINT "all VMX instructions raised #UD"
	EXIT 0
.bad:	EXIT 1
	GUEST_TRAPS
align 4096
region:	times 4096 db 0
