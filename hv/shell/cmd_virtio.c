/* SPDX-License-Identifier: MIT */
/* Shell commands for guests' devices: pci, virtio, balloon, and what `mem` shows of them. */
#include "hv/core/guest_boot.h"
#include "hv/core/vm.h"
#include "hv/lib/parse.h"
#include "hv/shell/shell.h"
#include "hv/vdev/pci.h"
#include "hv/virtio/balloon.h"
#include "hv/virtio/blk.h"
#include "hv/virtio/net.h"
#include "hv/virtio/virtio_pci.h"
#include "lib/printk.h"
#include "lib/string.h"
#include "smp/time.h"

typedef unsigned long long ull;

static struct vm *guest_with_pci(const char *name)
{
	struct vm *vm = vm_find(name);

	if (!vm)
		pr_info("error: no guest named '%s' (see 'guests')\n", name);
	else if (!vm->pci)
		pr_info("error: guest %s has no PCI bus (no disk, net or balloon in hv.cfg)\n", name);
	return vm && vm->pci ? vm : NULL;
}

static void print_bars(const struct pci_func *f)
{
	uint16_t cmd = pci_func_command(f);

	for (unsigned int b = 0; b < PCI_NUM_BARS; b++)
		if (f->bar_size[b])
			pr_info("        BAR%u %08x (%u KiB, memory, %s)\n", b, pci_func_bar_addr(f, b),
				f->bar_size[b] >> 10, cmd & PCI_COMMAND_MEMORY ? "decoded" : "off");
}

int cmd_pci(int argc, char **argv)
{
	struct pci_func f;
	struct vm *vm;

	if (argc != 2)
		return pr_info("usage: pci NAME\n"), -1;
	if (!(vm = guest_with_pci(argv[1])))
		return -1;
	pr_info("guest %s: PCI bus 0, ECAM at %llx, BAR window %llx-%llx\n", vm->cfg.name,
		(ull)GUEST_PCI_ECAM_BASE, (ull)GUEST_PCI_MMIO_BASE,
		(ull)(GUEST_PCI_MMIO_BASE + GUEST_PCI_MMIO_SIZE - 1));
	for (unsigned int s = 0; pci_function(vm, s); s++) {
		struct vpci_fn *fn = pci_function(vm, s);
		uint16_t cmd;

		pci_snapshot(fn, &f);
		cmd = pci_func_command(&f);
		pr_info("00:%02x.0 %04x:%04x class %06x rev %02x  %s %s\n", s,
			pci_cfg_read(&f, 0, 2), pci_cfg_read(&f, 2, 2), pci_cfg_read(&f, 9, 3),
			pci_cfg_read(&f, 8, 1), fn->kind, fn->detail);
		pr_info("        command %04x (%s%s%s)\n", cmd, cmd & PCI_COMMAND_MEMORY ? "memory " : "",
			cmd & PCI_COMMAND_MASTER ? "bus-master " : "",
			cmd & PCI_COMMAND_INTX_OFF ? "INTx-off" : "");
		print_bars(&f);
		if (f.msix_cap)
			pr_info("        MSI-X %u vectors, %s%s; %llu messages sent, %llu refused\n",
				f.msix_nvec, pci_msix_enabled(&f) ? "enabled" : "disabled",
				pci_cfg_read(&f, f.msix_cap + 2, 2) & 0x4000 ? ", masked" : "",
				(ull)fn->msi_sent, (ull)fn->msi_bad);
		if (s)
			pr_info("        INTx pin A, GSI %u (line %u), %s, raised %llu times\n",
				guest_pci_gsi(s, 0), pci_cfg_read(&f, PCI_INTERRUPT_LINE, 1),
				fn->intx_asserted ? "asserted" : "idle", (ull)fn->intx_raised);
	}
	return 0;
}

static void print_status(uint8_t st)
{
	static const char *const bits[8] = {
		"acknowledge", "driver", "driver-ok", "features-ok", "", "", "needs-reset", "failed",
	};

	pr_info("status %02x (", st);
	for (unsigned int i = 0, first = 1; i < 8; i++)
		if (st & (1u << i)) {
			pr_info("%s%s", first ? "" : " ", bits[i]);
			first = 0;
		}
	pr_info(")");
}

static void print_device(struct virtio_dev *d)
{
	struct blk_stats bs;
	struct net_stats ns;

	spin_lock(&d->lock);
	pr_info("00:%02x.0 %s %s: ", d->fn->slot, virtio_kind(d), d->fn->detail);
	print_status(d->status);
	pr_info(", features %llx of %llx\n", (ull)d->driver_features, (ull)d->features);
	for (unsigned int i = 0; i < d->ops->nqueues; i++) {
		const struct virtio_queue *q = &d->q[i];

		pr_info("  queue %u: size %u, %s, vector %u, taken %u used %u, notifies %llu, "
			"requests %llu, interrupts %llu (suppressed %llu)\n", i, q->vq.size,
			q->enabled ? "enabled" : "off", q->msix_vector, q->vq.last_avail,
			q->vq.used_idx, (ull)q->notifies, (ull)q->chains, (ull)q->interrupts,
			(ull)q->suppressed);
	}
	pr_info("  errors %llu, driver resets %llu, bad register accesses %llu, notifies ignored "
		"%llu, config interrupts %llu%s%s\n", (ull)d->errors, (ull)d->resets,
		(ull)d->bad_accesses, (ull)d->notifies_ignored, (ull)d->config_irqs,
		d->error[0] ? "; needs reset: " : "", d->error);
	spin_unlock(&d->lock);
	if (virtio_blk_stats(d, &bs))
		pr_info("  disk %s%s: %llu KiB, %llu zero blocks; reads %llu (%llu KiB), writes %llu "
			"(%llu KiB), flushes %llu, discards %llu, get-id %llu, I/O errors %llu, "
			"unsupported %llu\n", bs.file, bs.ro ? " (read-only)" : "",
			(ull)bs.size >> 10, (ull)bs.zero_blocks, (ull)bs.reads,
			(ull)bs.read_bytes >> 10, (ull)bs.writes, (ull)bs.write_bytes >> 10,
			(ull)bs.flushes, (ull)bs.discards, (ull)bs.get_ids, (ull)bs.ioerrs,
			(ull)bs.unsupported);
	if (virtio_net_stats(d, &ns))
		pr_info("  port on %s, MAC %02x:%02x:%02x:%02x:%02x:%02x, %s: sent %llu (%llu bytes), "
			"received %llu (%llu bytes); dropped: over rate %llu, bad %llu, nowhere %llu, "
			"no buffer %llu, small buffer %llu, down %llu\n", ns.network, ns.mac[0],
			ns.mac[1], ns.mac[2], ns.mac[3], ns.mac[4], ns.mac[5],
			ns.attached ? "attached" : "detached", (ull)ns.tx_frames, (ull)ns.tx_bytes,
			(ull)ns.rx_frames, (ull)ns.rx_bytes, (ull)ns.drop_rate, (ull)ns.drop_bad,
			(ull)ns.drop_nowhere, (ull)ns.rx_nobuf, (ull)ns.rx_small, (ull)ns.rx_down);
}

int cmd_virtio(int argc, char **argv)
{
	struct virtio_dev *d;
	struct vm *vm;

	if (argc != 2)
		return pr_info("usage: virtio NAME\n"), -1;
	if (!(vm = guest_with_pci(argv[1])))
		return -1;
	for (unsigned int i = 0; (d = virtio_device(vm, i)); i++)
		print_device(d);
	return 0;
}

static void print_balloon(const struct vm *vm, const struct balloon_stats *st)
{
	pr_info("balloon %s: target %llu KiB, holds %llu KiB; inflated %llu pages (%llu held memory), "
		"deflated %llu; free page reports %llu: %llu pages (%llu held memory)\n",
		vm->cfg.name, (ull)st->target * 4, (ull)st->actual * 4, (ull)st->inflated,
		(ull)st->inflated_freed, (ull)st->deflated, (ull)st->reports, (ull)st->reported,
		(ull)st->reported_freed);
	if (!st->have_stats)
		return;
	pr_info("  guest statistics (%llu updates):", (ull)st->stats_updates);
	for (unsigned int i = 0; i < BALLOON_NSTATS; i++)
		if (st->stat[i] != ~0ull)
			pr_info(" %s %llu", balloon_stat_names[i], (ull)st->stat[i]);
	pr_info("\n");
}

int cmd_balloon(int argc, char **argv)
{
	struct balloon_stats st;
	struct vm *vm;
	uint64_t size, d, before;

	if (argc < 2 || argc > 3 || (argc == 3 && !parse_u64(argv[2], &size)))
		return pr_info("usage: balloon NAME [SIZE] (SIZE: the memory the guest keeps)\n"), -1;
	if (!(vm = vm_find(argv[1])))
		return pr_info("error: no guest named '%s' (see 'guests')\n", argv[1]), -1;
	if (!virtio_balloon_stats(vm, &st))
		return pr_info("error: guest %s has no balloon (balloon = yes in hv.cfg)\n",
			       vm->cfg.name), -1;
	if (argc == 3) {
		if (size > vm->cfg.memory)
			size = vm->cfg.memory;
		virtio_balloon_set(vm, vm->cfg.memory - size);
		pr_info("balloon %s: asking for %llu KiB, the guest keeps %llu KiB\n", vm->cfg.name,
			(ull)(vm->cfg.memory - size) >> 10, (ull)size >> 10);
		return 0;
	}
	/* Fresh figures if the driver answers within a second. */
	before = st.stats_updates;
	virtio_balloon_refresh(vm);
	for (d = deadline_us(1000000); !deadline_passed(d) && st.stats_updates == before;)
		virtio_balloon_stats(vm, &st);
	print_balloon(vm, &st);
	return 0;
}

/* What `mem` shows of a guest's devices: pages given back, the disks. */
void shell_mem_devices_report(struct vm *vm)
{
	struct balloon_stats st;

	if (virtio_balloon_stats(vm, &st))
		pr_info("    given back: balloon %llu pages now, %llu inflated (%llu held memory), "
			"free page reporting %llu pages (%llu held memory)\n",
			(ull)(st.inflated - st.deflated), (ull)st.inflated, (ull)st.inflated_freed,
			(ull)st.reported, (ull)st.reported_freed);
}

void shell_mem_disks_report(void)
{
	struct zstore_stats zs;

	virtio_blk_store_stats(&zs);
	if (zs.handles)
		pr_info("disks: %llu blocks stored in %llu entries (%llu raw), %llu bytes in %llu "
			"data pages + %llu meta pages, dedup hits %llu\n", (ull)zs.handles,
			(ull)zs.entries, (ull)zs.raw_entries, (ull)zs.compressed_bytes,
			(ull)zs.data_pages, (ull)zs.meta_pages, (ull)zs.dedup_hits);
}
