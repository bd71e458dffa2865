; SPDX-License-Identifier: MIT
; behave_mem: guest-physical addresses that are neither RAM nor a device, as
; on a PC: the access ends in a master abort, reads return all ones in every
; width (REP MOVS too) and writes vanish; the guest goes on.  So does the
; xAPIC page once IA32_APIC_BASE disables the APIC; and the page moves with
; the base (SDM 10.4.5), whose reserved bits raise #GP.  Exit status: the
; number of failed checks.
%include "guest.inc"
%include "behave.inc"
org 0x100000

%define NOWHERE		0xff000000	; no RAM, no device
%define HPET		0xfed00000	; no HPET on this platform
%define NEW_APIC	0xfed40000
%define MSR_APIC_BASE	0x1b

; READ_ONES "name", insn, register, mask: a read of unassigned memory gives all ones.
%macro READ_ONES 4
	xor eax, eax
	mov r8, rax
	%2
	mov r9, %4
	and r8, r9
	cmp r8, r9
	CHECK e, %1, "an unassigned read did not return all ones", r8, r9
%endmacro

; VERSION_AT "name", base, "where": the APIC version register (0x14) answers at base.
%macro VERSION_AT 3
	mov edx, %2
	mov r8d, [rdx + 0x30]
	and r8d, 0xff
	cmp r8, 0x14
	CHECK e, %1, %3, r8, 0x14
%endmacro

; RESTORE_APIC_BASE: IA32_APIC_BASE back to what it was (R15:R14).
%macro RESTORE_APIC_BASE 0
	mov ecx, MSR_APIC_BASE
	mov eax, r14d
	mov edx, r15d
	wrmsr
%endmacro

start:
	mov r12, rdi
	call behave_init
	call behave_map_mmio
	mov rax, NOWHERE | 0x9b		; a 2 MiB page there, uncached
	mov [mmio_pd + 0x1f8 * 8], rax
	mov rax, cr3
	mov cr3, rax
	mov ebx, NOWHERE

	; --- reads: all ones in every width; writes vanish ---
	READ_ONES "unassigned_read8", {mov r8b, [rbx + 1]}, r8, 0xff
	READ_ONES "unassigned_read16", {mov r8w, [rbx + 2]}, r8, 0xffff
	READ_ONES "unassigned_read32", {mov r8d, [rbx + 4]}, r8, 0xffffffff
	READ_ONES "unassigned_read64", {mov r8, [rbx + 8]}, r8, -1
	READ_ONES "unassigned_read_misaligned", {mov r8, [rbx + 0x13]}, r8, -1
	mov qword [rbx + 0x20], 0x1234
	mov dword [rbx + 0x28], 0x5678
	READ_ONES "unassigned_write_dropped", {mov r8, [rbx + 0x20]}, r8, -1
	lea rdi, [buf]
	lea rsi, [rbx + 0x40]
	mov ecx, 16
	rep movsb
	mov r8, [buf]
	and r8, [buf + 8]
	cmp r8, -1
	CHECK e, "unassigned_rep_movs_reads_ones", "REP MOVSB from unassigned memory (AND of the 16 bytes)", r8, -1
	mov edx, HPET
	READ_ONES "absent_hpet_reads_ones", {mov r8d, [rdx]}, r8, 0xffffffff

	; --- the xAPIC page of a disabled APIC is unassigned too ---
	mov ecx, MSR_APIC_BASE
	rdmsr
	mov r14d, eax			; the base: fee00000 | EN | BSP
	mov r15d, edx
	and eax, ~(1 << 11)
	wrmsr
	mov edx, LAPIC_BASE
	READ_ONES "disabled_xapic_reads_ones", {mov r8d, [rdx + 0x30]}, r8, 0xffffffff
	mov dword [rdx + 0x80], 0x20	; TPR: dropped
	RESTORE_APIC_BASE
	VERSION_AT "reenabled_xapic_answers", LAPIC_BASE, "the version register after the APIC is enabled again"

	; --- IA32_APIC_BASE moves the xAPIC page ---
	mov ecx, MSR_APIC_BASE
	mov eax, r14d
	and eax, 0xfff
	or eax, NEW_APIC
	mov edx, r15d
	ATTEMPT wrmsr
	CHECK_NOTRAP "apic_base_move_accepted"
	VERSION_AT "moved_xapic_answers_at_new_base", NEW_APIC, "the version register at the new base"
	mov edx, LAPIC_BASE
	READ_ONES "old_xapic_base_reads_ones", {mov r8d, [rdx + 0x30]}, r8, 0xffffffff
	RESTORE_APIC_BASE
	VERSION_AT "xapic_back_at_default_base", LAPIC_BASE, "the version register back at 0xfee00000"
	mov eax, 0x80000008
	cpuid
	movzx ecx, al			; MAXPHYADDR
	mov rax, 1
	shl rax, cl
	or rax, r14
	mov rdx, rax
	shr rdx, 32
	mov ecx, MSR_APIC_BASE
	ATTEMPT wrmsr
	CHECK_TRAP "apic_base_past_maxphyaddr_gp", 13, 0
	mov eax, r14d
	or eax, 1
	mov edx, r15d
	ATTEMPT wrmsr
	CHECK_TRAP "apic_base_reserved_low_bit_gp", 13, 0

	jmp behave_done

BEHAVE_CODE

align 8
buf:		times 16 db 0
