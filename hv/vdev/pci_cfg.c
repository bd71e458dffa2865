/* SPDX-License-Identifier: MIT */
/* One PCI function's configuration space and MSI-X; the rules are in hv/vdev/pci_cfg.h. */
#include "hv/vdev/pci_cfg.h"
#include "lib/string.h"

#define PCI_STATUS		0x06
#define PCI_STATUS_CAP_LIST	0x10
#define PCI_CACHE_LINE_SIZE	0x0c
#define PCI_SUBSYSTEM_VENDOR	0x2c
#define PCI_CAPABILITY_LIST	0x34
#define PCI_CAP_START		0x40

/* MSI-X capability: message control, then table and PBA (offset | BIR). */
#define MSIX_CTRL		2
#define MSIX_CTRL_MASKALL	0x4000
#define MSIX_CTRL_ENABLE	0x8000
#define MSIX_ENTRY_MASKED	1u

static void put(uint8_t *p, unsigned int size, uint32_t v)
{
	for (unsigned int i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get(const uint8_t *p, unsigned int size)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

void pci_func_init(struct pci_func *f, uint16_t vendor, uint16_t device, uint32_t class_code,
		   uint8_t revision, uint16_t subsys_vendor, uint16_t subsys)
{
	memset(f, 0, sizeof(*f));
	put(f->cfg + PCI_VENDOR_ID, 2, vendor);
	put(f->cfg + PCI_VENDOR_ID + 2, 2, device);
	f->cfg[PCI_CLASS_REVISION] = revision;
	put(f->cfg + PCI_CLASS_REVISION + 1, 3, class_code);
	put(f->cfg + PCI_SUBSYSTEM_VENDOR, 2, subsys_vendor);
	put(f->cfg + PCI_SUBSYSTEM_VENDOR + 2, 2, subsys);
	/* I/O, memory, bus master, INTx disable; cache line size; interrupt line. */
	put(f->wmask + PCI_COMMAND, 2, 0x0407);
	f->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	f->wmask[PCI_INTERRUPT_LINE] = 0xff;
	f->cap_end = PCI_CAP_START;
}

void pci_func_add_bar(struct pci_func *f, unsigned int bar, uint32_t size, uint32_t addr)
{
	unsigned int reg = PCI_BAR0 + 4 * bar;

	if (bar >= PCI_NUM_BARS || size < 16 || (size & (size - 1)))
		return;
	f->bar_size[bar] = size;
	/* Memory, 32-bit, not prefetchable: the low four bits read as zero. */
	put(f->cfg + reg, 4, addr & ~(size - 1));
	put(f->wmask + reg, 4, ~(size - 1) & ~0xfu);
}

unsigned int pci_func_add_cap(struct pci_func *f, uint8_t id, unsigned int len, const void *body)
{
	unsigned int off = f->cap_end;

	if (len < 2 || off + len > PCI_CFG_SIZE)
		return 0;
	f->cfg[off] = id;
	f->cfg[off + 1] = 0;
	if (body)
		memcpy(f->cfg + off + 2, body, len - 2);
	if (f->cap_last)
		f->cfg[f->cap_last + 1] = (uint8_t)off;
	else
		f->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	f->cap_last = (uint8_t)off;
	f->cap_end = (uint16_t)((off + len + 3) & ~3u);
	return off;
}

void pci_func_cap_wmask(struct pci_func *f, unsigned int off, unsigned int len, uint8_t mask)
{
	for (unsigned int i = 0; i < len && off + i < PCI_CFG_SIZE; i++)
		f->wmask[off + i] = mask;
}

int pci_func_add_msix(struct pci_func *f, unsigned int nvec, unsigned int bar,
		      uint32_t table_off, uint32_t pba_off)
{
	uint8_t body[10];
	unsigned int off;

	if (!nvec || nvec > PCI_MSIX_MAX || bar >= PCI_NUM_BARS || (table_off | pba_off) & 7)
		return -1;
	put(body, 2, nvec - 1);
	put(body + 2, 4, table_off | bar);
	put(body + 6, 4, pba_off | bar);
	off = pci_func_add_cap(f, PCI_CAP_ID_MSIX, 12, body);
	if (!off)
		return -1;
	f->wmask[off + MSIX_CTRL + 1] = (MSIX_CTRL_MASKALL | MSIX_CTRL_ENABLE) >> 8;
	f->msix_cap = (uint8_t)off;
	f->msix_bar = (uint8_t)bar;
	f->msix_nvec = nvec;
	f->msix_table_off = table_off;
	f->msix_pba_off = pba_off;
	return 0;
}

static void msix_reset(struct pci_func *f)
{
	memset(f->msix_table, 0, sizeof(f->msix_table));
	for (unsigned int v = 0; v < PCI_MSIX_MAX; v++)
		f->msix_table[v][3] = MSIX_ENTRY_MASKED;
	f->msix_pending = 0;
}

void pci_func_seal(struct pci_func *f)
{
	memcpy(f->reset_cfg, f->cfg, PCI_CFG_SIZE);
	msix_reset(f);
}

void pci_func_reset(struct pci_func *f)
{
	memcpy(f->cfg, f->reset_cfg, PCI_CFG_SIZE);
	msix_reset(f);
}

uint32_t pci_cfg_read(const struct pci_func *f, unsigned int off, unsigned int size)
{
	if (off >= PCI_CFG_SIZE || size > PCI_CFG_SIZE - off)
		return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	return get(f->cfg + off, size);
}

static uint16_t msix_ctrl(const struct pci_func *f)
{
	return f->msix_cap ? (uint16_t)get(f->cfg + f->msix_cap + MSIX_CTRL, 2) : 0;
}

bool pci_msix_enabled(const struct pci_func *f)
{
	return msix_ctrl(f) & MSIX_CTRL_ENABLE;
}

/* Enabled and not masked as a whole: entries unmasked may send. */
static bool msix_live(const struct pci_func *f)
{
	return (msix_ctrl(f) & (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL)) == MSIX_CTRL_ENABLE;
}

/* Pending vectors that may go out now. */
static uint64_t msix_deliverable(const struct pci_func *f)
{
	uint64_t out = 0;

	if (!msix_live(f))
		return 0;
	for (unsigned int v = 0; v < f->msix_nvec; v++)
		if ((f->msix_pending >> v & 1) && !(f->msix_table[v][3] & MSIX_ENTRY_MASKED))
			out |= 1ull << v;
	return out;
}

uint64_t pci_cfg_write(struct pci_func *f, unsigned int off, unsigned int size, uint32_t val)
{
	if (off >= PCI_CFG_SIZE || size > PCI_CFG_SIZE - off)
		return 0;
	for (unsigned int i = 0; i < size; i++) {
		uint8_t m = f->wmask[off + i];

		f->cfg[off + i] = (uint8_t)((f->cfg[off + i] & ~m) | ((val >> (8 * i)) & m));
	}
	return msix_deliverable(f);
}

uint32_t pci_func_bar_addr(const struct pci_func *f, unsigned int bar)
{
	if (bar >= PCI_NUM_BARS || !f->bar_size[bar])
		return 0;
	return get(f->cfg + PCI_BAR0 + 4 * bar, 4) & ~0xfu;
}

uint16_t pci_func_command(const struct pci_func *f)
{
	return (uint16_t)get(f->cfg + PCI_COMMAND, 2);
}

static uint32_t pba_len(const struct pci_func *f)
{
	return 8 * ((f->msix_nvec + 63) / 64);
}

bool pci_msix_in_bar(const struct pci_func *f, unsigned int bar, uint32_t off)
{
	if (!f->msix_cap || bar != f->msix_bar)
		return false;
	return (off >= f->msix_table_off && off - f->msix_table_off < 16 * f->msix_nvec) ||
	       (off >= f->msix_pba_off && off - f->msix_pba_off < pba_len(f));
}

/* The dword of table or PBA holding @off; NULL outside both. */
static uint32_t msix_dword(const struct pci_func *f, uint32_t off, bool *pba)
{
	*pba = false;
	if (off >= f->msix_table_off && off - f->msix_table_off < 16 * f->msix_nvec) {
		uint32_t i = (off - f->msix_table_off) / 4;

		return f->msix_table[i / 4][i % 4];
	}
	if (off >= f->msix_pba_off && off - f->msix_pba_off < pba_len(f)) {
		*pba = true;
		return (uint32_t)(f->msix_pending >> (8 * ((off - f->msix_pba_off) & ~3u)));
	}
	return 0;
}

uint32_t pci_msix_read(const struct pci_func *f, uint32_t off, unsigned int size)
{
	bool pba;
	uint32_t v = msix_dword(f, off & ~3u, &pba);

	v >>= 8 * (off & 3);
	return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

uint64_t pci_msix_write(struct pci_func *f, uint32_t off, unsigned int size, uint32_t val)
{
	uint32_t i, *reg, mask, shift = 8 * (off & 3);

	if (!(off >= f->msix_table_off && off - f->msix_table_off < 16 * f->msix_nvec))
		return 0;			/* the PBA is read-only */
	i = (off - f->msix_table_off) / 4;
	reg = &f->msix_table[i / 4][i % 4];
	mask = (size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1) << shift;
	/* Address bits 1:0 and vector control bits 31:1 are reserved. */
	if (i % 4 == 0)
		mask &= ~3u;
	else if (i % 4 == 3)
		mask &= MSIX_ENTRY_MASKED;
	*reg = (*reg & ~mask) | ((val << shift) & mask);
	return msix_deliverable(f);
}

static void msix_message(const struct pci_func *f, unsigned int vec, struct pci_msi *msg)
{
	msg->addr = (uint64_t)f->msix_table[vec][1] << 32 | f->msix_table[vec][0];
	msg->data = f->msix_table[vec][2];
}

bool pci_msix_fire(struct pci_func *f, unsigned int vec, struct pci_msi *msg)
{
	if (!pci_msix_enabled(f) || vec >= f->msix_nvec)
		return false;
	if (!msix_live(f) || (f->msix_table[vec][3] & MSIX_ENTRY_MASKED)) {
		f->msix_pending |= 1ull << vec;
		return false;
	}
	msix_message(f, vec, msg);
	return true;
}

bool pci_msix_take(struct pci_func *f, unsigned int vec, struct pci_msi *msg)
{
	if (vec >= f->msix_nvec || !(msix_deliverable(f) >> vec & 1))
		return false;
	f->msix_pending &= ~(1ull << vec);
	msix_message(f, vec, msg);
	return true;
}

bool pci_conf1_decode(uint32_t addr, unsigned int port_off, unsigned int *devfn,
		      unsigned int *reg)
{
	if (!(addr >> 31) || (addr >> 16 & 0x7fff))
		return false;		/* disabled, another bus, or AMD's extended registers */
	*devfn = addr >> 8 & 0xff;
	*reg = (addr & 0xfc) + (port_off & 3);
	return true;
}

void pci_ecam_decode(uint64_t off, unsigned int *devfn, unsigned int *reg)
{
	*devfn = (unsigned int)(off >> 12) & 0xff;
	*reg = (unsigned int)off & 0xfff;
}
