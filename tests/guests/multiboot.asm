; SPDX-License-Identifier: MIT
; multiboot: a Multiboot v1 kernel (ELF32, no address fields) that checks what
; the loader hands it: the magic, the info flags, mem_upper, the command line,
; its module (mbmod.txt), a zeroed bss and a memory map covering its memory.
; Prints through the 16550; exits 0 when all holds, else with the number of
; the failed check.  MEM_MB, the cmdline word and the module arguments match
; its [guest multiboot] section in guests.cfg.  Linked at 1 MiB
; (multiboot.bin) and at 0x8000 (multiboot_low.bin: where the loader's info
; used to be, refused before the loader placed its area around the image).
bits 32
%define MEM_MB		8
%define MB_FLAGS	3			; modules page-aligned, memory info
%define INFO_WANT	0x24d			; MEM, CMDLINE, MODS, MMAP, LOADER_NAME

; FAIL_UNLESS cc, n: go on if condition cc holds, else fail with check n.
%macro FAIL_UNLESS 2
	j%1 %%ok
	mov eax, %2
	jmp fail
%%ok:
%endmacro

section .text
global start
align 4
	dd 0x1badb002
	dd MB_FLAGS
	dd -(0x1badb002 + MB_FLAGS)

start:
	mov esp, stack_top
	cmp eax, 0x2badb002
	FAIL_UNLESS e, 1
	mov ebp, ebx				; the info structure
	mov eax, [ebp]
	and eax, INFO_WANT
	cmp eax, INFO_WANT
	FAIL_UNLESS e, 2
	cmp dword [ebp + 8], (MEM_MB - 1) * 1024
	FAIL_UNLESS e, 3

	; The command line: "IMAGE CMDLINE", holding the word we were given.
	mov esi, msg_cmdline
	call puts
	mov esi, [ebp + 16]
	call puts
	call newline
	mov esi, [ebp + 16]
	mov edi, want_word
	call contains
	FAIL_UNLESS nz, 4

	; One module: page aligned, its bytes and its string as configured.
	cmp dword [ebp + 20], 1
	FAIL_UNLESS e, 5
	mov ebx, [ebp + 24]
	mov esi, [ebx]				; mod_start
	test esi, 0xfff
	FAIL_UNLESS z, 6
	mov ecx, [ebx + 4]
	sub ecx, esi
	cmp ecx, modtext_len
	FAIL_UNLESS e, 7
	mov edi, modtext
	repe cmpsb
	FAIL_UNLESS e, 8
	mov esi, [ebx + 8]
	mov edi, modstring
	call streq
	FAIL_UNLESS z, 9

	; The bss: 64 KiB the loader must have left zero.
	mov edi, zeros
	mov ecx, zeros_len
	xor eax, eax
	repe scasb
	FAIL_UNLESS e, 10

	; The mmap: size-20 entries; the usable RAM is all of memory but the BIOS
	; hole and the loader's area (reserved, at most 64 KiB).
	mov esi, [ebp + 48]
	mov edx, esi
	add edx, [ebp + 44]
	xor ecx, ecx				; RAM bytes
	xor edi, edi				; an entry ends at the top of memory
.mmap:	cmp esi, edx
	jae .mmap_done
	cmp dword [esi], 20
	FAIL_UNLESS e, 11
	cmp dword [esi + 20], 1
	jne .next
	add ecx, [esi + 12]
	mov eax, [esi + 4]
	add eax, [esi + 12]
	cmp eax, MEM_MB << 20
	jne .next
	inc edi
.next:	add esi, 24
	jmp .mmap
.mmap_done:
	cmp ecx, (MEM_MB << 20) - (0x100000 - 0x9f000)
	FAIL_UNLESS be, 12
	cmp ecx, (MEM_MB << 20) - (0x100000 - 0x9f000) - 0x10000
	FAIL_UNLESS ae, 12
	cmp edi, 1
	FAIL_UNLESS e, 13

	mov esi, [ebp + 64]
	mov edi, loader_name
	call streq
	FAIL_UNLESS z, 14

	mov esi, msg_ok
	call puts
	xor eax, eax
	out 0xf4, al
.hang:	hlt
	jmp .hang

; Failed check number EAX: say which, exit with it.
fail:
	mov ebx, eax
	mov esi, msg_fail
	call puts
	mov eax, ebx
	aam
	add ax, 0x3030
	xchg al, ah
	call putc
	mov al, ah
	call putc
	call newline
	mov eax, ebx
	out 0xf4, al
.hang:	hlt
	jmp .hang

; ZF clear when the string at ESI contains the one at EDI.
contains:
	push esi
.start:	push esi
	push edi
.cmp:	mov al, [edi]
	test al, al
	jz .found
	cmp al, [esi]
	jne .miss
	inc esi
	inc edi
	jmp .cmp
.miss:	pop edi
	pop esi
	cmp byte [esi], 0
	je .none
	inc esi
	jmp .start
.found:	pop edi
	pop esi
	pop esi
	or eax, 1				; ZF clear
	ret
.none:	pop esi
	xor eax, eax				; ZF set
	ret

; ZF set when the strings at ESI and EDI are equal.
streq:
	mov al, [esi]
	cmp al, [edi]
	jne .ret
	inc esi
	inc edi
	test al, al
	jnz streq
.ret:	ret

puts:
	lodsb
	test al, al
	jz .done
	call putc
	jmp puts
.done:	ret

newline:
	mov al, 10
putc:
	push edx
	mov dx, 0x3f8
	out dx, al
	pop edx
	ret

section .data
msg_cmdline:	db "cmdline: ", 0
msg_ok:		db "all checks passed", 10, 0
msg_fail:	db "check failed: ", 0
want_word:	db "answer=42", 0
modstring:	db "mbmod.txt modarg=1", 0
loader_name:	db "hv", 0
; The contents of tests/guests/mbmod.txt.
modtext:	db "a multiboot module for the multiboot test guest", 10
modtext_len	equ $ - modtext

section .bss
alignb 4096
zeros:		resb 65536
zeros_len	equ $ - zeros
		resb 4096
stack_top:
