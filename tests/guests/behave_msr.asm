; SPDX-License-Identifier: MIT
; behave_msr: model-specific registers as the SDM (Vol. 4; Vol. 2B RDMSR/
; WRMSR; Vol. 3A 10.4.4, 11.11, 17.17) defines them.  Unknown MSRs raise
; #GP(0); the architectural ones keep what is written and act on the CPU;
; the identification MSRs read.  Two vCPUs: vCPU 1 checks its APIC_BASE and
; that MSR state is its own.  Exit status: the number of failed checks.
%include "guest.inc"
%include "behave.inc"
org 0x100000

%define MSR_TSC			0x10
%define MSR_PLATFORM_ID		0x17
%define MSR_APIC_BASE		0x1b
%define MSR_TSC_ADJUST		0x3b
%define MSR_BIOS_SIGN_ID	0x8b
%define MSR_MTRRCAP		0xfe
%define MSR_SYSENTER_CS		0x174
%define MSR_SYSENTER_ESP	0x175
%define MSR_SYSENTER_EIP	0x176
%define MSR_MISC_ENABLE		0x1a0
%define MSR_PAT			0x277
%define MSR_MTRR_DEF_TYPE	0x2ff
%define MSR_TSC_DEADLINE	0x6e0
%define MSR_EFER		0xc0000080
%define MSR_STAR		0xc0000081
%define MSR_LSTAR		0xc0000082
%define MSR_CSTAR		0xc0000083
%define MSR_FMASK		0xc0000084
%define MSR_FS_BASE		0xc0000100
%define MSR_GS_BASE		0xc0000101
%define MSR_KERNEL_GS_BASE	0xc0000102
%define MSR_TSC_AUX		0xc0000103

%define PAT_DEFAULT		0x0007040600070406
%define LSTAR_VCPU0		0xffff800000101000
%define LSTAR_VCPU1		0xffff800000777000

; WRMSR64 msr, value / RDMSR64 msr: EDX:EAX from/to RAX, under ATTEMPT.
%macro WRMSR64 2
	mov ecx, %1
	mov rax, %2
	mov rdx, rax
	shr rdx, 32
	ATTEMPT wrmsr
%endmacro
%macro RDMSR64 1
	mov ecx, %1
	xor eax, eax
	xor edx, edx
	ATTEMPT rdmsr
	shl rdx, 32
	mov eax, eax
	or rax, rdx
%endmacro

; ROUNDTRIP "name", msr, value: WRMSR then RDMSR gives the value back.
%macro ROUNDTRIP 3
	WRMSR64 %2, %3
	mov r10, [last_vector]
	RDMSR64 %2
	and r10, [last_vector]		; -1 only when neither faulted
	mov r8, rax
	mov r9, %3
	cmp r10, -1
	je %%nofault
	FAILED %1, "WRMSR or RDMSR raised an exception (vector)", r10, -1
	jmp %%done
%%nofault:
	cmp r8, r9
	CHECK e, %1, "RDMSR does not return what WRMSR wrote", r8, r9
%%done:
%endmacro

; READS "name", msr: RDMSR does not fault; the value goes to the log.
%macro READS 2
	RDMSR64 %2
	mov r8, rax
	CHECK_NOTRAP %1
	INFO %1, "value", r8
%endmacro

