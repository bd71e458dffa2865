; SPDX-License-Identifier: MIT
; behave_init: INIT sent to self by the BSP.  After INIT an AP waits for a
; SIPI, but the BSP starts again at the reset vector (SDM 8.4.1, 9.1.4);
; with no firmware there, this platform restarts the guest from its image,
; as a PC's firmware would after its POST.  The ICR's level bit is left
; clear: INIT is always issued as assert (SDM 10.6.1).  CMOS RAM, battery-
; backed, survives the reset and tells the second start from the first.
; Exit status: the number of failed checks.
%include "guest.inc"
%include "behave.inc"
org 0x100000

%define CMOS_FLAG	0x38		; a byte of CMOS RAM nothing else uses
%define MAGIC		0xa5

start:
	mov r12, rdi
	call behave_init
	mov al, CMOS_FLAG
	out 0x70, al
	in al, 0x71
	cmp al, MAGIC
	je .second
	mov al, CMOS_FLAG
	out 0x70, al
	mov al, MAGIC
	out 0x71, al
	call behave_map_mmio
	call behave_clock
	INFO "init_to_self", "first start: INIT to self", 0
	mov eax, LAPIC_BASE
	mov dword [rax + 0xf0], 0x1ff
	mov dword [rax + 0x300], 0x40500	; INIT, shorthand self, level bit clear
	mov rdx, [tsc_hz]
	shr rdx, 3			; 125 ms
	call behave_delay
	FAILED "init_to_bsp_restarts_guest", "still running 125 ms after an INIT to self"
	jmp behave_done
.second:
	mov al, CMOS_FLAG
	out 0x70, al
	xor eax, eax
	out 0x71, al
	cmp eax, eax
	CHECK e, "init_to_bsp_restarts_guest", "the guest did not start again after its INIT"
	jmp behave_done

BEHAVE_CODE
