/* format.h: how the inspection commands print: shell-quoted command lines,
 * JSON strings, times. */
#ifndef PK_FORMAT_H
#define PK_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes argv as a shell would need it typed: plain words bare, others in
 * single quotes, control characters, bytes that are not UTF-8 and C1 or
 * bidirectional controls in $'...' form (lib/quote.h).  Returns the number
 * of bytes written, stopping once max bytes are out (0: no limit). */
size_t fmt_command(FILE *f, char *const *argv, size_t argc, size_t max);

/* Writes one word (a path, a program, a key text) as fmt_command writes
 * each of its words.  Returns the number of bytes written. */
size_t fmt_word(FILE *f, const char *w);

/* Writes tags comma-separated, each quoted as fmt_command quotes a word,
 * and a tag holding a comma (stored by an older pickled) in quotes, so
 * that it never looks like two.  Returns the number of bytes written. */
size_t fmt_tags(FILE *f, char *const *tags, size_t n);

/* Writes s as a JSON string: control characters escaped, invalid UTF-8
 * bytes replaced by U+FFFD. */
void fmt_json_str(FILE *f, const char *s);

/* Writes a Unix time in ms as local "2026-11-25 20:30:01", or as UTC
 * "2026-11-25T20:30:01Z" when iso is set.  Returns the bytes written. */
size_t fmt_time(FILE *f, int64_t ms, int iso);

/* The width of the terminal on stdout, or 0 when stdout is not one. */
size_t fmt_term_width(void);

/* Flushes stdout; when a write to it failed (a full disk, say),
 * says so on stderr.  Returns 0, or 1 for the exit status. */
int fmt_flush_stdout(void);

#endif
