/* SPDX-License-Identifier: MIT */
/* Shell commands for guest memory: ept, age, reclaim, rmap, page, and mem's reclaim figures. */
#include "ept/invalidate.h"
#include "ept/iter.h"
#include "hv/core/vm.h"
#include "hv/cpu/page_alloc.h"
#include "hv/lib/format.h"
#include "hv/lib/parse.h"
#include "hv/mm/gmem.h"
#include "hv/mm/tlb.h"
#include "hv/shell/parse.h"
#include "hv/shell/shell.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "rmap/reclaim.h"
#include "smp/time.h"

typedef unsigned long long ull;

static struct vm *guest_with_memory(const char *name)
{
	struct vm *vm = vm_find(name);

	if (!vm)
		pr_info("error: no guest named '%s' (see 'guests')\n", name);
	else if (!vm->mem_ready)
		pr_info("error: guest %s has no memory set up (it is not running)\n", name);
	return vm && vm->mem_ready ? vm : NULL;
}

static bool parse_or_complain(const char *what, const char *s, uint64_t *v)
{
	if (parse_u64(s, v))
		return true;
	pr_info("error: bad %s '%s' (a number: 0x1000, 4096, 4K, 2M)\n", what, s);
	return false;
}

/* Table pages under @root: itself plus every present non-leaf entry. */
static uint64_t root_table_pages(struct ept_vm *ept, struct ept_root *root)
{
	struct ept_iter it;
	uint64_t n = 1;

	read_lock(&ept->mmu_lock);
	for_each_ept_pte(it, ept, root, 0, EPT_GFN_LIMIT)
		if (ept_spte_present(it.old_spte) && !ept_spte_is_leaf(it.old_spte, it.level))
			n++;
	read_unlock(&ept->mmu_lock);
	return n;
}

static void ept_roots(struct vm *vm)
{
	struct ept_root *root;
	struct ept_stats st;

	pr_info("guest %s:\n", vm->cfg.name);
	for_each_ept_root(&vm->ept, root) {
		/* The walk holds a reference of its own: not counted below. */
		pr_info("  root %llx  refcount %d  %s  table pages %llu  CPUs %llx\n",
			(ull)root->table_pa, READ_ONCE(root->refcount) - 1,
			READ_ONCE(root->invalid) ? "invalid" : "valid",
			(ull)root_table_pages(&vm->ept, root), (ull)READ_ONCE(root->cpu_mask));
	}
	ept_vm_stats(&vm->ept, &st);
	pr_info("  roots alive %llu, table pages %llu; faults %llu (fixed %llu, retried %llu, "
		"spurious %llu); zapped %llu, split %llu, flushes %llu, longest write hold %llu us\n",
		(ull)st.roots_alive, (ull)st.table_pages, (ull)st.faults, (ull)st.fixed,
		(ull)st.retries, (ull)st.spurious, (ull)st.zapped, (ull)st.splits, (ull)st.flushes,
		(ull)st.max_write_hold_ns / 1000);
}

static void ept_walk_show(struct vm *vm, uint64_t gpa)
{
	struct ept_walk w;
	bool mapped = ept_walk(&vm->ept, NULL, gpa, &w);

	for (int l = EPT_ROOT_LEVEL; l >= w.last_level && l >= 1; l--)
		pr_info("  level %d  entry %016llx\n", l, (ull)w.spte[l]);
	if (mapped)
		pr_info("GPA %llx -> HPA %llx (%s leaf)%s\n", (ull)gpa, (ull)w.hpa,
			w.leaf_level > 1 ? "2 MiB" : "4 KiB",
			w.spte[w.leaf_level] & EPT_ACCESSED ? ", accessed" : "");
	else
		pr_info("GPA %llx is not mapped%s\n", (ull)gpa,
			w.last_level ? "" : " (no valid root)");
}

int cmd_ept(int argc, char **argv)
{
	struct ept_stats before, after;
	struct vm *vm;
	uint64_t gpa, len;

	if (argc == 2 && !strcmp(argv[1], "roots")) {
		for (int i = 0; i < VM_MAX; i++)
			if (vms[i].mem_ready)
				ept_roots(&vms[i]);
		return 0;
	}
	if (argc < 3)
		goto usage;
	vm = guest_with_memory(argv[2]);
	if (!vm)
		return -1;
	if (!strcmp(argv[1], "roots") && argc == 3) {
		ept_roots(vm);
	} else if (!strcmp(argv[1], "walk") && argc == 4) {
		if (!parse_or_complain("GPA", argv[3], &gpa))
			return -1;
		ept_walk_show(vm, gpa);
	} else if (!strcmp(argv[1], "zap") && argc == 5) {
		uint64_t start, end;
		bool opened;

		if (!parse_or_complain("GPA", argv[3], &gpa) ||
		    !parse_or_complain("length", argv[4], &len))
			return -1;
		start = gpa >> PAGE_SHIFT;
		end = (gpa + len + PAGE_SIZE - 1) >> PAGE_SHIFT;
		if (!len || end <= start || end > EPT_GFN_LIMIT) {
			pr_info("error: bad range %llx+%llx\n", (ull)gpa, (ull)len);
			return -1;
		}
		ept_vm_stats(&vm->ept, &before);
		/* As the primary MMU would: the guest refaults the same pages. */
		opened = ept_invalidate_begin(&vm->ept, start, end);
		ept_invalidate_end(&vm->ept, start, end, opened);
		ept_vm_stats(&vm->ept, &after);
		pr_info("zapped %llu leaves in GPA %llx-%llx%s\n", (ull)(after.zapped - before.zapped),
			(ull)(start << PAGE_SHIFT), (ull)(end << PAGE_SHIFT),
			opened ? "" : " (outside guest memory: nothing to do)");
	} else if (!strcmp(argv[1], "invalidate") && argc == 3) {
		ept_vm_stats(&vm->ept, &before);
		ept_invalidate_all_roots(&vm->ept);
		ept_vm_stats(&vm->ept, &after);
		pr_info("invalidated the roots of %s: %llu leaves zapped; its vCPUs load a new root\n",
			vm->cfg.name, (ull)(after.zapped - before.zapped));
	} else {
		goto usage;
	}
	return 0;
usage:
	pr_info("usage: ept roots [NAME] | walk NAME GPA | zap NAME GPA LEN | invalidate NAME\n");
	return -1;
}

static void show_generations(struct vm *vm)
{
	struct memslot_stats st;
	size_t hist[GEN_NR];

	memslot_stats(&vm->mem, &st, hist);
	pr_info("  %-16s resident %6llu  generations (young to old):", vm->cfg.name,
		(ull)st.resident);
	for (unsigned int g = 0; g < GEN_NR; g++)
		pr_info(" %6llu", (ull)hist[g]);
	pr_info("\n");
}

int cmd_age(int argc, char **argv)
{
	uint64_t t0 = time_us();
	size_t young = 0;
	struct vm *one = NULL;

	if (argc > 2) {
		pr_info("usage: age [NAME]\n");
		return -1;
	}
	if (argc == 2 && !(one = guest_with_memory(argv[1])))
		return -1;
	if (one)
		young = memslot_age(&one->mem);
	else
		young = reclaim_age_all(&gmem_reclaim);
	pr_info("aging pass: %llu pages young, %llu us\n", (ull)young, (ull)(time_us() - t0));
	for (int i = 0; i < VM_MAX; i++)
		if (vms[i].mem_ready && (!one || one == &vms[i]))
			show_generations(&vms[i]);
	return 0;
}

int cmd_reclaim(int argc, char **argv)
{
	uint64_t n, t0;
	size_t freed;

	if (argc != 2 || !parse_or_complain("page count", argv[1], &n))
		return pr_info("usage: reclaim N (pages)\n"), -1;
	t0 = time_us();
	freed = reclaim_run(&gmem_reclaim, n);
	pr_info("reclaim: %llu of %llu pages freed in %llu us\n", (ull)freed, (ull)n,
		(ull)(time_us() - t0));
	return 0;
}

/* The entries of one rmap head; how many. */
static unsigned int show_rmap_head(struct rmap_head *head, const char *size)
{
	struct rmap_iter it;
	unsigned long old = rmap_lock_readonly(head);
	unsigned int n = 0;

	for (uint64_t *p = rmap_iter_first(&it, old); p; p = rmap_iter_next(&it), n++)
		pr_info("  EPT entry at %llx = %016llx (%s leaf)\n", (ull)(uintptr_t)p,
			(ull)READ_ONCE(*p), size);
	rmap_unlock_readonly(head, old);
	return n;
}

static void show_rmap(struct vm *vm, uint64_t gfn)
{
	unsigned int n;

	/* An unbacked chunk of metadata: never touched, nothing maps it. */
	if (!memslot_meta_backed(&vm->mem, gfn)) {
		pr_info("  0 mapping(s)\n");
		return;
	}
	n = show_rmap_head(&vm->mem.rmaps[gfn], "4 KiB");
	n += show_rmap_head(&vm->mem.rmaps_2m[gfn / MS_HUGE_PAGES], "2 MiB");
	pr_info("  %u mapping(s)\n", n);
}

int cmd_rmap(int argc, char **argv)
{
	uint64_t hpa, gfn;
	struct page *pg;

	if (argc != 2 || !parse_or_complain("HPA", argv[1], &hpa))
		return pr_info("usage: rmap HPA\n"), -1;
	pg = page_of(hpa);
	if (!pg) {
		pr_info("error: %llx is not in the hypervisor's memory\n", (ull)hpa);
		return -1;
	}
	for (int i = 0; i < VM_MAX; i++) {
		if (!vms[i].mem_ready || !memslot_gfn_of_hpa(&vms[i].mem, hpa, &gfn))
			continue;
		pr_info("HPA %llx backs GPA %llx of guest %s\n", (ull)(hpa & ~(PAGE_SIZE - 1)),
			(ull)(gfn << PAGE_SHIFT), vms[i].cfg.name);
		show_rmap(&vms[i], gfn);
		return 0;
	}
	pr_info("HPA %llx backs no guest page (allocator state %u)\n", (ull)hpa,
		(unsigned int)page_state(pg));
	return 0;
}

int cmd_page(int argc, char **argv)
{
	static const char *const states[] = { "never touched (reads as zeros)", "resident",
					      "evicted to the store", "evicted as a zero page" };
	struct memslot_page_info pi;
	struct vm *vm;
	uint64_t gpa;

	if (argc != 3)
		return pr_info("usage: page NAME GPA\n"), -1;
	vm = guest_with_memory(argv[1]);
	if (!vm || !parse_or_complain("GPA", argv[2], &gpa))
		return -1;
	if (!memslot_page_info(&vm->mem, gpa >> PAGE_SHIFT, &pi)) {
		pr_info("error: GPA %llx is outside guest %s's memory\n", (ull)gpa, vm->cfg.name);
		return -1;
	}
	pr_info("GPA %llx of %s: %s", (ull)(gpa & ~(PAGE_SIZE - 1)), vm->cfg.name,
		states[pi.state]);
	if (pi.state == MS_PAGE_RESIDENT)
		pr_info(" at HPA %llx, %u EPT mapping(s) by 4 KiB leaves, %u by 2 MiB leaves",
			(ull)pi.hpa, pi.mappings, pi.mappings_2m);
	if (pi.state == MS_PAGE_EVICTED)
		pr_info(", handle %llx", (ull)pi.handle);
	if (pi.tracked)
		pr_info(", generation %u", pi.gen);
	pr_info("\n");
	return 0;
}

/* The reclaim half of `mem`. */
void shell_mem_reclaim_report(void)
{
	uint64_t charged, limit, reserve;
	struct memslot_stats tot;
	struct reclaim_stats rs;
	struct ept_stats es;
	struct zstore_stats zs;
	struct tlb_stats ts;

	gmem_limits(&charged, &limit, &reserve);
	reclaim_get_stats(&gmem_reclaim, &rs);
	zstore_get_stats(&gmem_store, &zs);
	tlb_get_stats(&ts);
	pr_info("guests: %llu of %llu pages charged (limit %llu KiB, store reserve %llu pages)\n",
		(ull)charged, (ull)limit, (ull)limit * 4, (ull)reserve);
	for (int i = 0; i < VM_MAX; i++) {
		struct memslot_stats st;

		if (!vms[i].mem_ready)
			continue;
		memslot_stats(&vms[i].mem, &st, NULL);
		pr_info("  %-16s resident %llu, evicted %llu, populated %llu, evictions %llu, "
			"refaults %llu, zero %llu, given back %llu\n", vms[i].cfg.name,
			(ull)st.resident, (ull)st.evicted, (ull)st.populated, (ull)st.evictions,
			(ull)st.refaults, (ull)st.zero_evictions, (ull)st.discarded);
		ept_vm_stats(&vms[i].ept, &es);
		pr_info("  %-16s EPT leaves: 4 KiB %llu, 2 MiB %llu; 2 MiB blocks taken %llu, "
			"2 MiB leaves split %llu\n", "", (ull)st.leaves_4k, (ull)st.leaves_2m,
			(ull)st.huge_populated, (ull)es.splits);
		/* Backed a chunk at a time as gfns are first touched (rmap/memslot.h). */
		pr_info("  %-16s metadata %llu KiB backed, %llu KiB if every page were touched\n",
			vms[i].cfg.name, (ull)st.meta_bytes >> 10,
			(ull)memslot_meta_bytes(vms[i].mem.nr_pages) >> 10);
		shell_mem_devices_report(&vms[i]);
	}
	gmem_totals(&tot);
	pr_info("reclaim: evicted %llu (zero %llu), refaulted %llu, resident %llu, in store %llu, "
		"kept as incompressible %llu, out of memory %llu; runs %llu (direct %llu), pages freed %llu, aging passes %llu "
		"(young %llu), time %llu us\n", (ull)tot.evictions, (ull)tot.zero_evictions,
		(ull)tot.refaults, (ull)tot.resident, (ull)tot.evicted, (ull)tot.incompressible, (ull)tot.nomem, (ull)rs.runs,
		(ull)rs.direct_runs, (ull)rs.freed, (ull)rs.age_passes, (ull)rs.young,
		(ull)rs.ns / 1000);
	pr_info("store: %llu handles (%llu zero pages), %llu entries (%llu raw), stored bytes "
		"%llu in %llu data pages + %llu meta pages, dedup hits %llu",
		(ull)zs.handles, (ull)zs.zero_handles, (ull)zs.entries, (ull)zs.raw_entries,
		(ull)zs.compressed_bytes, (ull)zs.data_pages, (ull)zs.meta_pages,
		(ull)zs.dedup_hits);
	if (zs.data_pages + zs.meta_pages)
		pr_info(", ratio %llu.%02llu\n",
			(ull)(zs.handles * 100 / (zs.data_pages + zs.meta_pages)) / 100,
			(ull)(zs.handles * 100 / (zs.data_pages + zs.meta_pages)) % 100);
	else
		pr_info("\n");
	shell_mem_disks_report();
	pr_info("EPT shootdowns: %llu flushes, %llu IPIs, %llu INVEPTs\n", (ull)ts.flushes,
		(ull)ts.ipis, (ull)ts.invept);
}
