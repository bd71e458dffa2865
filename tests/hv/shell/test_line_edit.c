/* SPDX-License-Identifier: MIT */
/*
 * Tests for hv/shell/line_edit.c.  The editor's output runs through a small VT100
 * model of the terminal; after every key the terminal row must show exactly
 * prompt + buf with the terminal cursor at the editor's cursor, so a wrong
 * redraw fails even where the buffer is right.
 */
#include "tests/host/test.h"
#include "hv/shell/line_edit.h"
#include "hv/shell/parse.h"

#define PROMPT	"> "
#define ROWS	8
#define COLS	(LINE_EDIT_MAX + 40)

struct term {
	char raw[1 << 16];	/* everything written, NUL-terminated */
	size_t rawlen;
	char scr[ROWS][COLS];
	int row, col;
	int bells;
	bool bad;		/* a byte or sequence a VT100 model does not expect */
	int esc;		/* 0, 1 after ESC, 2 inside CSI */
	char param[32];
	size_t nparam;
};

static struct term term;
static struct line_edit ed;
static int nlines, nintr;

static void term_clear(struct term *t)
{
	memset(t->scr, ' ', sizeof(t->scr));
	t->row = t->col = 0;
}

static void term_csi(struct term *t, char final)
{
	int n = t->nparam ? atoi(t->param) : 1;

	for (size_t i = 0; i < t->nparam; i++)
		if (t->param[i] < '0' || t->param[i] > '9')
			t->bad = true;
	switch (final) {
	case 'D':
		t->col = t->col > n ? t->col - n : 0;
		break;
	case 'C':
		t->col = t->col + n < COLS ? t->col + n : COLS - 1;
		break;
	case 'K':
		if (t->nparam)
			t->bad = true;
		memset(&t->scr[t->row][t->col], ' ', COLS - t->col);
		break;
	case 'H':
		if (t->nparam)
			t->bad = true;
		t->row = t->col = 0;
		break;
	case 'J':
		if (n != 2)
			t->bad = true;
		term_clear(t);
		break;
	default:
		t->bad = true;
	}
}

static void term_put(struct term *t, char c)
{
	if (t->esc == 1) {
		t->esc = c == '[' ? 2 : 0;
		t->nparam = 0;
		if (c != '[')
			t->bad = true;
		return;
	}
	if (t->esc == 2) {
		if (c >= 0x40 && c <= 0x7e) {
			t->param[t->nparam] = 0;
			t->esc = 0;
			term_csi(t, c);
		} else if (t->nparam < sizeof(t->param) - 1) {
			t->param[t->nparam++] = c;
		} else {
			t->bad = true;
		}
		return;
	}
	switch (c) {
	case 0x1b:
		t->esc = 1;
		break;
	case '\r':
		t->col = 0;
		break;
	case '\n':
		if (++t->row == ROWS) {
			memmove(t->scr[0], t->scr[1], sizeof(t->scr[0]) * (ROWS - 1));
			memset(t->scr[ROWS - 1], ' ', COLS);
			t->row = ROWS - 1;
		}
		break;
	case '\a':
		t->bells++;
		break;
	default:
		if (c < 0x20 || c >= 0x7f || t->col >= COLS - 1)
			t->bad = true;
		else
			t->scr[t->row][t->col++] = c;
	}
}

static void capture(void *ctx, const char *s, size_t n)
{
	struct term *t = ctx;

	for (size_t i = 0; i < n; i++) {
		if (t->rawlen < sizeof(t->raw) - 1)
			t->raw[t->rawlen++] = s[i];
		term_put(t, s[i]);
	}
	t->raw[t->rawlen] = 0;
}

/* Forget the output so far, keeping the screen. */
static void raw_reset(void)
{
	term.rawlen = 0;
	term.raw[0] = 0;
	term.bells = 0;
}

static const struct shell_cmd cmds[] = {
	{ "help", "", "list commands", NULL },
	{ "halt", "", "stop", NULL },
	{ "mem", "", "memory", NULL },
	{ "memmap", "", "memory map", NULL },
	{ "vmstart", "<vm>", "start a guest", NULL },
};
static int ncomplete;

static size_t complete_cmds(void *cctx, const char *prefix, const char **m, size_t max)
{
	(void)cctx;
	ncomplete++;
	return shell_complete(cmds, sizeof(cmds) / sizeof(cmds[0]), prefix, m, max);
}

static void setup(void)
{
	memset(&term, 0, sizeof(term));
	term_clear(&term);
	nlines = nintr = ncomplete = 0;
	line_edit_init(&ed, PROMPT, capture, &term);
	line_edit_set_completer(&ed, complete_cmds, NULL);
	line_edit_prompt(&ed);
	raw_reset();
}

