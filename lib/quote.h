/* quote.h: text from a command line, a path or an entry, made safe to print
 * on a terminal and to paste into a shell.  One rule for every place that
 * prints such text (ls, show, --explain...): words of plain characters
 * bare; others in single quotes; a word with a control character, a byte
 * that is not UTF-8, a C1 control or a bidirectional control (which can
 * drive or disguise a terminal) in bash's $'...' form, where those are
 * escaped (\n, \t, \xHH, \uHHHH). */
#ifndef PK_QUOTE_H
#define PK_QUOTE_H

#include "buf.h"

#include <stddef.h>

enum {
	PK_QUOTE_LIST = 1,   /* a comma is not plain (comma-separated lists) */
	PK_QUOTE_ALWAYS = 2, /* quote even a plain word */
};

/* Appends w to b, quoted under the rule above (flags: PK_QUOTE_*). */
void pk_quote_word(pk_buf *b, const char *w, int flags);

/* Length of the valid UTF-8 sequence at p (1 for ASCII), or 0 when the
 * bytes there are not one (overlong, surrogate, past U+10FFFF, cut). */
size_t pk_utf8_len(const unsigned char *p);

#endif
