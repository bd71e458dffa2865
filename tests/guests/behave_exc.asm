; SPDX-License-Identifier: MIT
; behave_exc: exceptions and software interrupts arrive as the SDM (Vol. 3A
; ch. 6, 4.7; Vol. 2 for each instruction) says: the vector, the error code,
; the saved RIP (faults: the instruction; traps: the next one), CR2, DR6.
; The guest installs its own GDT (with ring-3 segments and a TSS) and 4 KiB
; page tables at 1 GiB for the page-fault and ring-3 cases.  Exit status:
; the number of failed checks.
%include "guest.inc"
%include "behave.inc"
org 0x100000

%define USER_VA		0x40000000	; PDPT[1]: our PD and PT
%define VA_UDATA	0x40001000	; user RW
%define VA_SUP		0x40002000	; supervisor RW
%define VA_NP		0x40003000	; not present
%define VA_RO		0x40004000	; supervisor read-only
%define VA_USTACK	0x40005000	; user RW, the user stack
%define VA_RSVD		0x40006000	; a reserved physical-address bit set
%define VA_NX		0x40007000	; execute-disable
%define SEL_UDATA	0x23
%define SEL_UCODE	0x2b
%define SEL_TSS		0x30
%define SEL_NP		0x40		; a data descriptor with P=0
%define GDT_LIMIT	0x47		; 0x48 is the first selector past it

; CHECK_RIP "name": the exception's saved RIP is the ATTEMPTed instruction.
%macro CHECK_RIP 1
	mov r8, [last_rip]
	mov r9, [attempt_rip]
	cmp r8, r9
	CHECK e, %1, "saved RIP is not the faulting instruction", r8, r9
%endmacro

; CHECK_CR2 "name", address
%macro CHECK_CR2 2
	mov r8, [last_cr2]
	mov r9, %2
	cmp r8, r9
	CHECK e, %1, "CR2 is not the faulting address", r8, r9
%endmacro

; CHECK_RF "name": the last fault pushed RFLAGS with RF set (faults other
; than instruction breakpoints do, SDM 17.3.1.1; one the hypervisor injects
; pushes the RFLAGS it leaves in the VMCS, SDM 26.5.1.1).
%macro CHECK_RF 1
	mov r8, [last_rflags]
	bt r8, 16
	CHECK c, %1, "RF clear in the RFLAGS the fault pushed", r8, 0x10000
%endmacro

; CR4_HIDDEN "name", CR4 bit, leaf, subleaf, register, bit: with the feature
; absent from the CPUID the guest sees, setting the CR4 bit raises #GP(0)
; (a CR4 bit of an absent feature is reserved, SDM 2.5; MOV CR4, vol. 2).
%macro CR4_HIDDEN 6
	mov eax, %3
	mov ecx, %4
	cpuid
	bt %5, %6
	jnc %%test
	SKIP %1, "CPUID shows the feature"
	jmp %%end
%%test:	mov r14, cr4
	mov rax, r14
	bts rax, %2
	ATTEMPT mov cr4, rax
	mov cr4, r14			; back, should it have been taken
	CHECK_TRAP %1, 13, 0
%%end:
%endmacro

; USER snippet, rflags: run a snippet of user_page in ring 3 with these
; extra RFLAGS bits; its fault brings us back here in ring 0.
%macro USER 2
	mov qword [last_vector], -1
	mov qword [last_error], -1
	mov qword [trap_resume], %%back
	mov rdi, USER_VA + (%1 - user_page)
	mov rdx, %2
	mov [user_return_rsp], rsp
	jmp enter_user
%%back:	mov qword [trap_resume], 0
%endmacro

start:
	mov r12, rdi
	call behave_init
	call setup_gdt
	call setup_pages
	mov rax, cr0
	or eax, (1 << 16) | (1 << 5) | (1 << 1)	; WP, NE, MP
	and eax, ~((1 << 2) | (1 << 3))		; EM, TS
	mov cr0, rax
	mov rax, cr4
	or eax, (1 << 9) | (1 << 10)		; OSFXSR, OSXMMEXCPT
	mov cr4, rax

	; --- #DE ---
	xor edx, edx
	mov eax, 1
	xor ecx, ecx
	ATTEMPT div ecx
	CHECK_TRAP "de_divide_by_zero", 0, -1
	CHECK_RIP "de_rip_is_faulting_insn"
	mov eax, 0x80000000
	cdq
	mov ecx, -1
	ATTEMPT idiv ecx
	CHECK_TRAP "de_idiv_overflow", 0, -1

	; --- #DB: single step (a trap after the instruction following POPF) ---
	xor eax, eax
	mov dr6, rax
	mov qword [last_vector], -1
	pushfq
	or qword [rsp], 0x100
	popfq
	nop
