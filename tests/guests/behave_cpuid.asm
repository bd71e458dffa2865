; SPDX-License-Identifier: MIT
; behave_cpuid: what CPUID tells a guest, checked against the SDM (Vol. 2A,
; CPUID).  Two vCPUs: vCPU 0 checks the leaves, then vCPU 1 checks its own
; APIC IDs and that its feature leaves match vCPU 0's.  Exit status: the
; number of failed checks.
%include "guest.inc"
%include "behave.inc"
org 0x100000

start:
	mov r12, rdi			; vCPU index
	call behave_init
	test r12, r12
	jnz vcpu1

	; --- leaf 0: the highest basic leaf and the vendor ---
	xor eax, eax
	xor ecx, ecx
	cpuid
	mov [max_basic], eax
	mov [vendor], ebx
	mov [vendor + 4], edx
	mov [vendor + 8], ecx
	mov r8d, eax
	cmp r8, 0x16
	CHECK ae, "max_basic_leaf", "CPUID.0:EAX is below 0x16", r8, 0x16

	; the vendor string does not change between calls, whatever ran between
	xor r9d, r9d			; mismatches
	mov r10d, 4
.vend:	mov eax, 1
	xor ecx, ecx
	cpuid
	mov eax, 0x80000000
	cpuid
	xor eax, eax
	xor ecx, ecx
	cpuid
	cmp ebx, [vendor]
	jne .vbad
	cmp edx, [vendor + 4]
	jne .vbad
	cmp ecx, [vendor + 8]
	je .vok
.vbad:	inc r9
.vok:	dec r10d
	jnz .vend
	test r9, r9
	CHECK z, "vendor_stable", "CPUID.0 vendor string changed between calls", r9, 0

	; leaves above the maximum: no fault, and (SDM) the data of the
	; highest basic leaf
	mov eax, [max_basic]
	xor ecx, ecx
	cpuid
	mov [top + 0], eax
	mov [top + 4], ebx
	mov [top + 8], ecx
	mov [top + 12], edx
	mov eax, [max_basic]
	inc eax
	xor ecx, ecx
	ATTEMPT cpuid
	call cmp_top
	CHECK_NOTRAP "leaf_above_max_no_fault"
	mov r10d, [top]
	cmp r9, 1
	CHECK e, "leaf_above_max_basic_data", "CPUID.(max+1) differs from the highest basic leaf (EAX; bit 40: EBX/ECX/EDX differ)", r8, r10
	mov eax, 0x80000000
	cpuid
	mov [max_ext], eax
	inc eax
	xor ecx, ecx
	cpuid
	call cmp_top
	mov r10d, [top]
	cmp r9, 1
	CHECK e, "leaf_above_max_ext_data", "CPUID.(max ext+1) differs from the highest basic leaf (EAX; bit 40: EBX/ECX/EDX differ)", r8, r10

	; --- leaf 1 ---
	mov eax, 1
	xor ecx, ecx
	cpuid
	mov [l1_eax], eax
	mov [l1_ebx], ebx
	mov [l1_ecx], ecx
	mov [l1_edx], edx
	bt ecx, 31
	CHECK c, "hypervisor_bit", "CPUID.1:ECX[31] is clear"
	bt dword [l1_ecx], 5
	CHECK nc, "vmx_hidden", "CPUID.1:ECX[5] (VMX) is set"
	bt dword [l1_edx], 9
	CHECK c, "apic_present", "CPUID.1:EDX[9] (on-chip APIC) is clear"

	; OSXSAVE (ECX[27]) mirrors CR4.OSXSAVE; it needs XSAVE (ECX[26])
	mov rax, cr4
	shr rax, 18
	and eax, 1
	mov r8, rax
	mov r9d, [l1_ecx]
	shr r9d, 27
	and r9d, 1
	cmp r8, r9
	CHECK e, "osxsave_matches_cr4", "CPUID.1:ECX[27] differs from CR4.OSXSAVE", r9, r8
	mov eax, [l1_ecx]
	and eax, (1 << 27) | (1 << 26)
	cmp eax, 1 << 27
	CHECK ne, "osxsave_needs_xsave", "OSXSAVE set without XSAVE"
	bt dword [l1_ecx], 26
	jc .xsave
	SKIP "osxsave_tracks_cr4", "no XSAVE (CPUID.1:ECX[26] clear)"
	SKIP "xcr0_has_x87", "no XSAVE"
	SKIP "leaf0d_x87_sse", "no XSAVE"
	jmp .xdone
