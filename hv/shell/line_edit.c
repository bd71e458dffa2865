/* SPDX-License-Identifier: MIT */
/*
 * The shell's line editor.  Every change to buf is echoed at once with the
 * fewest VT100 sequences that bring the terminal row back in step: text from
 * the cursor on, "ESC [ K" to erase what was left behind, and "ESC [ n D/C"
 * to put the terminal cursor back where ed->cursor says.
 */
#include "hv/shell/line_edit.h"
#include "lib/string.h"

#define CTRL(x)		((x) & 0x1f)
#define ESC		0x1b
#define DEL		0x7f

enum le_key {
	KEY_LEFT, KEY_RIGHT, KEY_HOME, KEY_END, KEY_UP, KEY_DOWN, KEY_DELETE,
};

static void emit(struct line_edit *ed, const char *s, size_t n)
{
	if (n && ed->out)
		ed->out(ed->ctx, s, n);
}

static void emit_str(struct line_edit *ed, const char *s)
{
	emit(ed, s, strlen(s));
}

static void bell(struct line_edit *ed)
{
	emit(ed, "\a", 1);
}

/* Move the terminal cursor @n columns; @dir is 'C' (right) or 'D' (left). */
static void emit_move(struct line_edit *ed, size_t n, char dir)
{
	char digits[24], seq[28];
	size_t nd = 0, i = 0;

	if (!n)
		return;
	seq[i++] = ESC;
	seq[i++] = '[';
	if (n > 1) {
		for (; n; n /= 10)
			digits[nd++] = '0' + n % 10;
		while (nd)
			seq[i++] = digits[--nd];
	}
	seq[i++] = dir;
	emit(ed, seq, i);
}

/* Echo buf from the cursor on, erase leftovers, and return to the cursor. */
static void show_tail(struct line_edit *ed, bool erase)
{
	emit(ed, ed->buf + ed->cursor, ed->len - ed->cursor);
	if (erase)
		emit_str(ed, "\x1b[K");
	emit_move(ed, ed->len - ed->cursor, 'D');
}

static void move_to(struct line_edit *ed, size_t pos)
{
	if (pos < ed->cursor)
		emit_move(ed, ed->cursor - pos, 'D');
	else
		emit_move(ed, pos - ed->cursor, 'C');
	ed->cursor = pos;
}

static bool insert(struct line_edit *ed, const char *s, size_t n)
{
	if (ed->len + n >= LINE_EDIT_MAX) {
		bell(ed);
		return false;
	}
	memmove(ed->buf + ed->cursor + n, ed->buf + ed->cursor,
		ed->len - ed->cursor + 1);
	memcpy(ed->buf + ed->cursor, s, n);
	ed->len += n;
	emit(ed, ed->buf + ed->cursor, n);
	ed->cursor += n;
	show_tail(ed, false);
	return true;
}

/* Delete [from, to); the cursor must lie in that range and ends at @from. */
static void delete_range(struct line_edit *ed, size_t from, size_t to)
{
	if (from == to)
		return;
	move_to(ed, from);
	memmove(ed->buf + from, ed->buf + to, ed->len - to + 1);
	ed->len -= to - from;
	show_tail(ed, true);
}

/* Replace the whole line with @s, cursor at its end. */
static void set_line(struct line_edit *ed, const char *s)
{
	move_to(ed, 0);
	ed->len = strnlen(s, LINE_EDIT_MAX - 1);
	memcpy(ed->buf, s, ed->len);
	ed->buf[ed->len] = 0;
	ed->cursor = ed->len;
	emit(ed, ed->buf, ed->len);
	emit_str(ed, "\x1b[K");
}

static void clear_line(struct line_edit *ed)
{
	ed->buf[0] = 0;
	ed->len = 0;
	ed->cursor = 0;
	ed->hist_pos = 0;
}

/* The line returned last time stays readable until the caller moves on. */
static void begin_line(struct line_edit *ed)
{
	if (ed->done) {
		clear_line(ed);
		ed->done = false;
	}
}

/* The k-th newest history entry, k >= 1. */
static const char *hist_entry(struct line_edit *ed, unsigned int k)
{
	return ed->hist[(ed->hist_next + LINE_EDIT_HISTORY - k) % LINE_EDIT_HISTORY];
}

static void hist_add(struct line_edit *ed)
{
	size_t i;

	for (i = 0; i < ed->len && ed->buf[i] == ' '; i++)
		;
	if (i == ed->len)
		return;
	if (ed->hist_count && !strcmp(hist_entry(ed, 1), ed->buf))
		return;
	memcpy(ed->hist[ed->hist_next], ed->buf, ed->len + 1);
	ed->hist_next = (ed->hist_next + 1) % LINE_EDIT_HISTORY;
	if (ed->hist_count < LINE_EDIT_HISTORY)
		ed->hist_count++;
}

