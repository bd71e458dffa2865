/* SPDX-License-Identifier: MIT */
/* Lockless accessed-bit aging over a root; the rules are in ept/age.h. */
#include "ept/age.h"

#include "ept/arch.h"
#include "ept/spte.h"
#include "lib/check.h"
#include "smp/atomic.h"
#include "smp/grace.h"

static void set_bits(uint64_t *bm, uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to; i++)
		bm[i / 64] |= 1ull << (i % 64);
}

/* Clear the accessed bit of @p if it still holds @s; on failure it changed: young anyway. */
static void clear_accessed(ept_spte_t *p, ept_spte_t s)
{
	/* Relaxed: the bit is a hint; nothing else is published or read through it. */
	__atomic_compare_exchange_n(p, &s, s & ~EPT_ACCESSED, false, __ATOMIC_RELAXED,
				    __ATOMIC_RELAXED);
}

unsigned long ept_test_clear_young(struct ept_root *root, uint64_t start, uint64_t end,
				   uint64_t *young)
{
	unsigned long n = 0;

	ASSERT(grace_read_held());
	for (uint64_t gfn = start; gfn < end;) {
		ept_spte_t *table = ept_pa_to_va(root->table_pa), s;
		int level = EPT_ROOT_LEVEL;

		/* Down to the table (or large leaf) covering gfn; entries read once each. */
		for (;;) {
			/* Acquire: the child table's contents, published by the cmpxchg installing it. */
			s = ept_spte_read(&table[ept_index(gfn, level)]);
			if (!ept_spte_present(s) || level == 1 || ept_spte_is_leaf(s, level))
				break;
			table = ept_pa_to_va(ept_spte_addr(s));
			level--;
		}
		/* A leaf table spans the gfns of its parent entry; any other entry, its own. */
		uint64_t span = ept_level_pages(level == 1 ? 2 : level);
		uint64_t next = (gfn & ~(span - 1)) + span, stop = next < end ? next : end;

		if (level == 1) {
			/* The leaf table, linearly: the hot loop of an aging pass. */
			for (uint64_t g = gfn; g < stop; g++) {
				ept_spte_t *p = &table[ept_index(g, 1)];

				s = READ_ONCE(*p);
				if (!(s & EPT_ACCESSED) || !ept_spte_present(s))
					continue;	/* old, empty, or frozen */
				clear_accessed(p, s);
				young[(g - start) / 64] |= 1ull << ((g - start) % 64);
				n++;
			}
		} else if (ept_spte_present(s) && (s & EPT_ACCESSED)) {
			/* A large leaf ages as one unit. */
			clear_accessed(&table[ept_index(gfn, level)], s);
			set_bits(young, gfn - start, stop - start);
			n++;
		}
		gfn = next;
	}
	return n;
}