/* The terminal row shows prompt + buf and its cursor sits at ed.cursor. */
static bool in_sync(void)
{
	size_t plen = strlen(PROMPT);
	const char *row = term.scr[term.row];

	if (term.bad || term.esc)
		return false;
	if (ed.len >= LINE_EDIT_MAX || ed.cursor > ed.len || ed.buf[ed.len] ||
	    strlen(ed.buf) != ed.len)
		return false;
	if (memcmp(row, PROMPT, plen) || memcmp(row + plen, ed.buf, ed.len))
		return false;
	for (size_t i = plen + ed.len; i < COLS; i++)
		if (row[i] != ' ')
			return false;
	return term.col == (int)(plen + ed.cursor);
}

/* Feed every byte of @s; after each finished line, prompt again. */
static enum line_edit_res feed_n(const char *s, size_t n)
{
	enum line_edit_res r = LE_CONTINUE;

	for (size_t i = 0; i < n; i++) {
		r = line_edit_feed(&ed, s[i]);
		if (r == LE_LINE)
			nlines++;
		if (r == LE_INTERRUPT)
			nintr++;
	}
	return r;
}

static enum line_edit_res feed(const char *s)
{
	return feed_n(s, strlen(s));
}

#define LEFT	"\x1b[D"
#define RIGHT	"\x1b[C"
#define UP	"\x1b[A"
#define DOWN	"\x1b[B"

TEST(insert_at_end_echoes_only_the_char)
{
	setup();
	CHECK_EQ(feed("abc"), LE_CONTINUE);
	CHECK_STR(ed.buf, "abc");
	CHECK_EQ(ed.cursor, 3);
	CHECK_STR(term.raw, "abc");
	CHECK(in_sync());
}

TEST(insert_in_middle_redraws_the_tail)
{
	setup();
	feed("ad" LEFT);
	CHECK_EQ(ed.cursor, 1);
	feed("bc");
	CHECK_STR(ed.buf, "abcd");
	CHECK_EQ(ed.cursor, 3);
	CHECK(in_sync());
	feed("\x01" "X");
	CHECK_STR(ed.buf, "Xabcd");
	CHECK_EQ(ed.cursor, 1);
	CHECK(in_sync());
}

TEST(backspace_at_start_is_a_noop)
{
	setup();
	feed("ab\x01");
	raw_reset();
	feed("\x7f\x08");
	CHECK_STR(ed.buf, "ab");
	CHECK_EQ(ed.cursor, 0);
	CHECK_EQ(term.rawlen, 0);
	CHECK(in_sync());
}

TEST(backspace_0x7f_and_0x08_delete_before_cursor)
{
	setup();
	feed("abcd\x7f");
	CHECK_STR(ed.buf, "abc");
	CHECK(in_sync());
	feed(LEFT "\x08");
	CHECK_STR(ed.buf, "ac");
	CHECK_EQ(ed.cursor, 1);
	CHECK(in_sync());
}

TEST(left_right_stop_at_line_bounds)
{
	setup();
	feed("ab" LEFT LEFT);
	CHECK_EQ(ed.cursor, 0);
	raw_reset();
	feed(LEFT LEFT);
	CHECK_EQ(ed.cursor, 0);
	CHECK_EQ(term.rawlen, 0);
	feed(RIGHT RIGHT);
	CHECK_EQ(ed.cursor, 2);
	raw_reset();
	feed(RIGHT);
	CHECK_EQ(ed.cursor, 2);
	CHECK_EQ(term.rawlen, 0);
	CHECK(in_sync());
}

TEST(ss3_arrow_keys_move_too)
{
	setup();
	feed("abc\x1bOD\x1bOD");
	CHECK_EQ(ed.cursor, 1);
	feed("\x1bOC");
	CHECK_EQ(ed.cursor, 2);
	CHECK(in_sync());
}

TEST(home_end_in_every_encoding)
{
	static const char *home[] = { "\x1b[H", "\x1b[1~", "\x1b[7~", "\x1bOH", "\x01" };
	static const char *end[] = { "\x1b[F", "\x1b[4~", "\x1b[8~", "\x1bOF", "\x05" };

	setup();
	feed("hello");
	for (size_t i = 0; i < sizeof(home) / sizeof(home[0]); i++) {
		feed(home[i]);
		CHECK_EQ(ed.cursor, 0);
		CHECK(in_sync());
		feed(end[i]);
		CHECK_EQ(ed.cursor, 5);
		CHECK(in_sync());
	}
	CHECK_STR(ed.buf, "hello");
}

