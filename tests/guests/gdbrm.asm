; SPDX-License-Identifier: MIT
; gdbrm: a real-mode guest for GDB (tests/boot/test_bochs_gdb.py) at
; 0000:7c00 that counts forever.  The test disassembles it as 16-bit code
; and puts a breakpoint on count_loop, padded to 0x7c10.
bits 16
org 0x7c00
start:
	cli
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7c00
	times 0x10 - ($ - $$) nop	; an error if the code above outgrows it
count_loop:				; 0x7c10
	inc word [count]
	mov ax, [count]
	jmp count_loop
count:	dw 0
