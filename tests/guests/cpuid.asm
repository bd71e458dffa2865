; SPDX-License-Identifier: MIT
; cpuid probe: what the hypervisor promises about CPUID.  Exit status is a
; bit mask of the checks that failed (0 = all held).
%include "guest.inc"
org 0x100000
start:
	xor r15d, r15d
	mov eax, 1
	xor ecx, ecx
	cpuid
	bt ecx, 5			; VMX must be hidden
	jnc .1
	or r15d, 1
.1:	bt ecx, 31			; "running under a hypervisor"
	jc .2
	or r15d, 2
.2:	mov eax, 0x40000000
	cpuid
	cmp eax, 0x40000001
	je .3
	or r15d, 4
.3:	cmp ebx, 'hvba'
	jne .4f
	cmp ecx, 'reme'
	jne .4f
	cmp edx, 'tal'
	je .5
.4f:	or r15d, 8
.5:	mov eax, 0x40000001
	cpuid
	cmp eax, 0x00010000		; hypercall ABI version
	je .6
	or r15d, 16
.6:	mov eax, 0			; the same through the hypercall
	vmcall
	cmp eax, 0x00010000
	je .7
	or r15d, 32
.7:	mov eax, 1
	cpuid
	shr ebx, 24			; initial APIC ID = vCPU index (0)
	test ebx, ebx
	jz .8
	or r15d, 64
.8:	PRINT "cpuid probe done"
	REPORT 0, r15
	EXIT r15d
