; SPDX-License-Identifier: MIT
; behave_pci: the PCI bus and a virtio-blk device as the PCI Local Bus spec,
; the PCI Firmware spec (ECAM) and the virtio 1.x spec define them, checked
; from a bare guest with `disk = pattern.img` (block b holds the byte b, its
; first 8 bytes "BLOCK" and b).  Configuration mechanism #1 and ECAM agree,
; absent functions read all ones, BARs size as on hardware, the capability
; list has MSI-X and the five virtio structures; the device initialises the
; virtio way, answers GET_ID, read and write, refuses reads past its end,
; interrupts through MSI-X; then rings a driver must never build (a loop, a
; buffer outside memory, more buffers than the queue holds, a ring outside
; memory, indirect without the feature, no status byte) each put the device
; in DEVICE_NEEDS_RESET, from which a reset brings it back.  Exit status:
; the number of failed checks.
%include "guest.inc"
%include "behave.inc"
org 0x100000
[warning -ea-absolute]		; the rings and buffers are at fixed addresses

%define ECAM		0xe0000000
%define BLK_DEVFN	0x08		; 00:01.0
%define RINGS		0x300000	; descriptors (8 x 16)
%define AVAIL		0x300100
%define USED		0x300200
%define HDR		0x301000	; the request header
%define IDBUF		0x301100
%define STATUS		0x301200
%define DATA		0x302000	; 4 KiB of data
%define QSIZE		8

; virtio common configuration
%define C_DFSEL		0x00
%define C_DF		0x04
%define C_GFSEL		0x08
%define C_GF		0x0c
%define C_NUMQ		0x12
%define C_STATUS	0x14
%define C_QSEL		0x16
%define C_QSIZE		0x18
%define C_QMSIX		0x1a
%define C_QEN		0x1c
%define C_QDESC		0x20
%define C_QAVAIL	0x28
%define C_QUSED		0x30
%define NOTIFY		0x3000

%define S_ACK		1
%define S_DRIVER	2
%define S_DRIVER_OK	4
%define S_FEATURES_OK	8
%define S_NEEDS_RESET	0x40

