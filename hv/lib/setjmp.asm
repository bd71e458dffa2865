; SPDX-License-Identifier: MIT
; hv_setjmp/hv_longjmp: callee-saved registers, stack and return address.
bits 64
section .text

global hv_setjmp
hv_setjmp:
	mov [rdi + 0], rbx
	mov [rdi + 8], rbp
	mov [rdi + 16], r12
	mov [rdi + 24], r13
	mov [rdi + 32], r14
	mov [rdi + 40], r15
	lea rdx, [rsp + 8]		; the caller's rsp after our return
	mov [rdi + 48], rdx
	mov rdx, [rsp]
	mov [rdi + 56], rdx
	xor eax, eax
	ret

global hv_longjmp
hv_longjmp:
	mov eax, esi
	test eax, eax
	jnz .nz
	inc eax
.nz:
	mov rbx, [rdi + 0]
	mov rbp, [rdi + 8]
	mov r12, [rdi + 16]
	mov r13, [rdi + 24]
	mov r14, [rdi + 32]
	mov r15, [rdi + 40]
	mov rsp, [rdi + 48]
	jmp [rdi + 56]
