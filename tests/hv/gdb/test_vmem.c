/* SPDX-License-Identifier: MIT */
/*
 * Tests for hv/gdb/vmem.c: a debugger's reads and writes of guest-virtual
 * memory through page tables in a fake guest RAM: page by page across
 * mappings, short at the first hole, permissions and A/D bits ignored,
 * non-canonical and above-4G addresses refused, paging off.
 */
#include "tests/host/test.h"
#include "hv/gdb/vmem.h"

#define RAM_SIZE	(64 * 4096)
static uint8_t ram[RAM_SIZE];

#include "tests/hv/vmx/guest_ram.h"

#include "tests/hv/vmx/paging_bits.h"

static int phys(void *opaque, uint64_t gpa, void *buf, size_t n, bool write)
{
	return write ? ram_write(opaque, gpa, buf, (unsigned int)n) :
		       ram_read(opaque, gpa, buf, (unsigned int)n);
}

static struct gdb_vmem vm;

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(ram + gpa, &v, 8);
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, ram + gpa, 8);
	return v;
}

/*
 * 4-level tables at 0x1000 (PML4), 0x2000 (PDPT), 0x3000 (PD), 0x4000 (PT):
 * VA 0x400000 -> 0x10000 (4K), 0x401000 -> 0x12000 (user, NX, read-only),
 * 0x402000 -> not present, 0x403000 -> 0x13000; VA 0x200000 -> a 2 MiB page
 * at 0 (only its first RAM_SIZE bytes exist).  Kernel half: VA
 * 0xffff800000400000 maps like 0x400000.
 */
static void build_long_mode(void)
{
	memset(ram, 0, sizeof(ram));
	memset(&vm, 0, sizeof(vm));
	put64(0x1000, 0x2000 | P | RW);
	put64(0x1000 + 256 * 8, 0x2000 | P | RW);
	put64(0x2000, 0x3000 | P | RW);
	put64(0x3000 + 1 * 8, 0x0 | P | RW | PS);
	put64(0x3000 + 2 * 8, 0x4000 | P | RW);
	put64(0x4000 + 0 * 8, 0x10000 | P | RW);
	put64(0x4000 + 1 * 8, 0x12000 | P | US | XD);
	put64(0x4000 + 3 * 8, 0x13000 | P | RW);
	vm.mmu.cr0 = CR0_PE | CR0_PG | CR0_WP;
	vm.mmu.cr3 = 0x1000;
	vm.mmu.cr4 = CR4_PAE | CR4_SMAP | CR4_SMEP;
	vm.mmu.efer = EFER_LMA | EFER_NXE;
	vm.mmu.read_phys = ram_read;
	vm.phys = phys;
	for (int i = 0; i < 4096; i++) {
		ram[0x10000 + i] = 0xa0;
		ram[0x12000 + i] = 0xb0;
		ram[0x13000 + i] = 0xc0;
	}
}

TEST(reads_across_pages_and_mappings)
{
	uint8_t buf[8192];

	build_long_mode();
	CHECK_EQ(gdb_vmem_access(&vm, 0x400ffe, buf, 4, false), 4);
	CHECK(!memcmp(buf, "\xa0\xa0\xb0\xb0", 4));
	/* A user, no-execute, read-only page is still the debugger's to read and write. */
	CHECK_EQ(gdb_vmem_access(&vm, 0x401000, buf, 4096, false), 4096);
	CHECK_EQ(buf[4095], 0xb0);
	CHECK_EQ(gdb_vmem_access(&vm, 0x401010, "\x11\x22", 2, true), 2);
	CHECK_EQ(ram[0x12010], 0x11);
	CHECK_EQ(ram[0x12011], 0x22);
}

TEST(stops_short_at_the_first_hole)
{
	uint8_t buf[8192];

	build_long_mode();
	CHECK_EQ(gdb_vmem_access(&vm, 0x401ff0, buf, 0x20, false), 0x10);
	CHECK_EQ(gdb_vmem_access(&vm, 0x402000, buf, 1, false), 0);
	CHECK_EQ(gdb_vmem_access(&vm, 0x403000, buf, 16, false), 16);
	CHECK_EQ(gdb_vmem_access(&vm, 0x800000, buf, 1, false), 0);	/* no PD entry */
	/* A write stops at the hole too, and writes what came before it. */
	memset(buf, 0x5a, sizeof(buf));
	CHECK_EQ(gdb_vmem_access(&vm, 0x401ffe, buf, 4, true), 2);
	CHECK_EQ(ram[0x12fff], 0x5a);
}

