/* SPDX-License-Identifier: MIT */
/* The per-guest table of device ports and MMIO ranges (see hv/core/io.h). */
#include "hv/core/io.h"
#include "hv/core/vm.h"
#include "lib/printk.h"

int vm_register_pio(struct vm *vm, uint16_t base, uint16_t len, pio_fn fn)
{
	struct vm_io *io = &vm->io;

	if (io->npio == VM_PIO_MAX || !len || (uint32_t)base + len > 0x10000)
		return -1;
	for (unsigned int i = 0; i < io->npio; i++)
		if (base < io->pio[i].base + io->pio[i].len && io->pio[i].base < base + len)
			return -1;
	io->pio[io->npio++] = (struct pio_range){ base, len, fn };
	return 0;
}

int vm_register_mmio(struct vm *vm, uint64_t base, uint64_t len, const struct mmio_ops *ops)
{
	struct vm_io *io = &vm->io;

	if (io->nmmio == VM_MMIO_MAX || !len || base + len < base)
		return -1;
	for (unsigned int i = 0; i < io->nmmio; i++)
		if (base < io->mmio[i].base + io->mmio[i].len && io->mmio[i].base < base + len)
			return -1;
	io->mmio[io->nmmio++] = (struct mmio_range){ base, len, ops };
	return 0;
}

const struct pio_range *vm_find_pio(const struct vm *vm, uint16_t port)
{
	for (unsigned int i = 0; i < vm->io.npio; i++) {
		const struct pio_range *r = &vm->io.pio[i];

		if ((uint16_t)(port - r->base) < r->len)
			return r;
	}
	return NULL;
}

uint64_t vm_mmio_base(struct vcpu *v, const struct mmio_range *r)
{
	return r->ops->base ? r->ops->base(v) : r->base;
}

const struct mmio_range *vm_find_mmio(struct vcpu *v, uint64_t gpa)
{
	const struct vm_io *io = &v->vm->io;

	for (unsigned int i = 0; i < io->nmmio; i++) {
		const struct mmio_range *r = &io->mmio[i];

		if (gpa - vm_mmio_base(v, r) < r->len && (!r->ops->live || r->ops->live(v)))
			return r;
	}
	return NULL;
}

static void unassigned_note(struct vcpu *v, uint64_t gpa, bool write)
{
	struct vm *vm = v->vm;

	if (!vm->unknown_mmio++)
		pr_info("[%s] %s unassigned GPA %llx: reads are all ones, writes dropped "
			"(logged once)\n", vm->cfg.name, write ? "write to" : "read of",
			(unsigned long long)gpa);
}

static uint64_t unassigned_read(struct vcpu *v, uint64_t gpa, unsigned int size)
{
	unassigned_note(v, gpa, false);
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static void unassigned_write(struct vcpu *v, uint64_t gpa, unsigned int size, uint64_t val)
{
	(void)size;
	(void)val;
	unassigned_note(v, gpa, true);
}

static const struct mmio_ops unassigned_ops = {
	.read = unassigned_read,
	.write = unassigned_write,
	.any_size = true,
};

const struct mmio_range vm_unassigned_mmio = { 0, ~0ULL, &unassigned_ops };

void vm_port_access(struct vcpu *v, uint16_t port, bool in, unsigned int size, uint32_t *val)
{
	const struct pio_range *r = vm_find_pio(v->vm, port);

	if (r) {
		r->fn(v, port, in, size, val);
		return;
	}
	/* No device: reads float high, writes vanish. */
	*val = 0xffffffffu;
	v->vm->unknown_ports++;
}