TEST(delete_key_removes_char_at_cursor)
{
	setup();
	feed("abc\x01\x1b[3~");
	CHECK_STR(ed.buf, "bc");
	CHECK_EQ(ed.cursor, 0);
	CHECK(in_sync());
	feed("\x05");
	raw_reset();
	feed("\x1b[3~");
	CHECK_STR(ed.buf, "bc");
	CHECK_EQ(term.rawlen, 0);
}

TEST(ctrl_u_kills_to_line_start)
{
	setup();
	feed("hello world" LEFT LEFT LEFT LEFT LEFT "\x15");
	CHECK_STR(ed.buf, "world");
	CHECK_EQ(ed.cursor, 0);
	CHECK(in_sync());
}

TEST(ctrl_k_kills_to_line_end)
{
	setup();
	feed("hello world" LEFT LEFT LEFT LEFT LEFT LEFT "\x0b");
	CHECK_STR(ed.buf, "hello");
	CHECK_EQ(ed.cursor, 5);
	CHECK(in_sync());
}

TEST(ctrl_l_clears_and_redraws)
{
	setup();
	feed("abc" LEFT "\x0c");
	CHECK_EQ(term.row, 0);
	CHECK_STR(ed.buf, "abc");
	CHECK(in_sync());
}

TEST(ctrl_c_interrupts_and_clears)
{
	setup();
	feed("abc");
	raw_reset();
	CHECK_EQ(feed("\x03"), LE_INTERRUPT);
	CHECK_STR(term.raw, "^C\r\n");
	CHECK_STR(ed.buf, "");
	CHECK_EQ(ed.len, 0);
	CHECK_EQ(ed.cursor, 0);
	line_edit_prompt(&ed);
	CHECK(in_sync());
	CHECK_EQ(feed("x\r"), LE_LINE);
	CHECK_STR(ed.buf, "x");
	/* An interrupted line is not history. */
	line_edit_prompt(&ed);
	feed(UP UP);
	CHECK_STR(ed.buf, "x");
}

TEST(enter_returns_line_and_next_line_starts_empty)
{
	setup();
	feed("ls -l");
	raw_reset();
	CHECK_EQ(feed("\r"), LE_LINE);
	CHECK_STR(ed.buf, "ls -l");
	CHECK_STR(term.raw, "\r\n");
	line_edit_prompt(&ed);
	CHECK_STR(ed.buf, "");
	CHECK(in_sync());
	/* Without a prompt call, the next key still starts a fresh line. */
	CHECK_EQ(feed("a\r"), LE_LINE);
	CHECK_EQ(feed("b"), LE_CONTINUE);
	CHECK_STR(ed.buf, "b");
}

TEST(enter_from_mid_line_returns_whole_line)
{
	setup();
	feed("abc" LEFT LEFT);
	CHECK_EQ(feed("\n"), LE_LINE);
	CHECK_STR(ed.buf, "abc");
}

TEST(crlf_and_lfcr_are_one_enter)
{
	setup();
	feed("a\r\nb\n\rc\r\n");
	CHECK_EQ(nlines, 3);
	CHECK_STR(ed.buf, "c");
	feed("d\r");
	CHECK_EQ(nlines, 4);
	CHECK_EQ(feed("\n"), LE_CONTINUE);
	CHECK_STR(ed.buf, "d");
	/* The pair is swallowed once: CR CR and LF LF are two Enters each. */
	nlines = 0;
	feed("\r\r\n\n");
	CHECK_EQ(nlines, 3);
	CHECK_STR(ed.buf, "");
	/* A key between CR and LF breaks the pair. */
	setup();
	feed("\rx\n");
	CHECK_EQ(nlines, 2);
	CHECK_STR(ed.buf, "x");
}

TEST(history_up_down_restores_edited_line)
{
	setup();
	feed("one\r");
	line_edit_prompt(&ed);
	feed("two\r");
	line_edit_prompt(&ed);
	feed("thr" LEFT);
	feed(UP);
	CHECK_STR(ed.buf, "two");
	CHECK_EQ(ed.cursor, 3);
	CHECK(in_sync());
	feed(UP);
	CHECK_STR(ed.buf, "one");
	CHECK(in_sync());
	feed(UP);
	CHECK_STR(ed.buf, "one");
	feed(DOWN);
	CHECK_STR(ed.buf, "two");
	CHECK(in_sync());
	feed(DOWN);
	CHECK_STR(ed.buf, "thr");
	CHECK(in_sync());
	feed(DOWN);
	CHECK_STR(ed.buf, "thr");
	CHECK(in_sync());
}

