/* SPDX-License-Identifier: MIT */
/*
 * The Multiboot entry every C test guest shares (32-bit protected mode, as
 * the Multiboot Specification 0.6.96 section 3.2 promises): the header,
 * a record of the machine state at entry (rt_entry in rt.h), our own GDT,
 * then mode_start in crt0_real.S, crt0_prot.S or crt0_long.S.
 *
 * The long-mode image is a flat binary placed by the header's address
 * fields (flag 16); the others are ELF32 executables.
 */
#define MB_MAGIC	0x1badb002
#ifdef RT_LONG
#define MB_FLAGS	0x00010003	/* address fields, page-aligned modules, memory info */
#else
#define MB_FLAGS	0x00000003	/* page-aligned modules, memory info */
#endif
#define LAPIC_VER	0xfee00030

	.section .multiboot, "a"
	.align 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
#ifdef RT_LONG
	.long mb_header			/* header_addr */
	.long _image_start		/* load_addr */
	.long _load_end			/* load_end_addr */
	.long _image_end		/* bss_end_addr */
	.long _start			/* entry_addr */
#endif

	.section .text.entry, "ax"
	.code32
	.globl _start
_start:
	/* The state as the loader left it, before the first change. */
	movl %eax, rt_entry + 0
	movl %ebx, rt_entry + 4
	/* ESP is undefined at entry: our own stack before the first push. */
	movl $boot_stack_top, %esp
	pushfl
	popl rt_entry + 8
	movl %cr0, %eax
	movl %eax, rt_entry + 12
	movw %cs, rt_entry + 16
	movw %ds, rt_entry + 18
	movw %es, rt_entry + 20
	movw %fs, rt_entry + 22
	movw %gs, rt_entry + 24
	movw %ss, rt_entry + 26
	/* Flat 4 GiB segments: the local APIC's version through each (a limit below faults). */
	movl %ds:LAPIC_VER, %eax
	movl %eax, rt_entry + 28
	movl %es:LAPIC_VER, %eax
	movl %eax, rt_entry + 32
	movl %fs:LAPIC_VER, %eax
	movl %eax, rt_entry + 36
	movl %gs:LAPIC_VER, %eax
	movl %eax, rt_entry + 40
	movl %ss:LAPIC_VER, %eax
	movl %eax, rt_entry + 44

	/* GDTR may be invalid (spec 3.2): ours before any segment load. */
	lgdt gdt_desc
	ljmp $0x08, $1f
1:	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movw %ax, %ss
	jmp mode_start

	.section .data
	.align 16
	.globl gdt
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: 32-bit code, flat */
	.quad 0x00cf92000000ffff	/* 0x10: data, flat 4 GiB */
	.quad 0x00af9a000000ffff	/* 0x18: 64-bit code */
	.quad 0x00009a000000ffff	/* 0x20: 16-bit code, 64 KiB (crt0_real.S) */
gdt_end:
	.align 4
	.word 0
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
