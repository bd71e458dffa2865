; SPDX-License-Identifier: MIT
; hello16: starts in real mode (unrestricted guest) at 0x7c00, prints through
; the 16550, then exits with status 16.
bits 16
org 0x7c00
start:
	xor ax, ax
	mov ds, ax
	mov si, msg
.next:	lodsb
	test al, al
	jz .done
	mov dx, 0x3f8
	out dx, al
	jmp .next
.done:
	mov al, 16
	out 0xf4, al
.hang:	hlt
	jmp .hang
msg:	db "hello from real mode", 10, 0
