; SPDX-License-Identifier: MIT
; AP start-up trampoline.  smp/ap_boot.c copies ap_tramp_start..ap_tramp_end
; to a page below 1 MiB, patches the parameter block and sends INIT-SIPI-SIPI
; with that page.  The AP goes from real mode straight to long mode (PAE,
; LME, PE|PG at once) on temporary identity tables in the next three pages,
; then loads the hypervisor's CR3 and calls ap_main(percpu).
; Position independent: 16-bit code addresses through DS = CS, 64-bit code
; through RIP; absolute targets are patched in by the BSP.

section .rodata
bits 16
global ap_tramp_start, ap_tramp_end
global tr_gdtr_base, tr_ljmp_off, tr_cr3_low, tr_efer, tr_cr3, tr_stack, tr_cpu, tr_entry, tr_long, tr_gdt

ap_tramp_start:
	cli
	cld
	mov ax, cs
	mov ds, ax
	lgdt [tr_gdtr - ap_tramp_start]
	mov eax, cr4
	or eax, 1 << 5			; PAE
	mov cr4, eax
	mov eax, [tr_cr3_low - ap_tramp_start]
	mov cr3, eax
	mov ecx, 0xc0000080		; EFER
	rdmsr
	or eax, [tr_efer - ap_tramp_start]	; LME, and NXE when the CPU has it
	wrmsr
	mov eax, cr0
	or eax, 0x80000001		; PG | PE
	mov cr0, eax
	jmp dword far [tr_ljmp - ap_tramp_start]

bits 64
tr_long:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov rax, [rel tr_cr3]
	mov cr3, rax
	mov rsp, [rel tr_stack]
	mov rdi, [rel tr_cpu]
	mov rax, [rel tr_entry]
	xor ebp, ebp
	push rbp			; zero return address ends backtraces
	jmp rax
.hang:
	hlt
	jmp .hang

align 8
tr_gdt:
	dq 0
	dq 0x00af9a000000ffff		; 0x08: 64-bit code
	dq 0x00cf92000000ffff		; 0x10: data
tr_gdtr:
	dw 23
tr_gdtr_base:
	dd 0
tr_ljmp:
tr_ljmp_off:
	dd 0
	dw 0x08
tr_cr3_low:
	dd 0
tr_efer:
	dd 0
align 8
tr_cr3:
	dq 0
tr_stack:
	dq 0
tr_cpu:
	dq 0
tr_entry:
	dq 0
ap_tramp_end:
