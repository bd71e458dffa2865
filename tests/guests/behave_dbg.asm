; SPDX-License-Identifier: MIT
; behave_dbg: debug exceptions as the SDM (Vol. 3A ch. 17; 6.8.3 on MOV SS
; and STI; 6.9 on priorities) defines them, across the VM exits a guest does
; not see: DR7 and DR0-DR3 keep their values over exiting instructions,
; instruction and data breakpoints fire with the right DR6 (B0-B3 set or
; cleared by the CPU, BS left as software wrote it), single steps over
; emulated instructions, after a MOV SS or STI shadow, over STI;HLT (the
; #DB for HLT comes before the interrupt that ends it), with DR7.GD, and a
; data breakpoint hit by MOV SS, held for one instruction.  Not checked:
; MOV SS from a watched word followed by INT3 or INT n (Bochs drops that
; #DB).  Exit status: the number of failed checks.
%include "guest.inc"
%include "behave.inc"
org 0x100000

%define DB_LOG		16		; #DBs logged per sequence
%define TIMER_VEC	0x40
%define A_SVR		0xf0
%define A_LVTT		0x320
%define A_TMICT		0x380
%define A_TDCR		0x3e0
%define DR6_FIXED	0xffff0ff0	; DR6 with no condition (bits 16 and 4-11 read 1)
%define DR6_BITS	0xe00f		; BT, BS, BD, B3-B0
%define DR6_BD		0x2000
%define DR6_BS		0x4000
%define BS_ANY		(1 << 63)	; in a table: DR6.BS may be either

; TF_ON reg / TF_OFF reg: RFLAGS.TF through POPF (the trap comes after the
; instruction that follows the POPF that set it, SDM 17.3.1.4).
%macro TF_ON 1
	pushfq
	pop %1
	or %1, 0x100
	push %1
	popfq
%endmacro

; DB_RESET: an empty #DB log and DR6 = 0.
%macro DB_RESET 0
	mov qword [db_n], 0
	xor eax, eax
	mov dr6, rax
%endmacro

; CHECK_DB "name", table: the logged #DBs match the table (count, then
; RIP and DR6 bits of each); the first difference is shown.
%macro CHECK_DB 2
	lea rsi, [%2]
	call db_compare
	cmp rax, 0
	CHECK e, %1, "#DB log differs (got/want RIP or DR6 of the first difference, count when equal)", r8, r9
%endmacro

; CHECK_DB1 "name", index, RIP, DR6 bits: one logged #DB.
%macro CHECK_DB1 4
	mov ecx, %2
	lea rdx, [%3]
	mov edi, %4
	call db_check_one
	cmp rax, 0
	CHECK e, %1, "#DB missing or different (got/want RIP, or DR6 bits when the RIP matches)", r8, r9
%endmacro

start:
	mov r12, rdi
	call behave_init
	call behave_map_mmio
	mov qword [auto_eoi], 1
	SET_GATE 1, db_handler		; #DB: our logging handler

	; --- DR7 and DR0-DR3 keep their values over a VM exit (CPUID exits) ---
	mov rax, 0x1111000
	mov dr0, rax
	mov rax, 0x2222000
	mov dr1, rax
	mov rax, 0x3333000
	mov dr2, rax
	mov rax, 0x4444000
	mov dr3, rax
	mov eax, 0x00000455		; L0 L1 L2 L3 (execute breakpoints) | bit 10
	mov dr7, rax
	xor eax, eax
	cpuid
	mov r8, dr7
	xor eax, eax
	mov dr7, rax
	mov r9d, 0x455
	cmp r8, r9
	CHECK e, "dr7_kept_across_exit", "DR7 changed across an exiting CPUID", r8, r9
	mov r8, dr0
	mov r9, dr3
	mov r10, 0x1111000
	cmp r8, r10
	jne .dr03
	mov r10, 0x4444000
	cmp r9, r10
.dr03:	CHECK e, "dr0_dr3_kept_across_exit", "DR0 or DR3 changed across an exiting CPUID", r8, r10

	; --- an instruction breakpoint armed before an exit still fires ---
	DB_RESET
	lea rax, [ibp]
	mov dr0, rax
	mov eax, 0x401			; L0, execute, length 1
	mov dr7, rax
	xor eax, eax
	cpuid
ibp:	nop
	xor eax, eax
	mov dr7, rax
	CHECK_DB "insn_breakpoint_after_exit", seq_ibp

	; --- data breakpoints: DR6.B1 set, BS not set; BS that software set stays ---
	DB_RESET
	lea rax, [watched]
	mov dr1, rax
	mov eax, 0xd00404		; L1, write, 4 bytes
	mov dr7, rax
	xor eax, eax
	cpuid
	mov dword [watched], 1
wp1:	mov eax, 0x4000
	mov dr6, rax
	xor eax, eax
	cpuid
	mov dword [watched], 2
wp2:	xor eax, eax
	mov dr7, rax
	CHECK_DB1 "watchpoint_dr6_b1_without_bs", 0, wp1, 2
	CHECK_DB1 "watchpoint_keeps_bs_software_set", 1, wp2, DR6_BS | 2

	; --- single step over instructions the hypervisor emulates ---
	DB_RESET
	mov r13d, LAPIC_BASE
	mov r14, cr8
	xor eax, eax
	TF_ON r15
	cpuid
ss_e1:	out 0x80, al
ss_e2:	mov ecx, 0x10
ss_e3:	rdmsr
ss_e4:	mov eax, [r13 + 0x30]		; the APIC version register (MMIO)
ss_e5:	mov cr8, r14
ss_e6:	and r15, ~0x100
ss_e7:	push r15
ss_e8:	popfq
ss_e9:	CHECK_DB "single_step_emulated_insns", seq_emul

	; --- single step after MOV SS: the trap waits for the instruction after it ---
	DB_RESET
	mov ax, ss
	TF_ON r15
	mov ss, ax
	cpuid				; emulated inside the MOV SS shadow
ss_m1:	and r15, ~0x100
ss_m2:	push r15
ss_m3:	popfq
ss_m4:	CHECK_DB "single_step_movss_then_cpuid", seq_movss

	; --- single step with DR7.GD: MOV DR in a MOV SS shadow faults first
	; (with BD; whether BS shows the held step too the SDM leaves open) ---
	DB_RESET
	mov eax, 0x2400			; GD
	mov dr7, rax
	xor eax, eax
	cpuid				; GD must survive the exit
	xor eax, eax
	mov bx, ss
	TF_ON r15
	mov ss, bx
ss_g0:	mov dr6, rax			; #DB (BD), then again with GD clear
ss_g1:	and r15, ~0x100
ss_g2:	push r15
ss_g3:	popfq
ss_g4:	xor eax, eax
	mov dr7, rax
	CHECK_DB "single_step_movss_dr7_gd", seq_gd

	; --- a data breakpoint hit by MOV SS waits for the next instruction (SDM 6.8.3) ---
	DB_RESET
	mov word [watched], 0x10
	lea rax, [watched]
	mov dr1, rax
	mov eax, 0xf00404		; L1, read/write, 4 bytes
	mov dr7, rax
	xor eax, eax
	cpuid
	mov ss, [watched]
	nop
movss_wp:
	xor eax, eax
	mov dr7, rax
	CHECK_DB "movss_watchpoint_after_next_insn", seq_movss_wp

	; --- STI;HLT single-stepped: #DB after STI, #DB after HLT, then the interrupt ---
	DB_RESET
	cli
	mov dword [r13 + A_SVR], 0x1ff
	mov dword [r13 + A_TDCR], 0xb	; divide by 1
	mov dword [r13 + A_LVTT], TIMER_VEC
	mov qword [vec_count + TIMER_VEC * 8], 0
	mov dword [r13 + A_TMICT], 25000	; 1 ms at 25 MHz
	TF_ON r15
	sti
ss_h0:	hlt
ss_h1:	and r15, ~0x100
ss_h2:	push r15
ss_h3:	popfq
ss_h4:	cli
	CHECK_DB "single_step_sti_hlt", seq_hlt
	mov r8, [db_irq + 1 * 8]
	mov r9, [db_irq + 2 * 8]
	shl r9, 8
	or r8, r9
	cmp r8, 0x100
	CHECK e, "single_step_hlt_before_interrupt", "(timer count at #DB 2 << 8 | at #DB 1): the #DB for HLT must precede the interrupt", r8, 0x100

	jmp behave_done

; db_handler: log RIP, DR6 and the timer count of each #DB; RF for a
; breakpoint (an instruction breakpoint is a fault); TF off after DB_LOG.
db_handler:
	push rax
	push rbx
	mov rax, dr6
	mov rbx, [db_n]
	cmp rbx, DB_LOG
	jae .1
	mov [db_dr6 + rbx * 8], rax
	push rax
	mov rax, [rsp + 24]
	mov [db_rip + rbx * 8], rax
	mov rax, [vec_count + TIMER_VEC * 8]
	mov [db_irq + rbx * 8], rax
	pop rax
.1:	inc rbx
	mov [db_n], rbx
	test al, 0xf
	jz .2
	or qword [rsp + 32], 0x10000
.2:	cmp rbx, DB_LOG
	jb .3
	and qword [rsp + 32], ~0x100
.3:	pop rbx
	pop rax
	iretq

; db_check_one: RCX = index, RDX = RIP, RDI = DR6 bits.  RAX = 0 when the
; log has that #DB; else R8/R9 = got/want (the count, the RIP or DR6 bits).
db_check_one:
	mov eax, 1
	mov r8, [db_n]
	lea r9, [rcx + 1]
	cmp r8, r9
	jb .out
	mov r8, [db_rip + rcx * 8]
	mov r9, rdx
	cmp r8, r9
	jne .out
	mov r8, [db_dr6 + rcx * 8]
	and r8, DR6_BITS
	mov r9, rdi
	cmp r8, r9
	jne .out
	xor eax, eax
.out:	ret

; db_compare: RSI = table (count, then RIP, DR6 bits per #DB).  RAX = 0 when
; the log matches; else R8/R9 = got/want of the first difference.
db_compare:
	push rcx
	push rdx
	xor ecx, ecx
	mov rax, [db_n]
	cmp rax, [rsi]
	je .l
	mov r8, rax
	mov r9, [rsi]
	jmp .bad
.l:	cmp rcx, [rsi]
	jae .ok
	mov rdx, rcx
	shl rdx, 4
	mov r8, [db_rip + rcx * 8]
	mov r9, [rsi + 8 + rdx]
	cmp r8, r9
	jne .bad
	mov r8, [db_dr6 + rcx * 8]
	and r8, DR6_BITS
	mov r9, [rsi + 16 + rdx]
	btr r9, 63
	jnc .cmp
	and r8, ~DR6_BS
.cmp:	cmp r8, r9
	jne .bad
	inc rcx
	jmp .l
.ok:	xor eax, eax
	jmp .out
.bad:	mov eax, 1
.out:	pop rdx
	pop rcx
	ret

BEHAVE_CODE

align 8
db_n:		dq 0
db_rip:		times DB_LOG dq 0
db_dr6:		times DB_LOG dq 0
db_irq:		times DB_LOG dq 0
watched:	dq 0
; tables: count, then (RIP, DR6 & DR6_BITS) per #DB
seq_ibp:	dq 1, ibp, 1
seq_emul:	dq 9, ss_e1, DR6_BS, ss_e2, DR6_BS, ss_e3, DR6_BS, ss_e4, DR6_BS, ss_e5, DR6_BS
		dq ss_e6, DR6_BS, ss_e7, DR6_BS, ss_e8, DR6_BS, ss_e9, DR6_BS
seq_movss:	dq 4, ss_m1, DR6_BS, ss_m2, DR6_BS, ss_m3, DR6_BS, ss_m4, DR6_BS
seq_gd:		dq 5, ss_g0, DR6_BD | BS_ANY, ss_g1, DR6_BS, ss_g2, DR6_BS, ss_g3, DR6_BS, ss_g4, DR6_BS
seq_movss_wp:	dq 1, movss_wp, 2
seq_hlt:	dq 5, ss_h0, DR6_BS, ss_h1, DR6_BS, ss_h2, DR6_BS, ss_h3, DR6_BS, ss_h4, DR6_BS
