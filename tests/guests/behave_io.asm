; SPDX-License-Identifier: MIT
; behave_io: port I/O as a PC guest sees it.  Ports where a PC without
; those devices has nothing (COM2 0x2f8-0x2ff, COM3 0x3e8, LPT2 0x278, 0x120)
; read all ones in every width, ignore writes and never fault, also through
; string I/O; the MC146818 RTC/CMOS at 0x70/0x71 has a valid time and its
; status registers; the i8042 status port reads.  The RTC's seconds are not
; watched advancing: a guest second is too many Bochs instructions.  Exit
; status: the number of failed checks.
%include "guest.inc"
%include "behave.inc"
org 0x100000

start:
	mov r12, rdi
	call behave_init

	; --- absent ports: all ones, in every width ---
	xor r8d, r8d			; mismatches
	xor r9d, r9d			; the last bad port << 32 | value
	mov edx, 0x2f8
.p8:	ATTEMPT in al, dx
	call count_fault
	cmp al, 0xff
	je .p8n
	inc r8
	mov r9, rdx
	shl r9, 32
	movzx eax, al
	or r9, rax
.p8n:	inc edx
	cmp edx, 0x300
	jb .p8
	test r8, r8
	CHECK z, "absent_in8_2f8_2ff", "IN AL from 0x2f8..0x2ff is not 0xff (got port << 32 | value)", r9, 0xff
	mov edx, 0x2f8
	xor eax, eax
	ATTEMPT in ax, dx
	call count_fault
	movzx r8d, ax
	cmp r8, 0xffff
	CHECK e, "absent_in16_2f8", "IN AX from 0x2f8 is not all ones", r8, 0xffff
	mov edx, 0x2fc
	xor eax, eax
	ATTEMPT in eax, dx
	call count_fault
	mov r8d, eax
	mov r9d, 0xffffffff
	cmp r8, r9
	CHECK e, "absent_in32_2fc", "IN EAX from 0x2fc is not all ones", r8, r9
	mov edx, 0x3e8
	ATTEMPT in al, dx
	call count_fault
	movzx r8d, al
	cmp r8, 0xff
	CHECK e, "absent_in8_3e8", "IN AL from 0x3e8 (no COM3) is not 0xff", r8, 0xff
	mov edx, 0x278
	ATTEMPT in al, dx
	call count_fault
	movzx r8d, al
	cmp r8, 0xff
	CHECK e, "absent_in8_278", "IN AL from 0x278 (no LPT2) is not 0xff", r8, 0xff
	mov edx, 0x120
	xor eax, eax
	ATTEMPT in eax, dx
	call count_fault
	mov r8d, eax
	mov r9d, 0xffffffff
	cmp r8, r9
	CHECK e, "absent_in32_120", "IN EAX from 0x120 is not all ones", r8, r9

	; --- writes are ignored ---
	mov edx, 0x2fb			; a COM2 line-control write (DLAB) ...
	mov al, 0x80
	ATTEMPT out dx, al
	call count_fault
	mov edx, 0x2f8
	mov al, 0x55
	ATTEMPT out dx, al
	call count_fault
	mov edx, 0x120
	mov eax, 0x12345678
	ATTEMPT out dx, eax
	call count_fault
	mov edx, 0x278
	mov ax, 0xa5a5
	ATTEMPT out dx, ax
	call count_fault
	mov edx, 0x2fb			; ... changed nothing
	ATTEMPT in al, dx
	call count_fault
	movzx r8d, al
	mov edx, 0x120
	ATTEMPT in eax, dx
	call count_fault
	mov r9d, eax
	shl r9, 8
	or r8, r9			; 0xffffffff_ff when both read all ones
	mov r9, 0xffffffffff
	cmp r8, r9
	CHECK e, "absent_write_ignored", "an absent port read something else after a write (0x120 << 8 | 0x2fb)", r8, r9
	ATTEMPT out 0x80, al		; the POST code port
	call count_fault

	; --- the RTC (MC146818) ---
	xor r8d, r8d
	mov ecx, 1000000
.uip:	mov al, 0x0a
	call cmos_read
	test al, 0x80
	jz .uipok
	dec ecx
	jnz .uip
	inc r8
