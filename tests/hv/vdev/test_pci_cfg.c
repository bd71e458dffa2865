/* SPDX-License-Identifier: MIT */
/*
 * hv/vdev/pci_cfg.c: a function's config space as a guest's PCI code uses
 * it: the IDs and class, read-only fields that ignore writes, BAR sizing
 * (write all ones, read the size mask back) and moving, the capability list,
 * MSI-X (enable, function mask, entry masks, pending bits that go out when
 * unmasked, reserved bits), reset, and the decoding of configuration
 * mechanism #1 and ECAM addresses.
 */
#include "hv/vdev/pci_cfg.h"
#include "tests/host/test.h"

static struct pci_func f;

/* A virtio-blk-like function: BAR0 16 KiB, BAR1 4 KiB with MSI-X, a vendor capability. */
static void setup(void)
{
	static const uint8_t vndr[14] = { 16, 1, 0 };

	pci_func_init(&f, 0x1af4, 0x1042, 0x010000, 1, 0x1af4, 0x1100);
	pci_func_add_bar(&f, 0, 0x4000, 0xc0010000);
	pci_func_add_bar(&f, 1, 0x1000, 0xc0014000);
	CHECK(pci_func_add_msix(&f, 4, 1, 0, 0x800) == 0);
	CHECK(pci_func_add_cap(&f, PCI_CAP_ID_VNDR, 16, vndr) == 0x4c);
	pci_func_seal(&f);
}

TEST(ids_class_and_read_only_fields)
{
	setup();
	CHECK_EQ(pci_cfg_read(&f, 0, 4), 0x10421af4);
	CHECK_EQ(pci_cfg_read(&f, 0, 2), 0x1af4);
	CHECK_EQ(pci_cfg_read(&f, 2, 2), 0x1042);
	CHECK_EQ(pci_cfg_read(&f, 1, 1), 0x1a);
	CHECK_EQ(pci_cfg_read(&f, 3, 2), 0x0010);	/* unaligned: device hi, command lo */
	CHECK_EQ(pci_cfg_read(&f, 8, 4), 0x01000001);	/* class 01 00 00, revision 1 */
	CHECK_EQ(pci_cfg_read(&f, 0x2c, 4), 0x11001af4);
	CHECK_EQ(pci_cfg_read(&f, 0x0e, 1), 0);		/* header type 0, single function */
	/* Read-only fields ignore writes. */
	pci_cfg_write(&f, 0, 4, 0);
	pci_cfg_write(&f, 8, 4, 0xffffffff);
	pci_cfg_write(&f, 0x2c, 4, 0);
	CHECK_EQ(pci_cfg_read(&f, 0, 4), 0x10421af4);
	CHECK_EQ(pci_cfg_read(&f, 8, 4), 0x01000001);
	CHECK_EQ(pci_cfg_read(&f, 0x2c, 4), 0x11001af4);
	/* Writable: command enables, cache line size, interrupt line; status is read-only. */
	pci_cfg_write(&f, PCI_COMMAND, 4, 0xffffffff);
	CHECK_EQ(pci_cfg_read(&f, PCI_COMMAND, 2), 0x0407);
	CHECK_EQ(pci_cfg_read(&f, 6, 2), 0x0010);	/* capability list */
	pci_cfg_write(&f, 0x0c, 1, 0x10);
	CHECK_EQ(pci_cfg_read(&f, 0x0c, 1), 0x10);
	pci_cfg_write(&f, PCI_INTERRUPT_LINE, 2, 0xffff);
	CHECK_EQ(pci_cfg_read(&f, PCI_INTERRUPT_LINE, 2), 0x00ff);
	/* Outside config space, or across its end: all ones, and writes go nowhere. */
	CHECK_EQ(pci_cfg_read(&f, 256, 4), 0xffffffff);
	CHECK_EQ(pci_cfg_read(&f, 255, 2), 0xffff);
	CHECK_EQ(pci_cfg_read(&f, 4095, 1), 0xff);
	CHECK_EQ(pci_cfg_write(&f, 254, 4, 0), 0);
}