TEST(history_ctrl_p_ctrl_n)
{
	setup();
	feed("alpha\r");
	line_edit_prompt(&ed);
	feed("\x10");
	CHECK_STR(ed.buf, "alpha");
	feed("\x0e");
	CHECK_STR(ed.buf, "");
	CHECK(in_sync());
}

TEST(history_suppresses_duplicates_and_blank_lines)
{
	setup();
	feed("a\r");
	feed("a\r");
	feed("b\r");
	feed("\r");
	feed("   \r");
	feed("a\r");
	feed("a\r");
	line_edit_prompt(&ed);
	feed(UP);
	CHECK_STR(ed.buf, "a");
	feed(UP);
	CHECK_STR(ed.buf, "b");
	feed(UP);
	CHECK_STR(ed.buf, "a");
	feed(UP);
	CHECK_STR(ed.buf, "a");
	CHECK_EQ(ed.hist_count, 3);
}

TEST(history_ring_keeps_newest_16)
{
	char line[16];

	setup();
	for (int i = 0; i < 20; i++) {
		snprintf(line, sizeof(line), "c%d\r", i);
		feed(line);
	}
	line_edit_prompt(&ed);
	for (int i = 0; i < LINE_EDIT_HISTORY + 3; i++)
		feed(UP);
	CHECK_STR(ed.buf, "c4");
	feed(DOWN);
	CHECK_STR(ed.buf, "c5");
}

TEST(history_editing_a_recalled_line_adds_a_new_entry)
{
	setup();
	feed("mem\r");
	feed(UP "map\r");
	CHECK_STR(ed.buf, "memmap");
	line_edit_prompt(&ed);
	feed(UP);
	CHECK_STR(ed.buf, "memmap");
	feed(UP);
	CHECK_STR(ed.buf, "mem");
}

TEST(tab_single_match_completes_with_space)
{
	setup();
	feed("vm\t");
	CHECK_STR(ed.buf, "vmstart ");
	CHECK_EQ(ed.cursor, 8);
	CHECK_EQ(term.bells, 0);
	CHECK(in_sync());
}

TEST(tab_single_match_with_leading_spaces)
{
	setup();
	feed("  he\t");
	CHECK_STR(ed.buf, "  help ");
	CHECK(in_sync());
}

TEST(tab_before_arguments_steps_over_existing_space)
{
	setup();
	feed("vm 1" LEFT LEFT "\t");
	CHECK_STR(ed.buf, "vmstart 1");
	CHECK_EQ(ed.cursor, 8);
	CHECK(in_sync());
}

TEST(tab_ambiguous_completes_common_prefix_then_lists)
{
	setup();
	feed("me\t");
	CHECK_STR(ed.buf, "mem");
	CHECK_EQ(ed.cursor, 3);
	CHECK_EQ(term.bells, 0);
	CHECK(in_sync());
	raw_reset();
	feed("\t");
	CHECK_STR(ed.buf, "mem");
	CHECK(strstr(term.raw, "\r\nmem  memmap  \r\n" PROMPT "mem") != NULL);
	CHECK(in_sync());
}

TEST(tab_ambiguous_listing_includes_all_names)
{
	setup();
	feed("h" LEFT RIGHT);
	raw_reset();
	feed("\t");
	CHECK_STR(ed.buf, "h");
	CHECK(strstr(term.raw, "help") != NULL);
	CHECK(strstr(term.raw, "halt") != NULL);
	CHECK(strstr(term.raw, "mem") == NULL);
	CHECK(in_sync());
	/* The list sits on the row above the redrawn line. */
	CHECK(strncmp(term.scr[term.row - 1], "help  halt", 10) == 0);
	/* An empty first word lists every command. */
	setup();
	feed("\t");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		CHECK(strstr(term.raw, cmds[i].name) != NULL);
	CHECK(in_sync());
}

TEST(tab_no_match_rings_bell)
{
	setup();
	feed("zz");
	raw_reset();
	feed("\t");
	CHECK_STR(ed.buf, "zz");
	CHECK_STR(term.raw, "\a");
}

TEST(tab_only_completes_the_first_word)
{
	setup();
	feed("mem he");
	raw_reset();
	feed("\t");
	CHECK_STR(ed.buf, "mem he");
	CHECK_EQ(ncomplete, 0);
	CHECK_STR(term.raw, "\a");
	/* Nor in the middle of a word. */
	setup();
	feed("memx" LEFT "\t");
	CHECK_STR(ed.buf, "memx");
	CHECK_EQ(ncomplete, 0);
}

