/* SPDX-License-Identifier: MIT */
/* The loader's hand-off, for everything that reads the boot medium's files or map. */
#include "hv/cpu/hv.h"

const struct boot_info *boot_info;
