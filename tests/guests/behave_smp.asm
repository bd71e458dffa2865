; SPDX-License-Identifier: MIT
; behave_smp: interrupts between two vCPUs as the SDM (Vol. 3A ch. 10, 8.4,
; 6.7.1) and the 82093AA I/O APIC define them: fixed IPIs reach a halted and
; a running vCPU at once; NMIs reach a vCPU that keeps opening a one-
; instruction STI window (and exits inside it); a level-triggered I/O APIC
; line still asserted at the EOI is delivered again; HLT with interrupts off
; ends with an NMI from the other vCPU; INIT reaches an AP whatever the ICR's
; level bit says (it is always issued as assert, SDM 10.6.1) and a SIPI then
; restarts it in real mode, also from `cli; hlt`.  Each wait is bounded; a
; late delivery is a failure.  Exit status: the number of failed checks.
%include "guest.inc"
%include "behave.inc"
org 0x100000

%define A_ID		0x20
%define A_SVR		0xf0
%define A_ICR_LO	0x300
%define A_ICR_HI	0x310
%define VEC_IPI		0x50
%define VEC_NUDGE	0x5f
%define VEC_LEVEL	0x60
%define ROUNDS		20
%define FRESH_FIRST	0x400000	; pages nothing touches before mode 3
%define FRESH_END	0xf00000
%define TRAMP_A		0x8000		; SIPI vector 8
%define TRAMP_B		0x9000		; SIPI vector 9
%define FLAG_A		0x8ff0
%define FLAG_B		0x9ff0

; IPI dest, icr_lo: through the xAPIC's ICR (R13 = its base).
%macro IPI 2
	mov dword [r13 + A_ICR_HI], (%1) << 24
	mov dword [r13 + A_ICR_LO], %2
%endmacro

; MODE n: tell vCPU 1 to switch to mode n and wait for its acknowledgement.
%macro MODE 1
	mov qword [cmd], %1
	IPI 1, 0x4000 | VEC_NUDGE
	push rdi
	push rsi
	push rdx
	lea rdi, [ack]
	mov rsi, %1
	mov rdx, [t_long]
	call wait_eq
	pop rdx
	pop rsi
	pop rdi
%endmacro

start:
	mov r12, rdi
	call behave_init
	mov r13d, LAPIC_BASE
	SET_GATE 2, nmi_handler		; NMIs counted per vCPU
	test r12, r12
	jnz vcpu1
	call behave_map_mmio
	call behave_clock
	mov dword [r13 + A_SVR], 0x1ff
	mov qword [auto_eoi], 1
	mov rax, [tsc_hz]
	xor edx, edx
	mov ecx, 200
	div rcx
	mov [t_5ms], rax
	imul rax, rax, 40
	mov [t_long], rax		; 200 ms
	; the real-mode trampolines, below 1 MiB
	lea rsi, [tramp_a]
	mov edi, TRAMP_A
	mov ecx, tramp_a_end - tramp_a
	rep movsb
	lea rsi, [tramp_b]
	mov edi, TRAMP_B
	mov ecx, tramp_b_end - tramp_b
	rep movsb
	mov qword [mapped], 1
	lea rdi, [ready1]
	mov rsi, 1
	mov rdx, [t_long]
	call wait_eq
	CHECK e, "vcpu1_ready", "vCPU 1 did not start"

	; --- fixed IPIs to a halted vCPU (sti; hlt) and to a running one ---
	MODE 1
	call ipi_rounds
	CHECK e, "ipi_to_halted_vcpu", "IPIs to vCPU 1 in HLT that took over 5 ms", r14, 0
	MODE 2
	call ipi_rounds
	CHECK e, "ipi_to_running_vcpu", "IPIs to vCPU 1 spinning with IF=1 that took over 5 ms", r14, 0

	; --- NMIs to a vCPU whose every exit falls in an STI shadow ---
	MODE 3
	xor r14d, r14d
	mov r15d, ROUNDS
