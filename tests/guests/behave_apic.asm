; SPDX-License-Identifier: MIT
; behave_apic: the local APIC as the SDM (Vol. 3A ch. 10) defines it, seen
; from a guest: the xAPIC registers at 0xfee00000, self-IPIs, IRR/ISR/EOI,
; priorities and the TPR (also as CR8), the ESR, the timer in one-shot,
; periodic and TSC-deadline modes (rates checked against CPUID 0x15: the
; timer counts the crystal clock ECX, the TSC runs at ECX * EBX / EAX), an
; IPI round trip with vCPU 1, HLT woken by the timer, and x2APIC mode through
; the MSRs.  Exit status: the number of failed checks.
%include "guest.inc"
%include "behave.inc"
org 0x100000

%define A_ID		0x20
%define A_VER		0x30
%define A_TPR		0x80
%define A_SVR		0xf0
%define A_ISR		0x100
%define A_IRR		0x200
%define A_ESR		0x280
%define A_ICR_LO	0x300
%define A_ICR_HI	0x310
%define A_LVTT		0x320
%define A_LVTERR	0x370
%define A_TMICT		0x380
%define A_TMCCT		0x390
%define A_TDCR		0x3e0

%define TARGET_TICKS	500000		; a timer period in TSC ticks
%define FRESH_STACK	0x300000	; a page nothing touches before its check

; AREG reg32, offset: read a 32-bit xAPIC register (R13 = the base),
; zero-extended into the 64-bit register.
%macro AREG 2
	mov %1, [r13 + %2]
%endmacro
; AWR offset, value
%macro AWR 2
	mov dword [r13 + %1], %2
%endmacro
; COUNT reg, vector
%macro COUNT 2
	mov %1, [vec_count + (%2) * 8]
%endmacro
; WAITV vector, count, ticks: wait for vec_count[vector] >= count (a
; register or memory), ZF=1 on success.
%macro WAITV 3
	push rdi
	push rsi
	push rdx
	lea rdi, [vec_count + (%1) * 8]
	mov rsi, %2
	mov rdx, %3
	call behave_wait
	pop rdx
	pop rsi
	pop rdi
%endmacro
; DELAY ticks
%macro DELAY 1
	push rdx
	mov rdx, %1
	call behave_delay
	pop rdx
%endmacro

start:
	mov r12, rdi
	call behave_init
	test r12, r12
	jnz vcpu1
	call behave_map_mmio
	call behave_clock
	mov r13d, LAPIC_BASE
	mov qword [auto_eoi], 1
	mov qword [mapped], 1
	call timer_setup

	mov eax, 1
	xor ecx, ecx
	cpuid
	mov [l1_ecx], ecx

	; --- APIC_BASE: xAPIC mode, enabled, at 0xfee00000 ---
	mov ecx, 0x1b
	xor eax, eax
	xor edx, edx
	ATTEMPT rdmsr
	shl rdx, 32
	or rax, rdx
	mov r8, rax
	mov [apic_base], rax
	and rax, ~0xff			; BSP, EXTD, EN and the base
	mov r9, 0xfee00900
	cmp rax, r9
	CHECK e, "apic_base_xapic_enabled", "APIC_BASE is not 0xfee00000 | EN | BSP (xAPIC mode)", r8, r9
	mov ecx, 0x802
	ATTEMPT rdmsr
	CHECK_TRAP "x2apic_msr_gp_in_xapic_mode", 13, 0

	; --- identification ---
	AREG r8d, A_ID
	shr r8, 24
	cmp r8, r12
	CHECKC e, "id_register", "ID register bits 31:24 are not the vCPU index", r8, r12
	AREG r8d, A_VER
	mov [version], r8
	mov r9, r8
	and r9, 0xff
	xor r10d, r10d
	cmp r9, 0x10
	jb .v1
	cmp r9, 0x15
	ja .v1
	inc r10d
