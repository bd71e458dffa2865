/* SPDX-License-Identifier: MIT */
/*
 * Guest memory behind EPT, populated lazily: an EPT violation inside the
 * guest's memory gets a fresh zeroed host page; one outside it stops the
 * guest.  Until the EPT MMU (ept/) takes over, this is the plain
 * populate-on-fault path: the guest's own vCPUs are the only writers of its
 * tables, and gmem_lock serialises them.
 */
#include "ept/spte.h"
#include "hv/page_alloc.h"
#include "hv/printk.h"
#include "hv/string.h"
#include "hv/vm.h"
#include "hv/vmx.h"

#define EPTP_WB		6ULL
#define EPTP_WALK4	(3ULL << 3)
#define EPTP_AD		(1ULL << 6)

static spinlock_t gmem_lock = SPINLOCK_INIT;

static uint64_t new_table(struct vm *vm)
{
	uint64_t pa = page_alloc(0);

	if (pa) {
		memset((void *)(uintptr_t)pa, 0, PAGE_SIZE);
		vm->table_pages++;
	}
	return pa;
}

int gmem_init(struct vm *vm)
{
	vm->ept_pml4 = new_table(vm);
	if (!vm->ept_pml4)
		return -1;
	vm->eptp = vm->ept_pml4 | EPTP_WB | EPTP_WALK4;
	/* Accessed/dirty bits when the CPU has them: reclaim ages through them. */
	if (vmx_caps.ept_vpid & EPT_CAP_AD)
		vm->eptp |= EPTP_AD;
	return 0;
}

/* The leaf slot for gpa, creating tables when create is set. */
static uint64_t *leaf_slot(struct vm *vm, uint64_t gpa, bool create)
{
	uint64_t *t = (uint64_t *)(uintptr_t)vm->ept_pml4;

	for (int level = 4; level > 1; level--) {
		uint64_t *e = &t[(gpa >> (12 + 9 * (level - 1))) & 511];

		if (!(*e & EPT_RWX)) {
			uint64_t pa;

			if (!create || !(pa = new_table(vm)))
				return NULL;
			*e = pa | EPT_RWX;
		}
		t = (uint64_t *)(uintptr_t)(*e & EPT_ADDR_MASK);
	}
	return &t[(gpa >> 12) & 511];
}

uint64_t gmem_page(struct vm *vm, uint64_t gpa, bool create)
{
	uint64_t *slot, pa = 0;

	if (gpa >= vm->cfg.memory)
		return 0;
	spin_lock(&gmem_lock);
	slot = leaf_slot(vm, gpa, create);
	if (slot && (*slot & EPT_RWX)) {
		pa = *slot & EPT_ADDR_MASK;
	} else if (slot && create && (pa = page_alloc(0))) {
		memset((void *)(uintptr_t)pa, 0, PAGE_SIZE);
		*slot = pa | EPT_RWX | EPT_MT_WB;
		vm->mem_pages++;
	}
	spin_unlock(&gmem_lock);
	return pa;
}

static int copy(struct vm *vm, uint64_t gpa, void *buf, uint64_t len, bool to_guest)
{
	while (len) {
		uint64_t off = gpa & (PAGE_SIZE - 1), n = PAGE_SIZE - off;
		uint64_t pa = gmem_page(vm, gpa, true);

		if (!pa)
			return -1;
		if (n > len)
			n = len;
		if (to_guest)
			memcpy((void *)(uintptr_t)(pa + off), buf, n);
		else
			memcpy(buf, (void *)(uintptr_t)(pa + off), n);
		gpa += n;
		buf = (char *)buf + n;
		len -= n;
	}
	return 0;
}

int gmem_write(struct vm *vm, uint64_t gpa, const void *src, uint64_t len)
{
	if (gpa + len < gpa || gpa + len > vm->cfg.memory)
		return -1;
	return copy(vm, gpa, (void *)src, len, true);
}

int gmem_read(struct vm *vm, uint64_t gpa, void *dst, uint64_t len)
{
	if (gpa + len < gpa || gpa + len > vm->cfg.memory)
		return -1;
	return copy(vm, gpa, dst, len, false);
}

int gmem_fault(struct vcpu *v, uint64_t gpa, uint64_t qual)
{
	struct vm *vm = v->vm;

	if (gpa >= vm->cfg.memory) {
		guest_fail(v, "EPT violation at GPA %llx outside guest memory (%llu MiB), "
			   "qualification %llx (%s%s%s)", (unsigned long long)gpa,
			   (unsigned long long)(vm->cfg.memory >> 20), (unsigned long long)qual,
			   qual & 1 ? "read" : "", qual & 2 ? "write" : "", qual & 4 ? "fetch" : "");
		return -1;
	}
	if (!gmem_page(vm, gpa, true)) {
		guest_fail(v, "out of host memory populating GPA %llx", (unsigned long long)gpa);
		return -1;
	}
	return 0;
}

static void free_level(struct vm *vm, uint64_t table, int level)
{
	uint64_t *t = (uint64_t *)(uintptr_t)table;

	for (int i = 0; i < 512; i++) {
		if (!(t[i] & EPT_RWX))
			continue;
		if (level > 1) {
			free_level(vm, t[i] & EPT_ADDR_MASK, level - 1);
		} else {
			page_free(t[i] & EPT_ADDR_MASK, 0);
			vm->mem_pages--;
		}
	}
	page_free(table, 0);
	vm->table_pages--;
}

void gmem_destroy(struct vm *vm)
{
	if (!vm->ept_pml4)
		return;
	spin_lock(&gmem_lock);
	free_level(vm, vm->ept_pml4, 4);
	vm->ept_pml4 = 0;
	spin_unlock(&gmem_lock);
}