start:
	mov r12, rdi
	call behave_init
	call behave_map_mmio
	call behave_clock		; tsc_hz: waits for interrupts are a second long
	call map_pci

	; --- configuration mechanism #1 ---
	mov dx, 0xcf8
	mov eax, 0x80000000
	out dx, eax
	in eax, dx
	mov r8d, eax
	mov r9d, 0x80000000
	cmp r8, r9
	CHECK e, "pci_cf8_readback", "CONFIG_ADDRESS did not keep what was written", r8, r9

	xor edi, edi
	xor esi, esi
	call cfg_rd
	mov r8d, eax
	cmp r8, 0x00081b36
	CHECK e, "pci_host_bridge_ids", "00:00.0 vendor/device", r8, 0x00081b36
	xor edi, edi
	mov esi, 8
	call cfg_rd
	shr eax, 8
	mov r8d, eax
	cmp r8, 0x060000
	CHECK e, "pci_host_bridge_class", "00:00.0 class code", r8, 0x060000

	mov edi, 0x1f << 3		; 00:1f.0: no device
	xor esi, esi
	call cfg_rd
	mov r8d, eax
	mov edi, BLK_DEVFN | 1		; 00:01.1: no function
	xor esi, esi
	call cfg_rd
	and r8d, eax
	mov edi, 0x100 | BLK_DEVFN	; bus 1
	xor esi, esi
	call cfg_rd
	and r8d, eax
	mov r9d, 0xffffffff
	cmp r8, r9
	CHECK e, "pci_absent_functions_read_ones", "absent device, function or bus", r8, r9

	mov dx, 0xcf8
	mov eax, BLK_DEVFN << 8		; enable bit clear
	out dx, eax
	mov dx, 0xcfc
	in eax, dx
	mov r8d, eax
	mov r9d, 0xffffffff
	cmp r8, r9
	CHECK e, "pci_disabled_address_reads_ones", "CONFIG_DATA with bit 31 clear", r8, r9

	mov edi, BLK_DEVFN
	xor esi, esi
	call cfg_rd
	mov r8d, eax
	cmp r8, 0x10421af4
	CHECK e, "pci_virtio_blk_ids", "00:01.0 vendor/device", r8, 0x10421af4
	mov edi, BLK_DEVFN
	mov esi, 8
	call cfg_rd
	movzx r8d, al
	cmp r8, 1
	CHECK ae, "pci_virtio_revision", "revision of a modern-only device", r8, 1
	mov edi, BLK_DEVFN
	mov esi, 0x2c
	call cfg_rd
	mov r8d, eax
	and r8d, 0xffff
	cmp r8, 0x1af4
	CHECK e, "pci_virtio_subsystem_vendor", "subsystem vendor", r8, 0x1af4

	; byte and word accesses at CONFIG_DATA + n
	mov dx, 0xcf8
	mov eax, 0x80000000 | (BLK_DEVFN << 8)
	out dx, eax
	mov dx, 0xcfe
	in ax, dx
	movzx r8d, ax
	mov dx, 0xcfd
	in al, dx
	movzx r9d, al
	shl r9, 16
	or r8, r9
	cmp r8, 0x1a1042
	CHECK e, "pci_byte_and_word_reads", "word at 0xcfe, byte at 0xcfd", r8, 0x1a1042

	; --- ECAM ---
	mov eax, ECAM + (BLK_DEVFN << 12)
	mov r8d, [rax]
	cmp r8, 0x10421af4
	CHECK e, "pci_ecam_matches_conf1", "00:01.0 dword 0 through ECAM", r8, 0x10421af4
	mov eax, ECAM + (BLK_DEVFN << 12)
	movzx r8d, word [rax + 2]
	movzx r9d, byte [rax + 9]
	shl r9, 16
	or r8, r9
	cmp r8, 0x001042
	CHECK e, "pci_ecam_byte_and_word", "device ID word and programming interface byte", r8, 0x001042
	mov eax, ECAM + (BLK_DEVFN << 12)
	mov r8d, [rax + 0x100]
	mov eax, ECAM + (0x1f << 15)
	and r8d, [rax]
	mov r9d, 0xffffffff
	cmp r8, r9
	CHECK e, "pci_ecam_absent_reads_ones", "extended space and an absent device", r8, r9
	; A write through ECAM lands where conf1 sees it: the interrupt line.
	mov eax, ECAM + (BLK_DEVFN << 12)
	mov byte [rax + 0x3c], 0x5a
	mov edi, BLK_DEVFN
	mov esi, 0x3c
	call cfg_rd
	movzx r8d, al
	cmp r8, 0x5a
	CHECK e, "pci_ecam_write_seen_by_conf1", "interrupt line written through ECAM", r8, 0x5a

	; --- BARs ---
	mov edi, BLK_DEVFN
	mov esi, 0x10
	call cfg_rd
	mov r13d, eax
	and r13d, ~0xf			; BAR0: the virtio structures
	mov edi, BLK_DEVFN
	mov esi, 0x10
	mov edx, 0xffffffff
	call cfg_wr
	mov edi, BLK_DEVFN
	mov esi, 0x10
	call cfg_rd
	mov r8d, eax
	mov edi, BLK_DEVFN
	mov esi, 0x10
	mov edx, r13d
	call cfg_wr
	mov r9d, 0xffffc000
	cmp r8, r9
	CHECK e, "pci_bar0_sizing", "BAR0 after writing all ones: 16 KiB, memory, 32-bit", r8, r9
	mov edi, BLK_DEVFN
	mov esi, 0x18
	mov edx, 0xffffffff
	call cfg_wr
	mov edi, BLK_DEVFN
	mov esi, 0x18
	call cfg_rd
	mov r8d, eax
	cmp r8, 0
	CHECK e, "pci_bar_unimplemented_zero", "BAR2 after writing all ones", r8, 0
	mov r8, r13
	shr r8, 20
	cmp r8, 0xc00
	CHECK e, "pci_bar0_in_window", "BAR0 placed in the window 0xc0000000 (MiB)", r8, 0xc00
	mov edi, BLK_DEVFN
	mov esi, 0x14
	call cfg_rd
	and eax, ~0xf
	mov r14d, eax			; BAR1: MSI-X

	; --- capabilities ---
	call walk_caps
	mov r8, [cap_vendor_types]
	cmp r8, 0x3e			; types 1-5
	CHECK e, "pci_virtio_capabilities", "virtio structure types found (bit n = type n)", r8, 0x3e
	mov r8, [cap_msix]
	test r8, r8
	CHECK nz, "pci_msix_capability", "no MSI-X capability"
	mov edi, BLK_DEVFN
	mov esi, 0x3c
	call cfg_rd
	shr eax, 8
	movzx r8d, al
	cmp r8, 1
	CHECK e, "pci_intx_pin_a", "interrupt pin", r8, 1

	; --- virtio: initialisation ---
	mov edi, BLK_DEVFN
	mov esi, 4
	mov edx, 0x6			; memory, bus master
	call cfg_wr
	mov byte [r13 + C_STATUS], 0
	movzx r8d, byte [r13 + C_STATUS]
	cmp r8, 0
	CHECK e, "virtio_reset_reads_zero", "device status after a reset", r8, 0
	mov dword [r13 + C_DFSEL], 1
	mov r8d, [r13 + C_DF]
	and r8d, 1
	cmp r8, 1
	CHECK e, "virtio_offers_version_1", "device feature bit 32", r8, 1
	mov byte [r13 + C_STATUS], S_ACK | S_DRIVER
	mov dword [r13 + C_GFSEL], 1
	mov dword [r13 + C_GF], 0x101	; VERSION_1 and bit 40, not offered
	mov byte [r13 + C_STATUS], S_ACK | S_DRIVER | S_FEATURES_OK
	movzx r8d, byte [r13 + C_STATUS]
	and r8d, S_FEATURES_OK
	cmp r8, 0
	CHECK e, "virtio_features_ok_refused", "FEATURES_OK kept with a feature not offered", r8, 0
	call init_device
	movzx r8d, byte [r13 + C_STATUS]
	cmp r8, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK
	CHECK e, "virtio_init_driver_ok", "status after initialisation", r8, 15
	movzx r8d, word [r13 + C_NUMQ]
	cmp r8, 1
	CHECK e, "virtio_one_queue", "num_queues", r8, 1

	; --- requests ---
	call get_id
	movzx r8d, byte [STATUS]
	cmp r8, 0
	CHECK e, "virtio_get_id_status", "GET_ID status", r8, 0
	mov r8, [IDBUF]
	mov r9, 'hv-patte'
	cmp r8, r9
	CHECK e, "virtio_get_id_string", "the ID's first 8 bytes", r8, r9
	mov r8d, [USED + 8]
	cmp r8, 21
	CHECK e, "virtio_used_length", "used length of GET_ID (20 bytes and status)", r8, 21

	mov rdi, 8			; block 1: sectors 8-15
	xor esi, esi			; read
	call rw_block
	movzx r8d, byte [STATUS]
	cmp r8, 0
	CHECK e, "virtio_read_status", "read status", r8, 0
	mov r8, [DATA]
	mov r9, 'BLOCK' | (1 << 40)
	cmp r8, r9
	CHECK e, "virtio_read_block_header", "first 8 bytes of block 1", r8, r9
	mov r8d, [DATA + 4000]
	cmp r8, 0x01010101
	CHECK e, "virtio_read_block_body", "bytes of block 1", r8, 0x01010101

	cld
	mov rdi, DATA
	mov eax, 0xaa
	mov ecx, 4096
	rep stosb
	mov rdi, 16			; block 2
	mov esi, 1			; write
	call rw_block
	movzx r8d, byte [STATUS]
	mov rdi, DATA
	xor eax, eax
	mov ecx, 4096
	rep stosb
	mov rdi, 16
	xor esi, esi
	call rw_block
	mov r9d, [DATA + 2048]
	shl r8, 32
	or r8, r9
	mov r9d, 0xaaaaaaaa
	cmp r8, r9
	CHECK e, "virtio_write_reads_back", "write status and a dword read back", r8, r9

	mov rdi, 0x100000		; 512 MiB: past the 64 KiB disk
	xor esi, esi
	call rw_block
	movzx r8d, byte [STATUS]
	movzx r9d, byte [r13 + C_STATUS]
	and r9d, S_NEEDS_RESET
	shl r9, 8
	or r8, r9
	cmp r8, 1
	CHECK e, "virtio_read_past_end_ioerr", "status (IOERR), and NEEDS_RESET << 8", r8, 1

	mov dword [HDR], 99		; no such request type
	call request3
	movzx r8d, byte [STATUS]
	cmp r8, 2
	CHECK e, "virtio_unknown_type_unsupported", "status of request type 99", r8, 2

	; --- MSI-X: vector 1 to vector 0x41 of APIC 0 ---
	mov eax, LAPIC_BASE
	mov dword [rax + 0xf0], 0x1ff	; the local APIC on (SVR)
	mov byte [auto_eoi], 1
	mov dword [r14 + 16], 0xfee00000
	mov dword [r14 + 20], 0
	mov dword [r14 + 24], 0x41
	mov dword [r14 + 28], 0		; unmasked
	mov edi, BLK_DEVFN
	mov esi, 0x40
	call cfg_rd			; MSI-X is the first capability
	or eax, 0x80000000		; enable
	mov edx, eax
	mov edi, BLK_DEVFN
	mov esi, 0x40
	call cfg_wr
	mov word [r13 + C_QSEL], 0
	mov word [r13 + C_QMSIX], 1
	movzx r8d, word [r13 + C_QMSIX]
	cmp r8, 1
	CHECK e, "virtio_queue_vector", "queue_msix_vector read back", r8, 1
	sti
	call get_id
	mov rdi, vec_count + 0x41 * 8
	mov esi, 1
	mov rdx, [tsc_hz]
	call behave_wait
	cli
	mov r8, [vec_count + 0x41 * 8]
	cmp r8, 1
	CHECK e, "virtio_msix_interrupt", "interrupts on vector 0x41 for one request", r8, 1

	; --- INTx: MSI-X off, pin A of slot 1 is GSI 17, level-triggered, vector 0x42 ---
	mov edi, BLK_DEVFN
	mov esi, 0x40
	call cfg_rd
	and eax, 0x7fffffff		; MSI-X off
	mov edx, eax
	mov edi, BLK_DEVFN
	mov esi, 0x40
	call cfg_wr
	; The requests before MSI-X was on raised the pin too (ISR queue bit, never
	; read): acknowledge them first, or the pin fires as soon as it is unmasked.
	movzx eax, byte [r13 + 0x1000]
	mov eax, IOAPIC_BASE
	mov dword [rax], 0x10 + 2 * 17 + 1
	mov dword [rax + 0x10], 0	; destination APIC 0
	mov dword [rax], 0x10 + 2 * 17
	mov dword [rax + 0x10], 0x42 | (1 << 15) | (1 << 13)	; level, active low, unmasked
	lea rax, [intx_hook]
	mov [irq_hook + 0x42 * 8], rax
	sti
	call get_id
	mov rdi, vec_count + 0x42 * 8
	mov esi, 1
	mov rdx, [tsc_hz]
	call behave_wait
	mov rdx, [tsc_hz]
	shr rdx, 4
	call behave_delay		; a level pin left asserted would fire again meanwhile
	cli
	mov r8, [vec_count + 0x42 * 8]
	mov r9, [intx_isr]
	shl r9, 8
	or r8, r9
	cmp r8, 0x101
	CHECK e, "virtio_intx_interrupt", "interrupts on vector 0x42, and ISR << 8 (queue bit)", r8, 0x101
	mov r8, [vec_count + 0x41 * 8]
	cmp r8, 1
	CHECK e, "virtio_no_msi_with_msix_off", "MSIs on vector 0x41 after MSI-X was turned off", r8, 1
	mov eax, IOAPIC_BASE
	mov dword [rax], 0x10 + 2 * 17
	mov dword [rax + 0x10], 0x10000	; masked again

	; --- rings a driver must never build: NEEDS_RESET, then a reset brings it back ---
	mov word [RINGS + 12], 1	; desc 0: NEXT to itself
	mov word [RINGS + 14], 0
	call kick_head0
	call needs_reset
	CHECK nz, "virtio_loop_needs_reset", "a chain that loops did not break the device"
	call get_id_after_break
	CHECK e, "virtio_broken_device_ignores_requests", "a request was answered while broken"
	call reinit
	call get_id
	movzx r8d, byte [STATUS]
	cmp r8, 0
	CHECK e, "virtio_reset_recovers", "GET_ID after the reset", r8, 0

	call build_get_id
	mov qword [RINGS + 16], 0x7fff0000	; the ID buffer outside the guest's 4 MiB
	call kick_head0
	call needs_reset
	CHECK nz, "virtio_buffer_outside_memory_needs_reset", "no NEEDS_RESET"
	call reinit

	call build_get_id
	mov word [AVAIL + 2], 100	; 100 more buffers than were taken, in a queue of 8
	call notify0
	call needs_reset
	CHECK nz, "virtio_avail_idx_jump_needs_reset", "no NEEDS_RESET"
	call reinit

	call build_get_id
	mov word [RINGS + 12], 4	; INDIRECT, not negotiated
	call kick_head0
	call needs_reset
	CHECK nz, "virtio_indirect_not_negotiated_needs_reset", "no NEEDS_RESET"
	call reinit

	call build_get_id
	mov word [RINGS + 16 + 12], 0	; the ID buffer ends the chain, read-only: no status
	call kick_head0
	call needs_reset
	CHECK nz, "virtio_no_status_byte_needs_reset", "no NEEDS_RESET"
	call reinit

	; A ring outside guest memory is refused when the queue is enabled.
	mov byte [r13 + C_STATUS], 0
	mov byte [r13 + C_STATUS], S_ACK | S_DRIVER
	mov dword [r13 + C_GFSEL], 1
	mov dword [r13 + C_GF], 1
	mov byte [r13 + C_STATUS], S_ACK | S_DRIVER | S_FEATURES_OK
	mov word [r13 + C_QSEL], 0
	mov word [r13 + C_QSIZE], QSIZE
	mov dword [r13 + C_QDESC], 0x80000000
	mov dword [r13 + C_QDESC + 4], 0
	mov word [r13 + C_QEN], 1
	movzx r8d, word [r13 + C_QEN]
	call needs_reset
	CHECK nz, "virtio_ring_outside_memory_needs_reset", "no NEEDS_RESET"
	cmp r8, 0
	CHECK e, "virtio_ring_outside_memory_not_enabled", "queue_enable after a bad ring", r8, 0
	call reinit
	call get_id
	movzx r8d, byte [STATUS]
	cmp r8, 0
	CHECK e, "virtio_works_after_every_break", "GET_ID at the end", r8, 0
	jmp behave_done

; ---- helpers ----

; map_pci: 2 MiB pages for the BAR window's first 2 MiB and ECAM (uncached).
map_pci:
	push rax
	push rbx
	push rcx
	mov rax, cr3
	and rax, ~0xfff
	mov rbx, [rax]
	mov rax, 0x000ffffffffff000
	and rbx, rax
	mov rcx, [rbx + 3 * 8]
	and rcx, rax
	mov eax, 0xc0000000 | 0x9b
	mov [rcx + 0x000 * 8], rax
	mov eax, ECAM | 0x9b
	mov [rcx + 0x100 * 8], rax
	mov rax, cr3
	mov cr3, rax
	pop rcx
	pop rbx
	pop rax
	ret

; cfg_rd: EAX = dword at register ESI of bus 0 / devfn EDI (bits 15:8 = bus).
cfg_rd:
	push rdx
	mov eax, edi
	shl eax, 8
	or eax, esi
	or eax, 0x80000000
	mov dx, 0xcf8
	out dx, eax
	mov dx, 0xcfc
	in eax, dx
	pop rdx
	ret

; cfg_wr: the dword EDX to register ESI of devfn EDI.
cfg_wr:
	push rax
	push rdx
	mov eax, edi
	shl eax, 8
	or eax, esi
	or eax, 0x80000000
	mov dx, 0xcf8
	out dx, eax
	pop rax				; the value
	push rax
	mov dx, 0xcfc
	out dx, eax
	pop rdx
	pop rax
	ret

