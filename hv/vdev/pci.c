/* SPDX-License-Identifier: MIT */
/*
 * A guest's PCI bus 0 (see hv/vdev/pci.h): configuration mechanism #1 and
 * ECAM onto each function's config space (hv/vdev/pci_cfg.c), the BAR
 * window onto the functions' BARs and MSI-X tables, and interrupts to the
 * local APICs (MSI-X) or the I/O APIC (INTx).
 */
#include "hv/core/config.h"
#include "hv/core/guest_boot.h"
#include "hv/core/unit.h"
#include "hv/core/vm.h"
#include "hv/vdev/ioapic.h"
#include "hv/vdev/lapic.h"
#include "hv/vdev/pci.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "smp/lockdep.h"

#define PCI_STATUS_INTX		0x08	/* in the status register's low byte (offset 6) */
#define MSI_ADDR_BASE		0xfee
#define MSI_MODE_MASK		0x700	/* data bits 10:8: fixed 0x000, lowest priority 0x100 */

/* Red Hat's generic host bridge ID (QEMU's gpex): no Linux quirk or chipset probe matches it. */
#define HOST_VENDOR		0x1b36
#define HOST_DEVICE		0x0008
#define CLASS_HOST_BRIDGE	0x060000

struct vpci {
	/*
	 * CONFIG_ADDRESS, every function's config space, MSI-X state and INTx
	 * line.  Devices signal with their own lock held, so it nests inside
	 * theirs; the I/O APIC's lock nests inside it.  Device callbacks run
	 * without it.
	 */
	spinlock_t lock;
	uint32_t address;
	unsigned int nfn;
	struct vpci_fn fns[PCI_SLOTS_MAX];
	uint64_t absent_accesses;	/* config accesses that reached no function */
};

static struct vpci buses[VM_MAX];

