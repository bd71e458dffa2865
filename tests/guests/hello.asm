; SPDX-License-Identifier: MIT
; hello: prints through the emulated 16550 and the console hypercall, exits 0.
%include "guest.inc"
org 0x100000
start:
	lea rsi, [msg]
.next:	lodsb
	test al, al
	jz .done
	mov dx, 0x3fd			; LSR: wait for THR empty
.wait:	in al, dx
	test al, 0x20
	jz .wait
	mov al, [rsi - 1]
	mov dx, 0x3f8
	out dx, al
	jmp .next
.done:
	PRINT "hello through the hypercall"
	EXIT 0
msg:	db "hello from the guest", 13, 10, 0