.stepped:
	mov r8, [last_vector]
	cmp r8, 1
	CHECK e, "db_single_step", "no #DB after one instruction with TF", r8, 1
	mov r8, [last_rip]
	lea r9, [.stepped]
	cmp r8, r9
	CHECK e, "db_single_step_rip", "#DB's saved RIP is not the next instruction", r8, r9
	mov r8, [last_dr6]
	bt r8, 14
	CHECK c, "db_single_step_dr6_bs", "DR6.BS (bit 14) clear after the single step", r8, 0x4000
	; the same over instructions that a hypervisor emulates
	mov qword [last_vector], -1
	xor eax, eax
	xor ecx, ecx
	pushfq
	or qword [rsp], 0x100
	popfq
	cpuid
.stepped2:
	mov r8, [last_vector]
	mov r9, [last_rip]
	lea r10, [.stepped2]
	cmp r8, 1
	jne .s2
	cmp r9, r10
.s2:	CHECK e, "db_single_step_over_cpuid", "no #DB right after a single-stepped CPUID (RIP shown)", r9, r10
	mov qword [last_vector], -1
	pushfq
	or qword [rsp], 0x100
	popfq
	out 0x80, al
.stepped3:
	mov r8, [last_vector]
	mov r9, [last_rip]
	lea r10, [.stepped3]
	cmp r8, 1
	jne .s3
	cmp r9, r10
.s3:	CHECK e, "db_single_step_over_out", "no #DB right after a single-stepped OUT (RIP shown)", r9, r10

	; --- #BP: a trap, RIP after the INT3 ---
	ATTEMPT int3
	CHECK_TRAP "bp_int3", 3, -1
	mov r8, [last_rip]
	mov r9, [attempt_rip]
	inc r9
	cmp r8, r9
	CHECK e, "bp_rip_after_int3", "#BP's saved RIP is not after the INT3", r8, r9

	; --- #UD ---
	ATTEMPT ud2
	CHECK_TRAP "ud_ud2", 6, -1
	CHECK_RIP "ud_rip_is_faulting_insn"
	ATTEMPT db 0x06			; PUSH ES: invalid in 64-bit mode
	CHECK_TRAP "ud_push_es_in_long_mode", 6, -1

	; --- #GP(0), #SS(0): non-canonical addresses ---
	mov rax, 0x8000000000000000
	ATTEMPT mov rbx, [rax]
	CHECK_TRAP "gp_noncanonical_load", 13, 0
	CHECK_RIP "gp_rip_is_faulting_insn"
	push rbp
	mov rbp, 0x8000000000000000
	ATTEMPT mov rax, [rbp]
	pop rbp
	CHECK_TRAP "ss_noncanonical_stack_ref", 12, 0

	; --- selector error codes: index|TI|IDT|EXT, RPL dropped ---
	mov ax, (GDT_LIMIT + 1) | 3
	ATTEMPT mov ds, ax
	CHECK_TRAP "gp_selector_past_gdt_limit", 13, GDT_LIMIT + 1
	mov ax, SEL_NP
	ATTEMPT mov ds, ax
	CHECK_TRAP "np_segment_not_present", 11, SEL_NP
	mov ax, 0x10
	mov ds, ax

	; --- #PF: error code and CR2 (supervisor) ---
	mov rax, VA_NP + 0x10
	ATTEMPT mov qword [rax], 1
	CHECK_TRAP "pf_write_not_present", 14, 0x2
	CHECK_CR2 "pf_cr2_write_not_present", VA_NP + 0x10
	CHECK_RIP "pf_rip_is_faulting_insn"
	mov rax, VA_NP + 0x20
	ATTEMPT mov rbx, [rax]
	CHECK_TRAP "pf_read_not_present", 14, 0x0
	mov rax, VA_RO + 8
	ATTEMPT mov qword [rax], 1
	CHECK_TRAP "pf_write_read_only", 14, 0x3
	CHECK_CR2 "pf_cr2_write_read_only", VA_RO + 8
	mov rax, cr0			; CR0.WP=0: ring 0 may write read-only pages
	btr rax, 16
	mov cr0, rax
	mov rax, VA_RO + 16
	ATTEMPT mov qword [rax], 1
	mov rax, cr0
	bts rax, 16
	mov cr0, rax
	CHECK_NOTRAP "pf_wp0_allows_supervisor_write"
	cmp byte [have_rsvd], 0
	jne .rsvd
	SKIP "pf_reserved_bit", "MAXPHYADDR is 52: no reserved address bit"
	jmp .rsvdd