.uipok:	test r8, r8
	CHECK z, "rtc_uip_clears", "register A's UIP (bit 7) stayed set"
	mov al, 0x0a
	call cmos_read
	movzx r8d, al
	mov [rtc_a], r8
	mov r9, r8
	shr r9, 4
	and r9, 7
	cmp r9, 2
	CHECK e, "rtc_reg_a_divider", "register A's divider (bits 6:4) is not 010 (32.768 kHz, running)", r8, 0x26
	mov al, 0x0b
	call cmos_read
	movzx r8d, al
	mov [rtc_b], r8
	test r8, 0x80
	CHECK z, "rtc_reg_b_not_set", "register B's SET (bit 7) is 1: the clock does not update", r8, 0x02
	mov al, 0x0d
	call cmos_read
	movzx r8d, al
	mov [rtc_d], r8
	test r8, 0x80
	CHECK nz, "rtc_reg_d_valid_ram_time", "register D's VRT (bit 7) is clear", r8, 0x80
	mov al, 0x8d			; bit 7 of the index is the NMI mask, not the index
	call cmos_read
	movzx r8d, al
	cmp r8, [rtc_d]
	CHECK e, "cmos_index_bit7_is_nmi_mask", "index 0x8d did not read register D", r8, qword [rtc_d]
	mov al, 0x0d
	call cmos_read			; NMIs unmasked again

	; time and date: in range, in the format register B says
	xor r13d, r13d			; bad fields, one bit each
	mov al, 0
	mov bl, 59
	mov bh, 0
	call rtc_field
	jnc .t1
	bts r13, 0
.t1:	mov al, 2
	mov bl, 59
	mov bh, 0
	call rtc_field
	jnc .t2
	bts r13, 2
.t2:	mov al, 7
	mov bl, 31
	mov bh, 1
	call rtc_field
	jnc .t3
	bts r13, 7
.t3:	mov al, 8
	mov bl, 12
	mov bh, 1
	call rtc_field
	jnc .t4
	bts r13, 8
.t4:	mov al, 9
	mov bl, 99
	mov bh, 0
	call rtc_field
	jnc .t5
	bts r13, 9
.t5:	call rtc_hour
	jnc .t6
	bts r13, 4
.t6:	test r13, r13
	CHECK z, "rtc_time_valid", "RTC fields out of range or not BCD (got: bit N = register N bad)", r13, 0
	mov al, 6
	mov bl, 7
	mov bh, 1
	call rtc_field
	CHECK nc, "rtc_weekday_valid", "day of week (register 6) is not 1..7"

	; CMOS RAM (registers 0x0e up) keeps what is written
	mov al, 0x3e
	call cmos_read
	mov [cmos_saved], al
	mov al, 0x3e
	mov ah, 0x5a
	call cmos_write
	mov al, 0x3e
	call cmos_read
	movzx r8d, al
	mov al, 0x3e
	mov ah, 0xa5
	call cmos_write
	mov al, 0x3e
	call cmos_read
	movzx eax, al
	shl r8, 8
	or r8, rax
	mov al, 0x3e
	mov ah, [cmos_saved]
	call cmos_write
	cmp r8, 0x5aa5
	CHECK e, "cmos_ram_rw", "CMOS byte 0x3e did not keep 0x5a then 0xa5", r8, 0x5aa5

	; --- the i8042 status port ---
	ATTEMPT in al, 0x64
	movzx r8d, al
	CHECK_NOTRAP "i8042_status_read"
	INFO "i8042_status_read", "status", r8
	cmp r8, 0xff
	jne .kbc
	SKIP "i8042_input_buffer_empty", "port 0x64 reads 0xff: no i8042"
	jmp .kbcd
.kbc:	mov ecx, 100000
.kbcw:	in al, 0x64
	test al, 2
	jz .kbcd0
	pause
	dec ecx
	jnz .kbcw
.kbcd0:	movzx r8d, al
	test r8, 2
	CHECK z, "i8042_input_buffer_empty", "the i8042 input buffer (status bit 1) stays full", r8, 0