.v1:	cmp r10, 1
	CHECK e, "version_integrated_apic", "version register bits 7:0 are not 0x10..0x15", r8, 0x14
	mov r9, r8
	shr r9, 16
	and r9, 0xff
	cmp r9, 5
	CHECK ae, "version_max_lvt", "version register's max LVT entry (bits 23:16) is below 5", r9, 5

	; --- SVR, TPR (and CR8), LVT, TDCR ---
	AWR A_SVR, 0x1ff
	AREG r8d, A_SVR
	and r8, 0x1ff
	cmp r8, 0x1ff
	CHECK e, "svr_readback", "SVR did not keep enable | vector 0xff", r8, 0x1ff
	AWR A_TPR, 0x20
	AREG r8d, A_TPR
	and r8, 0xff
	cmp r8, 0x20
	CHECK e, "tpr_readback", "TPR did not keep 0x20", r8, 0x20
	AWR A_TPR, 0x50
	mov r8, cr8
	cmp r8, 5
	CHECK e, "cr8_reads_tpr", "CR8 is not TPR[7:4] (TPR = 0x50)", r8, 5
	mov eax, 3
	mov cr8, rax
	AREG r8d, A_TPR
	and r8, 0xff
	cmp r8, 0x30
	CHECK e, "cr8_writes_tpr", "TPR after CR8 = 3 is not 0x30", r8, 0x30
	xor eax, eax
	mov cr8, rax
	AWR A_TPR, 0
	AWR A_LVTT, 0x30040		; masked, periodic, vector 0x40
	AREG r8d, A_LVTT
	and r8, 0x710ff
	cmp r8, 0x30040
	CHECK e, "lvt_timer_readback", "LVT timer did not keep mask | periodic | vector", r8, 0x30040
	AWR A_LVTERR, 0x100fe
	AREG r8d, A_LVTERR
	and r8, 0x110ff
	cmp r8, 0x100fe
	CHECK e, "lvt_error_readback", "LVT error did not keep mask | vector", r8, 0x100fe
	; a software-disabled APIC masks every LVT entry and keeps it masked
	AWR A_LVTT, 0x40
	AWR A_SVR, 0xff
	AREG r8d, A_LVTT
	AWR A_LVTT, 0x41
	AREG r9d, A_LVTT
	AWR A_SVR, 0x1ff
	and r8, r9
	bt r8, 16
	CHECK c, "svr_disable_masks_lvt", "an LVT entry is unmasked while the APIC is software-disabled", r9, 0x10041
	AWR A_LVTT, 0x10040
	AWR A_TDCR, 3
	AREG r8d, A_TDCR
	and r8, 0xb
	cmp r8, 3
	CHECK e, "tdcr_readback", "TDCR did not keep 3 (divide by 16)", r8, 3

	; --- a self-IPI: held while IF=0, shown in IRR, delivered once, ISR
	; set in the handler and clear after the EOI ---
	cli
	lea rax, [isr_hook]
	mov [irq_hook + 0x40 * 8], rax
	COUNT r14, 0x40
	AWR A_ICR_LO, 0x40040		; fixed, shorthand self, vector 0x40
	mov ecx, 1000
.icr:	AREG r8d, A_ICR_LO
	bt r8, 12
	jnc .icrd
	pause
	dec ecx
	jnz .icr