.n:	mov rbx, [nmi_count + 8]
	inc rbx
	IPI 1, 0x4400			; NMI
	lea rdi, [nmi_count + 8]
	mov rsi, rbx
	mov rdx, [t_5ms]
	call behave_wait
	jz .n1
	inc r14
	mov rdx, [t_long]
	call behave_wait
.n1:	dec r15d
	jnz .n
	cmp r14, 0
	CHECK e, "nmi_to_vcpu_in_sti_shadow_loop", "NMIs to vCPU 1 (looping sti; load from a new page; nop; cli) that took over 5 ms", r14, 0

	; --- a level-triggered I/O APIC line asserted at EOI comes again ---
	MODE 1
	lea rax, [level_hook]
	mov [irq_hook + VEC_LEVEL * 8], rax
	mov qword [vec_count + VEC_LEVEL * 8], 0
	mov eax, IOAPIC_BASE
	mov dword [rax], 0x19		; pin 4, high half: destination APIC ID 1
	mov dword [rax + 0x10], 1 << 24
	mov dword [rax], 0x18		; low half: level, fixed, physical, unmasked
	mov dword [rax + 0x10], 0x8000 | VEC_LEVEL
	mov dx, 0x3fc			; the UART's MCR: OUT2 lets its interrupt out
	mov al, 8
	out dx, al
	mov dx, 0x3f9			; IER: THR-empty interrupt on
	mov al, 2
	out dx, al
	lea rdi, [vec_count + VEC_LEVEL * 8]
	mov rsi, 3
	mov rdx, [t_long]
	call behave_wait
	mov rdx, [t_5ms]
	call behave_delay
	mov eax, IOAPIC_BASE
	mov dword [rax], 0x18
	mov dword [rax + 0x10], 0x10000	; masked
	mov dx, 0x3fc
	xor eax, eax
	out dx, al
	mov r8, [vec_count + VEC_LEVEL * 8]
	cmp r8, 3
	CHECK e, "ioapic_level_redelivered_after_eoi", "deliveries of a level line held high over two EOIs, dropped before the third", r8, 3

	; --- HLT with IF=0 ends with an NMI (vCPU 1 sends it, and reports should it not come) ---
	mov rbx, [nmi_count]
	MODE 4
	cli
	hlt
	mov qword [bsp_woke], 1
	mov r8, [nmi_count]
	sub r8, rbx
	cmp r8, 1
	CHECK e, "cli_hlt_woken_by_nmi", "NMIs that ended HLT with IF=0", r8, 1

	; --- INIT with the ICR's level bit clear, then SIPI, restarts vCPU 1 ---
	MODE 5
	IPI 1, 0x0500			; INIT, level 0, edge
	mov rdx, [t_5ms]
	call behave_delay
	IPI 1, 0x0600 | (TRAMP_A >> 12)	; SIPI
	mov edi, FLAG_A
	mov rsi, 0x1234
	mov rdx, [t_long]
	call wait_eq
	mov r8, [abs FLAG_A]
	CHECK e, "init_with_level_bit_clear_resets_ap", "vCPU 1 did not run the SIPI's code after INIT (flag shown)", r8, 0x1234

	; --- INIT and SIPI reach an AP parked in cli; hlt (real mode now) ---
	IPI 1, 0x4500			; INIT, assert
	mov rdx, [t_5ms]
	call behave_delay
	IPI 1, 0x4600 | (TRAMP_B >> 12)	; SIPI
	mov edi, FLAG_B
	mov rsi, 0x5678
	mov rdx, [t_long]
	call wait_eq
	mov r8, [abs FLAG_B]
	CHECK e, "ap_in_cli_hlt_restarts_on_init_sipi", "vCPU 1 in cli; hlt did not run the SIPI's code after INIT (flag shown)", r8, 0x5678

	jmp behave_done

; ipi_rounds: ROUNDS fixed IPIs to vCPU 1, each waited for; R14 = the late
; ones; ZF=1 when none was late.
ipi_rounds:
	xor r14d, r14d
	mov r15d, ROUNDS