start:
	mov r12, rdi
	call behave_init
	test r12, r12
	jnz vcpu1

	mov eax, 1
	xor ecx, ecx
	cpuid
	mov [l1_ecx], ecx
	mov [l1_edx], edx
	mov eax, 0x80000001
	cpuid
	mov [e1_edx], edx
	mov eax, 7
	xor ecx, ecx
	cpuid
	mov [l7_ebx], ebx
	mov [l7_ecx], ecx

	; --- MSRs that do not exist: #GP(0) on read and write ---
	RDMSR64 0x12345678
	CHECK_TRAP "rdmsr_unknown_12345678_gp", 13, 0
	WRMSR64 0x12345678, 0
	CHECK_TRAP "wrmsr_unknown_12345678_gp", 13, 0
	RDMSR64 0xc0011000
	CHECK_TRAP "rdmsr_unknown_c0011000_gp", 13, 0
	WRMSR64 0xc0011000, 0
	CHECK_TRAP "wrmsr_unknown_c0011000_gp", 13, 0

	; --- PAT: valid types kept, a reserved type (2) refused ---
	ROUNDTRIP "pat_rw", MSR_PAT, 0x0007010600070406
	WRMSR64 MSR_PAT, PAT_DEFAULT
	WRMSR64 MSR_PAT, 0x0007040600070402
	CHECK_TRAP "pat_reserved_type_gp", 13, 0
	RDMSR64 MSR_PAT
	mov r8, rax
	mov r9, PAT_DEFAULT
	cmp r8, r9
	CHECK e, "pat_unchanged_after_gp", "the refused write changed PAT", r8, r9

	; --- SYSENTER and SYSCALL MSRs ---
	ROUNDTRIP "sysenter_cs_rw", MSR_SYSENTER_CS, 0x10
	ROUNDTRIP "sysenter_esp_rw", MSR_SYSENTER_ESP, 0xffff800012345670
	ROUNDTRIP "sysenter_eip_rw", MSR_SYSENTER_EIP, 0xffff800000123450
	ROUNDTRIP "star_rw", MSR_STAR, 0x0023001000000000
	ROUNDTRIP "lstar_rw", MSR_LSTAR, LSTAR_VCPU0
	ROUNDTRIP "cstar_rw", MSR_CSTAR, 0xffff800000102000
	ROUNDTRIP "fmask_rw", MSR_FMASK, 0x47700
	WRMSR64 MSR_LSTAR, 0x0000800000000000
	CHECK_TRAP "lstar_noncanonical_gp", 13, 0
	RDMSR64 MSR_LSTAR
	mov r8, rax
	mov r9, LSTAR_VCPU0
	cmp r8, r9
	CHECK e, "lstar_unchanged_after_gp", "the refused write changed LSTAR", r8, r9

	; --- segment bases: kept, used, swapped ---
	ROUNDTRIP "kernel_gs_base_rw", MSR_KERNEL_GS_BASE, 0xffff888012345000
	ROUNDTRIP "fs_base_rw", MSR_FS_BASE, 0x00007fff12345000
	ROUNDTRIP "gs_base_rw", MSR_GS_BASE, 0xffff888000001000
	WRMSR64 MSR_FS_BASE, 0x0000800000000000
	CHECK_TRAP "fs_base_noncanonical_gp", 13, 0
	lea rax, [probe]
	WRMSR64 MSR_FS_BASE, rax
	mov r8, [fs:8]
	mov r9, [probe + 8]
	cmp r8, r9
	CHECK e, "fs_base_used_by_fs_prefix", "an FS: load did not read at FS_BASE", r8, r9
	WRMSR64 MSR_FS_BASE, 0
	lea rax, [probe]
	WRMSR64 MSR_KERNEL_GS_BASE, rax
	WRMSR64 MSR_GS_BASE, 0x1000
	swapgs
	RDMSR64 MSR_GS_BASE
	mov r8, rax
	mov r9, [gs:0]
	RDMSR64 MSR_KERNEL_GS_BASE
	mov r10, rax
	swapgs
	lea rax, [probe]
	cmp r8, rax
	CHECK e, "swapgs_gs_base", "after SWAPGS, GS_BASE is not the old KERNEL_GS_BASE", r8, rax
	cmp r10, 0x1000
	CHECK e, "swapgs_kernel_gs_base", "after SWAPGS, KERNEL_GS_BASE is not the old GS_BASE", r10, 0x1000
	cmp r9, [probe]
	CHECK e, "swapgs_gs_prefix", "after SWAPGS, a GS: load did not read at the new GS_BASE", r9, qword [probe]
	WRMSR64 MSR_GS_BASE, 0
	WRMSR64 MSR_KERNEL_GS_BASE, 0xffff888012345000

	; --- EFER ---
	RDMSR64 MSR_EFER
	mov [efer], rax
	btc rax, 0			; SCE flipped
	mov r11, rax
	WRMSR64 MSR_EFER, r11
	mov r10, [last_vector]
	RDMSR64 MSR_EFER
	mov r8, rax
	WRMSR64 MSR_EFER, qword [efer]
	cmp r10, -1
	jne .sce
	cmp r8, r11
