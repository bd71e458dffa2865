/* SPDX-License-Identifier: MIT */
/* Guest lifecycle, from the shell and from hv.cfg at boot (hv/guest/). */
#ifndef HV_GUEST_GUEST_H
#define HV_GUEST_GUEST_H

struct vm;
struct hv_config;

/* Load its image, set up its memory and vCPUs, queue them; -1 with the reason printed. */
int vm_start(struct vm *vm);
/* Make every vCPU leave and free the guest's memory; -1 if a vCPU did not leave in 2 s. */
int vm_stop(struct vm *vm, const char *why);
/* The shell's idle poll: free guests that ended by themselves, restart those that reset. */
void vm_reap_all(void);
/* Create the guests of hv.cfg and start the autostart ones (hv/guest/autostart.c). */
void guests_boot(void);
/* hv.cfg as read at boot (its global keys), or the defaults without one. */
const struct hv_config *guests_config(void);

#endif
