/* SPDX-License-Identifier: MIT */
/*
 * A line editor for the serial shell, fed one byte at a time from a VT100 or
 * xterm terminal.  It keeps no global state and allocates nothing: the caller
 * owns the struct (about 5 KiB, mostly history) and a single thread feeds it.
 * All echo goes through the output callback, as minimal VT100 sequences that
 * assume the prompt and line fit on one terminal row.
 */
#ifndef HV_LINE_EDIT_H
#define HV_LINE_EDIT_H

#include <stdbool.h>
#include <stddef.h>

#define LINE_EDIT_MAX		256	/* bytes of a line, NUL included */
#define LINE_EDIT_HISTORY	16	/* lines remembered */
#define LINE_EDIT_MATCHES	32	/* completions one Tab considers */

enum line_edit_res {
	LE_CONTINUE,	/* keep feeding */
	LE_LINE,	/* ed->buf holds a finished line */
	LE_INTERRUPT,	/* Ctrl-C: the line was dropped */
};

typedef void (*line_edit_out_t)(void *ctx, const char *s, size_t n);

/*
 * Stores up to @max names starting with @prefix in @matches and returns how
 * many names match in all (which may exceed @max).
 */
typedef size_t (*line_edit_complete_t)(void *cctx, const char *prefix,
				       const char **matches, size_t max);

enum line_edit_esc {
	LE_ESC_NONE,
	LE_ESC_ESC,	/* seen ESC */
	LE_ESC_CSI,	/* seen ESC [ */
	LE_ESC_SS3,	/* seen ESC O */
};

struct line_edit {
	/* The line: buf[len] == 0 and cursor <= len < LINE_EDIT_MAX always. */
	char buf[LINE_EDIT_MAX];
	size_t len;
	size_t cursor;

	/*
	 * History ring: the newest entry is hist[(hist_next + N - 1) % N].
	 * hist_pos is 0 while editing a fresh line and k while showing the
	 * k-th newest entry; saved keeps the fresh line meanwhile.
	 */
	char hist[LINE_EDIT_HISTORY][LINE_EDIT_MAX];
	unsigned int hist_count;
	unsigned int hist_next;
	unsigned int hist_pos;
	char saved[LINE_EDIT_MAX];

	/* Escape decoding: the first numeric parameter, and whether the rest
	 * of the sequence is something we do not understand. */
	enum line_edit_esc esc;
	unsigned int esc_param;
	bool esc_has_param;
	bool esc_bad;

	char last_eol;		/* CR or LF that ended the last line, else 0 */
	bool done;		/* buf holds a returned line; clear on next use */

	const char *prompt;
	line_edit_out_t out;
	void *ctx;
	line_edit_complete_t complete;
	void *cctx;
};

/** line_edit_init - an empty editor that echoes through @out(@ctx, ...). */
void line_edit_init(struct line_edit *ed, const char *prompt,
		    line_edit_out_t out, void *ctx);

/** line_edit_set_completer - complete the first word on Tab with @complete. */
void line_edit_set_completer(struct line_edit *ed, line_edit_complete_t complete,
			     void *cctx);

/** line_edit_prompt - print the prompt to start a new line. */
void line_edit_prompt(struct line_edit *ed);

/**
 * line_edit_redraw - print the prompt and the line being edited again, on the
 * current row, e.g. after log output overwrote it.
 */
void line_edit_redraw(struct line_edit *ed);

/**
 * line_edit_feed - handle one byte typed on the terminal.
 *
 * Returns LE_LINE when Enter finished a line: ed->buf holds it until the next
 * line_edit_prompt() or line_edit_feed() (the caller may tokenize it in place).
 * Returns LE_INTERRUPT after Ctrl-C, with ed->buf empty.
 */
enum line_edit_res line_edit_feed(struct line_edit *ed, char c);

#endif