.kbcd:

	; --- string I/O (last: the hardest for a hypervisor to decode) ---
	cld
	lea rdi, [buf]
	mov qword [rdi], 0
	mov qword [rdi + 8], 0
	mov qword [rdi + 16], 0
	mov edx, 0x2f8
	mov ecx, 8
	ATTEMPT rep insb
	call count_fault
	mov r10, rcx
	mov ecx, 4
	ATTEMPT rep insw
	call count_fault
	or r10, rcx
	mov ecx, 2
	ATTEMPT rep insd
	call count_fault
	or r10, rcx
	lea r9, [buf + 24]
	mov r8, rdi
	cmp r8, r9
	jne .ins
	test r10, r10			; RCX ran down to 0 each time
.ins:	CHECK e, "ins_advances_rdi_rcx", "REP INS did not advance RDI by the bytes read (or left RCX non-zero)", r8, r9
	mov r8, [buf]
	and r8, [buf + 8]
	and r8, [buf + 16]
	cmp r8, -1
	CHECK e, "ins_absent_reads_ones", "REP INSB/INSW/INSD from 0x2f8 stored something other than 0xff", r8, -1
	lea rdi, [buf + 32]
	mov byte [rdi], 0
	std
	ATTEMPT insb
	cld
	call count_fault
	lea r9, [buf + 31]
	mov r8, rdi
	cmp r8, r9
	jne .std
	cmp byte [buf + 32], 0xff
.std:	CHECK e, "ins_df_decrements_rdi", "INSB with DF=1 did not store 0xff and step RDI back", r8, r9
	lea rsi, [buf]
	mov edx, 0x2f8
	mov ecx, 8
	ATTEMPT rep outsb
	call count_fault
	lea r9, [buf + 8]
	mov r8, rsi
	cmp r8, r9
	jne .outs
	test rcx, rcx
.outs:	CHECK e, "outs_advances_rsi_rcx", "REP OUTSB did not advance RSI by 8 (or left RCX non-zero)", r8, r9
	mov r8, [io_faults]
	test r8, r8
	CHECK z, "absent_ports_never_fault", "port I/O to absent ports raised exceptions (count)", r8, 0

	jmp behave_done

; count_fault: an exception during the last ATTEMPT counts in io_faults.
count_fault:
	cmp qword [last_vector], -1
	je .n
	inc qword [io_faults]
.n:	ret

; cmos_read: AL = index (bit 7: NMI mask) -> AL = value.
cmos_read:
	out 0x70, al
	in al, 0x71
	ret

; cmos_write: AL = index, AH = value.
cmos_write:
	out 0x70, al
	mov al, ah
	out 0x71, al
	ret

; rtc_field: AL = register, BH..BL = the valid range (binary).  CF=1 when
; the value is outside it or, in BCD mode (register B bit 2 clear), is not
; BCD.
rtc_field:
	call cmos_read
	call from_bcd
	jc .bad
	cmp al, bh
	jb .bad
	cmp al, bl
	ja .bad
	clc
	ret
.bad:	stc
	ret

; rtc_hour: register 4 in 24-hour (0..23) or 12-hour (1..12, bit 7 = PM)
; form as register B bit 1 says.  CF=1 when invalid.
rtc_hour:
	mov al, 4
	call cmos_read
	test byte [rtc_b], 2
	jnz .h24
	and al, 0x7f
	call from_bcd
	jc .bad
	cmp al, 1
	jb .bad
	cmp al, 12
	ja .bad
	clc
	ret
.h24:	call from_bcd
	jc .bad
	cmp al, 23
	ja .bad
	clc
	ret
.bad:	stc
	ret

; from_bcd: AL in the RTC's format -> AL binary; CF=1 for a bad BCD digit.
from_bcd:
	test byte [rtc_b], 4
	jnz .bin
	mov ah, al
	and ah, 0x0f
	cmp ah, 9
	ja .bad
	mov ah, al
	shr ah, 4
	cmp ah, 9
	ja .bad
	and al, 0x0f
	mov dl, ah
	shl dl, 3
	add al, dl
	shl ah, 1
	add al, ah
.bin:	clc
	ret
.bad:	stc
	ret

align 8
io_faults:	dq 0
rtc_a:		dq 0
rtc_b:		dq 0
rtc_d:		dq 0
cmos_saved:	db 0
buf:		times 64 db 0

	BEHAVE_CODE