; walk_caps: cap_msix = offset of MSI-X; cap_vendor_types |= 1 << cfg_type.
walk_caps:
	push rax
	push rbx
	push rcx
	push rdi
	push rsi
	mov edi, BLK_DEVFN
	mov esi, 0x34
	call cfg_rd
	movzx ebx, al
	mov ecx, 48			; no list is longer
.l:	test ebx, ebx
	jz .done
	dec ecx
	jz .done
	mov edi, BLK_DEVFN
	mov esi, ebx
	call cfg_rd
	cmp al, 0x11
	jne .v
	mov [cap_msix], rbx
.v:	cmp al, 0x09
	jne .n
	mov edx, eax
	shr edx, 24			; cfg_type
	bts qword [cap_vendor_types], rdx
.n:	movzx ebx, ah
	jmp .l
.done:	pop rsi
	pop rdi
	pop rcx
	pop rbx
	pop rax
	ret

; init_device: reset, then the virtio sequence with VERSION_1 only, queue 0 of QSIZE, DRIVER_OK.
init_device:
	mov byte [r13 + C_STATUS], 0
	mov byte [r13 + C_STATUS], S_ACK
	mov byte [r13 + C_STATUS], S_ACK | S_DRIVER
	mov dword [r13 + C_GFSEL], 0
	mov dword [r13 + C_GF], 0
	mov dword [r13 + C_GFSEL], 1
	mov dword [r13 + C_GF], 1
	mov byte [r13 + C_STATUS], S_ACK | S_DRIVER | S_FEATURES_OK
	cld
	mov rdi, RINGS
	xor eax, eax
	mov ecx, 0x300
	rep stosb
	mov qword [last_used], 0
	mov word [r13 + C_QSEL], 0
	mov word [r13 + C_QSIZE], QSIZE
	mov dword [r13 + C_QDESC], RINGS
	mov dword [r13 + C_QDESC + 4], 0
	mov dword [r13 + C_QAVAIL], AVAIL
	mov dword [r13 + C_QAVAIL + 4], 0
	mov dword [r13 + C_QUSED], USED
	mov dword [r13 + C_QUSED + 4], 0
	mov word [r13 + C_QEN], 1
	mov byte [r13 + C_STATUS], S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK
	ret