.icrd:	bt r8, 12
	CHECK nc, "icr_idle_after_self_ipi", "ICR delivery status (bit 12) stays busy", r8, 0x40040
	DELAY 20000
	COUNT r8, 0x40
	sub r8, r14
	CHECK z, "self_ipi_held_while_if_clear", "the self-IPI was delivered with IF=0", r8, 0
	AREG r8d, A_IRR + 0x20
	bt r8, 0
	CHECK c, "irr_shows_pending_ipi", "IRR bit 0x40 is clear while the IPI waits", r8, 1
	lea r15, [r14 + 1]
	sti
	WAITV 0x40, r15, [wait_ticks]
	cli
	CHECK e, "self_ipi_delivered", "no interrupt after STI"
	DELAY 20000
	COUNT r8, 0x40
	sub r8, r14
	cmp r8, 1
	CHECK e, "self_ipi_delivered_once", "the self-IPI was delivered more than once", r8, 1
	mov r8, [isr_in_handler]
	bt r8, 0
	CHECK c, "isr_set_in_handler", "ISR bit 0x40 is clear in its handler", r8, 1
	AREG r8d, A_ISR + 0x20
	bt r8, 0
	CHECK nc, "isr_clear_after_eoi", "ISR bit 0x40 is still set after the EOI", r8, 0

	; --- a self-IPI taken after instructions of the guest's own, its
	; delivery cut short by an exit (the stack on a page not yet mapped),
	; after an INT3: the interrupt arrives once, as itself, and the INT3
	; is not raised again (SDM 27.2.4, 29.2.2) ---
	cli
	COUNT r14, 0x40
	COUNT r15, 3
	int3
	AWR A_ICR_LO, 0x40040		; an exit; the entry after it sets RVI to 0x40
	mov [saved_rsp], rsp
	mov rsp, FRESH_STACK + 0x800
	sti
	nop				; delivered after it: past the entry's RIP
	cli
	mov rsp, [saved_rsp]
	COUNT r8, 0x40
	sub r8, r14
	cmp r8, 1
	CHECK e, "self_ipi_on_unmapped_stack", "self-IPIs taken with the stack on a page not yet mapped", r8, 1
	COUNT r8, 3
	sub r8, r15
	cmp r8, 1
	CHECK e, "no_stale_event_after_cut_short_delivery", "#BPs taken (want 1: the INT3)", r8, 1
	AREG r8d, A_ISR + 0x20
	bt r8, 0
	CHECK nc, "unmapped_stack_ipi_retired", "ISR bit 0x40 is still set after the EOI", r8, 0

	; --- priority: of two pending vectors the higher class goes first ---
	mov qword [irq_log_n], 0
	COUNT r14, 0x45
	AWR A_ICR_LO, 0x40045
	AWR A_ICR_LO, 0x40062
	sti
	lea r15, [r14 + 1]
	WAITV 0x45, r15, [wait_ticks]
	cli
	mov edi, 0x62
	call log_index
	mov r8, rax
	mov edi, 0x45
	call log_index
	mov r9, rax
	xor r10d, r10d
	cmp r8, -1
	je .pr
	cmp r9, -1
	je .pr
	cmp r8, r9
	jae .pr
	inc r10d
.pr:	cmp r10, 1
	CHECK e, "higher_priority_first", "vector 0x62 was not delivered before 0x45 (log positions, -1: never)", r8, r9

	; --- TPR: a class at or below TPR[7:4] waits ---
	AWR A_TPR, 0x50
	COUNT r14, 0x45
	sti
	AWR A_ICR_LO, 0x40045
	DELAY 20000
	COUNT r8, 0x45
	sub r8, r14
	CHECK z, "tpr_blocks_lower_class", "vector 0x45 was delivered with TPR = 0x50", r8, 0
	AWR A_TPR, 0
	lea r15, [r14 + 1]
	WAITV 0x45, r15, [wait_ticks]
	cli
	CHECK e, "tpr_lowered_delivers", "vector 0x45 not delivered after TPR = 0"

	; --- ESR: a self-IPI with an illegal vector (0..15) ---
	AWR A_ESR, 0
	AREG r8d, A_ESR
	COUNT r14, 3
	AWR A_ESR, 0
	AWR A_ICR_LO, 0x40003
	DELAY 20000
	AWR A_ESR, 0			; latch
	AREG r8d, A_ESR
	AWR A_ESR, 0
	COUNT r9, 3
	sub r9, r14
	xor r10d, r10d
	test r8, 0x60			; send / receive illegal vector
	jz .esr
	test r9, r9
	jnz .esr
	inc r10d
.esr:	cmp r10, 1
	CHECK e, "esr_illegal_vector", "ESR bits 5/6 not set (or the vector was delivered)", r8, 0x60

	; --- timer, one-shot: counts down, fires once, not early ---
	AWR A_TDCR, 3
	AWR A_LVTT, 0x48
	cli
	mov qword [irq_log_n], 0
	COUNT r14, 0x48
	RDTSC64 r15
	mov eax, [tmict]
	AWR A_TMICT, eax
	AREG r8d, A_TMCCT
	mov rdx, [expected]
	shr rdx, 3
	DELAY rdx
	AREG r9d, A_TMCCT
	mov eax, [tmict]
	cmp r8, rax
	ja .cd
	cmp r9, r8
