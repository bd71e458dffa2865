; SPDX-License-Identifier: MIT
; Entering and leaving a guest.
;   int vmx_enter(struct guest_regs *regs, int launched)
; returns 0 after a VM exit, 1 on VMfailInvalid, 2 on VMfailValid (the
; VM-instruction error field says why).  HOST_RIP is vmx_exit_entry; HOST_RSP
; is written here each time, pointing at the saved regs pointer.
bits 64
section .text

%define R_RAX 0
%define R_RCX 8
%define R_RDX 16
%define R_RBX 24
%define R_RBP 40
%define R_RSI 48
%define R_RDI 56
%define R_R8 64
%define R_R9 72
%define R_R10 80
%define R_R11 88
%define R_R12 96
%define R_R13 104
%define R_R14 112
%define R_R15 120
%define R_CR2 128

global vmx_enter, vmx_exit_entry
vmx_enter:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	push rdi			; regs, found again at [rsp] after the exit
	mov eax, 0x6c14			; HOST_RSP
	vmwrite rax, rsp
	jbe vmx_enter_fail_setup
	mov rax, [rdi + R_CR2]
	mov cr2, rax
	mov eax, esi			; launched?
	mov rcx, [rdi + R_RCX]
	mov rdx, [rdi + R_RDX]
	mov rbx, [rdi + R_RBX]
	mov rbp, [rdi + R_RBP]
	mov r8, [rdi + R_R8]
	mov r9, [rdi + R_R9]
	mov r10, [rdi + R_R10]
	mov r11, [rdi + R_R11]
	mov r12, [rdi + R_R12]
	mov r13, [rdi + R_R13]
	mov r14, [rdi + R_R14]
	mov r15, [rdi + R_R15]
	mov rsi, [rdi + R_RSI]
	test eax, eax
	mov rax, [rdi + R_RAX]
	mov rdi, [rdi + R_RDI]
	jnz .resume
	vmlaunch
	jmp .failed
.resume:
	vmresume
.failed:
	; Still in the host: CF=1 VMfailInvalid, ZF=1 VMfailValid.
	mov eax, 1
	jc vmx_enter_out
	mov eax, 2
vmx_enter_out:
	pop rdi
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret
vmx_enter_fail_setup:
	mov eax, 2
	jmp vmx_enter_out

vmx_exit_entry:
	push rdi			; the guest's rdi
	mov rdi, [rsp + 8]		; regs
	mov [rdi + R_RAX], rax
	mov [rdi + R_RCX], rcx
	mov [rdi + R_RDX], rdx
	mov [rdi + R_RBX], rbx
	mov [rdi + R_RBP], rbp
	mov [rdi + R_RSI], rsi
	mov [rdi + R_R8], r8
	mov [rdi + R_R9], r9
	mov [rdi + R_R10], r10
	mov [rdi + R_R11], r11
	mov [rdi + R_R12], r12
	mov [rdi + R_R13], r13
	mov [rdi + R_R14], r14
	mov [rdi + R_R15], r15
	pop rax
	mov [rdi + R_RDI], rax
	mov rax, cr2
	mov [rdi + R_CR2], rax
	xor eax, eax
	jmp vmx_enter_out
