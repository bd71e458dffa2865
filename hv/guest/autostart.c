/* SPDX-License-Identifier: MIT */
/* hv.cfg at boot: report its errors, create its guests, start the autostart ones. */
#include "hv/core/vm.h"
#include "hv/cpu/console.h"
#include "hv/cpu/hv.h"
#include "hv/guest/guest.h"
#include "hv/mm/gmem.h"
#include "lib/printk.h"
#include "lib/string.h"

static struct hv_config boot_cfg;

const struct hv_config *guests_config(void)
{
	return &boot_cfg;
}

void guests_boot(void)
{
	const struct boot_module *m = &boot_info->modules[0];

	if (!boot_info->nmodules || strcmp(m->name, "hv.cfg")) {
		gmem_global_init(0);
		pr_info("config: no hv.cfg; no guests\n");
		return;
	}
	config_parse((const char *)(uintptr_t)m->pa, m->size, "hv.cfg", &boot_cfg);
	gmem_global_init(boot_cfg.memory_limit);
	if (boot_cfg.nerrors)
		pr_err("config: %u error(s):\n%s", boot_cfg.nerrors, boot_cfg.errors);
	if (boot_cfg.log_level >= 0)
		console_level = boot_cfg.log_level;
	for (unsigned int i = 0; i < boot_cfg.nguests; i++) {
		const struct guest_config *g = &boot_cfg.guests[i];
		int id = vm_create(g);

		if (id < 0) {
			pr_err("config: no room for guest %s\n", g->name);
			continue;
		}
		if (g->autostart)
			vm_start(&vms[id]);
	}
}