.cd:	CHECK b, "tmcct_counts_down", "TMCCT did not count down from TMICT (two reads)", r8, r9
	sti
	lea rax, [r14 + 1]
	WAITV 0x48, rax, [wait_ticks]
	CHECK e, "oneshot_fires", "no one-shot timer interrupt"
	mov edi, 0x48
	xor esi, esi
	call log_tsc
	sub rax, r15			; ticks from the TMICT write to the interrupt
	mov r8, rax
	mov rax, [expected]
	imul rax, rax, 95
	xor edx, edx
	mov ecx, 100
	div rcx
	mov r9, rax			; 95% of the period
	cmp byte [have_ratio], 0
	je .ne
	cmp r8, r9
	CHECK ae, "oneshot_not_early", "the one-shot fired early (TSC ticks, want at least)", r8, r9
	jmp .ne2
.ne:	FAILED "oneshot_not_early", "no TSC/crystal ratio in CPUID 0x15"
.ne2:	mov rdx, [expected]
	shl rdx, 1
	DELAY rdx
	COUNT r8, 0x48
	sub r8, r14
	cmp r8, 1
	CHECK e, "oneshot_fires_once", "the one-shot timer fired more than once", r8, 1
	AREG r8d, A_TMCCT
	test r8, r8
	CHECK z, "tmcct_zero_after_oneshot", "TMCCT is not 0 after the one-shot expired", r8, 0
	cli

	; --- timer, masked: counts, no interrupt ---
	AWR A_LVTT, 0x10048
	COUNT r14, 0x48
	mov eax, [tmict]
	AWR A_TMICT, eax
	sti
	mov rdx, [expected]
	shl rdx, 1
	add rdx, 100000
	DELAY rdx
	cli
	COUNT r8, 0x48
	sub r8, r14
	CHECK z, "masked_timer_no_interrupt", "a masked timer interrupted", r8, 0
	AREG r8d, A_TMCCT
	test r8, r8
	CHECK z, "masked_timer_still_counts", "TMCCT of a masked timer did not reach 0", r8, 0
	AWR A_TMICT, 0

	; --- timer, periodic: eleven interrupts, the rate from CPUID 0x15 ---
	AWR A_LVTT, 0x20049
	mov qword [irq_log_n], 0
	COUNT r14, 0x49
	lea r15, [r14 + 11]
	mov eax, [tmict]
	AWR A_TMICT, eax
	sti
	mov rdx, [expected]
	imul rdx, rdx, 22
	add rdx, 2000000
	WAITV 0x49, r15, rdx
	AWR A_TMICT, 0			; stops it
	CHECK e, "periodic_fires", "fewer than 11 periodic interrupts"
	mov rdx, [expected]
	shr rdx, 1
	DELAY rdx			; one in flight may still arrive
	COUNT r15, 0x49
	mov rdx, [expected]
	imul rdx, rdx, 3
	DELAY rdx
	COUNT r8, 0x49
	sub r8, r15
	CHECK z, "tmict_zero_stops_timer", "the periodic timer went on after TMICT = 0", r8, 0
	cli
	AWR A_LVTT, 0x10049
	mov edi, 0x49
	mov esi, 10
	call log_tsc
	mov r8, rax
	mov edi, 0x49
	xor esi, esi
	call log_tsc
	sub r8, rax
	mov rax, r8
	xor edx, edx
	mov ecx, 10
	div rcx
	mov r8, rax			; measured period
	mov r9, [expected]
	cmp byte [have_ratio], 0
	je .pn
	sub rax, r9
	jns .pa
	neg rax
.pa:	imul rax, rax, 20		; within 5%
	cmp rax, r9
	CHECK be, "periodic_rate_matches_cpuid_15", "periodic timer period in TSC ticks off by more than 5%", r8, r9
	jmp .pd
