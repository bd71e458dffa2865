/* SPDX-License-Identifier: MIT */
/* Tests for hv/shell/parse.c: word splitting, command lookup, numbers. */
#include "tests/host/test.h"
#include "hv/shell/parse.h"
#include "hv/lib/parse.h"

#define MAXARGS 8

static char line[256];
static char *argv_[MAXARGS];
static const char *err;

/* Split a copy of @s; err is set to a sentinel so a missing reason shows. */
static int split(const char *s, int max)
{
	snprintf(line, sizeof(line), "%s", s);
	memset(argv_, 0, sizeof(argv_));
	err = "unset";
	return shell_split_err(line, argv_, max, &err);
}

TEST(split_on_spaces_and_tabs)
{
	CHECK_EQ(split("  ls  -l\tfoo  ", MAXARGS), 3);
	CHECK_STR(argv_[0], "ls");
	CHECK_STR(argv_[1], "-l");
	CHECK_STR(argv_[2], "foo");
	CHECK(argv_[3] == NULL);
}

TEST(split_empty_and_blank_lines)
{
	CHECK_EQ(split("", MAXARGS), 0);
	CHECK_EQ(split("   \t ", MAXARGS), 0);
	CHECK_EQ(split("x", 0), -1);
	CHECK_EQ(split("", 0), 0);
}

TEST(split_double_quotes_group)
{
	CHECK_EQ(split("echo \"a  b\" c", MAXARGS), 3);
	CHECK_STR(argv_[0], "echo");
	CHECK_STR(argv_[1], "a  b");
	CHECK_STR(argv_[2], "c");
}

TEST(split_single_quotes_are_literal)
{
	CHECK_EQ(split("say 'a \\\"b\" c'", MAXARGS), 2);
	CHECK_STR(argv_[1], "a \\\"b\" c");
}

TEST(split_backslash_escapes_in_double_quotes)
{
	CHECK_EQ(split("\"say \\\"hi\\\" \\\\ \\n\" x\\y", MAXARGS), 2);
	CHECK_STR(argv_[0], "say \"hi\" \\ \\n");
	/* Outside quotes a backslash is an ordinary character. */
	CHECK_STR(argv_[1], "x\\y");
}

TEST(split_adjacent_pieces_join)
{
	CHECK_EQ(split("a\"b c\"'d'e f", MAXARGS), 2);
	CHECK_STR(argv_[0], "ab cde");
	CHECK_STR(argv_[1], "f");
}

TEST(split_empty_quotes_make_an_empty_word)
{
	CHECK_EQ(split("x \"\" '' y", MAXARGS), 4);
	CHECK_STR(argv_[0], "x");
	CHECK_STR(argv_[1], "");
	CHECK_STR(argv_[2], "");
	CHECK_STR(argv_[3], "y");
}

TEST(split_unterminated_quote_is_an_error)
{
	CHECK_EQ(split("echo \"abc", MAXARGS), -1);
	CHECK_STR(err, "unterminated quote");
	CHECK_EQ(split("'abc", MAXARGS), -1);
	CHECK_STR(err, "unterminated quote");
	CHECK_EQ(split("\"abc\\\"", MAXARGS), -1);
	CHECK_STR(err, "unterminated quote");
	CHECK_EQ(split("a\"", MAXARGS), -1);
	snprintf(line, sizeof(line), "'x");
	CHECK_EQ(shell_split(line, argv_, MAXARGS), -1);
}

TEST(split_max_args)
{
	CHECK_EQ(split("a b c", 3), 3);
	CHECK_STR(argv_[2], "c");
	CHECK_EQ(split("a b c   ", 3), 3);
	CHECK_EQ(split("a b c d", 3), -1);
	CHECK_STR(err, "too many arguments");
	CHECK(argv_[3] == NULL);
	CHECK_EQ(split("a b c \"\"", 3), -1);
}

TEST(split_does_not_touch_err_on_success)
{
	CHECK_EQ(split("a", 1), 1);
	CHECK_STR(err, "unset");
}