TEST(bar_sizing_and_moving)
{
	setup();
	CHECK_EQ(pci_cfg_read(&f, PCI_BAR0, 4), 0xc0010000);
	CHECK_EQ(pci_func_bar_addr(&f, 0), 0xc0010000);
	/* Linux's sizing: all ones, read back, restore. */
	pci_cfg_write(&f, PCI_BAR0, 4, 0xffffffff);
	CHECK_EQ(pci_cfg_read(&f, PCI_BAR0, 4), 0xffffc000);
	pci_cfg_write(&f, PCI_BAR0 + 4, 4, 0xffffffff);
	CHECK_EQ(pci_cfg_read(&f, PCI_BAR0 + 4, 4), 0xfffff000);
	/* Unimplemented BARs and the expansion ROM read zero whatever is written. */
	for (unsigned int reg = PCI_BAR0 + 8; reg <= 0x30; reg += 4) {
		if (reg == 0x28 || reg == 0x2c)
			continue;			/* CardBus CIS, subsystem IDs */
		pci_cfg_write(&f, reg, 4, 0xffffffff);
		CHECK_EQ(pci_cfg_read(&f, reg, 4), 0);
	}
	CHECK_EQ(pci_func_bar_addr(&f, 2), 0);
	/* Moving: the address bits take, the low ones stay (memory, 32-bit). */
	pci_cfg_write(&f, PCI_BAR0, 4, 0xd0004567);
	CHECK_EQ(pci_cfg_read(&f, PCI_BAR0, 4), 0xd0004000);
	CHECK_EQ(pci_func_bar_addr(&f, 0), 0xd0004000);
	/* Byte writes too, as a guest may make them. */
	pci_cfg_write(&f, PCI_BAR0 + 3, 1, 0xc1);
	CHECK_EQ(pci_func_bar_addr(&f, 0), 0xc1004000);
	/* Reset puts them home. */
	pci_func_reset(&f);
	CHECK_EQ(pci_func_bar_addr(&f, 0), 0xc0010000);
	CHECK_EQ(pci_func_bar_addr(&f, 1), 0xc0014000);
	CHECK_EQ(pci_func_command(&f), 0);
}

TEST(capability_list_links_in_order)
{
	static const unsigned int want[] = { 0x40, 0x4c };
	unsigned int off, n = 0;

	setup();
	for (off = pci_cfg_read(&f, 0x34, 1); off && n < 8; off = pci_cfg_read(&f, off + 1, 1))
		CHECK_EQ(off, want[n++]);
	CHECK_EQ(n, 2);
	CHECK_EQ(pci_cfg_read(&f, 0x40, 1), PCI_CAP_ID_MSIX);
	CHECK_EQ(pci_cfg_read(&f, 0x42, 2), 3);		/* table size 4 - 1, off, unmasked */
	CHECK_EQ(pci_cfg_read(&f, 0x44, 4), 0x001);	/* table at 0 of BAR1 */
	CHECK_EQ(pci_cfg_read(&f, 0x48, 4), 0x801);	/* PBA at 0x800 of BAR1 */
	CHECK_EQ(pci_cfg_read(&f, 0x4c, 4), 0x01100009);
	/* The body is read-only unless opened. */
	pci_cfg_write(&f, 0x4e, 2, 0xffff);
	CHECK_EQ(pci_cfg_read(&f, 0x4e, 2), 0x0110);
	pci_func_cap_wmask(&f, 0x4f, 1, 0xff);
	pci_cfg_write(&f, 0x4e, 2, 0xffff);
	CHECK_EQ(pci_cfg_read(&f, 0x4e, 2), 0xff10);
	/* Config space fills up to its last byte; the add that does not fit fails. */
	while (pci_func_add_cap(&f, PCI_CAP_ID_VNDR, 16, NULL))
		;
	CHECK_EQ(pci_func_add_cap(&f, PCI_CAP_ID_VNDR, 8, NULL), 0);
	CHECK_EQ(pci_func_add_cap(&f, PCI_CAP_ID_VNDR, 4, NULL), 0xfc);
	CHECK_EQ(pci_func_add_cap(&f, PCI_CAP_ID_VNDR, 2, NULL), 0);
	CHECK_EQ(pci_cfg_read(&f, 0, 4), 0x10421af4);	/* the header untouched */
	for (off = pci_cfg_read(&f, 0x34, 1), n = 0; off && n < 64; off = pci_cfg_read(&f, off + 1, 1))
		n++;
	CHECK(n < 64 && n > 2);
}

static void msix_entry(unsigned int v, uint32_t addr, uint32_t data, uint32_t ctrl)
{
	pci_msix_write(&f, 16 * v, 4, addr);
	pci_msix_write(&f, 16 * v + 4, 4, 0);
	pci_msix_write(&f, 16 * v + 8, 4, data);
	pci_msix_write(&f, 16 * v + 12, 4, ctrl);
}

