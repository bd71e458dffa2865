; SPDX-License-Identifier: MIT
; Monolith entry from the loader: RDI = struct boot_info (identity-mapped),
; interrupts off, the loader's page tables live.  Switch to our own stack
; and call hv_main().
bits 64
section .text.entry
global hv_entry
extern hv_main

hv_entry:
	lea rsp, [rel hv_boot_stack_top]
	xor ebp, ebp
	push rbp			; zero return address ends backtraces
	call hv_main
.hang:
	cli
	hlt
	jmp .hang

section .bss
align 4096
global hv_boot_stack, hv_boot_stack_top
hv_boot_stack:
	resb 32768
hv_boot_stack_top:
