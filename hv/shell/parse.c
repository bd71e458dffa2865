/* SPDX-License-Identifier: MIT */
/* Word splitting, command lookup and number parsing for the serial shell. */
#include "hv/shell/parse.h"
#include "lib/string.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Copy one word from *rp to *wp, dropping quotes and escapes; the write side
 * never passes the read side, so this works in place.  Stops at unquoted
 * space or the end; returns false on an unterminated quote.
 */
static bool copy_word(char **rp, char **wp)
{
	char *r = *rp, *w = *wp;

	while (*r && !is_space(*r)) {
		char q = *r;

		if (q != '"' && q != '\'') {
			*w++ = *r++;
			continue;
		}
		for (r++; *r != q; r++) {
			if (!*r)
				return false;
			if (q == '"' && *r == '\\' && (r[1] == '"' || r[1] == '\\'))
				r++;
			*w++ = *r;
		}
		r++;
	}
	*rp = r;
	*wp = w;
	return true;
}

int shell_split_err(char *line, char **argv, int max_args, const char **err)
{
	char *r = line, *w = line;
	const char *why;
	int argc = 0;

	for (;;) {
		char end;

		while (is_space(*r))
			r++;
		if (!*r)
			return argc;
		if (argc >= max_args) {
			why = "too many arguments";
			goto fail;
		}
		argv[argc++] = w;
		if (!copy_word(&r, &w)) {
			why = "unterminated quote";
			goto fail;
		}
		/* w may equal r here: read the delimiter before terminating. */
		end = *r;
		*w++ = 0;
		if (end)
			r++;
		else
			return argc;
	}
fail:
	if (err)
		*err = why;
	return -1;
}

int shell_split(char *line, char **argv, int max_args)
{
	return shell_split_err(line, argv, max_args, NULL);
}

const struct shell_cmd *shell_find(const struct shell_cmd *tab, size_t n,
				   const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(tab[i].name, name))
			return &tab[i];
	return NULL;
}

size_t shell_complete(const struct shell_cmd *tab, size_t n, const char *prefix,
		      const char **matches, size_t max)
{
	size_t plen = strlen(prefix), found = 0;

	for (size_t i = 0; i < n; i++) {
		if (strncmp(tab[i].name, prefix, plen))
			continue;
		if (found < max)
			matches[found] = tab[i].name;
		found++;
	}
	return found;
}