.xsave:	mov rax, cr4
	mov [saved_cr4], rax
	bts rax, 18
	ATTEMPT mov cr4, rax
	mov r10, [last_vector]
	mov eax, 1
	xor ecx, ecx
	cpuid
	mov r8d, ecx
	shr r8d, 27
	and r8d, 1
	cmp r10, -1
	jne .x1
	xor ecx, ecx
	xgetbv
	mov r9d, eax
	jmp .x2
.x1:	xor r9d, r9d
.x2:	mov rax, [saved_cr4]
	mov cr4, rax
	mov eax, 1
	xor ecx, ecx
	cpuid
	mov r11d, ecx
	shr r11d, 27
	and r11d, 1
	cmp r10, -1
	jne .x3
	cmp r8, 1			; set with CR4.OSXSAVE
	jne .x3
	cmp r11, 0			; clear again without it
.x3:	CHECK e, "osxsave_tracks_cr4", "CPUID.1:ECX[27] does not follow CR4.OSXSAVE (vector of the CR4 write, bit with, bit without)", r10, r8
	test r9d, 1
	CHECK nz, "xcr0_has_x87", "XCR0[0] is clear", r9, 1
	mov eax, 0xd
	xor ecx, ecx
	cpuid
	mov r8d, eax
	and eax, 3
	cmp eax, 3
	CHECK e, "leaf0d_x87_sse", "CPUID.(0xD,0):EAX lacks x87/SSE", r8, 3
.xdone:

	; --- APIC IDs (also on vCPU 1) ---
	call apic_id_checks

	; --- leaves 0x15 and 0x16: TSC and crystal ---
	cmp dword [max_basic], 0x15
	jae .l15
	FAILED "leaf15_nonzero", "no leaf 0x15"
	FAILED "leaf16_matches_tsc", "no leaf 0x15"
	jmp .l16done
.l15:	mov eax, 0x15
	xor ecx, ecx
	cpuid
	mov [l15_eax], eax
	mov [l15_ebx], ebx
	mov [l15_ecx], ecx
	mov r8d, eax
	mov r9d, ebx
	mov r10d, ecx
	test eax, eax
	jz .z15
	test ebx, ebx
	jz .z15
	test ecx, ecx
.z15:	CHECK nz, "leaf15_nonzero", "CPUID.0x15 EAX, EBX or ECX is 0 (see the INFO lines)"
	INFO "leaf15_eax", "TSC/crystal denominator", r8
	INFO "leaf15_ebx", "TSC/crystal numerator", r9
	INFO "leaf15_ecx", "crystal Hz", r10
	test r8, r8
	jz .no16
	test r9, r9
	jz .no16
	test r10, r10
	jz .no16
	cmp dword [max_basic], 0x16
	jb .no16
	mov rax, r10
	mul r9
	div r8
	mov r11, rax			; TSC Hz
	mov eax, 0x16
	xor ecx, ecx
	cpuid
	and eax, 0xffff
	imul rax, rax, 1000000		; base frequency in Hz
	mov r10, rax
	sub rax, r11
	jns .abs
	neg rax
.abs:	imul rax, rax, 50		; |base - tsc| * 50 <= tsc: within 2%
	cmp rax, r11
	CHECK be, "leaf16_matches_tsc", "leaf 0x16 base Hz and leaf 0x15 TSC Hz differ by more than 2%", r10, r11
	jmp .l16done
.no16:	FAILED "leaf16_matches_tsc", "no usable leaf 0x15 or no leaf 0x16"
.l16done:

	; --- extended leaves ---
	mov r8d, [max_ext]
	mov r9d, 0x80000008
	cmp r8, r9
	CHECK ae, "max_ext_leaf", "CPUID.0x80000000:EAX is below 0x80000008", r8, r9
	mov eax, 0x80000001
	xor ecx, ecx
	cpuid
	bt edx, 29
	CHECK c, "long_mode_bit", "CPUID.0x80000001:EDX[29] (LM) is clear"
	cmp dword [max_ext], 0x80000008
	jb .noaddr
	mov eax, 0x80000008
	xor ecx, ecx
	cpuid
	movzx r8d, al
	shr eax, 8
	movzx r9d, al
	xor r11d, r11d
	cmp r8, 36
	jb .pa
	cmp r8, 52
	ja .pa
	inc r11d
.pa:	cmp r11, 1
	CHECK e, "phys_addr_bits", "CPUID.0x80000008:EAX[7:0] is outside 36..52", r8, 52
	cmp r9, 48
	je .la
	cmp r9, 57
.la:	CHECK e, "linear_addr_bits", "CPUID.0x80000008:EAX[15:8] is neither 48 nor 57", r9, 48
	jmp .addone
.noaddr: FAILED "phys_addr_bits", "no leaf 0x80000008"
	FAILED "linear_addr_bits", "no leaf 0x80000008"
