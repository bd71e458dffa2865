; SPDX-License-Identifier: MIT
; behave_ioapic: the I/O APIC at 0xfec00000 as the 82093AA datasheet (and
; the ICH/PCH I/O APIC, version 0x20) defines it: IOREGSEL at +0, IOWIN at
; +0x10.  The ID, the version (24 redirection entries), every redirection
; entry masked after reset and keeping what is written (less the read-only
; delivery status and remote IRR), and legal-but-odd accesses (undefined
; register indexes) that must leave it intact.  Exit status: the number of
; failed checks.
%include "guest.inc"
%include "behave.inc"
org 0x100000

%define PINS	24

start:
	mov r12, rdi
	call behave_init
	call behave_map_mmio
	mov r13d, IOAPIC_BASE

	; --- IOREGSEL keeps the index ---
	mov dword [r13], 0x01
	mov r8d, [r13]
	and r8d, 0xff
	cmp r8, 1
	CHECK e, "ioregsel_readback", "IOREGSEL did not keep the index 1", r8, 1

	; --- ID (index 0): bits 27:24, read/write ---
	xor edi, edi
	call io_rd
	mov r14d, eax
	INFO "ioapic_id", "ID register", r14
	xor edi, edi
	mov esi, 0x0a000000
	call io_wr
	xor edi, edi
	call io_rd
	mov r8d, eax
	and r8d, 0x0f000000
	xor edi, edi
	mov esi, r14d
	call io_wr
	cmp r8, 0x0a000000
	CHECK e, "ioapic_id_rw", "ID bits 27:24 did not keep 0xa", r8, 0x0a000000

	; --- version (index 1) ---
	mov edi, 1
	call io_rd
	mov r8d, eax
	mov [version], r8
	INFO "ioapic_version", "version register", r8
	mov r9, r8
	and r9, 0xff
	cmp r9, 0x11
	je .v
	cmp r9, 0x20
.v:	CHECK e, "ioapic_version", "version (bits 7:0) is neither 0x11 nor 0x20", r9, 0x20
	mov r9, r8
	shr r9, 16
	and r9, 0xff
	cmp r9, PINS - 1
	CHECK e, "ioapic_max_redir_23", "maximum redirection entry (bits 23:16) is not 23", r9, PINS - 1

	; --- after reset every entry is masked ---
	xor r8d, r8d			; unmasked entries, one bit each
	xor ebx, ebx
.m:	lea edi, [0x10 + rbx * 2]
	call io_rd
	bt eax, 16
	jc .m1
	bts r8, rbx
.m1:	inc ebx
	cmp ebx, PINS
	jb .m
	test r8, r8
	CHECK z, "ioapic_redir_reset_masked", "redirection entries unmasked at start (bit N = entry N)", r8, 0

	; --- every entry keeps what is written (masked: nothing fires) ---
	xor ebx, ebx
.w:	call entry_lo
	mov esi, eax
	lea edi, [0x10 + rbx * 2]
	call io_wr
	mov esi, ebx
	shl esi, 24
	lea edi, [0x11 + rbx * 2]
	call io_wr
	inc ebx
	cmp ebx, PINS
	jb .w
	xor r8d, r8d			; bad entries
	xor r9d, r9d			; the first bad one: entry << 32 | low word
	xor ebx, ebx
.r:	lea edi, [0x10 + rbx * 2]
	call io_rd
	and eax, ~0x5000		; delivery status, remote IRR: read-only
	mov r10d, eax
	call entry_lo
	cmp r10d, eax
	jne .bad
	lea edi, [0x11 + rbx * 2]
	call io_rd
	shr eax, 24
	cmp eax, ebx
	je .r1
.bad:	test r8, r8
	jnz .bad1
	mov r9, rbx
	shl r9, 32
	or r9, r10
.bad1:	bts r8, rbx
.r1:	inc ebx
	cmp ebx, PINS
	jb .r
	test r8, r8
	CHECK z, "ioapic_redir_rw_all", "redirection entries did not keep their values (bit N = entry N)", r8, 0
	test r8, r8
	jz .rok
	INFO "ioapic_redir_rw_all", "first bad entry << 32 | its low word", r9
.rok:

	; --- the read-only bits ignore writes (a masked, idle, level entry) ---
	mov edi, 0x10 + 5 * 2
	mov esi, 0x1d040		; mask, level, remote IRR, delivery status, 0x40
	call io_wr
	mov edi, 0x10 + 5 * 2
	call io_rd
	mov r8d, eax
	and eax, 0x5000
	CHECK z, "ioapic_redir_ro_bits", "delivery status or remote IRR took a written 1", r8, 0x18040

	; --- undefined register indexes: reads return something, writes
	; change nothing, the guest goes on ---
	mov edi, 0x10
	call io_rd
	mov r14d, eax
	xor r15d, r15d
	mov edi, 0x03
	call io_rd_attempt
	mov edi, 0x80
	call io_rd_attempt
	mov edi, 0xff
	call io_rd_attempt
	mov edi, 0x40
	mov esi, 0xffffffff
	call io_wr
	test r15, r15
	CHECK z, "ioapic_undefined_index_read", "reading IOWIN at an undefined index faulted (count)", r15, 0
	mov edi, 0x10
	call io_rd
	mov r8d, eax
	cmp r8, r14
	CHECK e, "ioapic_undefined_write_ignored", "a write to index 0x40 changed entry 0", r8, r14

	; --- the EOI register of version 0x20 (+0x40) ---
	mov rax, [version]
	cmp al, 0x20
	je .eoi
	SKIP "ioapic_eoi_register_write", "version 0x11 has no EOI register"
	jmp .eoid
.eoi:	ATTEMPT mov dword [r13 + 0x40], 0x30
	CHECK_NOTRAP "ioapic_eoi_register_write"
.eoid:

	; leave every entry masked, as found
	xor ebx, ebx
.c:	lea edi, [0x10 + rbx * 2]
	mov esi, 0x10000
	call io_wr
	lea edi, [0x11 + rbx * 2]
	xor esi, esi
	call io_wr
	inc ebx
	cmp ebx, PINS
	jb .c
	jmp behave_done

; entry_lo: EBX = entry -> EAX = the low word written to it: masked, vector
; 0x30 + n, odd entries level-triggered and active-low with a logical
; destination, every third lowest-priority delivery.
entry_lo:
	lea eax, [0x10030 + rbx]
	test ebx, 1
	jz .e
	or eax, 0xa800
.e:	push rax
	push rdx
	push rcx
	mov eax, ebx
	xor edx, edx
	mov ecx, 3
	div ecx
	pop rcx
	test edx, edx
	pop rdx
	pop rax
	jnz .f
	or eax, 0x100			; lowest priority
.f:	ret

; io_rd: EDI = index -> EAX.  io_wr: EDI = index, ESI = value.
io_rd:
	mov [r13], edi
	mov eax, [r13 + 0x10]
	ret
io_wr:
	mov [r13], edi
	mov [r13 + 0x10], esi
	ret
; io_rd_attempt: io_rd under ATTEMPT; a fault counts in R15.
io_rd_attempt:
	mov [r13], edi
	ATTEMPT mov eax, [r13 + 0x10]
	cmp qword [last_vector], -1
	je .ok
	inc r15
.ok:	ret

align 8
version:	dq 0

	BEHAVE_CODE