.pn:	FAILED "periodic_rate_matches_cpuid_15", "no TSC/crystal ratio in CPUID 0x15 (measured period shown)", r8, 0
.pd:

	; --- timer, TSC-deadline mode ---
	bt dword [l1_ecx], 24
	jc .dl
	SKIP "tsc_deadline_tmcct_zero", "no TSC deadline (CPUID.1:ECX[24] clear)"
	SKIP "tsc_deadline_msr_readback", "no TSC deadline"
	SKIP "tsc_deadline_zero_disarms", "no TSC deadline"
	SKIP "tsc_deadline_fires", "no TSC deadline"
	SKIP "tsc_deadline_not_early", "no TSC deadline"
	SKIP "tsc_deadline_clears_on_fire", "no TSC deadline"
	SKIP "tsc_deadline_past_fires", "no TSC deadline"
	jmp .dld
.dl:	AWR A_LVTT, 0x4004a		; TSC-deadline mode, vector 0x4a
	mov eax, [tmict]
	AWR A_TMICT, eax		; ignored in this mode
	AREG r8d, A_TMCCT
	test r8, r8
	CHECK z, "tsc_deadline_tmcct_zero", "TMCCT is not 0 in TSC-deadline mode", r8, 0
	RDTSC64 r9
	mov rax, 1 << 40
	add r9, rax
	mov rax, r9
	call wr_deadline
	call rd_deadline
	mov r8, rax
	cmp r8, r9
	CHECK e, "tsc_deadline_msr_readback", "IA32_TSC_DEADLINE did not keep a future deadline", r8, r9
	COUNT r14, 0x4a			; armed one period ahead, then disarmed
	RDTSC64 rax
	add rax, [expected]
	call wr_deadline
	xor eax, eax
	call wr_deadline
	sti
	mov rdx, [expected]
	imul rdx, rdx, 3
	DELAY rdx
	cli
	COUNT r8, 0x4a
	sub r8, r14
	CHECK z, "tsc_deadline_zero_disarms", "the timer fired after IA32_TSC_DEADLINE = 0", r8, 0
	mov qword [irq_log_n], 0
	RDTSC64 r15
	add r15, [expected]
	mov rax, r15
	call wr_deadline
	sti
	lea rax, [r14 + 1]
	WAITV 0x4a, rax, [wait_ticks]
	cli
	CHECK e, "tsc_deadline_fires", "no interrupt after the deadline"
	mov edi, 0x4a
	xor esi, esi
	call log_tsc
	mov r8, rax
	cmp r8, r15
	CHECK ae, "tsc_deadline_not_early", "the interrupt came before the deadline (TSC at the interrupt, deadline)", r8, r15
	call rd_deadline
	mov r8, rax
	test r8, r8
	CHECK z, "tsc_deadline_clears_on_fire", "IA32_TSC_DEADLINE is not 0 after it fired", r8, 0
	COUNT r14, 0x4a
	mov eax, 1			; long past
	call wr_deadline
	sti
	lea rax, [r14 + 1]
	WAITV 0x4a, rax, [expected]
	cli
	CHECK e, "tsc_deadline_past_fires", "a deadline in the past did not fire within a period"
	AWR A_LVTT, 0x10000
