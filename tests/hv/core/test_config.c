/* SPDX-License-Identifier: MIT */
/* hv.cfg parsing: good sections, every kind of bad line, and that errors drop only their guest. */
#include "hv/core/config.h"
#include "tests/host/test.h"

#include <stddef.h>
#include <stdio.h>

static struct hv_config cfg;

static unsigned int parse(const char *s)
{
	return config_parse(s, strlen(s), "hv.cfg", &cfg);
}

TEST(full_guest_section)
{
	CHECK_EQ(parse("log = debug\n[guest a]\nimage = a.bin\nmemory = 32M\nvcpus = 2\n"
		       "cpus = 1-3\nmode = protected\nload = 0x200000\nentry = 0x200010\n"
		       "autostart = no\nunassigned = stop\n"), 0);
	CHECK_EQ(cfg.log_level, 3);
	CHECK_EQ(cfg.nguests, 1);
	CHECK_STR(cfg.guests[0].name, "a");
	CHECK_STR(cfg.guests[0].image, "a.bin");
	CHECK_EQ(cfg.guests[0].memory, 32 << 20);
	CHECK_EQ(cfg.guests[0].vcpus, 2);
	CHECK_EQ(cfg.guests[0].cpu_mask, 0xe);
	CHECK_EQ(cfg.guests[0].mode, MODE_PROTECTED);
	CHECK_EQ(cfg.guests[0].load, 0x200000);
	CHECK_EQ(cfg.guests[0].entry, 0x200010);
	CHECK(!cfg.guests[0].autostart);
	CHECK_EQ(cfg.guests[0].unassigned, UNASSIGNED_STOP);
	CHECK_STR(config_unassigned_name(UNASSIGNED_STOP), "stop");
}

TEST(defaults)
{
	CHECK_EQ(parse("[guest b]\nimage = b.bin # comment\n"), 0);
	CHECK_EQ(cfg.guests[0].memory, 16 << 20);
	CHECK_EQ(cfg.guests[0].vcpus, 1);
	CHECK_EQ(cfg.guests[0].mode, MODE_LONG);
	CHECK(cfg.guests[0].autostart);
	CHECK(cfg.guests[0].apicv);
	CHECK(cfg.guests[0].hugepages);
	CHECK_EQ(cfg.guests[0].unassigned, UNASSIGNED_IGNORE);
	CHECK_EQ(cfg.log_level, -1);
	CHECK_EQ(cfg.gdb_port, 1);
}

TEST(gdb_port)
{
	CHECK_EQ(parse("gdb_port = com2\n[guest a]\nimage = a\n"), 0);
	CHECK_EQ(cfg.gdb_port, 2);
	CHECK_EQ(parse("gdb_port = com1\n"), 0);
	CHECK_EQ(cfg.gdb_port, 1);
	CHECK_EQ(parse("gdb_port = com3\n"), 1);
	CHECK(strstr(cfg.errors, "hv.cfg:1: bad gdb_port 'com3' (expected com1 or com2)") != NULL);
}

/* The per-guest on/off keys: off, on, and a bad value named with its line. */
TEST(on_off_keys_and_bad_values)
{
	static const struct {
		const char *key;
		size_t field;
	} keys[] = {
		{ "apicv", offsetof(struct guest_config, apicv) },
		{ "hugepages", offsetof(struct guest_config, hugepages) },
	};
	char text[160], want[80];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(text, sizeof(text), "[guest a]\nimage = a\n%s = off\n[guest b]\nimage = b\n"
			 "%s = on\n", keys[i].key, keys[i].key);
		CHECK_EQ(parse(text), 0);
		CHECK(!*(bool *)((char *)&cfg.guests[0] + keys[i].field));
		CHECK(*(bool *)((char *)&cfg.guests[1] + keys[i].field));
		snprintf(text, sizeof(text), "[guest c]\nimage = c\n%s = maybe\n", keys[i].key);
		CHECK_EQ(parse(text), 1);
		snprintf(want, sizeof(want), "hv.cfg:3: bad %s 'maybe' (expected on or off)", keys[i].key);
		CHECK(strstr(cfg.errors, want) != NULL);
	}
}

TEST(bad_value_names_line_and_drops_only_that_guest)
{
	CHECK_EQ(parse("[guest ok1]\nimage = a\n\n[guest bad]\nimage = b\nmemory = lots\n"
		       "[guest ok2]\nimage = c\n"), 1);
	CHECK_EQ(cfg.nguests, 2);
	CHECK_STR(cfg.guests[0].name, "ok1");
	CHECK_STR(cfg.guests[1].name, "ok2");
	CHECK(strstr(cfg.errors, "hv.cfg:6: bad memory size 'lots'") != NULL);
}

