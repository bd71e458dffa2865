; SPDX-License-Identifier: MIT
; hello_elf: the same greeting from an ELF64 image (linked at 0x100000 by
; tests/guests/guests.mk), exits 0.
%include "guest.inc"
section .text
global start
start:
	PRINT "hello from an ELF64 image"
	mov qword [bss_word], 7		; .bss is zeroed and writable
	cmp qword [bss_word], 7
	jne .bad
	EXIT 0
.bad:	EXIT 1
section .bss
bss_word: resq 1