.dld:

	; --- an IPI round trip with vCPU 1 ---
	lea rdi, [ready1]
	mov rsi, 1
	mov rdx, 200000000
	call behave_wait
	CHECK e, "vcpu1_ready", "vCPU 1 did not enable its APIC"
	mov r8, [vcpu1_id]
	cmp r8, 1
	CHECK e, "id_register_vcpu1", "vCPU 1's ID register bits 31:24 are not 1", r8, 1
	COUNT r14, 0x51
	AWR A_ICR_HI, 1 << 24
	AWR A_ICR_LO, 0x4050		; fixed, physical, to APIC ID 1
	sti
	lea rax, [r14 + 1]
	WAITV 0x51, rax, [wait_ticks]
	cli
	CHECK e, "ipi_roundtrip_vcpu1", "no reply (vector 0x51) from vCPU 1"
	COUNT r8, 0x50
	cmp r8, 1
	CHECK e, "ipi_delivered_to_vcpu1", "vCPU 1 did not get vector 0x50 once", r8, 1

	; --- vCPU 1's IPI while IF=0 and a self-IPI waits: neither is taken
	; before STI, though the IPI reaches this CPU as an interrupt of the
	; host (the kick) while the guest runs ---
	cli
	COUNT r14, 0x40
	COUNT r15, 0x53
	AWR A_ICR_LO, 0x40040		; a self-IPI: it waits, IF=0
	mov qword [poke_req], 1		; vCPU 1 sends 0x53
	lea rdi, [poke_req]
	mov rsi, 2
	mov rdx, 200000000
	call behave_wait
	CHECK e, "vcpu1_sent_ipi_while_if_clear", "vCPU 1 did not send vector 0x53"
	DELAY 200000
	COUNT r8, 0x40
	sub r8, r14
	COUNT r9, 0x53
	sub r9, r15
	add r8, r9
	CHECK z, "ipi_kick_delivers_nothing_while_if_clear", "interrupts taken with IF=0 (0x40 and 0x53)", r8, 0
	lea r15, [r15 + 1]
	sti
	WAITV 0x53, r15, [wait_ticks]
	cli
	CHECK e, "held_ipi_delivered_after_sti", "vector 0x53 not taken after STI"
	COUNT r8, 0x40
	sub r8, r14
	cmp r8, 1
	CHECK e, "held_self_ipi_delivered_after_sti", "vector 0x40 not taken once after STI", r8, 1

	; --- HLT ends with the timer interrupt (vCPU 1 sends 0x52 should
	; the timer never come) ---
	AWR A_LVTT, 0x4c
	COUNT r14, 0x4c
	mov rax, [expected]
	imul rax, rax, 20
	add rax, 4000000
	RDTSC64 rdx
	add rax, rdx
	mov [alarm_at], rax
	mov eax, [tmict]
	AWR A_TMICT, eax
	sti
	hlt
	cli
	mov qword [alarm_cancel], 1
	COUNT r8, 0x4c
	sub r8, r14
	cmp r8, 1
	CHECK e, "hlt_wakes_on_timer", "HLT did not end with the timer interrupt", r8, 1
	AWR A_LVTT, 0x10000

	; --- x2APIC mode ---
	bt dword [l1_ecx], 21
	jc .x2
	mov ecx, 0x1b
	rdmsr
	or eax, 1 << 10
	ATTEMPT wrmsr
	CHECK_TRAP "apic_base_extd_gp_without_x2apic", 13, 0
	SKIP "x2apic_enable", "no x2APIC (CPUID.1:ECX[21] clear)"
	SKIP "x2apic_id_msr", "no x2APIC"
	SKIP "x2apic_version_msr", "no x2APIC"
	SKIP "x2apic_tpr_msr", "no x2APIC"
	SKIP "x2apic_svr_msr", "no x2APIC"
	SKIP "x2apic_self_ipi_msr", "no x2APIC"
	SKIP "x2apic_icr_self_ipi", "no x2APIC"
	SKIP "x2apic_read_eoi_gp", "no x2APIC"
	SKIP "x2apic_write_id_gp", "no x2APIC"
	SKIP "x2apic_eoi_nonzero_gp", "no x2APIC"
	SKIP "x2apic_to_xapic_gp", "no x2APIC"
	jmp behave_done
.x2:	SKIP "apic_base_extd_gp_without_x2apic", "x2APIC present"
	mov ecx, 0x1b
	rdmsr
	or eax, (1 << 10) | (1 << 11)
	ATTEMPT wrmsr
	mov r10, [last_vector]
	mov ecx, 0x1b
	rdmsr
	mov r8d, eax
	cmp r10, -1
	jne .x2e
	bt r8, 10
	cmc				; CF=0 when EXTD is set
