/* SPDX-License-Identifier: MIT */
/*
 * Parsing for the serial shell: splitting a line into words, looking up and
 * completing command names, and reading numbers.  Nothing here allocates or
 * prints; errors come back as static strings.
 */
#ifndef HV_SHELL_PARSE_H
#define HV_SHELL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct shell_cmd {
	const char *name;
	const char *args;	/* usage of the arguments, e.g. "<vm> [count]" */
	const char *help;	/* one line */
	int (*fn)(int argc, char **argv);
};

/**
 * shell_split_err - split @line in place into at most @max_args words.
 *
 * Words are separated by spaces or tabs.  '...' groups text literally;
 * "..." groups text in which \" and \\ stand for " and \ (any other backslash
 * is kept).  Quoted pieces join the text around them ("a"'b'c is abc) and ""
 * is an empty word.  Returns the word count with argv[0..argc) pointing into
 * @line, or -1 with *@err (when @err is not NULL) saying why: an unterminated
 * quote or more than @max_args words.  @line is clobbered either way.
 */
int shell_split_err(char *line, char **argv, int max_args, const char **err);

/** shell_split - shell_split_err() without the reason. */
int shell_split(char *line, char **argv, int max_args);

/** shell_find - the command named exactly @name in @tab[0..n), or NULL. */
const struct shell_cmd *shell_find(const struct shell_cmd *tab, size_t n,
				   const char *name);

/**
 * shell_complete - the names in @tab[0..n) that start with @prefix.
 *
 * Stores up to @max of them, in table order, in @matches and returns how many
 * match in all (which may exceed @max).  Fits line_edit_complete_t with a
 * small wrapper that supplies the table.
 */
size_t shell_complete(const struct shell_cmd *tab, size_t n, const char *prefix,
		      const char **matches, size_t max);

#endif
