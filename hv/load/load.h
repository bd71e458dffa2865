/* SPDX-License-Identifier: MIT */
/*
 * Guest images: a flat binary, ELF32/64, a Linux bzImage or a Multiboot v1
 * kernel, copied into guest memory with what its boot protocol promises
 * (hv/load/guest_load.c; docs/guest-images.md).
 */
#ifndef HV_LOAD_LOAD_H
#define HV_LOAD_LOAD_H

struct vm;

/* Load cfg.image (and initrd, modules) into @vm's memory and set vm->boot; -1 with @err. */
int guest_load_image(struct vm *vm, char *err, unsigned int errlen);

#endif
