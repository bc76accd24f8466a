/* keydiff.h: what tells two keys apart, from their parts: for --explain
 * (what changed since the newest entry of the same command) and for
 * `ls -l` (what distinguishes entries of one command).  No environment
 * value is ever shown, only whether it is set and its digest
 * (pk_key_env_digest). */
#ifndef PK_KEYDIFF_H
#define PK_KEYDIFF_H

#include "buf.h"
#include "key.h"

#include <stddef.h>

/* The parts of a key, in the order they enter it. */
enum pk_keydiff_part {
	PK_KD_ARGS,
	PK_KD_PROGRAM,
	PK_KD_INPUTS,
	PK_KD_ENV,
	PK_KD_CWD,
	PK_KD_STDIN,
	PK_KD_KEY_TEXT,
	PK_KD_OUTPUTS,
	PK_KD_CACHE_FAILURES,
	PK_KD_NPARTS
};

/* Called once per difference: part, the variable's name for PK_KD_ENV
 * (else NULL), and a line saying what differs, as "input data.csv:
 * content changed" (words quoted as quote.h says; valid during the call). */
typedef void pk_keydiff_fn(void *ctx, int part, const char *name, const char *line);

/* Compares now with then (an entry's parts; then->env values are never
 * read, only their digests) and calls fn for each difference, at most
 * `max` per part (then one line "and N more ..."); max 0: no limit.
 * run_cwd_now and run_cwd_then (either may be NULL) are the working
 * directories of the two runs: a difference there is reported as
 * PK_KD_CWD when the key has no cwd but relative inputs, whose content
 * depends on it.  Returns the number of differences found.  An
 * environment variable whose digest then does not record (an entry of an
 * older pickled) is not counted; *unknown_env (NULL: ignored) is set to
 * 1 when there was one. */
size_t pk_keydiff(const pk_key_parts *now, const pk_key_parts *then, const char *run_cwd_now,
                  const char *run_cwd_then, size_t max, pk_keydiff_fn *fn, void *ctx,
                  int *unknown_env);

/* Appends to b the short form of one part of p, as `ls -l` shows what
 * tells entries apart: for PK_KD_ENV, the variable name (NAME=#digest,
 * NAME:unset, NAME:? when not recorded, NAME:- when not in the key); for
 * PK_KD_CWD, run_cwd as cwd:PATH; for the others a word such as
 * inputs:#1a2b3c4d, a digest of that part. */
void pk_keydiff_show(pk_buf *b, const pk_key_parts *p, const char *run_cwd, int part,
                     const char *name);

#endif
