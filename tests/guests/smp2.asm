; SPDX-License-Identifier: MIT
; smp2: two vCPUs add to one counter with LOCK XADD; vCPU 0 waits for vCPU 1
; and checks the sum.  Exit 0 when the count is exact.
%include "guest.inc"
org 0x100000
%define N 20000
start:
	mov ecx, N
.add:	mov eax, 1
	lock xadd [counter], eax
	dec ecx
	jnz .add
	test edi, edi
	jnz .second
	PRINT "vcpu 0 done adding"
.wait:	pause
	cmp dword [done1], 1
	jne .wait
	mov rax, [counter]
	REPORT 0, rax
	cmp rax, 2 * N
	jne .bad
	EXIT 0
.bad:	EXIT 1
.second:
	PRINT "vcpu 1 done adding"
	mov dword [done1], 1
.idle:	cli
	hlt
	jmp .idle
align 8
counter: dq 0
done1:	dd 0
