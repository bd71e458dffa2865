/* SPDX-License-Identifier: MIT */
/*
 * A guest's PCI bus 0 (vm->pci), present when the guest has a virtio device:
 * a host bridge at 00:00.0, configuration mechanism #1 at 0xcf8/0xcfc and
 * ECAM at GUEST_PCI_ECAM_BASE (hv/core/guest_boot.h), and one function per
 * device in slots 1 and up.  The hypervisor places every BAR in the window
 * at power-on, slot s at GUEST_PCI_MMIO_BASE + s * 64 KiB; the guest may
 * size and move them within the window (docs/virtio.md).
 *
 * Devices add their function from their unit's vm_create hook (units run
 * after "pci" in name order) and get BAR accesses through their ops, outside
 * the bus lock.  Interrupts: MSI-X to the local APICs, or INTx pin A on
 * GSI guest_pci_gsi(slot, 0) of the I/O APIC.
 */
#ifndef HV_VDEV_PCI_H
#define HV_VDEV_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/vdev/pci_cfg.h"

struct vm;
struct vpci_fn;

#define PCI_SLOTS_MAX		8	/* the host bridge and up to 7 devices */
#define PCI_SLOT_WINDOW		0x10000	/* BAR space per slot */

struct vpci_ops {
	/* A BAR access (1, 2 or 4 bytes at natural alignment, @off from the BAR). */
	uint32_t (*bar_read)(struct vpci_fn *fn, unsigned int bar, uint32_t off, unsigned int size);
	void (*bar_write)(struct vpci_fn *fn, unsigned int bar, uint32_t off, unsigned int size,
			  uint32_t val);
	/*
	 * Config space bytes [cfg_hook, cfg_hook + cfg_hook_len) belong to the
	 * device (virtio's PCI configuration access window): reads and writes
	 * there come here after the bus has applied them to the config image.
	 */
	uint32_t (*cfg_read)(struct vpci_fn *fn, unsigned int off, unsigned int size);
	void (*cfg_write)(struct vpci_fn *fn, unsigned int off, unsigned int size, uint32_t val);
};

struct vpci_fn {
	/* The config space and MSI-X state: under the bus lock. */
	struct pci_func cfg;
	const struct vpci_ops *ops;
	void *priv;
	struct vm *vm;
	unsigned int slot;
	const char *kind;		/* "virtio-blk", ... for `pci NAME` */
	char detail[48];		/* the disk's file, the network's name */
	unsigned int cfg_hook, cfg_hook_len;
	bool intx;			/* the device's INTx level */
	bool intx_asserted;		/* what the I/O APIC pin was last told; under the bus lock */
	uint64_t msi_sent, msi_bad, intx_raised;
};

/**
 * pci_add_function - a function in the next free slot of @vm's bus, its
 * config space initialised (IDs, class, revision, subsystem) for the device
 * to add BARs and capabilities to before pci_function_ready().  NULL when
 * the bus is full or the guest has no PCI (config_has_pci()).
 */
struct vpci_fn *pci_add_function(struct vm *vm, const char *kind, uint16_t vendor,
				 uint16_t device, uint32_t class_code, uint8_t revision,
				 uint16_t subsys_vendor, uint16_t subsys);
/** pci_bar_base - where slot @slot's BARs go at power-on (a 64 KiB piece of the window). */
uint32_t pci_bar_base(unsigned int slot);
/** pci_function_ready - the function's current config space is its power-on state. */
void pci_function_ready(struct vpci_fn *fn);

/** pci_signal - the device signals MSI-X vector @vec (0xffff: none); pending if masked. */
void pci_signal(struct vpci_fn *fn, unsigned int vec);
/** pci_set_intx - the device's INTx level (pin A), used while MSI-X is off. */
void pci_set_intx(struct vpci_fn *fn, bool level);
/** pci_msix_on - is MSI-X enabled (else the device interrupts through INTx)? */
bool pci_msix_on(struct vpci_fn *fn);
/** pci_bus_master - may the function read and write guest memory? */
bool pci_bus_master(struct vpci_fn *fn);

/* For the shell: @vm's functions, slot order; NULL past the last. */
struct vpci_fn *pci_function(struct vm *vm, unsigned int slot);
/* @size bytes of @fn's config space at @off, as the guest would read them. */
uint32_t pci_config_get(struct vpci_fn *fn, unsigned int off, unsigned int size);
/* A consistent copy of @fn's config space and MSI-X state. */
void pci_snapshot(struct vpci_fn *fn, struct pci_func *out);

#endif