TEST(every_error_kind)
{
	static const char *const bad[] = {
		"[guest x]\nimage = a\nmemory = 3M\n",		/* not a multiple of 2M */
		"[guest x]\nimage = a\nvcpus = 0\n",
		"[guest x]\nimage = a\nvcpus = 9\n",
		"[guest x]\nimage = a\ncpus = 3-1\n",
		"[guest x]\nimage = a\ncpus = x\n",
		"[guest x]\nimage = a\nmode = virtual86\n",
		"[guest x]\nimage = a\nload = 0x100000000\n",
		"[guest x]\nimage = a\nautostart = maybe\n",
		"[guest x]\nimage = a\nunassigned = float\n",
		"[guest x]\nimage = a\nfrobnicate = 1\n",
		"[guest x]\nimage = a\ninitrd = two words\n",
		"[guest x]\nimage = a\nmodule = \n",
		"[guest x]\nimage = a\ncmdline =\n",
		"[guest x]\nmemory = 4M\n",			/* no image */
		"[guest bad name]\nimage = a\n",
		"[guest]\nimage = a\n",
		"[vm x]\nimage = a\n",
		"[guest x\nimage = a\n",
		"nonsense\n",
		"log = loud\n",
		"= value\n",
		"[guest x]\nimage = a\n[guest x]\nimage = b\n",
	};
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i]) == 0)
			test_fail(__FILE__, __LINE__, "no error for case %u: %s", i, bad[i]);
		CHECK(strstr(cfg.errors, "hv.cfg:") == cfg.errors);
	}
}

TEST(too_many_guests_reported)
{
	char buf[4096] = "";

	for (int i = 0; i < CFG_MAX_GUESTS + 2; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "[guest g%d]\nimage = i\n", i);
	CHECK(parse(buf) >= 1);
	CHECK_EQ(cfg.nguests, CFG_MAX_GUESTS);
	CHECK(strstr(cfg.errors, "too many guests") != NULL);
}

TEST(long_lines_and_nul_bytes_rejected)
{
	char buf[1200];

	memset(buf, 'a', sizeof(buf));
	buf[sizeof(buf) - 1] = '\n';
	CHECK(config_parse(buf, sizeof(buf), "hv.cfg", &cfg) == 1);
	CHECK(strstr(cfg.errors, "line too long") != NULL);
	CHECK(config_parse("log = info\0x\n", 13, "hv.cfg", &cfg) == 1);
	CHECK(strstr(cfg.errors, "NUL") != NULL);
}

TEST(crlf_and_blank_lines)
{
	CHECK_EQ(parse("\r\n# c\r\n[guest w]\r\nimage = w.bin\r\nmemory = 2M\r\n"), 0);
	CHECK_STR(cfg.guests[0].image, "w.bin");
	CHECK_EQ(cfg.guests[0].memory, 2 << 20);

	/* Big guests: the limits are the host's, checked at start. */
	CHECK_EQ(parse("[guest big]\nimage = b.bin\nmemory = 1T\n"), 0);
	CHECK_EQ(cfg.guests[0].memory, 1ULL << 40);
}

TEST(linux_keys_initrd_and_cmdline_with_hash)
{
	CHECK_EQ(parse("[guest l]\nimage = bzImage\ninitrd = initrd.img # comment\n"
		       "cmdline =  console=ttyS0 root=/dev/ram0 #1 keep  \n"), 0);
	CHECK_STR(cfg.guests[0].initrd, "initrd.img");
	CHECK_STR(cfg.guests[0].cmdline, "console=ttyS0 root=/dev/ram0 #1 keep");
	CHECK_EQ(cfg.guests[0].nmodules, 0);
}

TEST(cmdline_up_to_1023_characters)
{
	static char buf[1200], want[1024];

	memset(want, 'c', 1023);
	want[1023] = 0;
	snprintf(buf, sizeof(buf), "[guest l]\nimage = k\ncmdline = %s\n", want);
	CHECK_EQ(parse(buf), 0);
	CHECK_STR(cfg.guests[0].cmdline, want);
	snprintf(buf, sizeof(buf), "[guest l]\nimage = k\ncmdline = %sc\n", want);
	CHECK_EQ(parse(buf), 1);
	CHECK(strstr(cfg.errors, "hv.cfg:3: cmdline too long (1024 characters, at most 1023)"));
	CHECK_EQ(cfg.nguests, 0);
}

