/* SPDX-License-Identifier: MIT */
/* hv.cfg parsing: good sections, every kind of bad line, and that errors drop only their guest. */
#include "hv/config.h"
#include "tests/host/test.h"

static struct hv_config cfg;

static unsigned int parse(const char *s)
{
	return config_parse(s, strlen(s), "hv.cfg", &cfg);
}

TEST(full_guest_section)
{
	CHECK_EQ(parse("log = debug\n[guest a]\nimage = a.bin\nmemory = 32M\nvcpus = 2\n"
		       "cpus = 1-3\nmode = protected\nload = 0x200000\nentry = 0x200010\n"
		       "autostart = no\n"), 0);
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
}

TEST(defaults)
{
	CHECK_EQ(parse("[guest b]\nimage = b.bin # comment\n"), 0);
	CHECK_EQ(cfg.guests[0].memory, 16 << 20);
	CHECK_EQ(cfg.guests[0].vcpus, 1);
	CHECK_EQ(cfg.guests[0].mode, MODE_LONG);
	CHECK(cfg.guests[0].autostart);
	CHECK_EQ(cfg.log_level, -1);
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
		"[guest x]\nimage = a\nfrobnicate = 1\n",
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
	char buf[600];

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
}