reinit:
	call init_device
	ret

; set_desc idx, addr, len, flags, next
%macro SET_DESC 5
	mov rax, %2
	mov [RINGS + 16 * %1], rax
	mov dword [RINGS + 16 * %1 + 8], %3
	mov word [RINGS + 16 * %1 + 12], %4
	mov word [RINGS + 16 * %1 + 14], %5
%endmacro

; build_get_id: descriptors 0-2 for a GET_ID request.
build_get_id:
	mov dword [HDR], 8
	mov dword [HDR + 4], 0
	mov qword [HDR + 8], 0
; desc3: descriptors 0-2: the header, 20 bytes in (IDBUF), the status.
desc3:
	SET_DESC 0, HDR, 16, 1, 1
	SET_DESC 1, IDBUF, 20, 3, 2
	SET_DESC 2, STATUS, 1, 2, 0
	mov byte [STATUS], 0xff
	ret

; request3: the request in HDR through desc3's descriptors, run.
request3:
	call desc3
	call kick_head0
	ret

get_id:
	call build_get_id
	call kick_head0
	ret

; get_id_after_break: ZF=1 when the request was not answered (status untouched, used idx still).
get_id_after_break:
	push rax
	movzx eax, word [USED + 2]
	mov [used_before], rax
	call build_get_id
	call kick_head0
	movzx eax, word [USED + 2]
	cmp rax, [used_before]
	pop rax
	ret

