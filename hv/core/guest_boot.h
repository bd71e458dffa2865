/* SPDX-License-Identifier: MIT */
/*
 * How a guest starts and what its platform looks like: the image loaders
 * (hv/load/guest_load.c, hv/load/linux_boot.c, hv/load/multiboot.c) fill struct guest_boot,
 * hv/vmx/vcpu.c starts vCPU 0 from it.  The addresses and ports below are the
 * guest-visible platform that hv/vdev/lapic.c, hv/vdev/ioapic.c, hv/vdev/platform.c emulate
 * and hv/load/acpi_build.c describes.
 */
#ifndef HV_GUEST_BOOT_H
#define HV_GUEST_BOOT_H

#include <stdbool.h>
#include <stdint.h>

/* Guest physical layout of the emulated platform. */
#define GUEST_ACPI_BASE		0xe0000ULL	/* RSDP first, then the other tables */
#define GUEST_ACPI_SIZE		0x10000ULL
#define GUEST_BIOS_END		0x100000ULL	/* 0xa0000-0xfffff: reserved in the e820 map */
#define GUEST_LOWMEM_END	0x9f000ULL	/* usable low memory (below the EBDA) */
#define GUEST_IOAPIC_BASE	0xfec00000ULL
#define GUEST_LAPIC_BASE	0xfee00000ULL
#define GUEST_IOAPIC_PINS	24

/*
 * PCI, for guests with a virtio device (hv/vdev/pci.c, docs/virtio.md): bus 0
 * through configuration mechanism #1 and ECAM, BARs in a 32-bit window below
 * ECAM.  INTx of slot s, pin p (0 = INTA) is wired to GSI 16 + (s + p) % 8.
 */
#define GUEST_PCI_MMIO_BASE	0xc0000000ULL
#define GUEST_PCI_MMIO_SIZE	0x20000000ULL
#define GUEST_PCI_ECAM_BASE	0xe0000000ULL	/* bus 0: 32 devices x 8 functions x 4 KiB */
#define GUEST_PCI_ECAM_SIZE	0x100000ULL
#define GUEST_PCI_GSI_BASE	16
#define GUEST_PCI_GSI_COUNT	8
#define PORT_PCI_ADDRESS	0xcf8		/* CONFIG_ADDRESS, 32-bit accesses */
#define PORT_PCI_DATA		0xcfc		/* CONFIG_DATA, 0xcfc-0xcff */

/*
 * Guest RAM: [0, memory) up to 3 GiB.  A larger guest has [0, 3 GiB) and the
 * rest from 4 GiB up, as QEMU's q35 machine: the hole below 4 GiB holds the
 * PCI window, ECAM, the I/O APIC and the local APIC.  The memslot covers
 * [0, guest_ram_top()); the hole's gfns are never populated (no EPT region).
 */
#define GUEST_LOW_RAM_MAX	GUEST_PCI_MMIO_BASE
#define GUEST_HIGH_RAM_BASE	0x100000000ULL

static inline uint64_t guest_low_ram_end(uint64_t memory)
{
	return memory < GUEST_LOW_RAM_MAX ? memory : GUEST_LOW_RAM_MAX;
}

/* The end of the highest RAM: memory itself, or memory + the 1 GiB hole. */
static inline uint64_t guest_ram_top(uint64_t memory)
{
	return memory <= GUEST_LOW_RAM_MAX ? memory
					   : memory - GUEST_LOW_RAM_MAX + GUEST_HIGH_RAM_BASE;
}

/* Is [@gpa, @gpa + @len) guest RAM (@len > 0), all of it in one of the two ranges? */
static inline bool guest_range_is_ram(uint64_t memory, uint64_t gpa, uint64_t len)
{
	uint64_t end = gpa + len;

	if (!len || end < gpa)
		return false;
	if (end <= guest_low_ram_end(memory))
		return true;
	return gpa >= GUEST_HIGH_RAM_BASE && end <= guest_ram_top(memory);
}

static inline bool guest_gpa_is_ram(uint64_t memory, uint64_t gpa)
{
	return guest_range_is_ram(memory, gpa, 1);
}

static inline unsigned int guest_pci_gsi(unsigned int slot, unsigned int pin)
{
	return GUEST_PCI_GSI_BASE + (slot + pin) % GUEST_PCI_GSI_COUNT;
}

/* Ports of the fixed ACPI hardware and the reset paths. */
#define PORT_PM1A_EVT		0x600		/* 4 bytes: status, enable */
#define PORT_PM1A_CNT		0x604		/* 2 bytes: SLP_TYP, SLP_EN, SCI_EN */
#define PORT_RESET		0xcf9		/* FADT reset register; value 0x06 */
#define ACPI_RESET_VALUE	0x06
#define ACPI_S5_SLP_TYP		5		/* \_S5_ in the DSDT */
#define ACPI_SCI_IRQ		9

/* The APIC timer's input clock, reported in CPUID leaf 0x15 as the crystal. */
#define GUEST_CRYSTAL_HZ	25000000ULL

struct boot_seg {
	uint16_t sel;
	uint64_t base;
	uint32_t limit, ar;		/* ar in the VMCS access-rights format */
};

/*
 * vCPU 0's start state when set; else cfg.mode decides it for every vCPU,
 * with cr3 and gdt_base from here: where the loader put its tables.
 */
struct guest_boot {
	bool set;			/* a loader chose the state below; else cfg.mode decides */
	bool aps_wait_sipi;		/* vCPUs 1.. wait for INIT/SIPI from vCPU 0 */
	uint64_t cr0, cr3, cr4, efer;
	struct boot_seg cs, ds;		/* ds is loaded into DS, ES, SS, FS, GS */
	uint64_t gdt_base, gdt_limit;
	uint64_t rip, rsp;
	uint64_t rax, rbx, rdx, rsi, rdi;
};

#endif
