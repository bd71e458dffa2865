/* SPDX-License-Identifier: MIT */
/*
 * Long mode, switched to by the guest itself as a Multiboot kernel must:
 * identity page tables over 4 GiB in 2 MiB pages (the top GiB, where the
 * APICs live, uncached), PAE, EFER.LME, paging, then 64-bit code with a
 * 64-bit IDT whose 256 gates lead to rt_trap(vector, error code), and
 * rt_main() on the boot stack.
 */
	.code32
	.section .text
	.globl mode_start
mode_start:
	movl $boot_stack_top, %esp
	/* Four page directories: entry i maps i << 21 (P, RW, PS; PCD|PWT from 3 GiB). */
	movl $pd, %edi
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax
	cmpl $1536, %ecx
	jb 2f
	orl $0x18, %eax
2:	movl %eax, (%edi,%ecx,8)
	movl $0, 4(%edi,%ecx,8)
	incl %ecx
	cmpl $2048, %ecx
	jb 1b
	xorl %ecx, %ecx
3:	movl %ecx, %eax
	shll $12, %eax
	addl $pd + 3, %eax
	movl %eax, pdpt(,%ecx,8)
	movl $0, pdpt + 4(,%ecx,8)
	incl %ecx
	cmpl $4, %ecx
	jb 3b
	movl $pdpt + 3, pml4
	movl $0, pml4 + 4

	movl $pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl $0xc0000080, %ecx		/* EFER */
	rdmsr
	orl $0x100, %eax		/* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000000, %eax		/* PG: long mode is active */
	movl %eax, %cr0
	ljmp $0x18, $long64

	.code64
long64:
	movl $0x10, %eax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movw %ax, %ss
	movq $boot_stack_top, %rsp
	movl $idt, %edi
	movq $stubs, %rax
	movl $256, %ecx
4:	movq %rax, %rdx
	movw %ax, (%rdi)		/* offset 15:0 */
	movw $0x18, 2(%rdi)		/* selector */
	movw $0x8e00, 4(%rdi)		/* present, DPL 0, 64-bit interrupt gate */
	shrq $16, %rdx
	movw %dx, 6(%rdi)		/* offset 31:16 */
	shrq $16, %rdx
	movl %edx, 8(%rdi)		/* offset 63:32 */
	movl $0, 12(%rdi)
	addq $16, %rax
	addq $16, %rdi
	loop 4b
	lidt idt_desc
	call rt_main
	ud2

#include "tests/guests/c/stubs.inc"

/* The CPU's 5 words, error and vector, 9 registers: RSP is 16-byte aligned at the call. */
common:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	movq 72(%rsp), %rdi		/* vector */
	movq 80(%rsp), %rsi		/* error code */
	call rt_trap
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	addq $16, %rsp
	iretq

	.section .data
	.align 8
	.word 0, 0, 0
idt_desc:
	.word 256 * 16 - 1
	.quad idt

	.section .bss
	.align 4096
pml4:
	.space 4096
pdpt:
	.space 4096
pd:
	.space 4 * 4096
idt:
	.space 256 * 16
	.align 16
	.space 16384
	.globl boot_stack_top
boot_stack_top:
