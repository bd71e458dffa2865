/* SPDX-License-Identifier: MIT */
/*
 * lspci for the test initramfs: Debian's busybox has no lspci applet, and
 * pciutils' lspci needs libpci, libkmod, libudev and their libraries.  This
 * reads what Linux shows in /sys/bus/pci/devices and prints it the way
 * `lspci -nn` does, with `-v` the BARs, the interrupt, the capabilities and
 * the driver.  Names only for what the hypervisor emulates.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct name {
	unsigned int id;
	const char *name;
};

static const struct name classes[] = {
	{ 0x0600, "Host bridge" }, { 0x0100, "SCSI storage controller" },
	{ 0x0200, "Ethernet controller" }, { 0x00ff, "Unclassified device" },
};

static const struct name devices[] = {
	{ 0x1b360008, "Red Hat, Inc. QEMU PCIe Host bridge" },
	{ 0x1af41041, "Red Hat, Inc. Virtio 1.0 network device" },
	{ 0x1af41042, "Red Hat, Inc. Virtio 1.0 block device" },
	{ 0x1af41045, "Red Hat, Inc. Virtio 1.0 memory balloon" },
};

static const char *lookup(const struct name *t, size_t n, unsigned int id, const char *none)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].id == id)
			return t[i].name;
	return none;
}

static unsigned long hexfile(const char *dev, const char *file)
{
	char path[512], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", dev, file);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	return strtoul(buf, NULL, 0);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void capabilities(const char *dev)
{
	unsigned char cfg[256];
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", dev);
	f = fopen(path, "rb");
	if (!f)
		return;
	n = fread(cfg, 1, sizeof(cfg), f);
	fclose(f);
	if (n < 64 || !(cfg[6] & 0x10))
		return;
	for (unsigned int off = cfg[0x34], hops = 0; off >= 0x40 && off < n && hops < 48;
	     off = cfg[off + 1], hops++) {
		if (cfg[off] == 0x11) {
			unsigned int ctrl = cfg[off + 2] | cfg[off + 3] << 8;

			printf("\tCapabilities: [%02x] MSI-X: Enable%c Count=%u Masked%c\n", off,
			       ctrl & 0x8000 ? '+' : '-', (ctrl & 0x7ff) + 1, ctrl & 0x4000 ? '+' : '-');
		} else if (cfg[off] == 0x09) {
			static const char *const types[] = { "?", "CommonCfg", "Notify", "ISR",
							     "DeviceCfg", "PCICfg" };
			unsigned int t = cfg[off + 3];

			printf("\tCapabilities: [%02x] Vendor Specific Information: VirtIO: %s\n", off,
			       t < 6 ? types[t] : "?");
		} else {
			printf("\tCapabilities: [%02x] id %02x\n", off, cfg[off]);
		}
	}
}

static void verbose(const char *dev)
{
	char path[512], link[512], line[256];
	unsigned long irq = hexfile(dev, "irq");
	ssize_t len;
	FILE *f;

	printf("\tSubsystem: %04lx:%04lx\n", hexfile(dev, "subsystem_vendor"),
	       hexfile(dev, "subsystem_device"));
	printf("\tFlags: %sIRQ %lu\n", hexfile(dev, "enable") ? "bus master, " : "", irq);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", dev);
	f = fopen(path, "r");
	for (int bar = 0; f && bar < 6 && fgets(line, sizeof(line), f); bar++) {
		unsigned long long start, end, flags;

		if (sscanf(line, "%llx %llx %llx", &start, &end, &flags) == 3 && end)
			printf("\tMemory at %08llx (%s-bit, non-prefetchable) [size=%lluK]\n", start,
			       flags & 0x100000 ? "64" : "32", (end - start + 1) >> 10);
	}
	if (f)
		fclose(f);
	capabilities(dev);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", dev);
	len = readlink(path, link, sizeof(link) - 1);
	if (len > 0) {
		link[len] = 0;
		printf("\tKernel driver in use: %s\n", strrchr(link, '/') + 1);
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	int v = argc > 1 && !strcmp(argv[1], "-v");
	char *names[256];
	size_t n = 0;
	struct dirent *e;
	DIR *d = opendir("/sys/bus/pci/devices");

	if (!d) {
		fprintf(stderr, "lspci: no /sys/bus/pci/devices\n");
		return 1;
	}
	while ((e = readdir(d)) && n < 256)
		if (e->d_name[0] != '.')
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp);
	for (size_t i = 0; i < n; i++) {
		const char *dev = names[i];
		unsigned int vendor = (unsigned int)hexfile(dev, "vendor");
		unsigned int device = (unsigned int)hexfile(dev, "device");
		unsigned int cls = (unsigned int)(hexfile(dev, "class") >> 8);

		printf("%s %s [%04x]: %s [%04x:%04x] (rev %02lx)\n", dev + 5,
		       lookup(classes, sizeof(classes) / sizeof(classes[0]), cls, "Class"), cls,
		       lookup(devices, sizeof(devices) / sizeof(devices[0]), vendor << 16 | device,
			      "Device"), vendor, device, hexfile(dev, "revision"));
		if (v)
			verbose(dev);
	}
	return 0;
}
