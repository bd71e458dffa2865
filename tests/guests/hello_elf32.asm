; SPDX-License-Identifier: MIT
; hello_elf32: an ELF32 image started in protected mode; prints through the
; 16550 and exits with status 32.
bits 32
section .text
global start
start:
	mov esi, msg
.next:	lodsb
	test al, al
	jz .done
	mov dx, 0x3f8
	out dx, al
	jmp .next
.done:	mov al, 32
	out 0xf4, al
.hang:	hlt
	jmp .hang
section .data
msg:	db "hello from an ELF32 image", 10, 0