TEST(large_pages_and_memory_that_is_not_ram)
{
	uint8_t buf[16];

	build_long_mode();
	/* VA 0x200000 + x is GPA x: the PML4 page itself. */
	CHECK_EQ(gdb_vmem_access(&vm, 0x201000, buf, 8, false), 8);
	CHECK_EQ(get64(0x1000), 0x2000 | P | RW);
	CHECK(!memcmp(buf, ram + 0x1000, 8));
	/* Past the fake RAM inside the same large page: not RAM, nothing read. */
	CHECK_EQ(gdb_vmem_access(&vm, 0x200000 + RAM_SIZE, buf, 8, false), 0);
}

TEST(accessed_and_dirty_bits_stay_as_they_are)
{
	uint8_t b = 1;

	build_long_mode();
	CHECK_EQ(gdb_vmem_access(&vm, 0x400000, &b, 1, true), 1);
	CHECK_EQ(get64(0x4000) & A, 0);
	CHECK_EQ(get64(0x1000) & A, 0);
}

TEST(canonical_addresses_only)
{
	uint8_t buf[4];

	build_long_mode();
	CHECK_EQ(gdb_vmem_access(&vm, 0xffff800000400000ULL, buf, 4, false), 4);
	CHECK_EQ(buf[0], 0xa0);
	CHECK_EQ(gdb_vmem_access(&vm, 0x0000800000400000ULL, buf, 4, false), 0);
	CHECK_EQ(gdb_vmem_access(&vm, 0xfff0800000400000ULL, buf, 4, false), 0);
	/* Running off the top of the address space is not a wrap to 0. */
	CHECK_EQ(gdb_vmem_access(&vm, 0xfffffffffffffffeULL, buf, 4, false), 0);
}

TEST(paging_off_is_physical_below_4g)
{
	uint8_t buf[4];

	memset(&vm, 0, sizeof(vm));
	memset(ram, 0, sizeof(ram));
	ram[0x7c00] = 0xfa;
	vm.mmu.cr0 = 0x10;		/* real mode */
	vm.mmu.read_phys = ram_read;
	vm.phys = phys;
	CHECK_EQ(gdb_vmem_access(&vm, 0x7c00, buf, 1, false), 1);
	CHECK_EQ(buf[0], 0xfa);
	CHECK_EQ(gdb_vmem_access(&vm, 0x100007c00ULL, buf, 1, false), 0);
	CHECK_EQ(gdb_vmem_access(&vm, RAM_SIZE - 2, buf, 4, false), 2);	/* up to the end */
}

TEST(thirty_two_bit_paging)
{
	uint8_t buf[4];
	uint32_t pde = 0x3000 | P | RW, pte = 0x10000 | P, big = 0x00400000 | P | PS;

	memset(&vm, 0, sizeof(vm));
	memset(ram, 0, sizeof(ram));
	memcpy(ram + 0x1000, &pde, 4);			/* VA 0..4M: the table at 0x3000 */
	memcpy(ram + 0x3000 + 5 * 4, &pte, 4);		/* VA 0x5000 -> 0x10000 */
	memcpy(ram + 0x1000 + 4, &big, 4);		/* VA 4M..8M: a 4 MiB page at 4M */
	ram[0x10000] = 0x77;
	vm.mmu.cr0 = CR0_PE | CR0_PG;
	vm.mmu.cr3 = 0x1000;
	vm.mmu.cr4 = CR4_PSE;
	vm.mmu.read_phys = ram_read;
	vm.phys = phys;
	CHECK_EQ(gdb_vmem_access(&vm, 0x5000, buf, 1, false), 1);
	CHECK_EQ(buf[0], 0x77);
	CHECK_EQ(gdb_vmem_access(&vm, 0x6000, buf, 1, false), 0);
	CHECK_EQ(gdb_vmem_access(&vm, 0x400000, buf, 1, false), 0);	/* GPA 4M: not RAM */
}
