/* SPDX-License-Identifier: MIT */
/*
 * Protected mode: a 32-bit IDT whose 256 gates lead to rt_trap(vector,
 * error code), then rt_main() on the boot stack, paging off.
 */
	.code32
	.section .text
	.globl mode_start
mode_start:
	movl $boot_stack_top, %esp
	movl $idt, %edi
	movl $stubs, %eax
	movl $256, %ecx
1:	movl %eax, %edx
	movw %ax, (%edi)		/* offset 15:0 */
	movw $0x08, 2(%edi)		/* selector */
	movw $0x8e00, 4(%edi)		/* present, DPL 0, 32-bit interrupt gate */
	shrl $16, %edx
	movw %dx, 6(%edi)		/* offset 31:16 */
	addl $16, %eax
	addl $8, %edi
	loop 1b
	lidt idt_desc
	call rt_main
	ud2

#include "tests/guests/c/stubs.inc"

common:
	pushal
	pushl 36(%esp)			/* error code */
	pushl 36(%esp)			/* vector */
	call rt_trap
	addl $8, %esp
	popal
	addl $8, %esp
	iret

	.section .data
	.align 4
	.word 0
idt_desc:
	.word 256 * 8 - 1
	.long idt

	.section .bss
	.align 16
idt:
	.space 256 * 8
	.align 16
	.space 16384
	.globl boot_stack_top
boot_stack_top:
