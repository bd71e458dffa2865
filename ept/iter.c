/* SPDX-License-Identifier: MIT */
/* The pre-order walk behind the for_each_ept_pte() family (see ept/iter.h). */
#include "ept/iter.h"

#include "ept/arch.h"

static uint64_t round_down(uint64_t gfn, int level)
{
	return gfn & ~(ept_level_pages(level) - 1);
}

static void iter_read(struct ept_iter *it)
{
	it->sptep = it->pt_path[it->level] + ept_index(it->gfn, it->level);
	it->old_spte = ept_spte_read(it->sptep);
}

void ept_iter_restart(struct ept_iter *it)
{
	it->yielded = false;
	it->yielded_gfn = it->next_last_level_gfn;
	it->level = EPT_ROOT_LEVEL;
	it->gfn = round_down(it->next_last_level_gfn, EPT_ROOT_LEVEL);
	it->valid = it->gfn < EPT_GFN_LIMIT;
	if (it->valid)
		iter_read(it);
}

void ept_iter_start(struct ept_iter *it, uint64_t root_pa, int min_level, uint64_t start)
{
	it->pt_path[EPT_ROOT_LEVEL] = ept_pa_to_va(root_pa);
	it->min_level = min_level;
	it->next_last_level_gfn = start;
	ept_iter_restart(it);
}

static bool try_step_down(struct ept_iter *it)
{
	if (it->level == it->min_level)
		return false;
	/* Re-read: the loop body may have changed the entry since it was visited. */
	it->old_spte = ept_spte_read(it->sptep);
	if (!ept_spte_present(it->old_spte) || ept_spte_is_leaf(it->old_spte, it->level))
		return false;
	it->level--;
	it->pt_path[it->level] = ept_pa_to_va(ept_spte_addr(it->old_spte));
	it->gfn = round_down(it->next_last_level_gfn, it->level);
	iter_read(it);
	return true;
}

static bool try_step_side(struct ept_iter *it)
{
	if (ept_index(it->gfn, it->level) == EPT_PTES - 1)
		return false;
	it->gfn += ept_level_pages(it->level);
	it->next_last_level_gfn = it->gfn;
	iter_read(it);
	return true;
}

static bool try_step_up(struct ept_iter *it)
{
	if (it->level == EPT_ROOT_LEVEL)
		return false;
	it->level++;
	it->gfn = round_down(it->gfn, it->level);
	return true;
}

void ept_iter_next(struct ept_iter *it)
{
	if (it->yielded) {
		ept_iter_restart(it);
		return;
	}
	if (try_step_down(it))
		return;
	do {
		if (try_step_side(it))
			return;
	} while (try_step_up(it));
	it->valid = false;
}