TEST(msix_masks_pending_bits_and_unmask)
{
	struct pci_msi m;

	setup();
	/* Off: nothing goes out, nothing is pending. */
	CHECK(!pci_msix_enabled(&f));
	CHECK(!pci_msix_fire(&f, 0, &m));
	CHECK_EQ(f.msix_pending, 0);
	/* Reset state: every entry masked. */
	CHECK_EQ(pci_msix_read(&f, 12, 4), 1);
	CHECK(pci_msix_in_bar(&f, 1, 0) && pci_msix_in_bar(&f, 1, 63) && pci_msix_in_bar(&f, 1, 0x800));
	CHECK(!pci_msix_in_bar(&f, 1, 64) && !pci_msix_in_bar(&f, 0, 0) && !pci_msix_in_bar(&f, 1, 0x808));
	/* Linux: enable with the function masked, program the entries, unmask the function. */
	CHECK_EQ(pci_cfg_write(&f, 0x42, 2, 0xc000), 0);
	msix_entry(0, 0xfee01003, 0x41, 0);	/* address bits 1:0 are reserved */
	msix_entry(1, 0xfee00000, 0x42, 1);
	CHECK_EQ(pci_msix_read(&f, 0, 4), 0xfee01000);
	pci_msix_write(&f, 12, 4, 0xfffffffe);	/* vector control: only bit 0 */
	CHECK_EQ(pci_msix_read(&f, 12, 4), 0);
	/* Function masked: pending, visible in the PBA. */
	CHECK(!pci_msix_fire(&f, 0, &m));
	CHECK_EQ(pci_msix_read(&f, 0x800, 4), 1);
	/* Unmasking the function returns the vector; take sends it once. */
	CHECK_EQ(pci_cfg_write(&f, 0x42, 2, 0x8000), 1);
	CHECK(pci_msix_take(&f, 0, &m));
	CHECK_EQ(m.addr, 0xfee01000);
	CHECK_EQ(m.data, 0x41);
	CHECK(!pci_msix_take(&f, 0, &m));
	CHECK_EQ(pci_msix_read(&f, 0x800, 4), 0);
	/* Live and unmasked: straight out. */
	CHECK(pci_msix_fire(&f, 0, &m) && m.data == 0x41);
	/* An entry masked: pending until its own mask clears. */
	CHECK(!pci_msix_fire(&f, 1, &m));
	CHECK_EQ(pci_msix_read(&f, 0x800, 1), 2);
	CHECK_EQ(pci_msix_write(&f, 16 + 12, 4, 0), 2);
	CHECK(pci_msix_take(&f, 1, &m) && m.data == 0x42);
	/* Out of range vectors do nothing; the PBA ignores writes. */
	CHECK(!pci_msix_fire(&f, 4, &m));
	CHECK(!pci_msix_fire(&f, 64, &m));
	CHECK_EQ(pci_msix_write(&f, 0x800, 4, 0xffffffff), 0);
	CHECK_EQ(pci_msix_read(&f, 0x800, 4), 0);
	/* Disabled with a vector pending: it stays pending, nothing goes out. */
	pci_msix_write(&f, 12, 4, 1);
	CHECK(!pci_msix_fire(&f, 0, &m));
	CHECK_EQ(pci_cfg_write(&f, 0x42, 2, 0), 0);
	CHECK_EQ(pci_msix_write(&f, 12, 4, 0), 0);
	CHECK(!pci_msix_take(&f, 0, &m));
	/* Reset: off, every entry masked, nothing pending. */
	pci_func_reset(&f);
	CHECK(!pci_msix_enabled(&f));
	CHECK_EQ(pci_msix_read(&f, 12, 4), 1);
	CHECK_EQ(f.msix_pending, 0);
	/* Message control: only enable and function mask are writable. */
	pci_cfg_write(&f, 0x42, 2, 0xffff);
	CHECK_EQ(pci_cfg_read(&f, 0x42, 2), 0xc003);
}

TEST(msix_refuses_bad_layouts)
{
	pci_func_init(&f, 1, 2, 3, 4, 5, 6);
	CHECK_EQ(pci_func_add_msix(&f, 0, 1, 0, 0x800), -1);
	CHECK_EQ(pci_func_add_msix(&f, PCI_MSIX_MAX + 1, 1, 0, 0x800), -1);
	CHECK_EQ(pci_func_add_msix(&f, 2, 6, 0, 0x800), -1);
	CHECK_EQ(pci_func_add_msix(&f, 2, 1, 4, 0x800), -1);
	CHECK_EQ(f.msix_cap, 0);
	CHECK(!pci_msix_in_bar(&f, 1, 0));
}

TEST(conf1_addresses)
{
	unsigned int devfn, reg;

	CHECK(pci_conf1_decode(0x80000808, 0, &devfn, &reg));
	CHECK_EQ(devfn, 8);				/* 00:01.0 */
	CHECK_EQ(reg, 8);
	CHECK(pci_conf1_decode(0x8000fbfc, 3, &devfn, &reg));
	CHECK_EQ(devfn, 0xfb);
	CHECK_EQ(reg, 0xff);
	CHECK(pci_conf1_decode(0x80000003, 2, &devfn, &reg));	/* bits 1:0 are not the register */
	CHECK_EQ(reg, 2);
	CHECK(!pci_conf1_decode(0x00000800, 0, &devfn, &reg));	/* not enabled */
	CHECK(!pci_conf1_decode(0x80010000, 0, &devfn, &reg));	/* bus 1 */
	CHECK(!pci_conf1_decode(0x81000000, 0, &devfn, &reg));	/* AMD extended register bits */
	CHECK(!pci_conf1_decode(0xff000000, 0, &devfn, &reg));
}

TEST(ecam_offsets)
{
	unsigned int devfn, reg;

	pci_ecam_decode(0x08000, &devfn, &reg);
	CHECK_EQ(devfn, 8);
	CHECK_EQ(reg, 0);
	pci_ecam_decode(0xfffff, &devfn, &reg);
	CHECK_EQ(devfn, 0xff);
	CHECK_EQ(reg, 0xfff);
	pci_ecam_decode(0x01104, &devfn, &reg);
	CHECK_EQ(devfn, 1);
	CHECK_EQ(reg, 0x104);
}
