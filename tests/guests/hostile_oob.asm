; SPDX-License-Identifier: MIT
; hostile: writes far outside its memory.  The hypervisor must stop it.
%include "guest.inc"
org 0x100000
start:
	PRINT "about to write outside my memory"
	mov rax, 0x3f000000
	mov qword [rax], 0x1234
	PRINT "still alive: the hypervisor did not stop me"
	EXIT 99
