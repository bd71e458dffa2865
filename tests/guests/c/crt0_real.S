/* SPDX-License-Identifier: MIT */
/*
 * Real mode, entered from the Multiboot entry the way a real-mode test
 * kernel does it: back through a 16-bit code segment, CR0.PE cleared,
 * segment registers reloaded with 0.  The data segments keep the 4 GiB
 * limits protected mode gave them ("unreal mode"), so the C code (gcc -m16:
 * 32-bit operations and addresses under 0x66/0x67 prefixes) reaches the
 * APICs at 0xFEC00000 and 0xFEE00000 with 32-bit addresses.  SS too: at -O2
 * EBP is a general register that may hold such a pointer, and EBP-based
 * addresses go through SS.  gcc -m16 addresses its globals with 16 bits, so
 * code, data and stack all lie below 64 KiB (real.ld).  The IVT at 0 leads
 * every vector to rt_trap(vector, 0).
 */
	.code32
	.section .text
	.globl mode_start
mode_start:
	movl $boot_stack_top, %esp	/* below 64 KiB: SP and ESP agree */
	ljmp $0x20, $1f

	.code16
1:	movl %cr0, %eax
	andl $~1, %eax
	movl %eax, %cr0
	ljmp $0, $2f
2:	xorw %ax, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movw %ax, %ss
	/* The IVT: vector n at stubs + 8n, segment 0. */
	movl $stubs, %eax
	xorw %di, %di
	movw $256, %cx
3:	movl %eax, (%di)
	addl $8, %eax
	addw $4, %di
	loop 3b
	lidt ivt_desc
	calll rt_main
	ud2

/* One 8-byte stub per vector, pushing a 16-bit vector: no error codes in real mode. */
	.align 8
stubs:
	.set vec, 0
	.rept 256
	.align 8
	pushw $vec
	jmp common
	.set vec, vec + 1
	.endr

common:
	pushal
	movzwl 32(%esp), %eax		/* vector */
	pushl $0			/* error code */
	pushl %eax
	calll rt_trap
	addl $8, %esp
	popal
	addl $2, %esp
	iret

	.section .data
	.align 4
	.word 0
ivt_desc:
	.word 256 * 4 - 1
	.long 0