.x2e:	CHECK nc, "x2apic_enable", "APIC_BASE |= EXTD faulted or did not stick", r8, r10
	mov qword [apic_mode], 2
	mov ecx, 0x802
	call rdmsr_safe
	cmp rax, r12
	CHECK e, "x2apic_id_msr", "MSR 0x802 is not the vCPU index", rax, r12
	mov ecx, 0x803
	call rdmsr_safe
	mov r8, rax
	and rax, 0xff00ff
	mov r9, [version]
	and r9, 0xff00ff
	cmp rax, r9
	CHECK e, "x2apic_version_msr", "MSR 0x803 differs from the xAPIC version register", r8, qword [version]
	mov ecx, 0x808
	mov eax, 0x30
	xor edx, edx
	ATTEMPT wrmsr
	mov ecx, 0x808
	call rdmsr_safe
	cmp rax, 0x30
	CHECK e, "x2apic_tpr_msr", "MSR 0x808 (TPR) did not keep 0x30", rax, 0x30
	mov ecx, 0x808
	xor eax, eax
	xor edx, edx
	wrmsr
	mov ecx, 0x80f
	mov eax, 0x1ff
	xor edx, edx
	ATTEMPT wrmsr
	mov ecx, 0x80f
	call rdmsr_safe
	and rax, 0x1ff
	cmp rax, 0x1ff
	CHECK e, "x2apic_svr_msr", "MSR 0x80f (SVR) did not keep enable | 0xff", rax, 0x1ff
	COUNT r14, 0x4b
	mov ecx, 0x83f
	mov eax, 0x4b
	xor edx, edx
	ATTEMPT wrmsr
	sti
	lea rax, [r14 + 1]
	WAITV 0x4b, rax, [wait_ticks]
	cli
	CHECK e, "x2apic_self_ipi_msr", "no interrupt from SELF_IPI (MSR 0x83f)"
	COUNT r14, 0x4d
	mov ecx, 0x830
	mov eax, 0x4004d
	xor edx, edx
	ATTEMPT wrmsr
	sti
	lea rax, [r14 + 1]
	WAITV 0x4d, rax, [wait_ticks]
	cli
	CHECK e, "x2apic_icr_self_ipi", "no interrupt from ICR (MSR 0x830) with shorthand self"
	mov ecx, 0x80b
	ATTEMPT rdmsr
	CHECK_TRAP "x2apic_read_eoi_gp", 13, 0
	mov ecx, 0x802
	xor eax, eax
	xor edx, edx
	ATTEMPT wrmsr
	CHECK_TRAP "x2apic_write_id_gp", 13, 0
	mov ecx, 0x80b
	mov eax, 1
	xor edx, edx
	ATTEMPT wrmsr
	CHECK_TRAP "x2apic_eoi_nonzero_gp", 13, 0
	mov ecx, 0x1b
	rdmsr
	and eax, ~(1 << 10)		; x2APIC -> xAPIC directly is illegal
	ATTEMPT wrmsr
	CHECK_TRAP "x2apic_to_xapic_gp", 13, 0
	jmp behave_done

; timer_setup: N (TMICT) for a period of about TARGET_TICKS, and that
; period in TSC ticks from CPUID 0x15 (with divide-by-16); without a ratio
; in leaf 0x15, N = 20000 and a guess from tsc_hz sizes the waits.
timer_setup:
	xor eax, eax
	cpuid
	cmp eax, 0x15
	jb .none
	mov eax, 0x15
	xor ecx, ecx
	cpuid
	test eax, eax
	jz .none
	test ebx, ebx
	jz .none
	mov [ratio_den], rax
	mov [ratio_num], rbx
	mov byte [have_ratio], 1
	mov rax, TARGET_TICKS
	mul qword [ratio_den]
	mov rcx, [ratio_num]
	shl rcx, 4
	div rcx
	test rax, rax
	jnz .n1
	inc eax
.n1:	mov ecx, 0xffffffff
	cmp rax, rcx
	jbe .n2
	mov rax, rcx
.n2:	mov [tmict], rax
	shl rax, 4
	mul qword [ratio_num]
	div qword [ratio_den]
	mov [expected], rax
	jmp .wt
.none:	mov qword [tmict], 20000
	mov rax, 20000 * 16
	mul qword [tsc_hz]
	mov rcx, 25000000
	div rcx
	mov [expected], rax
.wt:	mov rax, [expected]
	shl rax, 2
	add rax, 1000000
	mov [wait_ticks], rax
	INFO "timer_tmict", "initial count", qword [tmict]
	INFO "timer_period_ticks", "expected TSC ticks per period", qword [expected]
	ret

