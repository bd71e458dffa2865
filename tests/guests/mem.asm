; SPDX-License-Identifier: MIT
; mem: fills its memory from 2 MiB to 1 MiB below the top with a pattern that
; depends on the address and the pass, then verifies and rewrites it in 3
; more passes.  Reports the checksum of the last pass (key 0) and the number
; of mismatches (key 1); exits with 0 when nothing was wrong.
%include "guest.inc"
org 0x100000
%define K 0x9e3779b97f4a7c15
start:
	mov r12, 0x200000		; first byte
	lea r13, [rsi - 0x100000]	; end
	xor r14, r14			; mismatches
	mov r11, K
	; pass 0: write pattern 0
	xor r10, r10
	call fill
	mov r10, 1
.pass:	call verify_and_fill
	inc r10
	cmp r10, 4
	jb .pass
	; checksum of what is there now (pattern 3)
	xor r9, r9
	mov rdi, r12
.sum:	add r9, [rdi]
	add rdi, 8
	cmp rdi, r13
	jb .sum
	PRINT "mem passes done"
	REPORT 0, r9
	REPORT 1, r14
	test r14, r14
	jz .ok
	EXIT 1
.ok:	EXIT 0

; pattern(a, p) = a * K + p
fill:
	mov rdi, r12
.f:	mov rax, rdi
	imul rax, r11
	add rax, r10
	mov [rdi], rax
	add rdi, 8
	cmp rdi, r13
	jb .f
	ret

verify_and_fill:
	mov rdi, r12
.v:	mov rax, rdi
	imul rax, r11
	lea rbx, [rax + r10 - 1]	; the previous pass's value
	cmp [rdi], rbx
	je .same
	inc r14
.same:	add rax, r10
	mov [rdi], rax
	add rdi, 8
	cmp rdi, r13
	jb .v
	ret