.addone:

	; --- vCPU 1: its APIC IDs and the same features ---
	mov qword [go1], 1
	lea rdi, [done1]
	mov rsi, 1
	mov rdx, 2000000000
	call behave_wait
	CHECK e, "vcpu1_finished", "vCPU 1 did not report back"
	jmp behave_done

; cmp_top: R8 = EAX of the last CPUID; R9 = 1 if all four registers equal
; the highest basic leaf's.
cmp_top:
	mov r8d, eax
	xor r9d, r9d
	cmp eax, [top]
	jne .n
	cmp ebx, [top + 4]
	jne .n
	cmp ecx, [top + 8]
	jne .n
	cmp edx, [top + 12]
	jne .n
	inc r9d
	ret
.n:	bts r8, 40			; shows "not all four" in the report
	ret

; apic_id_checks: the initial APIC ID (leaf 1), the x2APIC ID (leaf 0xB)
; and the x2APIC ID MSR are the vCPU index.  Run by both vCPUs.
apic_id_checks:
	mov eax, 1
	xor ecx, ecx
	cpuid
	mov r13d, ecx			; features
	mov r8d, ebx
	shr r8d, 24
	cmp r8, r12
	CHECKC e, "leaf1_apic_id", "CPUID.1:EBX[31:24] is not the vCPU index", r8, r12
	cmp dword [max_basic], 0xb
	jb .nob
	mov eax, 0xb
	xor ecx, ecx
	cpuid
	test bx, bx
	jz .nob
	mov r8d, edx
	cmp r8, r12
	CHECKC e, "leaf0b_x2apic_id", "CPUID.0xB:EDX is not the vCPU index", r8, r12
	jmp .x2
.nob:	SKIPC "leaf0b_x2apic_id", "leaf 0xB not enumerated"
.x2:	bt r13d, 21
	jc .x2on
	SKIPC "x2apic_msr_gp_when_disabled", "CPUID.1:ECX[21] (x2APIC) clear"
	SKIPC "x2apic_msr_id", "CPUID.1:ECX[21] (x2APIC) clear"
	ret
.x2on:	mov ecx, 0x1b
	ATTEMPT rdmsr
	mov r14d, eax			; APIC_BASE low
	mov ecx, 0x802			; xAPIC mode: the x2APIC MSRs raise #GP
	ATTEMPT rdmsr
	bt r14d, 10
	jnc .gp
	SKIPC "x2apic_msr_gp_when_disabled", "x2APIC already enabled"
	jmp .en
.gp:	CHECK_TRAPC "x2apic_msr_gp_when_disabled", 13, 0
	mov ecx, 0x1b
	rdmsr
	or eax, (1 << 10) | (1 << 11)
	ATTEMPT wrmsr
.en:	mov ecx, 0x802
	ATTEMPT rdmsr
	mov r8d, eax
	cmp qword [last_vector], -1
	jne .bad
	cmp r8, r12
.bad:	CHECKC e, "x2apic_msr_id", "MSR 0x802 after enabling x2APIC is not the vCPU index (or faulted)", r8, r12
	ret

vcpu1:
	lea rdi, [go1]
	mov rsi, 1
.w:	cmp [rdi], rsi
	je .go
	pause
	jmp .w
.go:	call apic_id_checks
	; the model, family and features match vCPU 0's (less the APIC ID and
	; the per-CPU OSXSAVE bit)
	mov eax, 1
	xor ecx, ecx
	cpuid
	xor r9d, r9d
	cmp eax, [l1_eax]
	jne .d
	and ebx, 0x00ffffff
	mov r8d, [l1_ebx]
	and r8d, 0x00ffffff
	cmp ebx, r8d
	jne .d
	and ecx, ~(1 << 27)
	mov r8d, [l1_ecx]
	and r8d, ~(1 << 27)
	cmp ecx, r8d
	jne .d
	cmp edx, [l1_edx]
	jne .d
	xor eax, eax
	cpuid
	cmp eax, [max_basic]
	jne .d
	cmp ebx, [vendor]
	jne .d
	inc r9d
.d:	cmp r9, 1
	CHECK e, "vcpu1_same_features", "vCPU 1's leaves 0 and 1 differ from vCPU 0's"
	mov qword [done1], 1
.h:	cli
	hlt
	jmp .h

align 8
go1:		dq 0
done1:		dq 0
max_basic:	dd 0
max_ext:	dd 0
vendor:		times 3 dd 0
top:		times 4 dd 0
l1_eax:		dd 0
l1_ebx:		dd 0
l1_ecx:		dd 0
l1_edx:		dd 0
l15_eax:	dd 0
l15_ebx:	dd 0
l15_ecx:	dd 0
saved_cr4:	dq 0

	BEHAVE_CODE
