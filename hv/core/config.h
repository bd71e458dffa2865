/* SPDX-License-Identifier: MIT */
/*
 * hv.cfg: global "key = value" lines, then one [guest NAME] section per
 * guest.  The format is in docs/hypercalls.md, the image keys in
 * docs/guest-images.md.  Portable: host-tested.
 */
#ifndef HV_CONFIG_H
#define HV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_MAX_GUESTS	32
#define CFG_NAME_MAX	24
#define CFG_FILE_MAX	64
#define CFG_CMDLINE_MAX	1024		/* with the NUL */
#define CFG_MODULES_MAX	8
#define CFG_MODARGS_MAX	192		/* with the NUL */
#define CFG_DISKS_MAX	4
#define CFG_NICS_MAX	2

enum guest_mode { MODE_LONG = 0, MODE_PROTECTED, MODE_REAL };

/* What an access to guest-physical memory that is neither RAM nor a device does. */
enum unassigned_policy {
	UNASSIGNED_IGNORE = 0,		/* reads all ones, writes dropped (a PCI master abort) */
	UNASSIGNED_STOP,		/* the guest is stopped (hostile-guest tests) */
};

/* "module = FILE ARGS": a Multiboot module and the rest of its string. */
struct guest_module {
	char file[CFG_FILE_MAX];
	char args[CFG_MODARGS_MAX];
};

/* "disk = FILE [ro]": a virtio-blk disk holding the file (docs/virtio.md). */
struct guest_disk {
	char file[CFG_FILE_MAX];
	bool ro;
};

/* "net = NAME [MAC]": a virtio-net port on the hypervisor's switch NAME. */
struct guest_nic {
	char net[CFG_NAME_MAX];
	uint8_t mac[6];
	bool mac_set;			/* else the device makes one from the guest's name */
};

struct guest_config {
	char name[CFG_NAME_MAX];
	char image[CFG_FILE_MAX];
	char initrd[CFG_FILE_MAX];		/* Linux only; empty: none */
	char cmdline[CFG_CMDLINE_MAX];		/* Linux and Multiboot; '#' is kept */
	unsigned int nmodules;
	struct guest_module modules[CFG_MODULES_MAX];	/* Multiboot only */
	unsigned int ndisks, nnics;
	struct guest_disk disks[CFG_DISKS_MAX];
	struct guest_nic nics[CFG_NICS_MAX];
	bool balloon;			/* a virtio-balloon with free page reporting */
	uint64_t memory;		/* bytes, a multiple of 2 MiB */
	unsigned int vcpus;
	uint64_t cpu_mask;		/* physical CPUs its vCPUs may run on; 0: any but CPU 0 */
	int mode;			/* enum guest_mode; bzImage and Multiboot ignore it */
	uint64_t load;			/* where a flat binary goes; 0: 0x100000, real mode 0x7c00 */
	uint64_t entry;			/* entry point; 0: the ELF entry or the load address */
	bool autostart;
	bool apicv;			/* APIC virtualization where the CPU has it (default on) */
	bool hugepages;			/* 2 MiB EPT leaves where a host block is free (default on) */
	int unassigned;			/* enum unassigned_policy */
	int line;			/* where its section starts */
};

struct hv_config {
	int log_level;			/* -1: not given */
	uint64_t memory_limit;		/* bytes of host memory all guests may use; 0: all free memory */
	unsigned int gdb_port;		/* `gdb NAME` without a port: 1 (COM1, the shell's) or 2 */
	unsigned int nguests;
	struct guest_config guests[CFG_MAX_GUESTS];
	unsigned int nerrors;
	char errors[1024];		/* "file:line: what is wrong" lines */
};

/*
 * Parse text; never fails as a whole: a bad line is reported in errors and
 * its guest dropped, the other guests stay.  Returns the number of errors.
 */
unsigned int config_parse(const char *text, size_t len, const char *fname, struct hv_config *cfg);
const char *config_mode_name(int mode);
const char *config_unassigned_name(int policy);

/* Does the guest get a PCI bus (it has a virtio device)? */
static inline bool config_has_pci(const struct guest_config *g)
{
	return g->ndisks || g->nnics || g->balloon;
}

#endif