.sce:	CHECK e, "efer_sce_rw", "EFER.SCE did not keep its new value (or the write faulted)", r8, r11
	mov rax, [efer]
	bts rax, 2			; reserved
	WRMSR64 MSR_EFER, rax
	CHECK_TRAP "efer_reserved_bit_gp", 13, 0
	bt dword [e1_edx], 20
	jc .nx
	SKIP "efer_nxe_rw", "no NX (CPUID.0x80000001:EDX[20] clear)"
	jmp .nxd
.nx:	mov rax, [efer]
	btc rax, 11			; NXE flipped
	mov r11, rax
	WRMSR64 MSR_EFER, r11
	mov r10, [last_vector]
	RDMSR64 MSR_EFER
	mov r8, rax
	WRMSR64 MSR_EFER, qword [efer]
	cmp r10, -1
	jne .nxc
	cmp r8, r11
.nxc:	CHECK e, "efer_nxe_rw", "EFER.NXE did not keep its new value (or the write faulted)", r8, r11
.nxd:

	; --- TSC_AUX, RDTSCP, RDPID ---
	bt dword [e1_edx], 27
	jc .aux
	SKIP "tsc_aux_rw", "no RDTSCP (CPUID.0x80000001:EDX[27] clear)"
	SKIP "rdtscp_reads_tsc_aux", "no RDTSCP"
	jmp .auxd
.aux:	ROUNDTRIP "tsc_aux_rw", MSR_TSC_AUX, 0x5a5
	rdtscp
	mov r8d, ecx
	cmp r8, 0x5a5
	CHECK e, "rdtscp_reads_tsc_aux", "RDTSCP's ECX is not TSC_AUX", r8, 0x5a5
.auxd:	bt dword [l7_ecx], 22
	jc .pid
	SKIP "rdpid_reads_tsc_aux", "no RDPID (CPUID.7:ECX[22] clear)"
	jmp .pidd
.pid:	rdpid rax
	mov r8, rax
	cmp r8, 0x5a5
	CHECK e, "rdpid_reads_tsc_aux", "RDPID is not TSC_AUX", r8, 0x5a5
.pidd:

	; --- identification MSRs read ---
	; IA32_BIOS_SIGN_ID: the SDM's protocol writes 0, runs CPUID, reads
	WRMSR64 MSR_BIOS_SIGN_ID, 0
	CHECK_NOTRAP "bios_sign_id_write_zero"
	mov eax, 1
	xor ecx, ecx
	cpuid
	READS "bios_sign_id_read", MSR_BIOS_SIGN_ID
	READS "platform_id_read", MSR_PLATFORM_ID
	READS "misc_enable_read", MSR_MISC_ENABLE

	; APIC_BASE: enabled at 0xfee00000, BSP on vCPU 0 only
	READS "apic_base_read", MSR_APIC_BASE
	mov r8, rax
	bt r8, 8
	CHECK c, "apic_base_bsp_vcpu0", "APIC_BASE[8] (BSP) clear on vCPU 0"
	bt r8, 11
	CHECK c, "apic_base_enabled", "APIC_BASE[11] (global enable) clear"
	mov r9, r8
	and r9, ~0xfff
	mov r10d, LAPIC_BASE
	cmp r9, r10
	CHECK e, "apic_base_address", "APIC_BASE does not hold 0xfee00000", r9, r10

	; MTRRs, when CPUID.1:EDX[12] says there are some (Vol. 3A 11.11)
	bt dword [l1_edx], 12
	jc .mtrr
	SKIP "mtrrcap_read", "no MTRRs (CPUID.1:EDX[12] clear)"
	SKIP "mtrr_def_type_rw", "no MTRRs"
	SKIP "mtrr_var_read", "no MTRRs"
	SKIP "mtrr_fixed_read", "no MTRRs"
	jmp .mtrrd
