; SPDX-License-Identifier: MIT
; hostile: spins forever with interrupts off.  The shell must stay usable.
%include "guest.inc"
org 0x100000
start:
	PRINT "spinning with interrupts off"
	cli
.l:	jmp .l
