; SPDX-License-Identifier: MIT
; behave_nmi: NMIs as the SDM (Vol. 3A 6.7.1, 10.6.1; 6.9 on priorities)
; defines them, sent to self through the ICR: delivered at once; blocked
; from delivery until the handler's IRET, one more held pending meanwhile
; (the rest dropped) and taken as soon as the IRET completes, at the IRET's
; return point; still blocked when the IRET is cut short by a VM exit (its
; stack on a page the hypervisor has not mapped yet); delivered when its
; own delivery is cut short the same way.  Exit status: the number of
; failed checks.
%include "guest.inc"
%include "behave.inc"
org 0x100000

%define A_SVR		0xf0
%define A_ICR_LO	0x300
%define A_ICR_HI	0x310
%define ICR_SELF_NMI	0x44400		; shorthand self, NMI, assert
%define FRESH_A		0x280000	; pages nothing touches before their check
%define FRESH_B		0x290000

; SELF_NMI: an NMI to this vCPU (R13 = the xAPIC base).
%macro SELF_NMI 0
	mov dword [r13 + A_ICR_LO], ICR_SELF_NMI
%endmacro

; NMI_RESET hook: an empty NMI log, the handler's hook (0: none).
%macro NMI_RESET 1
	mov qword [nmi_n], 0
	mov qword [nmi_in_hook], 0
	lea rax, [%1]
	mov [nmi_hook], rax
%endmacro

start:
	mov r12, rdi
	call behave_init
	call behave_map_mmio
	mov r13d, LAPIC_BASE
	mov dword [r13 + A_SVR], 0x1ff
	SET_GATE 2, nmi_handler

	; --- an NMI to self arrives right after the ICR write ---
	NMI_RESET no_hook
	SELF_NMI
n_self:	mov r8, [nmi_n]
	cmp r8, 1
	CHECK e, "self_nmi_delivered", "NMIs taken right after an NMI to self", r8, 1
	mov r8, [nmi_rip]
	lea r9, [n_self]
	cmp r8, r9
	CHECK e, "self_nmi_rip", "the NMI's saved RIP is not the instruction after the ICR write", r8, r9

	; --- an NMI sent from the handler waits for its IRET, then comes at once ---
	NMI_RESET hook_one
	SELF_NMI
n_two:	mov r8, [nmi_n]
	mov r9, [nmi_in_hook]
	cmp r9, 1
	CHECK e, "nmi_blocked_in_handler", "NMIs taken inside the handler after it sent one (want 1: blocked until IRET)", r9, 1
	cmp r8, 2
	CHECK e, "nmi_pending_taken_after_iret", "NMIs taken right after the handler's IRET (want 2)", r8, 2
	mov r8, [nmi_rip + 8]
	lea r9, [n_two]
	cmp r8, r9
	CHECK e, "nmi_pending_rip_after_iret", "the second NMI's RIP is not where the IRET returned", r8, r9

	; --- one NMI is held while blocked; the others are dropped ---
	NMI_RESET hook_five
	SELF_NMI
	xor eax, eax
	cpuid				; an exit, should anything still wait
	mov r8, [nmi_n]
	cmp r8, 2
	CHECK e, "nmi_latch_holds_one", "NMIs after five sent while blocked (want 2: the first and one held)", r8, 2

	; --- an IRET cut short by a VM exit (its SS on an unmapped page) keeps NMIs blocked ---
	mov [saved_rsp], rsp
	mov qword [nmi_n], 0
	SET_GATE 2, nmi_iret_handler
	SELF_NMI
	; the handler IRETs to n_landed
n_landed:
	mov rsp, [saved_rsp]
	mov ax, ds
	mov ss, ax
	SET_GATE 2, nmi_handler
	mov r8, [nmi_n]
	cmp r8, 2
	CHECK e, "nmi_iret_exit_count", "NMIs taken (want 2: the first and the one sent from it)", r8, 2
	mov r8, [iret_nmi_rip]
	lea r9, [n_landed]
	cmp r8, r9
	CHECK e, "nmi_blocked_across_iret_exit", "the held NMI came before the IRET completed (RIP shown)", r8, r9

	; --- an NMI whose delivery is cut short by a VM exit (an unmapped stack page) ---
	NMI_RESET no_hook
	mov [saved_rsp], rsp
	mov rsp, FRESH_B + 0x800
	SELF_NMI
n_fresh:
	mov rsp, [saved_rsp]
	mov r8, [nmi_n]
	cmp r8, 1
	CHECK e, "nmi_delivered_on_unmapped_stack", "NMIs taken with the stack on a page not yet mapped", r8, 1
	mov r8, [nmi_rip]
	lea r9, [n_fresh]
	cmp r8, r9
	CHECK e, "nmi_unmapped_stack_rip", "the NMI's saved RIP", r8, r9

	jmp behave_done

; nmi_handler: log the RIP, run the hook (with the count it has now).
nmi_handler:
	push rax
	push rbx
	mov rbx, [nmi_n]
	cmp rbx, 8
	jae .1
	mov rax, [rsp + 16]
	mov [nmi_rip + rbx * 8], rax
.1:	inc rbx
	mov [nmi_n], rbx
	cmp rbx, 1
	jne .2
	call [nmi_hook]
	mov rax, [nmi_n]
	mov [nmi_in_hook], rax
.2:	pop rbx
	pop rax
	iretq

no_hook:
	ret

hook_one:
	SELF_NMI
	xor eax, eax			; a few instructions: NMIs stay blocked
	pause
	ret

hook_five:
	push rcx
	mov ecx, 5
.l:	SELF_NMI
	dec ecx
	jnz .l
	pop rcx
	ret

; nmi_iret_handler: the first NMI sends another, then IRETs to n_landed
; through a frame whose SS slot is the first word of FRESH_A (it reads 0:
; a null SS, allowed for a return to 64-bit CPL 0).  The second logs its RIP.
nmi_iret_handler:
	inc qword [nmi_n]
	cmp qword [nmi_n], 1
	jne .second
	SELF_NMI
	mov rax, FRESH_A - 32
	lea rbx, [n_landed]
	mov [rax], rbx			; RIP
	mov qword [rax + 8], 0x08	; CS
	mov qword [rax + 16], 2		; RFLAGS: IF=0
	mov rbx, [saved_rsp]
	mov [rax + 24], rbx		; RSP
	mov rsp, rax
	iretq				; SS from FRESH_A: an EPT violation inside the IRET
.second:
	mov rax, [rsp]
	mov [iret_nmi_rip], rax
	iretq

BEHAVE_CODE

align 8
nmi_n:		dq 0
nmi_in_hook:	dq 0
nmi_hook:	dq 0
nmi_rip:	times 8 dq 0
iret_nmi_rip:	dq 0
saved_rsp:	dq 0