static void hist_up(struct line_edit *ed)
{
	if (ed->hist_pos >= ed->hist_count)
		return;
	if (!ed->hist_pos)
		memcpy(ed->saved, ed->buf, ed->len + 1);
	set_line(ed, hist_entry(ed, ++ed->hist_pos));
}

static void hist_down(struct line_edit *ed)
{
	if (!ed->hist_pos)
		return;
	ed->hist_pos--;
	set_line(ed, ed->hist_pos ? hist_entry(ed, ed->hist_pos) : ed->saved);
}

static void do_key(struct line_edit *ed, enum le_key key)
{
	switch (key) {
	case KEY_LEFT:
		if (ed->cursor)
			move_to(ed, ed->cursor - 1);
		break;
	case KEY_RIGHT:
		if (ed->cursor < ed->len)
			move_to(ed, ed->cursor + 1);
		break;
	case KEY_HOME:
		move_to(ed, 0);
		break;
	case KEY_END:
		move_to(ed, ed->len);
		break;
	case KEY_UP:
		hist_up(ed);
		break;
	case KEY_DOWN:
		hist_down(ed);
		break;
	case KEY_DELETE:
		if (ed->cursor < ed->len)
			delete_range(ed, ed->cursor, ed->cursor + 1);
		break;
	}
}

static void list_matches(struct line_edit *ed, const char **m, size_t stored,
			 size_t total)
{
	emit_str(ed, "\r\n");
	for (size_t i = 0; i < stored; i++) {
		emit_str(ed, m[i]);
		emit_str(ed, "  ");
	}
	if (total > stored)
		emit_str(ed, "...");
	emit_str(ed, "\r\n");
	emit_str(ed, ed->prompt);
	emit(ed, ed->buf, ed->len);
	emit_move(ed, ed->len - ed->cursor, 'D');
}

static size_t common_prefix(const char **m, size_t n)
{
	size_t len = strlen(m[0]);

	for (size_t i = 1; i < n; i++) {
		size_t j = 0;

		while (j < len && m[i][j] == m[0][j])
			j++;
		len = j;
	}
	return len;
}

/* Tab: complete a command name, i.e. the first word, up to the cursor. */
static void complete(struct line_edit *ed)
{
	const char *m[LINE_EDIT_MATCHES];
	char prefix[LINE_EDIT_MAX];
	size_t start = ed->cursor, plen, n, stored, common;

	while (start && ed->buf[start - 1] != ' ')
		start--;
	for (size_t i = 0; i < start; i++)
		if (ed->buf[i] != ' ')
			goto refuse;
	if (!ed->complete || (ed->cursor < ed->len && ed->buf[ed->cursor] != ' '))
		goto refuse;
	plen = ed->cursor - start;
	memcpy(prefix, ed->buf + start, plen);
	prefix[plen] = 0;

	n = ed->complete(ed->cctx, prefix, m, LINE_EDIT_MATCHES);
	stored = n < LINE_EDIT_MATCHES ? n : LINE_EDIT_MATCHES;
	if (!stored)
		goto refuse;
	common = common_prefix(m, stored);
	/* A completer that returns names not starting with prefix is ignored. */
	if (common < plen || strncmp(m[0], prefix, plen))
		goto refuse;
	if (n == 1) {
		if (!insert(ed, m[0] + plen, common - plen))
			return;
		if (ed->cursor < ed->len && ed->buf[ed->cursor] == ' ')
			move_to(ed, ed->cursor + 1);
		else
			insert(ed, " ", 1);
	} else if (n == stored && common > plen) {
		insert(ed, m[0] + plen, common - plen);
	} else {
		list_matches(ed, m, stored, n);
	}
	return;
refuse:
	bell(ed);
}

static void csi_final(struct line_edit *ed, char c)
{
	if (c == '~' && ed->esc_has_param) {
		switch (ed->esc_param) {
		case 1: case 7:
			do_key(ed, KEY_HOME);
			break;
		case 4: case 8:
			do_key(ed, KEY_END);
			break;
		case 3:
			do_key(ed, KEY_DELETE);
			break;
		}
		return;
	}
	if (ed->esc_has_param)
		return;
	switch (c) {
	case 'A': do_key(ed, KEY_UP); break;
	case 'B': do_key(ed, KEY_DOWN); break;
	case 'C': do_key(ed, KEY_RIGHT); break;
	case 'D': do_key(ed, KEY_LEFT); break;
	case 'H': do_key(ed, KEY_HOME); break;
	case 'F': do_key(ed, KEY_END); break;
	}
}