.rsvd:	mov rax, VA_RSVD
	ATTEMPT mov rbx, [rax]
	CHECK_TRAP "pf_reserved_bit", 14, 0x9
.rsvdd:	cmp byte [have_nx], 0
	jne .nx
	SKIP "pf_exec_nx", "no NX (CPUID.0x80000001:EDX[20] clear)"
	jmp .nxd
.nx:	mov ecx, 0xc0000080
	rdmsr
	bts eax, 11
	wrmsr
	mov rax, VA_NX
	ATTEMPT jmp rax
	CHECK_TRAP "pf_exec_nx", 14, 0x11
.nxd:

	; --- faults push RF=1, those the hypervisor injects too ---
	ATTEMPT ud2
	CHECK_RF "ud_pushes_rf"
	mov ecx, 0x12345678
	ATTEMPT wrmsr
	CHECK_RF "gp_unknown_msr_pushes_rf"
	ATTEMPT vmxoff
	CHECK_TRAP "ud_vmxoff", 6, -1
	CHECK_RF "ud_vmxoff_pushes_rf"
	mov r14, cr4
	mov eax, 0xffffffff
	ATTEMPT mov cr4, rax
	mov cr4, r14
	CHECK_TRAP "gp_cr4_all_ones", 13, 0
	CHECK_RF "gp_cr4_pushes_rf"

	; --- CR4 bits of features the CPUID hides, and reserved ones ---
	CR4_HIDDEN "cr4_osxsave_gp_without_xsave", 18, 1, 0, ecx, 26
	CR4_HIDDEN "cr4_vmxe_gp_without_vmx", 13, 1, 0, ecx, 5
	CR4_HIDDEN "cr4_smxe_gp_without_smx", 14, 1, 0, ecx, 6
	CR4_HIDDEN "cr4_pcide_gp_without_pcid", 17, 1, 0, ecx, 17
	CR4_HIDDEN "cr4_mce_gp_without_mce", 6, 1, 0, edx, 7
	CR4_HIDDEN "cr4_fsgsbase_gp_without_fsgsbase", 16, 7, 0, ebx, 0
	CR4_HIDDEN "cr4_smep_gp_without_smep", 20, 7, 0, ebx, 7
	CR4_HIDDEN "cr4_smap_gp_without_smap", 21, 7, 0, ebx, 20
	CR4_HIDDEN "cr4_umip_gp_without_umip", 11, 7, 0, ecx, 2
	CR4_HIDDEN "cr4_pke_gp_without_pku", 22, 7, 0, ecx, 3
	CR4_HIDDEN "cr4_cet_gp_without_cet", 23, 7, 0, ecx, 7
	CR4_HIDDEN "cr4_pks_gp_without_pks", 24, 7, 0, ecx, 31
	mov r14, cr4
	mov rax, r14
	bts rax, 15
	ATTEMPT mov cr4, rax
	mov cr4, r14
	CHECK_TRAP "cr4_reserved_bit_15_gp", 13, 0
	mov r8, cr4
	mov eax, 1
	xor ecx, ecx
	cpuid
	bt ecx, 26
	jc .osx
	bt r8, 18
	CHECK nc, "cr4_osxsave_reads_clear", "CR4.OSXSAVE reads set without XSAVE", r8, 0
	jmp .osxd
