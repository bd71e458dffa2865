/* SPDX-License-Identifier: MIT */
/*
 * Free guest RAM for the loader's structures and modules, and the guest's
 * memory map.  Guest RAM is [0, GUEST_LOWMEM_END) and [GUEST_BIOS_END,
 * memory); the hole between holds the ACPI tables and is never handed out.
 * A guest of more than 3 GiB has the rest from 4 GiB up, in its map only:
 * the loaders place nothing there (they pass guest_low_ram_end()).
 */
#include <stdbool.h>
#include <stddef.h>

#include "hv/load/layout.h"

static bool overlaps(uint64_t a, uint64_t end, uint64_t start, uint64_t stop)
{
	return a < stop && end > start;
}

/* The first range of @taken that [a, end) overlaps, or NULL. */
static const struct layout_range *clash(const struct layout_range *taken, unsigned int n,
					uint64_t a, uint64_t end)
{
	for (unsigned int i = 0; i < n; i++)
		if (overlaps(a, end, taken[i].start, taken[i].end))
			return &taken[i];
	return NULL;
}

int layout_lowest(const struct layout_range *taken, unsigned int n, uint64_t size,
		  uint64_t align, uint64_t from, uint64_t limit, uint64_t memory, uint64_t *at)
{
	uint64_t top = limit < memory ? limit : memory;
	uint64_t a = (from + align - 1) & ~(align - 1);

	/* Every step moves a up past an obstacle, so this ends. */
	while (a >= from && a + size >= a && a + size <= top) {
		const struct layout_range *t;

		if (overlaps(a, a + size, GUEST_LOWMEM_END, GUEST_BIOS_END)) {
			a = GUEST_BIOS_END;
		} else if ((t = clash(taken, n, a, a + size))) {
			a = (t->end + align - 1) & ~(align - 1);
		} else {
			*at = a;
			return 0;
		}
	}
	return -1;
}

int layout_highest(const struct layout_range *taken, unsigned int n, uint64_t size,
		   uint64_t align, uint64_t from, uint64_t limit, uint64_t memory, uint64_t *at)
{
	uint64_t top = limit < memory ? limit : memory;
	uint64_t a;

	if (top < size)
		return -1;
	a = (top - size) & ~(align - 1);
	/* Every step moves a down below an obstacle, so this ends. */
	while (a >= from) {
		const struct layout_range *t;
		uint64_t below;

		if (overlaps(a, a + size, GUEST_LOWMEM_END, GUEST_BIOS_END))
			below = GUEST_LOWMEM_END;
		else if ((t = clash(taken, n, a, a + size)))
			below = t->start;
		else {
			*at = a;
			return 0;
		}
		if (below < size)
			return -1;
		a = (below - size) & ~(align - 1);
	}
	return -1;
}

int layout_boot_area(const struct layout_range *taken, unsigned int n, uint64_t size,
		     uint64_t memory, uint64_t *at)
{
	if (!layout_lowest(taken, n, size, 0x1000, LAYOUT_AREA_MIN, GUEST_LOWMEM_END, memory, at))
		return 0;
	return layout_highest(taken, n, size, 0x1000, LAYOUT_AREA_MIN, memory, memory, at);
}

static void put(struct e820_entry *map, unsigned int *nr, uint64_t start, uint64_t end,
		uint32_t type)
{
	if (end > start)
		map[(*nr)++] = (struct e820_entry){ start, end - start, type };
}

/* A RAM range with @r (clipped to it) cut out as reserved. */
static void put_ram(struct e820_entry *map, unsigned int *nr, uint64_t start, uint64_t end,
		    struct layout_range r)
{
	if (r.end <= r.start || !overlaps(start, end, r.start, r.end)) {
		put(map, nr, start, end, E820_RAM);
		return;
	}
	put(map, nr, start, r.start, E820_RAM);
	put(map, nr, r.start > start ? r.start : start, r.end < end ? r.end : end, E820_RESERVED);
	put(map, nr, r.end, end, E820_RAM);
}

unsigned int layout_e820(struct e820_entry map[E820_MAX], uint64_t memory,
			 struct layout_range reserved)
{
	unsigned int nr = 0;

	put_ram(map, &nr, 0, GUEST_LOWMEM_END, reserved);
	put(map, &nr, GUEST_LOWMEM_END, 0xa0000, E820_RESERVED);
	put(map, &nr, GUEST_ACPI_BASE, GUEST_ACPI_BASE + GUEST_ACPI_SIZE, E820_ACPI);
	put(map, &nr, GUEST_ACPI_BASE + GUEST_ACPI_SIZE, GUEST_BIOS_END, E820_RESERVED);
	put_ram(map, &nr, GUEST_BIOS_END, guest_low_ram_end(memory), reserved);
	/* Above the hole, as QEMU's q35 does (hv/core/guest_boot.h). */
	put(map, &nr, GUEST_HIGH_RAM_BASE, guest_ram_top(memory), E820_RAM);
	return nr;
}
