; SPDX-License-Identifier: MIT
; hostile: garbage hypercalls must return error codes, never crash anything.
%include "guest.inc"
org 0x100000
%macro EXPECT 2			; EXPECT value, failure bit
	cmp rax, %1
	je %%ok
	or r15d, %2
%%ok:
%endmacro
start:
	xor r15d, r15d
	mov eax, 999			; no such call
	vmcall
	EXPECT -1, 1
	mov eax, HC_CONSOLE_WRITE	; pointer outside memory
	mov rdi, 0x7fff0000000
	mov esi, 16
	vmcall
	EXPECT -2, 2
	mov eax, HC_CONSOLE_WRITE	; too long
	mov edi, 0x100000
	mov esi, 100000
	vmcall
	EXPECT -3, 4
	mov eax, HC_INFO		; bad pointer
	mov rdi, -8
	vmcall
	EXPECT -2, 8
	mov eax, HC_REPORT		; bad key
	mov edi, 77
	vmcall
	EXPECT -3, 16
	mov rax, -1			; huge number
	vmcall
	EXPECT -1, 32
	mov eax, HC_INFO		; a good one still works
	lea rdi, [info]
	vmcall
	EXPECT 0, 64
	cmp dword [info], 0x00010000
	je .ok
	or r15d, 128
.ok:	PRINT "garbage hypercalls all refused"
	REPORT 0, r15
	EXIT r15d
align 8
info:	times 32 db 0