.osx:	SKIP "cr4_osxsave_reads_clear", "CPUID shows XSAVE"
.osxd:

	; --- INT n in ring 0: the handler runs, RIP after the INT ---
	lea rax, [int80_hook]
	mov [irq_hook + 0x80 * 8], rax
	mov r13, [vec_count + 0x80 * 8]
	mov qword [int80_rip], 0
	ATTEMPT int 0x80
	mov r8, [vec_count + 0x80 * 8]
	sub r8, r13
	cmp r8, 1
	CHECK e, "int80_kernel", "INT 0x80 did not run its handler once", r8, 1
	mov r8, [int80_rip]
	mov r9, [attempt_rip]
	add r9, 2
	cmp r8, r9
	CHECK e, "int80_rip_after_insn", "INT 0x80's saved RIP is not after the instruction", r8, r9

	; --- #NM: CR0.TS and an SSE instruction ---
	mov rax, cr0
	bts rax, 3
	mov cr0, rax
	ATTEMPT addps xmm0, xmm1
	CHECK_TRAP "nm_sse_with_ts", 7, -1
	clts
	ATTEMPT addps xmm0, xmm1
	CHECK_NOTRAP "nm_clear_after_clts"

	; --- #XM: an unmasked SIMD divide by zero ---
	mov dword [mxcsr], 0x1f80 & ~(1 << 9)
	ldmxcsr [mxcsr]
	mov eax, 0x3f800000		; 1.0f
	movd xmm0, eax
	xorps xmm1, xmm1
	ATTEMPT divss xmm0, xmm1
	mov dword [mxcsr], 0x1f80
	ldmxcsr [mxcsr]
	CHECK_TRAP "xm_simd_divide_by_zero", 19, -1

	; --- #MF: an unmasked x87 divide by zero, reported at the next FWAIT ---
	fninit
	mov word [fpucw], 0x037f & ~4
	fldcw [fpucw]
	fld1
	fldz
	fdivp st1, st0
	ATTEMPT fwait
	CHECK_TRAP "mf_x87_divide_by_zero", 16, -1
	fnclex
	fninit

	; --- ring 3 ---
	USER u_write_sup, 0
	CHECK_TRAP "pf_user_write_supervisor", 14, 0x7
	CHECK_CR2 "pf_cr2_user_write_supervisor", VA_SUP
	USER u_read_np, 0
	CHECK_TRAP "pf_user_read_not_present", 14, 0x4
	USER u_hlt, 0
	CHECK_TRAP "gp_user_hlt", 13, 0
	USER u_int80, 0			; gate DPL 0 < CPL 3: #GP(vector * 8 + 2)
	CHECK_TRAP "gp_user_int_gate_dpl", 13, 0x80 * 8 + 2
	mov byte [behave_idt + 0x80 * 16 + 5], 0xee	; DPL 3
	mov r13, [vec_count + 0x80 * 8]
	USER u_int80, 0			; now allowed; the UD2 after it brings us back
	mov byte [behave_idt + 0x80 * 16 + 5], 0x8e
	mov r8, [vec_count + 0x80 * 8]
	sub r8, r13
	mov r9, [last_vector]
	cmp r8, 1
	jne .i3
	cmp r9, 6
.i3:	CHECK e, "int80_from_user_dpl3_gate", "INT 0x80 from ring 3 through a DPL 3 gate did not run and return (count, then vector)", r8, r9
	mov rax, cr0
	bts rax, 18			; AM
	mov cr0, rax
	USER u_misaligned, 1 << 18	; AC
	mov rax, cr0
	btr rax, 18
	mov cr0, rax
	CHECK_TRAP "ac_user_misaligned", 17, 0

	; --- MOV CR0 that exits (it changes NE, which the hypervisor owns) is
	; checked as the CPU checks it: NW without CD, bits 63:32 (last: a
	; hypervisor that let them through would fail its VM entry) ---
	mov r14, cr0
	mov rax, r14
	btr rax, 5			; NE
	bts rax, 29			; NW
	btr rax, 30			; CD
	ATTEMPT mov cr0, rax
	mov r15, cr0
	mov cr0, r14
	CHECK_TRAP "cr0_nw_without_cd_gp", 13, 0
	mov rax, r14
	btr rax, 5
	bts rax, 32
	ATTEMPT mov cr0, rax
	mov r15, cr0
	CHECK_TRAP "cr0_high_bit_gp", 13, 0
	cmp r15, r14
	CHECK e, "cr0_unchanged_after_gp", "CR0 changed by a MOV that faulted", r15, r14

	jmp behave_done

int80_hook:
	mov rax, [rbp + 104]		; the saved RIP in behave_trap's frame
	mov [int80_rip], rax
	ret

; enter_user: IRETQ to ring 3 at RDI with RFLAGS = 2 | RDX (interrupts off).
enter_user:
	push SEL_UDATA
	push VA_USTACK + 0x1000
	mov rax, 2
	or rax, rdx
	push rax
	push SEL_UCODE
	push rdi
	iretq

