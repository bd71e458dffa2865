; SPDX-License-Identifier: MIT
; apicbench: 10 000 xAPIC register accesses, the kinds a kernel makes most
; (ID, version, LDR, SVR, an LVT, IRR and ISR reads; TPR writes and reads),
; then exit.  The test compares the guest's exit counts with and without
; APIC virtualization (hv.cfg `apicv = off`).  Report 0: accesses made.
%include "guest.inc"
org 0x100000
%define APIC	0xfee00000
%define LOOPS	1000
start:
	; The identity map covers only guest memory: PDPT entry 3 -> mmio_pd,
	; whose entry for 0xfee00000 is a 2 MiB uncached page.
	mov rax, cr3
	and rax, ~0xfff
	mov rbx, [rax]
	mov rax, 0x000ffffffffff000
	and rbx, rax
	lea rcx, [mmio_pd]
	or rcx, 3
	mov [rbx + 3 * 8], rcx
	mov eax, APIC | 0x9b		; P, RW, PWT, PCD, PS
	mov [mmio_pd + 0x1f7 * 8], rax
	mov rax, cr3
	mov cr3, rax
	mov ebx, APIC
	mov ecx, LOOPS
	xor r8d, r8d
.loop:	mov eax, [rbx + 0x20]		; ID
	mov eax, [rbx + 0x30]		; version
	mov dword [rbx + 0x80], 0x20	; TPR
	mov eax, [rbx + 0x80]
	mov dword [rbx + 0x80], 0
	mov eax, [rbx + 0xd0]		; LDR
	mov eax, [rbx + 0xf0]		; SVR
	mov eax, [rbx + 0x200]		; IRR 0-31
	mov eax, [rbx + 0x100]		; ISR 0-31
	mov eax, [rbx + 0x320]		; LVT timer
	add r8d, 10
	dec ecx
	jnz .loop
	REPORT 0, r8
	EXIT 0

align 4096
mmio_pd:	times 512 dq 0