.l:	mov rbx, [vec_count + VEC_IPI * 8]
	inc rbx
	IPI 1, 0x4000 | VEC_IPI
	lea rdi, [vec_count + VEC_IPI * 8]
	mov rsi, rbx
	mov rdx, [t_5ms]
	call behave_wait
	jz .ok
	inc r14
	mov rdx, [t_long]
	call behave_wait
.ok:	dec r15d
	jnz .l
	cmp r14, 0
	ret

; wait_eq: wait until qword [RDI] == RSI or RDX ticks passed; ZF=1 on success.
wait_eq:
	push rax
	push rbx
	push rdx
	push r8
	mov r8, rdx
	RDTSC64 rbx
.w:	cmp [rdi], rsi
	je .out
	pause
	RDTSC64 rax
	sub rax, rbx
	cmp rax, r8
	jb .w
	or eax, 1
.out:	pop r8
	pop rdx
	pop rbx
	pop rax
	ret

; level_hook: vCPU 1's handler of the level line: the third time it turns
; the UART's interrupt off (the line drops) before the EOI.
level_hook:
	cmp qword [vec_count + VEC_LEVEL * 8], 3
	jb .x
	push rax
	push rdx
	mov dx, 0x3f9
	xor eax, eax
	out dx, al
	pop rdx
	pop rax
.x:	ret

; nmi_handler: count NMIs per vCPU (by APIC ID).
nmi_handler:
	push rax
	mov eax, LAPIC_BASE
	mov eax, [rax + A_ID]
	shr eax, 24
	and eax, 7
	lock inc qword [nmi_count + rax * 8]
	pop rax
	iretq

; vCPU 1: runs the mode vCPU 0 puts in cmd, acknowledging each.
vcpu1:
	lea rdi, [mapped]
.w:	cmp qword [rdi], 0
	je .w
	mov dword [r13 + A_SVR], 0x1ff
	mov qword [ready1], 1
dispatch:
	cli
	mov rax, [cmd]
	mov [ack], rax
	cmp rax, 1
	je m1
	cmp rax, 2
	je m2
	cmp rax, 3
	je m3
	cmp rax, 4
	je m4
	cmp rax, 5
	je m5
	pause
	jmp dispatch
m1:	sti				; halted between interrupts
	hlt
	cli
	cmp qword [cmd], 1
	je m1
	jmp dispatch
m2:	sti				; running with IF=1
.l:	pause
	cmp qword [cmd], 2
	je .l
	jmp dispatch
m3:	mov rbx, [next_fresh]		; sti; a first touch (an exit in the shadow); nop; cli
.l:	sti
	mov al, [rbx]
	nop
	cli
	add rbx, 4096
	cmp rbx, FRESH_END
	jb .n
	mov rbx, FRESH_FIRST
.n:	cmp qword [cmd], 3
	je .l
	mov [next_fresh], rbx
	jmp dispatch
m4:	mov rdx, [t_5ms]		; NMI to vCPU 0 in cli; hlt
	shr rdx, 1
	call behave_delay
	IPI 0, 0x4400
	lea rdi, [bsp_woke]
	mov rsi, 1
	mov rdx, [t_long]
	call wait_eq
	jz dispatch
	FAILED "cli_hlt_woken_by_nmi", "vCPU 0 did not come back from cli; hlt after an NMI"
	jmp behave_done
m5:	sti				; running, until INIT
.l:	pause
	jmp .l

; Real-mode trampolines for the SIPIs: set a flag, then cli; hlt.
bits 16
tramp_a:
	mov dword [FLAG_A], 0x1234
.h:	cli
	hlt
	jmp .h
tramp_a_end:
tramp_b:
	mov dword [FLAG_B], 0x5678
.h:	cli
	hlt
	jmp .h
tramp_b_end:
bits 64

BEHAVE_CODE

align 8
mapped:		dq 0
ready1:		dq 0
cmd:		dq 0
ack:		dq 0
bsp_woke:	dq 0
t_5ms:		dq 0
t_long:		dq 0
next_fresh:	dq FRESH_FIRST
nmi_count:	times 8 dq 0
