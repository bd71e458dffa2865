/* SPDX-License-Identifier: MIT */
/*
 * Which device owns a port or a guest-physical range (Xen's
 * register_portio_handler(), Jailhouse's mmio_region_register()).  Devices
 * register their ranges when they attach to a guest; the exit path asks
 * this table and names no device.  A port or address nobody registered
 * reaches nothing: reads float high, writes vanish (for addresses, unless
 * the guest's `unassigned = stop` makes them stop it).
 */
#ifndef HV_CORE_IO_H
#define HV_CORE_IO_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct vm;

#define VM_PIO_MAX	16
#define VM_MMIO_MAX	8

/* One port access of @size bytes (1, 2 or 4); *@val in for writes, out for reads. */
typedef void (*pio_fn)(struct vcpu *v, uint16_t port, bool in, unsigned int size, uint32_t *val);

struct pio_range {
	uint16_t base, len;
	pio_fn fn;
};

struct mmio_ops {
	/* Does the range answer this vCPU now (the xAPIC page in xAPIC mode)?  NULL: always. */
	bool (*live)(struct vcpu *v);
	/* Where it is for this vCPU now (IA32_APIC_BASE moves the xAPIC page); NULL: its base. */
	uint64_t (*base)(struct vcpu *v);
	/*
	 * @off from the range's base.  Without @sized or @any_size, registers
	 * are 32 bits at 4-byte alignment: every call is a 4-byte access at a
	 * multiple of 4.  With @sized (PCI config space and BARs), calls are 1,
	 * 2 or 4 bytes at their natural alignment, as the guest made them (an
	 * aligned 8-byte access comes as two 4-byte calls, low half first).
	 * With @any_size, every access as it is: 1, 2, 4 or 8 bytes, any
	 * alignment (unassigned memory).
	 */
	uint64_t (*read)(struct vcpu *v, uint64_t off, unsigned int size);
	void (*write)(struct vcpu *v, uint64_t off, unsigned int size, uint64_t val);
	bool sized;
	bool any_size;
};

struct mmio_range {
	uint64_t base, len;
	const struct mmio_ops *ops;
};

/* Filled by the devices in vm_create(); read-only while the guest runs. */
struct vm_io {
	unsigned int npio, nmmio;
	struct pio_range pio[VM_PIO_MAX];
	struct mmio_range mmio[VM_MMIO_MAX];
};

/* Register a range for @vm; -1 when the table is full or the range overlaps another. */
int vm_register_pio(struct vm *vm, uint16_t base, uint16_t len, pio_fn fn);
int vm_register_mmio(struct vm *vm, uint64_t base, uint64_t len, const struct mmio_ops *ops);

/* The range holding @port or @gpa, live for @v; NULL: nothing there. */
const struct pio_range *vm_find_pio(const struct vm *vm, uint16_t port);
const struct mmio_range *vm_find_mmio(struct vcpu *v, uint64_t gpa);
/* Where range @r starts for @v. */
uint64_t vm_mmio_base(struct vcpu *v, const struct mmio_range *r);

/*
 * All of guest-physical space, for addresses that are neither RAM nor a
 * device: reads all ones, writes dropped, as a PCI master abort; each
 * access counted in unknown_mmio, the first of a start logged.
 */
extern const struct mmio_range vm_unassigned_mmio;

/*
 * One port access through the table, as the guest's IN or OUT would make
 * it; an unclaimed port reads all ones and is counted in unknown_ports.
 */
void vm_port_access(struct vcpu *v, uint16_t port, bool in, unsigned int size, uint32_t *val);

#endif