; log_index: EDI = vector -> RAX = its first position in irq_log, or -1.
log_index:
	xor eax, eax
.l:	cmp rax, [irq_log_n]
	jae .no
	cmp rax, IRQ_LOG_LEN
	jae .no
	cmp [irq_log_vec + rax * 8], rdi
	je .yes
	inc rax
	jmp .l
.no:	mov rax, -1
.yes:	ret

; log_tsc: EDI = vector, ESI = n -> RAX = the TSC of its n-th (from 0)
; arrival in irq_log, or 0.
log_tsc:
	push rcx
	xor ecx, ecx
.l:	cmp rcx, [irq_log_n]
	jae .no
	cmp rcx, IRQ_LOG_LEN
	jae .no
	cmp [irq_log_vec + rcx * 8], rdi
	jne .n
	test esi, esi
	jz .yes
	dec esi
.n:	inc rcx
	jmp .l
.no:	xor eax, eax
	pop rcx
	ret
.yes:	mov rax, [irq_log_tsc + rcx * 8]
	pop rcx
	ret

; wr_deadline: IA32_TSC_DEADLINE = RAX.  rd_deadline: RAX = it.
wr_deadline:
	push rcx
	push rdx
	mov ecx, 0x6e0
	mov rdx, rax
	shr rdx, 32
	wrmsr
	pop rdx
	pop rcx
	ret
rd_deadline:
	push rcx
	push rdx
	mov ecx, 0x6e0
	rdmsr
	shl rdx, 32
	mov eax, eax
	or rax, rdx
	pop rdx
	pop rcx
	ret

; rdmsr_safe: ECX -> RAX (EDX:EAX), -1 when it faulted.
rdmsr_safe:
	push rdx
	xor eax, eax
	xor edx, edx
	ATTEMPT rdmsr
	shl rdx, 32
	mov eax, eax
	or rax, rdx
	cmp qword [last_vector], -1
	je .ok
	mov rax, -1
.ok:	pop rdx
	ret

; isr_hook: in the handler of vector 0x40, its ISR word.
isr_hook:
	mov eax, LAPIC_BASE
	mov eax, [rax + A_ISR + 0x20]
	mov [isr_in_handler], rax
	ret

; vCPU 1: enable its APIC, report its ID, wait in HLT for vector 0x50,
; answer with 0x51; then stand by to send 0x53 when poke_req asks, and to
; wake vCPU 0 (0x52) at alarm_at.
vcpu1:
	lea rdi, [mapped]
.w:	cmp qword [rdi], 0
	jne .go
	pause
	jmp .w
.go:	mov r13d, LAPIC_BASE
	AWR A_SVR, 0x1ff
	AREG eax, A_ID
	shr rax, 24
	mov [vcpu1_id], rax
	mov qword [ready1], 1
.h:	sti
	hlt
	cli
	cmp qword [vec_count + 0x50 * 8], 0
	je .h
	AWR A_ICR_HI, 0
	AWR A_ICR_LO, 0x4051
.a:	cmp qword [poke_req], 1		; vCPU 0 waits with IF=0: an IPI now
	jne .np
	AWR A_ICR_HI, 0
	AWR A_ICR_LO, 0x4053
	mov qword [poke_req], 2
.np:	cmp qword [alarm_cancel], 0
	jne .done
	mov rbx, [alarm_at]
	test rbx, rbx
	jz .p
	RDTSC64 rax
	cmp rax, rbx
	jb .p
	AWR A_ICR_HI, 0
	AWR A_ICR_LO, 0x4052
	jmp .done
.p:	pause
	jmp .a
.done:	cli
	hlt
	jmp .done

align 8
mapped:		dq 0
ready1:		dq 0
vcpu1_id:	dq -1
alarm_at:	dq 0
alarm_cancel:	dq 0
poke_req:	dq 0
apic_base:	dq 0
version:	dq 0
isr_in_handler:	dq 0
saved_rsp:	dq 0
tmict:		dq 0
expected:	dq 0
wait_ticks:	dq 0
ratio_num:	dq 0
ratio_den:	dq 0
l1_ecx:		dd 0
have_ratio:	db 0

	BEHAVE_CODE