.mtrr:	READS "mtrrcap_read", MSR_MTRRCAP
	mov [mtrrcap], rax
	RDMSR64 MSR_MTRR_DEF_TYPE
	mov r8, rax
	mov r10, [last_vector]
	WRMSR64 MSR_MTRR_DEF_TYPE, r8	; the value it has: legal
	and r10, [last_vector]
	RDMSR64 MSR_MTRR_DEF_TYPE
	and r10, [last_vector]
	mov r9, rax
	cmp r10, -1
	jne .dt
	cmp r9, r8
.dt:	CHECK e, "mtrr_def_type_rw", "MTRR_DEF_TYPE read/write/read faulted or changed", r9, r8
	movzx r13d, byte [mtrrcap]	; VCNT
	shl r13d, 1
	xor r14d, r14d			; faults
	mov r15d, 0x200
.var:	test r13d, r13d
	jz .vard
	RDMSR64 r15d
	cmp qword [last_vector], -1
	je .v1
	inc r14
.v1:	inc r15d
	dec r13d
	jmp .var
.vard:	test r14, r14
	CHECK z, "mtrr_var_read", "variable-range MTRRs (0x200 + 2n for n < VCNT) fault (count)", r14, 0
	bt qword [mtrrcap], 8
	jc .fix
	SKIP "mtrr_fixed_read", "MTRRCAP[8] (FIX) clear"
	jmp .mtrrd
.fix:	xor r14d, r14d
	lea rbx, [fixed_mtrrs]
.f1:	mov r15d, [rbx]
	test r15d, r15d
	jz .f2
	RDMSR64 r15d
	cmp qword [last_vector], -1
	je .f3
	inc r14
.f3:	add rbx, 4
	jmp .f1
.f2:	test r14, r14
	CHECK z, "mtrr_fixed_read", "fixed-range MTRRs fault (count)", r14, 0
.mtrrd:

	; --- the TSC ---
	RDMSR64 MSR_TSC
	mov r8, rax
	RDMSR64 MSR_TSC
	mov r9, rax
	cmp r9, r8
	CHECK a, "tsc_msr_increases", "a second read of MSR 0x10 is not larger", r9, r8
	RDTSC64 r10
	RDMSR64 MSR_TSC
	mov r8, rax
	RDTSC64 r11
	cmp r8, r10
	jb .tr
	cmp r11, r8
.tr:	CHECK ae, "tsc_msr_tracks_rdtsc", "MSR 0x10 is not between two RDTSCs (got MSR, want first RDTSC)", r8, r10
	; WRMSR to the TSC moves it, and IA32_TSC_ADJUST by the same amount
	RDMSR64 MSR_TSC_ADJUST
	mov [adj0], rax
	RDTSC64 r13
	mov rax, 1 << 36
	add r13, rax
	WRMSR64 MSR_TSC, r13
	CHECK_NOTRAP "tsc_write_no_fault"
	RDTSC64 r8
	mov r9, r13
	mov rax, 1 << 32
	add r9, rax
	cmp r8, r13
	jb .tw
	cmp r8, r9
	cmc				; CF=1 (fail) when r8 >= r13 + 2^32
.tw:	CHECK nc, "tsc_write_moves_tsc", "RDTSC after WRMSR 0x10 is not just past the written value", r8, r13
	bt dword [l7_ebx], 1
	jc .adj
	SKIP "tsc_adjust_follows_write", "no IA32_TSC_ADJUST (CPUID.7:EBX[1] clear)"
	jmp .adjd