TEST(overflow_is_refused_with_bell)
{
	setup();
	for (int i = 0; i < LINE_EDIT_MAX - 1; i++)
		feed(i % 2 ? "b" : "a");
	CHECK_EQ(ed.len, LINE_EDIT_MAX - 1);
	CHECK_EQ(term.bells, 0);
	raw_reset();
	feed("c");
	CHECK_EQ(ed.len, LINE_EDIT_MAX - 1);
	CHECK_STR(term.raw, "\a");
	feed("\x01" "d");
	CHECK_EQ(ed.len, LINE_EDIT_MAX - 1);
	CHECK_EQ(ed.buf[0], 'a');
	CHECK_EQ(term.bells, 2);
	CHECK(in_sync());
	CHECK_EQ(feed("\r"), LE_LINE);
	CHECK_EQ(strlen(ed.buf), LINE_EDIT_MAX - 1);
}

TEST(tab_completion_that_would_overflow_is_refused)
{
	setup();
	feed("vm");
	for (int i = 2; i < LINE_EDIT_MAX - 3; i++)
		feed(" ");
	feed("\x01" RIGHT RIGHT);
	raw_reset();
	feed("\t");
	CHECK_EQ(term.bells, 1);
	CHECK_EQ(strncmp(ed.buf, "vm  ", 4), 0);
	CHECK(in_sync());
}

TEST(garbage_escape_sequences_are_discarded)
{
	static const char *junk[] = {
		"\x1b[1;5C", "\x1b[?25h", "\x1b[99999999999~", "\x1b[200~",
		"\x1bx", "\x1bOZ", "\x1b[2C", "\x1b[5~", "\x1b[Z", "\x1b[ q",
		"\x1b\x80", "\x1b[\xff", "\x1bO~", "\x1b[?3~", "\x1b[;1~",
		"\x1b[>4~", "\x1b[ D",
	};

	setup();
	feed("ab" LEFT);
	raw_reset();
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		feed(junk[i]);
		CHECK_EQ(ed.esc, LE_ESC_NONE);
	}
	CHECK_EQ(term.rawlen, 0);
	CHECK_STR(ed.buf, "ab");
	CHECK_EQ(ed.cursor, 1);
	feed("c");
	CHECK_STR(ed.buf, "acb");
	CHECK(in_sync());
}

TEST(control_byte_ends_an_escape_and_acts)
{
	setup();
	CHECK_EQ(feed("ab\x1b[\r"), LE_LINE);
	CHECK_STR(ed.buf, "ab");
	CHECK_EQ(feed("xy\x1b\x1b[D"), LE_CONTINUE);
	CHECK_EQ(ed.cursor, 1);
	CHECK_EQ(feed("\x1b[12\x03"), LE_INTERRUPT);
	CHECK_EQ(feed("q"), LE_CONTINUE);
	CHECK_STR(ed.buf, "q");
}

TEST(other_nonprintable_bytes_are_ignored)
{
	static const char bytes[] = { 0x00, 0x02, 0x04, 0x06, 0x07, 0x0f, 0x12,
				      0x1a, 0x1f, (char)0x80, (char)0xc3, (char)0xff };

	setup();
	feed("ab");
	raw_reset();
	feed_n(bytes, sizeof(bytes));
	CHECK_STR(ed.buf, "ab");
	CHECK_EQ(term.rawlen, 0);
}

TEST(redraw_restores_the_row)
{
	setup();
	feed("abc" LEFT);
	capture(&term, "\rlog message\r\n", 14);
	line_edit_redraw(&ed);
	CHECK(in_sync());
}

TEST(random_keys_keep_terminal_in_sync)
{
	static const char *keys[] = {
		"a", "b", " ", "x", "m", "e", "h", "\x7f", "\x08", LEFT, RIGHT,
		"\x1bOD", "\x1b[H", "\x1b[F", "\x1b[3~", "\x01", "\x05", "\x15",
		"\x0b", UP, DOWN, "\x10", "\x0e", "\t", "\r", "\r\n", "\x03",
		"\x1b[1;5D", "\x0c", "qwertyuiopasdfghjklzxcvbnm",
	};
	unsigned int seed = 12345;

	setup();
	for (int i = 0; i < 50000; i++) {
		int ended = nlines + nintr;

		seed = seed * 1103515245 + 12345;
		feed(keys[(seed >> 16) % (sizeof(keys) / sizeof(keys[0]))]);
		if (nlines + nintr != ended)
			line_edit_prompt(&ed);
		if (!in_sync()) {
			fprintf(stderr, "key #%d: buf \"%s\" cursor %zu, row \"%.60s\" col %d\n",
				i, ed.buf, ed.cursor, term.scr[term.row], term.col);
			CHECK(in_sync());
		}
	}
	CHECK(nlines > 0);
}
