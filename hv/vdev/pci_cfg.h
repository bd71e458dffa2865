/* SPDX-License-Identifier: MIT */
/*
 * One PCI function's configuration space, as the guest sees it: a type 0
 * header, 32-bit memory BARs the guest can size and move, a capability list,
 * and MSI-X (its table and pending bits live here; the bus maps them into a
 * BAR).  Plus the decoding of configuration mechanism #1 and ECAM addresses.
 * Portable and host-tested (tests/hv/vdev/test_pci_cfg.c); the bus
 * (hv/vdev/pci.c) serialises every call on one function.
 *
 * What a guest may change is a write mask per byte: BAR registers take their
 * address bits only (so writing all ones reads back the size), the command
 * register its enable bits, MSI-X its enable and function mask.  The rest is
 * read-only; a field the function lacks reads as zero, a function that is not
 * there as all ones (the bus's business).
 */
#ifndef HV_VDEV_PCI_CFG_H
#define HV_VDEV_PCI_CFG_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_CFG_SIZE		256
#define PCI_NUM_BARS		6
#define PCI_MSIX_MAX		8	/* vectors per function */

/* Header registers used outside this module. */
#define PCI_VENDOR_ID		0x00
#define PCI_COMMAND		0x04
#define PCI_CLASS_REVISION	0x08
#define PCI_BAR0		0x10
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_COMMAND_MEMORY	0x0002
#define PCI_COMMAND_MASTER	0x0004
#define PCI_COMMAND_INTX_OFF	0x0400
#define PCI_CAP_ID_MSIX		0x11
#define PCI_CAP_ID_VNDR		0x09

struct pci_func {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];
	uint8_t reset_cfg[PCI_CFG_SIZE];	/* the power-on image pci_func_reset() restores */
	uint32_t bar_size[PCI_NUM_BARS];	/* 0: no such BAR */
	uint16_t cap_end;			/* where the next capability goes */
	uint8_t cap_last;			/* the last capability's offset (0: none) */

	/* MSI-X: capability at msix_cap (0: none), table and PBA in BAR msix_bar. */
	uint8_t msix_cap, msix_bar;
	unsigned int msix_nvec;
	uint32_t msix_table_off, msix_pba_off;
	uint32_t msix_table[PCI_MSIX_MAX][4];	/* address lo, hi, data, vector control */
	uint64_t msix_pending;
};

/* An MSI as the function would send it. */
struct pci_msi {
	uint64_t addr;
	uint32_t data;
};

/** pci_func_init - a function with these IDs, class code (class << 8 | prog-if) and revision. */
void pci_func_init(struct pci_func *f, uint16_t vendor, uint16_t device, uint32_t class_code,
		   uint8_t revision, uint16_t subsys_vendor, uint16_t subsys);
/** pci_func_add_bar - a 32-bit memory BAR of @size bytes (a power of two, >= 16) at @addr. */
void pci_func_add_bar(struct pci_func *f, unsigned int bar, uint32_t size, uint32_t addr);
/**
 * pci_func_add_cap - @len bytes of capability @id, linked at the end of the
 * list and filled with @body (its bytes after the ID and next pointer; may
 * be NULL); returns its offset, 0 when config space is full.  The body is
 * read-only; pci_func_cap_wmask() opens bytes of it to the guest.
 */
unsigned int pci_func_add_cap(struct pci_func *f, uint8_t id, unsigned int len, const void *body);
void pci_func_cap_wmask(struct pci_func *f, unsigned int off, unsigned int len, uint8_t mask);
/** pci_func_add_msix - @nvec vectors, table at @table_off and PBA at @pba_off of BAR @bar. */
int pci_func_add_msix(struct pci_func *f, unsigned int nvec, unsigned int bar,
		      uint32_t table_off, uint32_t pba_off);
/** pci_func_seal - what the function looks like now is its power-on state. */
void pci_func_seal(struct pci_func *f);
/** pci_func_reset - back to the power-on state: BARs home, MSI-X off and masked. */
void pci_func_reset(struct pci_func *f);

/** pci_cfg_read - @size (1, 2, 4) bytes at @off; beyond 256 or across it: all ones. */
uint32_t pci_cfg_read(const struct pci_func *f, unsigned int off, unsigned int size);
/**
 * pci_cfg_write - a guest write, through the write mask.  Returns the MSI-X
 * vectors whose pending message must be sent now (a write that unmasked
 * them); the caller gets each with pci_msix_take().
 */
uint64_t pci_cfg_write(struct pci_func *f, unsigned int off, unsigned int size, uint32_t val);

/* The BAR's guest-physical address (0 for an absent BAR), and the enable bits. */
uint32_t pci_func_bar_addr(const struct pci_func *f, unsigned int bar);
uint16_t pci_func_command(const struct pci_func *f);

/* MSI-X: is it on, and the table and PBA registers in the BAR (@off from the BAR). */
bool pci_msix_enabled(const struct pci_func *f);
bool pci_msix_in_bar(const struct pci_func *f, unsigned int bar, uint32_t off);
uint32_t pci_msix_read(const struct pci_func *f, uint32_t off, unsigned int size);
uint64_t pci_msix_write(struct pci_func *f, uint32_t off, unsigned int size, uint32_t val);
/**
 * pci_msix_fire - the function signals vector @vec: true with the message
 * in *@msg when it goes out now; false when MSI-X is off or @vec is out of
 * range, or when the vector is masked, in which case it is left pending and
 * goes out when unmasked (pci_cfg_write()/pci_msix_write() return it).
 */
bool pci_msix_fire(struct pci_func *f, unsigned int vec, struct pci_msi *msg);
/** pci_msix_take - the message of pending vector @vec, which a write just unmasked. */
bool pci_msix_take(struct pci_func *f, unsigned int vec, struct pci_msi *msg);

/*
 * Configuration mechanism #1: CONFIG_ADDRESS @addr and an access at
 * CONFIG_DATA + @port_off.  True for an enabled type 0 address with the
 * devfn and register it selects; bus must be 0 and the extended register
 * bits clear (else the access reaches nothing).
 */
bool pci_conf1_decode(uint32_t addr, unsigned int port_off, unsigned int *devfn,
		      unsigned int *reg);
/* ECAM: @off into the bus 0 window; the devfn and the register (0-4095). */
void pci_ecam_decode(uint64_t off, unsigned int *devfn, unsigned int *reg);

#endif