static uint32_t ones(unsigned int size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

uint32_t pci_bar_base(unsigned int slot)
{
	return (uint32_t)GUEST_PCI_MMIO_BASE + slot * PCI_SLOT_WINDOW;
}

struct vpci_fn *pci_function(struct vm *vm, unsigned int slot)
{
	struct vpci *bus = vm->pci;

	return bus && slot < bus->nfn ? &bus->fns[slot] : NULL;
}

/* ---- interrupts ---- */

/* Send what the function's MSI-X entry holds; the bus lock is held. */
static void send_msi(struct vpci_fn *fn, const struct pci_msi *m)
{
	uint32_t mode = m->data & MSI_MODE_MASK;

	lockdep_assert_held(&fn->vm->pci->lock);
	/* Only the local APICs answer MSIs, and only fixed or lowest-priority ones. */
	if ((m->addr >> 20) != MSI_ADDR_BASE || (mode != 0x000 && mode != 0x100)) {
		fn->msi_bad++;
		return;
	}
	lapic_deliver(fn->vm, (uint32_t)(m->addr >> 12) & 0xff, m->addr & 4, mode,
		      (uint8_t)m->data, false);
	fn->msi_sent++;
}

/* Send the vectors a write just unmasked; the bus lock is held. */
static void send_unmasked(struct vpci_fn *fn, uint64_t vecs)
{
	struct pci_msi m;

	for (unsigned int v = 0; vecs; v++, vecs >>= 1)
		if ((vecs & 1) && pci_msix_take(&fn->cfg, v, &m))
			send_msi(fn, &m);
}

/* Drive the slot's I/O APIC pin from the device's INTx level; the bus lock is held. */
static void update_intx(struct vpci_fn *fn)
{
	struct pci_func *f = &fn->cfg;
	bool want = fn->intx && !(pci_func_command(f) & PCI_COMMAND_INTX_OFF) &&
		    !pci_msix_enabled(f);

	f->cfg[6] = (uint8_t)((f->cfg[6] & ~PCI_STATUS_INTX) | (fn->intx ? PCI_STATUS_INTX : 0));
	if (want == fn->intx_asserted || !fn->slot)
		return;
	fn->intx_asserted = want;
	fn->intx_raised += want;
	ioapic_set_irq(fn->vm, guest_pci_gsi(fn->slot, 0), want);
}

void pci_signal(struct vpci_fn *fn, unsigned int vec)
{
	struct vpci *bus = fn->vm->pci;
	struct pci_msi m;

	if (vec >= PCI_MSIX_MAX)
		return;
	spin_lock(&bus->lock);
	if (pci_msix_fire(&fn->cfg, vec, &m))
		send_msi(fn, &m);
	spin_unlock(&bus->lock);
}

void pci_set_intx(struct vpci_fn *fn, bool level)
{
	struct vpci *bus = fn->vm->pci;

	spin_lock(&bus->lock);
	fn->intx = level;
	update_intx(fn);
	spin_unlock(&bus->lock);
}

bool pci_msix_on(struct vpci_fn *fn)
{
	struct vpci *bus = fn->vm->pci;
	bool on;

	spin_lock(&bus->lock);
	on = pci_msix_enabled(&fn->cfg);
	spin_unlock(&bus->lock);
	return on;
}

bool pci_bus_master(struct vpci_fn *fn)
{
	return READ_ONCE(fn->cfg.cfg[PCI_COMMAND]) & PCI_COMMAND_MASTER;
}

uint32_t pci_config_get(struct vpci_fn *fn, unsigned int off, unsigned int size)
{
	struct vpci *bus = fn->vm->pci;
	uint32_t v;

	spin_lock(&bus->lock);
	v = pci_cfg_read(&fn->cfg, off, size);
	spin_unlock(&bus->lock);
	return v;
}

void pci_snapshot(struct vpci_fn *fn, struct pci_func *out)
{
	struct vpci *bus = fn->vm->pci;

	spin_lock(&bus->lock);
	*out = fn->cfg;
	spin_unlock(&bus->lock);
}

/* ---- configuration space ---- */

static bool hooked(const struct vpci_fn *fn, unsigned int reg, unsigned int size)
{
	return fn->cfg_hook_len && reg < fn->cfg_hook + fn->cfg_hook_len &&
	       reg + size > fn->cfg_hook;
}

/* One access to bus 0's @devfn, register @reg (0-4095), from configuration mechanism #1 or ECAM. */
static void cfg_access(struct vm *vm, unsigned int devfn, unsigned int reg, unsigned int size,
		       bool in, uint32_t *val)
{
	struct vpci *bus = vm->pci;
	struct vpci_fn *fn = (devfn & 7) ? NULL : pci_function(vm, devfn >> 3);

	/* No function, or the extended space a conventional function lacks: all ones. */
	if (!fn || reg >= PCI_CFG_SIZE || size > PCI_CFG_SIZE - reg) {
		if (in)
			*val = ones(size);
		if (!fn)
			__atomic_fetch_add(&bus->absent_accesses, 1, __ATOMIC_RELAXED);
		return;
	}
	spin_lock(&bus->lock);
	if (in) {
		*val = pci_cfg_read(&fn->cfg, reg, size);
	} else {
		send_unmasked(fn, pci_cfg_write(&fn->cfg, reg, size, *val));
		update_intx(fn);
	}
	spin_unlock(&bus->lock);
	if (fn->ops && hooked(fn, reg, size)) {
		if (in && fn->ops->cfg_read)
			*val = fn->ops->cfg_read(fn, reg, size);
		else if (!in && fn->ops->cfg_write)
			fn->ops->cfg_write(fn, reg, size, *val);
	}
}

static void conf1_io(struct vcpu *v, uint16_t port, bool in, unsigned int size, uint32_t *val)
{
	struct vpci *bus = v->vm->pci;
	unsigned int devfn, reg;
	uint32_t addr;

	if (port == PORT_PCI_ADDRESS) {
		/* Only dword accesses reach CONFIG_ADDRESS; bits 1:0 read as zero. */
		spin_lock(&bus->lock);
		if (size != 4) {
			if (in)
				*val = ones(size);
		} else if (in) {
			*val = bus->address;
		} else {
			bus->address = *val & ~3u;
		}
		spin_unlock(&bus->lock);
		return;
	}
	addr = READ_ONCE(bus->address);
	if (!pci_conf1_decode(addr, port - PORT_PCI_DATA, &devfn, &reg)) {
		if (in)
			*val = ones(size);
		return;
	}
	cfg_access(v->vm, devfn, reg, size, in, val);
}

static uint64_t ecam_read(struct vcpu *v, uint64_t off, unsigned int size)
{
	unsigned int devfn, reg;
	uint32_t val;

	pci_ecam_decode(off, &devfn, &reg);
	cfg_access(v->vm, devfn, reg, size, true, &val);
	return val;
}

static void ecam_write(struct vcpu *v, uint64_t off, unsigned int size, uint64_t val)
{
	unsigned int devfn, reg;
	uint32_t v32 = (uint32_t)val;

	pci_ecam_decode(off, &devfn, &reg);
	cfg_access(v->vm, devfn, reg, size, false, &v32);
}

static const struct mmio_ops ecam_ops = {
	.read = ecam_read,
	.write = ecam_write,
	.sized = true,
};

/* ---- the BAR window ---- */

/* The function and BAR decoding @gpa (memory decoding on); the bus lock is held. */
static struct vpci_fn *find_bar(struct vpci *bus, uint64_t gpa, unsigned int *bar, uint32_t *off)
{
	lockdep_assert_held(&bus->lock);
	for (unsigned int s = 0; s < bus->nfn; s++) {
		struct vpci_fn *fn = &bus->fns[s];

		if (!(pci_func_command(&fn->cfg) & PCI_COMMAND_MEMORY))
			continue;
		for (unsigned int b = 0; b < PCI_NUM_BARS; b++) {
			uint32_t size = fn->cfg.bar_size[b], base = pci_func_bar_addr(&fn->cfg, b);

			if (size && gpa >= base && gpa - base < size) {
				*bar = b;
				*off = (uint32_t)(gpa - base);
				return fn;
			}
		}
	}
	return NULL;
}

static uint64_t window_read(struct vcpu *v, uint64_t off, unsigned int size)
{
	struct vpci *bus = v->vm->pci;
	struct vpci_fn *fn;
	unsigned int bar;
	uint32_t boff, val;

	spin_lock(&bus->lock);
	fn = find_bar(bus, GUEST_PCI_MMIO_BASE + off, &bar, &boff);
	if (fn && pci_msix_in_bar(&fn->cfg, bar, boff)) {
		val = pci_msix_read(&fn->cfg, boff, size);
		spin_unlock(&bus->lock);
		return val;
	}
	spin_unlock(&bus->lock);
	/* Nothing decodes the address: the bus floats high. */
	return fn && fn->ops && fn->ops->bar_read ? fn->ops->bar_read(fn, bar, boff, size) :
	       ones(size);
}

static void window_write(struct vcpu *v, uint64_t off, unsigned int size, uint64_t val)
{
	struct vpci *bus = v->vm->pci;
	struct vpci_fn *fn;
	unsigned int bar;
	uint32_t boff;

	spin_lock(&bus->lock);
	fn = find_bar(bus, GUEST_PCI_MMIO_BASE + off, &bar, &boff);
	if (fn && pci_msix_in_bar(&fn->cfg, bar, boff)) {
		send_unmasked(fn, pci_msix_write(&fn->cfg, boff, size, (uint32_t)val));
		spin_unlock(&bus->lock);
		return;
	}
	spin_unlock(&bus->lock);
	if (fn && fn->ops && fn->ops->bar_write)
		fn->ops->bar_write(fn, bar, boff, size, (uint32_t)val);
}

static const struct mmio_ops window_ops = {
	.read = window_read,
	.write = window_write,
	.sized = true,
};

/* ---- functions ---- */

struct vpci_fn *pci_add_function(struct vm *vm, const char *kind, uint16_t vendor,
				 uint16_t device, uint32_t class_code, uint8_t revision,
				 uint16_t subsys_vendor, uint16_t subsys)
{
	struct vpci *bus = vm->pci;
	struct vpci_fn *fn;

	if (!bus || bus->nfn == PCI_SLOTS_MAX)
		return NULL;
	fn = &bus->fns[bus->nfn];
	memset(fn, 0, sizeof(*fn));
	fn->vm = vm;
	fn->slot = bus->nfn++;
	fn->kind = kind;
	pci_func_init(&fn->cfg, vendor, device, class_code, revision, subsys_vendor, subsys);
	if (fn->slot) {
		/* INTA, and the line firmware would write: the GSI it is wired to. */
		fn->cfg.cfg[PCI_INTERRUPT_LINE] = (uint8_t)guest_pci_gsi(fn->slot, 0);
		fn->cfg.cfg[PCI_INTERRUPT_LINE + 1] = 1;
	}
	return fn;
}

void pci_function_ready(struct vpci_fn *fn)
{
	pci_func_seal(&fn->cfg);
}

static int pci_attach(struct vm *vm)
{
	struct vpci *bus = &buses[vm->id];
	struct vpci_fn *host;

	vm->pci = NULL;
	if (!config_has_pci(&vm->cfg))
		return 0;
	/* RAM beyond 3 GiB goes above 4 GiB: the window is never RAM (hv/core/guest_boot.h). */
	BUILD_BUG_ON(GUEST_LOW_RAM_MAX > GUEST_PCI_MMIO_BASE);
	memset(bus, 0, sizeof(*bus));
	spin_lock_init_order(&bus->lock, LOCK_ORDER_PCI);
	vm->pci = bus;
	host = pci_add_function(vm, "host bridge", HOST_VENDOR, HOST_DEVICE, CLASS_HOST_BRIDGE, 0,
				HOST_VENDOR, 0x1100);
	pci_function_ready(host);
	return vm_register_pio(vm, PORT_PCI_ADDRESS, 1, conf1_io) ||
	       vm_register_pio(vm, PORT_PCI_DATA, 4, conf1_io) ||
	       vm_register_mmio(vm, GUEST_PCI_ECAM_BASE, GUEST_PCI_ECAM_SIZE, &ecam_ops) ||
	       vm_register_mmio(vm, GUEST_PCI_MMIO_BASE, GUEST_PCI_MMIO_SIZE, &window_ops) ? -1 : 0;
}

static void pci_reset(struct vm *vm)
{
	struct vpci *bus = vm->pci;

	if (!bus)
		return;
	spin_lock(&bus->lock);
	bus->address = 0;
	bus->absent_accesses = 0;
	for (unsigned int s = 0; s < bus->nfn; s++) {
		struct vpci_fn *fn = &bus->fns[s];

		pci_func_reset(&fn->cfg);
		fn->intx = false;
		update_intx(fn);
		fn->msi_sent = fn->msi_bad = fn->intx_raised = 0;
	}
	spin_unlock(&bus->lock);
}

DEFINE_VDEV_UNIT(pci, .vm_create = pci_attach, .vm_reset = pci_reset);