/*
 * One printable byte inside an escape sequence.  A CSI sequence runs to its
 * final byte (0x40-0x7e) whatever comes before it, so a sequence we do not
 * know (several parameters, private markers) is swallowed whole.
 */
static void esc_byte(struct line_edit *ed, char c)
{
	switch (ed->esc) {
	case LE_ESC_ESC:
		ed->esc = c == '[' ? LE_ESC_CSI : c == 'O' ? LE_ESC_SS3 : LE_ESC_NONE;
		ed->esc_param = 0;
		ed->esc_has_param = false;
		ed->esc_bad = false;
		break;
	case LE_ESC_SS3:
		/* ESC O A..F: the same keys in application cursor mode. */
		ed->esc = LE_ESC_NONE;
		csi_final(ed, c);
		break;
	case LE_ESC_CSI:
		if (c >= '0' && c <= '9') {
			if (ed->esc_param < 1000)
				ed->esc_param = ed->esc_param * 10 + (c - '0');
			else
				ed->esc_bad = true;
			ed->esc_has_param = true;
		} else if (c < 0x40) {
			ed->esc_bad = true;	/* ';', '?', intermediates */
		} else {
			ed->esc = LE_ESC_NONE;
			if (!ed->esc_bad)
				csi_final(ed, c);
		}
		break;
	case LE_ESC_NONE:
		break;
	}
}

static enum line_edit_res enter(struct line_edit *ed, char c)
{
	ed->last_eol = c;
	emit_str(ed, "\r\n");
	hist_add(ed);
	ed->hist_pos = 0;
	ed->done = true;
	return LE_LINE;
}

static enum line_edit_res interrupt(struct line_edit *ed)
{
	emit_str(ed, "^C\r\n");
	clear_line(ed);
	return LE_INTERRUPT;
}

void line_edit_init(struct line_edit *ed, const char *prompt,
		    line_edit_out_t out, void *ctx)
{
	memset(ed, 0, sizeof(*ed));
	ed->prompt = prompt ? prompt : "";
	ed->out = out;
	ed->ctx = ctx;
}

void line_edit_set_completer(struct line_edit *ed, line_edit_complete_t complete,
			     void *cctx)
{
	ed->complete = complete;
	ed->cctx = cctx;
}

void line_edit_prompt(struct line_edit *ed)
{
	begin_line(ed);
	emit_str(ed, ed->prompt);
}

void line_edit_redraw(struct line_edit *ed)
{
	emit_str(ed, "\r");
	emit_str(ed, ed->prompt);
	emit(ed, ed->buf, ed->len);
	emit_str(ed, "\x1b[K");
	emit_move(ed, ed->len - ed->cursor, 'D');
}

enum line_edit_res line_edit_feed(struct line_edit *ed, char c)
{
	unsigned char u = (unsigned char)c;
	char eol = ed->last_eol;

	/* CR LF and LF CR are one Enter, whichever way the terminal sends it. */
	ed->last_eol = 0;
	if ((eol == '\r' && c == '\n') || (eol == '\n' && c == '\r'))
		return LE_CONTINUE;
	begin_line(ed);

	if (ed->esc != LE_ESC_NONE) {
		if (u >= 0x20 && u < DEL) {
			esc_byte(ed, c);
			return LE_CONTINUE;
		}
		/* A control byte ends the sequence and then acts as itself. */
		ed->esc = LE_ESC_NONE;
	}

	switch (u) {
	case '\r':
	case '\n':
		return enter(ed, c);
	case CTRL('C'):
		return interrupt(ed);
	case DEL:
	case CTRL('H'):
		if (ed->cursor)
			delete_range(ed, ed->cursor - 1, ed->cursor);
		break;
	case CTRL('A'):
		do_key(ed, KEY_HOME);
		break;
	case CTRL('E'):
		do_key(ed, KEY_END);
		break;
	case CTRL('U'):
		delete_range(ed, 0, ed->cursor);
		break;
	case CTRL('K'):
		delete_range(ed, ed->cursor, ed->len);
		break;
	case CTRL('L'):
		emit_str(ed, "\x1b[H\x1b[2J");
		line_edit_redraw(ed);
		break;
	case CTRL('P'):
		do_key(ed, KEY_UP);
		break;
	case CTRL('N'):
		do_key(ed, KEY_DOWN);
		break;
	case '\t':
		complete(ed);
		break;
	case ESC:
		ed->esc = LE_ESC_ESC;
		break;
	default:
		if (u >= 0x20 && u < DEL)
			insert(ed, &c, 1);
		break;
	}
	return LE_CONTINUE;
}