TEST(modules_file_and_args)
{
	CHECK_EQ(parse("[guest m]\nimage = mb.bin\nmodule = a.txt\n"
		       "module =\tb.txt  x=1   y # comment\n"), 0);
	CHECK_EQ(cfg.guests[0].nmodules, 2);
	CHECK_STR(cfg.guests[0].modules[0].file, "a.txt");
	CHECK_STR(cfg.guests[0].modules[0].args, "");
	CHECK_STR(cfg.guests[0].modules[1].file, "b.txt");
	CHECK_STR(cfg.guests[0].modules[1].args, "x=1   y");
}

TEST(module_errors)
{
	char buf[2048] = "[guest m]\nimage = mb.bin\n";

	for (int i = 0; i < CFG_MODULES_MAX + 1; i++)
		strcat(buf, "module = f\n");
	CHECK_EQ(parse(buf), 1);
	CHECK(strstr(cfg.errors, "hv.cfg:11: too many modules (at most 8)"));
	CHECK_EQ(parse("[guest m]\nimage = mb.bin\nmodule = "
		       "a234567890123456789012345678901234567890123456789012345678901234 x\n"), 1);
	CHECK(strstr(cfg.errors, "bad module file name 'a2345"));
	memset(buf, 0, sizeof(buf));
	strcpy(buf, "[guest m]\nimage = mb.bin\nmodule = f ");
	memset(buf + strlen(buf), 'x', CFG_MODARGS_MAX);
	strcat(buf, "\n");
	CHECK_EQ(parse(buf), 1);
	CHECK(strstr(cfg.errors, "module arguments too long (192 characters, at most 191)"));
}

TEST(unknown_key_lists_every_key)
{
	CHECK_EQ(parse("[guest x]\nimage = a\nkernel = b\n"), 1);
	CHECK(strstr(cfg.errors, "unknown guest key 'kernel' (expected image, memory, vcpus, cpus, "
		     "mode, load, entry, autostart, apicv, hugepages, unassigned, initrd, cmdline, module, disk, net or balloon)"));
}

TEST(virtio_keys_disk_net_balloon)
{
	const struct guest_config *g;

	CHECK_EQ(parse("[guest v]\nimage = a\ndisk = root.img\ndisk = data.img ro # c\n"
		       "net = lan0\nnet = lan1 52:54:00:0a:Bc:01\nballoon = yes\n"), 0);
	g = &cfg.guests[0];
	CHECK(config_has_pci(g));
	CHECK_EQ(g->ndisks, 2);
	CHECK_STR(g->disks[0].file, "root.img");
	CHECK(!g->disks[0].ro);
	CHECK_STR(g->disks[1].file, "data.img");
	CHECK(g->disks[1].ro);
	CHECK_EQ(g->nnics, 2);
	CHECK_STR(g->nics[0].net, "lan0");
	CHECK(!g->nics[0].mac_set);
	CHECK_STR(g->nics[1].net, "lan1");
	CHECK(g->nics[1].mac_set);
	CHECK_EQ(g->nics[1].mac[4], 0xbc);
	CHECK_EQ(g->nics[1].mac[5], 0x01);
	CHECK(g->balloon);
	CHECK_EQ(parse("[guest w]\nimage = a\n"), 0);
	CHECK(!config_has_pci(&cfg.guests[0]));
}

TEST(virtio_key_errors)
{
	static const char *const bad[][2] = {
		{ "disk = a.img rw\n", "bad disk option 'rw' (expected: disk = FILE [ro])" },
		{ "net = lan 52:54:00:12:34\n", "bad MAC address '52:54:00:12:34'" },
		{ "net = lan 01:00:5e:00:00:01\n", "bad MAC address" },	/* multicast */
		{ "net = lan 00:00:00:00:00:00\n", "bad MAC address" },
		{ "net = lan 52:54:00:12:34:5g\n", "bad MAC address" },
		{ "net = l@n\n", "bad network name in 'l@n'" },
		{ "balloon = maybe\n", "bad balloon 'maybe' (expected yes or no)" },
		{ "disk = a\ndisk = b\ndisk = c\ndisk = d\ndisk = e\n", "too many disks (at most 4)" },
		{ "net = a\nnet = b\nnet = c\n", "too many network ports (at most 2)" },
	};
	char buf[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "[guest x]\nimage = a\n%s", bad[i][0]);
		CHECK_EQ(parse(buf), 1);
		CHECK_EQ(cfg.nguests, 0);
		if (!strstr(cfg.errors, bad[i][1])) {
			test_fail(__FILE__, __LINE__, "case %zu: %s", i, cfg.errors);
			return;
		}
	}
}