; rw_block: 4 KiB at sector RDI to (ESI = 0: read) or from (1: write) DATA.
rw_block:
	mov [HDR], esi
	mov dword [HDR + 4], 0
	mov [HDR + 8], rdi
	SET_DESC 0, HDR, 16, 1, 1
	test esi, esi
	jnz .w
	SET_DESC 1, DATA, 4096, 3, 2
	jmp .s
.w:	SET_DESC 1, DATA, 4096, 1, 2
.s:	SET_DESC 2, STATUS, 1, 2, 0
	mov byte [STATUS], 0xff
	call kick_head0
	ret

; kick_head0: make head 0 available and notify; the device answers within the exit.
kick_head0:
	push rax
	movzx eax, word [AVAIL + 2]
	and eax, QSIZE - 1
	mov word [AVAIL + 4 + rax * 2], 0
	inc word [AVAIL + 2]
	pop rax
notify0:
	mfence
	mov word [r13 + NOTIFY], 0
	ret

; intx_hook: the interrupt handler reads the ISR, which acknowledges it and drops the pin.
intx_hook:
	movzx eax, byte [r13 + 0x1000]
	mov [intx_isr], rax
	ret

; needs_reset: ZF=0 when the device status has NEEDS_RESET.
needs_reset:
	push rax
	movzx eax, byte [r13 + C_STATUS]
	test eax, S_NEEDS_RESET
	pop rax
	ret

align 8
cap_msix:		dq 0
cap_vendor_types:	dq 0
last_used:		dq 0
used_before:		dq 0
intx_isr:		dq 0

BEHAVE_CODE
