; SPDX-License-Identifier: MIT
; echo: reads the 16550 (polling LSR) and writes back each letter in upper
; case; 'q' ends it with status 0.  Driven through the shell's `console`.
%include "guest.inc"
org 0x100000
start:
	PRINT "echo ready"
.poll:	mov dx, 0x3fd
	in al, dx
	test al, 1			; data ready
	jnz .read
	pause
	jmp .poll
.read:	mov dx, 0x3f8
	in al, dx
	cmp al, 'q'
	je .quit
	cmp al, 'a'
	jb .out
	cmp al, 'z'
	ja .out
	sub al, 32
.out:	out dx, al
	jmp .poll
.quit:	EXIT 0