static const struct shell_cmd cmds[] = {
	{ "mem", "", "", NULL },
	{ "memmap", "", "", NULL },
	{ "help", "", "", NULL },
	{ "me", "", "", NULL },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

TEST(find_is_exact)
{
	CHECK(shell_find(cmds, NCMDS, "mem") == &cmds[0]);
	CHECK(shell_find(cmds, NCMDS, "memmap") == &cmds[1]);
	CHECK(shell_find(cmds, NCMDS, "me") == &cmds[3]);
	CHECK(shell_find(cmds, NCMDS, "memm") == NULL);
	CHECK(shell_find(cmds, NCMDS, "mems") == NULL);
	CHECK(shell_find(cmds, NCMDS, "") == NULL);
	CHECK(shell_find(cmds, 0, "mem") == NULL);
}

TEST(complete_lists_prefix_matches_in_order)
{
	const char *m[8];

	CHECK_EQ(shell_complete(cmds, NCMDS, "mem", m, 8), 2);
	CHECK_STR(m[0], "mem");
	CHECK_STR(m[1], "memmap");
	CHECK_EQ(shell_complete(cmds, NCMDS, "h", m, 8), 1);
	CHECK_STR(m[0], "help");
	CHECK_EQ(shell_complete(cmds, NCMDS, "x", m, 8), 0);
	CHECK_EQ(shell_complete(cmds, NCMDS, "", m, 8), NCMDS);
}

TEST(complete_counts_beyond_max)
{
	const char *m[3] = { NULL, NULL, "guard" };

	CHECK_EQ(shell_complete(cmds, NCMDS, "m", m, 2), 3);
	CHECK_STR(m[0], "mem");
	CHECK_STR(m[1], "memmap");
	CHECK_STR(m[2], "guard");
}

static bool u64_is(const char *s, uint64_t want)
{
	uint64_t v = 0xdead;

	return parse_u64(s, &v) && v == want;
}

static bool u64_rejects(const char *s)
{
	uint64_t v = 0xdead;

	return !parse_u64(s, &v) && v == 0xdead;
}

TEST(parse_u64_decimal_and_hex)
{
	CHECK(u64_is("0", 0));
	CHECK(u64_is("42", 42));
	CHECK(u64_is("007", 7));
	CHECK(u64_is("0x0", 0));
	CHECK(u64_is("0x1f", 31));
	CHECK(u64_is("0XaBcD", 0xabcd));
	CHECK(u64_is("18446744073709551615", UINT64_MAX));
	CHECK(u64_is("0xffffffffffffffff", UINT64_MAX));
	CHECK(u64_is("0x00000000000000000001", 1));
}

TEST(parse_u64_suffixes_are_binary)
{
	CHECK(u64_is("4K", 4096));
	CHECK(u64_is("4k", 4096));
	CHECK(u64_is("2M", 2u << 20));
	CHECK(u64_is("1G", 1u << 30));
	CHECK(u64_is("0x10K", 16 << 10));
	CHECK(u64_is("0K", 0));
	CHECK(u64_is("17179869183G", 17179869183ull << 30));
	CHECK(u64_is("1T", 1ull << 40));
	CHECK(u64_is("2t", 2ull << 40));
}

TEST(parse_u64_rejects_overflow)
{
	CHECK(u64_rejects("18446744073709551616"));
	CHECK(u64_rejects("18446744073709551620"));
	CHECK(u64_rejects("99999999999999999999"));
	CHECK(u64_rejects("0x10000000000000000"));
	CHECK(u64_rejects("17179869184G"));
	CHECK(u64_rejects("16777216T"));
	CHECK(u64_rejects("0x40000000000000K"));
}

TEST(parse_u64_rejects_garbage)
{
	static const char *bad[] = {
		"", "0x", "0X", "x1", "12abc", "abc", "4KB", "K", "4 ", " 4", "-1",
		"+1", "0x-1", "1.5", "0xg", "1e3", "4P", "0b101", "4KK",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!u64_rejects(bad[i])) {
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
			CHECK(u64_rejects(bad[i]));
		}
	}
}

static bool int_is(const char *s, long want)
{
	long v = 0xdead;

	return parse_int(s, &v) && v == want;
}

static bool int_rejects(const char *s)
{
	long v = 0xdead;

	return !parse_int(s, &v) && v == 0xdead;
}

TEST(parse_int_signs_and_range)
{
	CHECK(int_is("0", 0));
	CHECK(int_is("-0", 0));
	CHECK(int_is("5", 5));
	CHECK(int_is("+7", 7));
	CHECK(int_is("-5", -5));
	CHECK(int_is("0x10", 16));
	CHECK(int_is("-0x10", -16));
	CHECK(int_is("-4K", -4096));
	CHECK(int_is("9223372036854775807", __LONG_MAX__));
	CHECK(int_is("-9223372036854775808", -__LONG_MAX__ - 1));
	CHECK(int_rejects("9223372036854775808"));
	CHECK(int_rejects("-9223372036854775809"));
	CHECK(int_rejects("18446744073709551615"));
	CHECK(int_rejects(""));
	CHECK(int_rejects("-"));
	CHECK(int_rejects("+"));
	CHECK(int_rejects("--1"));
	CHECK(int_rejects("+-1"));
	CHECK(int_rejects("- 1"));
	CHECK(int_rejects("12abc"));
}