; setup_gdt: our GDT with ring-3 segments and a TSS (RSP0 for faults in
; ring 3), loaded with the same kernel selectors as the boot GDT.
setup_gdt:
	lea rax, [tss]
	mov rdx, rax
	shl rdx, 16
	mov rcx, 0xffffff0000
	and rdx, rcx			; base 23:0 -> bits 39:16
	or rdx, 0x67			; limit
	mov rcx, 0x89 << 40		; present, 64-bit TSS (available)
	or rdx, rcx
	mov rcx, rax
	shr rcx, 24
	and rcx, 0xff
	shl rcx, 56
	or rdx, rcx			; base 31:24
	mov [gdt + SEL_TSS], rdx
	shr rax, 32
	mov [gdt + SEL_TSS + 8], rax
	lea rax, [kstack_top]
	mov [tss + 4], rax
	mov word [tss + 102], 104	; no I/O bitmap
	lgdt [gdtr]
	pop rcx				; our return address
	push 0x08
	lea rax, [.cs]
	push rax
	o64 retf
.cs:	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov ax, SEL_TSS
	ltr ax
	jmp rcx

; setup_pages: PDPT[1] -> exc_pd -> exc_pt, 4 KiB pages at USER_VA; PML4[0]
; gets U so that ring 3 can reach the user pages (the 2 MiB identity pages
; stay supervisor-only).
setup_pages:
	mov eax, 0x80000000
	cpuid
	mov r8d, 36
	cmp eax, 0x80000008
	jb .p0
	mov eax, 0x80000008
	cpuid
	movzx r8d, al			; MAXPHYADDR
.p0:	mov eax, 0x80000001
	cpuid
	bt edx, 20
	setc byte [have_nx]
	mov rax, cr3
	and rax, ~0xfff
	or qword [rax], 4
	mov rbx, [rax]
	mov rcx, 0x000ffffffffff000
	and rbx, rcx
	lea rcx, [exc_pd]
	or rcx, 7
	mov [rbx + 8], rcx
	lea rcx, [exc_pt]
	or rcx, 7
	mov [exc_pd], rcx
	lea rdi, [exc_pt]
	lea rax, [user_page]
	or rax, 5			; P, U (read-only)
	mov [rdi + 0 * 8], rax
	lea rax, [udata_page]
	or rax, 7
	mov [rdi + 1 * 8], rax
	lea rax, [sup_page]
	or rax, 3
	mov [rdi + 2 * 8], rax
	mov qword [rdi + 3 * 8], 0
	lea rax, [ro_page]
	or rax, 1
	mov [rdi + 4 * 8], rax
	lea rax, [ustack_page]
	or rax, 7
	mov [rdi + 5 * 8], rax
	cmp r8d, 52
	jae .p1
	mov byte [have_rsvd], 1
	lea rax, [ro_page]
	or rax, 1
	bts rax, 51
	mov [rdi + 6 * 8], rax
.p1:	lea rax, [user_page]
	or rax, 3
	bts rax, 63			; XD
	mov [rdi + 7 * 8], rax
	mov rax, cr3
	mov cr3, rax
	ret

align 8
gdtr:		dw GDT_LIMIT
		dq gdt
align 16
gdt:		dq 0
		dq 0x00af9a000000ffff	; 0x08 64-bit code, DPL 0
		dq 0x00cf92000000ffff	; 0x10 data, DPL 0
		dq 0x00cf9a000000ffff	; 0x18 32-bit code, DPL 0
		dq 0x00cff2000000ffff	; 0x20 data, DPL 3
		dq 0x00affa000000ffff	; 0x28 64-bit code, DPL 3
		dq 0, 0			; 0x30 the TSS
		dq 0x00cf12000000ffff	; 0x40 data, not present
tss:		times 104 db 0
int80_rip:	dq 0
mxcsr:		dd 0
fpucw:		dw 0
have_rsvd:	db 0
have_nx:	db 0

; The user snippets: each ends in UD2, which marks "did not fault".
align 4096, db 0
user_page:
u_write_sup:
	mov rax, VA_SUP
	mov qword [rax], 1
	ud2
u_read_np:
	mov rax, VA_NP
	mov rax, [rax]
	ud2
u_hlt:	hlt
	ud2
u_int80:
	int 0x80
	ud2
u_misaligned:
	mov rax, VA_UDATA + 1
	mov eax, [rax]
	ud2
align 4096, db 0
udata_page:	times 4096 db 0
sup_page:	times 4096 db 0
ro_page:	times 4096 db 0
ustack_page:	times 4096 db 0
exc_pd:		times 4096 db 0
exc_pt:		times 4096 db 0
kstack:		times 4096 db 0
kstack_top:

	BEHAVE_CODE