.adj:	RDMSR64 MSR_TSC_ADJUST
	mov r8, rax
	sub r8, [adj0]
	mov rax, 1 << 36
	mov r9, rax
	sub rax, r8			; 2^36 - delta: the ticks between RDTSC and WRMSR
	cmp rax, 1 << 24
	CHECK b, "tsc_adjust_follows_write", "IA32_TSC_ADJUST did not move with the TSC write (got delta, want about)", r8, r9
.adjd:

	; IA32_TSC_DEADLINE outside TSC-deadline mode: reads 0, writes ignored
	; (Vol. 3A 10.5.4.1; the LVT timer is in one-shot mode after reset)
	bt dword [l1_ecx], 24
	jc .dl
	SKIP "tsc_deadline_ignored_outside_mode", "no TSC deadline (CPUID.1:ECX[24] clear)"
	jmp .dld
.dl:	RDTSC64 rax
	mov rcx, 1 << 40
	add rax, rcx
	WRMSR64 MSR_TSC_DEADLINE, rax
	mov r10, [last_vector]
	RDMSR64 MSR_TSC_DEADLINE
	and r10, [last_vector]
	mov r8, rax
	cmp r10, -1
	jne .dl1
	cmp r8, 0
.dl1:	CHECK e, "tsc_deadline_ignored_outside_mode", "IA32_TSC_DEADLINE is not 0 outside TSC-deadline mode (or faulted)", r8, 0
.dld:

	; --- vCPU 1: its own MSRs ---
	mov qword [go1], 1
	lea rdi, [done1]
	mov rsi, 1
	mov rdx, 2000000000
	call behave_wait
	CHECK e, "vcpu1_finished", "vCPU 1 did not report back"
	RDMSR64 MSR_LSTAR
	mov r8, rax
	mov r9, LSTAR_VCPU0
	cmp r8, r9
	CHECK e, "lstar_per_vcpu_vcpu0", "vCPU 1's LSTAR write reached vCPU 0", r8, r9

	; last, as it may cost the guest its life: a refused WRMSR changes nothing
	WRMSR64 MSR_SYSENTER_EIP, 0x0000800000000000
	CHECK_TRAP "sysenter_eip_noncanonical_gp", 13, 0
	RDMSR64 MSR_SYSENTER_EIP
	mov r8, rax
	mov r9, 0xffff800000123450
	cmp r8, r9
	CHECK e, "sysenter_eip_unchanged_after_gp", "the refused write changed SYSENTER_EIP", r8, r9
	jmp behave_done

vcpu1:
	lea rdi, [go1]
	mov rsi, 1
.w:	cmp [rdi], rsi
	je .go
	pause
	jmp .w
.go:	READS "apic_base_read_vcpu1", MSR_APIC_BASE
	mov r8, rax
	bt r8, 8
	CHECK nc, "apic_base_bsp_clear_vcpu1", "APIC_BASE[8] (BSP) set on vCPU 1"
	RDMSR64 MSR_LSTAR
	mov r8, rax
	mov r9, LSTAR_VCPU0
	cmp r8, r9
	CHECK ne, "lstar_per_vcpu_vcpu1", "vCPU 1 sees vCPU 0's LSTAR", r8, 0
	WRMSR64 MSR_LSTAR, LSTAR_VCPU1
	mov qword [done1], 1
.h:	cli
	hlt
	jmp .h

align 8
probe:		dq 0x1122334455667788, 0x99aabbccddeeff00
go1:		dq 0
done1:		dq 0
efer:		dq 0
mtrrcap:	dq 0
adj0:		dq 0
l1_ecx:		dd 0
l1_edx:		dd 0
e1_edx:		dd 0
l7_ebx:		dd 0
l7_ecx:		dd 0
fixed_mtrrs:	dd 0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d
		dd 0x26e, 0x26f, 0

	BEHAVE_CODE
