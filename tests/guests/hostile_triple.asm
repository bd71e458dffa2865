; SPDX-License-Identifier: MIT
; hostile: an empty IDT and a breakpoint: a triple fault.
%include "guest.inc"
org 0x100000
start:
	PRINT "triple-faulting now"
	lidt [empty]
	int3
	EXIT 99
empty:	dw 0
	dq 0
