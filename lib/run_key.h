/* run_key.h: a run's key, from its arguments, program, inputs,
 * environment, working directory and stdin, and --explain's account of
 * it.  Takes what it needs as arguments: the options, the cache (for the
 * input hashes it keeps), stdin as read, and where to say things. */
#ifndef PK_RUN_KEY_H
#define PK_RUN_KEY_H

#include "error.h"
#include "key.h"
#include "run_msg.h"
#include "run_opts.h"
#include "spool.h"
#include "store.h"

typedef struct run_key {
	pk_key_parts parts; /* owned: run_key_free */
	pk_key key;
	char hex[PK_KEY_HEX + 1]; /* "" until a key is made */
	char no_key[600];         /* why no key applies and the run goes
	                             uncached (stdin over the limit...), or "" */
} run_key;

/* Reads stdin into sp when the mode says so, spooling into dir (NULL:
 * $TMPDIR or /tmp); *have_spool says whether sp holds it.  Returns 0; -2
 * when the run must go uncached (stdin too large, or not readable), with
 * k->no_key saying why and a warning in m; -1 with err set when bytes
 * taken from stdin were lost (sp->lost): the command must not run then,
 * since it would read a stdin cut short. */
int run_key_stdin(run_key *k, const pk_run_opts *o, const char *dir, pk_spool *sp, int *have_spool,
                  run_msg *m, pk_error *err);

/* Fills k->parts, k->key and k->hex.  store (NULL: none) keeps the input
 * hashes; sp (NULL: none) is the stdin read by run_key_stdin.  Returns 0;
 * -1 for a program that cannot be run, with err->errnum ENOENT (not
 * found) or EACCES (not executable) and err->msg the line to print; -2
 * when no key applies (k->no_key says why: the run then goes uncached,
 * with a warning in m), the stdin read before included. */
int run_key_make(run_key *k, const pk_run_opts *o, const pk_store *store, const pk_spool *sp,
                 run_msg *m, pk_error *err);

/* --explain: the key and every part that went into it (sp as above). */
void run_key_explain(const run_key *k, const pk_spool *sp, run_msg *m);

/* --explain, after "no entry": the newest entry in store (NULL: none) of
 * the same job (o->name), command or program, and what differs from it
 * (missdiff.h).  Said unless quiet. */
void run_key_explain_miss(const run_key *k, const pk_store *store, const pk_run_opts *o,
                          run_msg *m);

/* Frees the parts; a zeroed k is fine. */
void run_key_free(run_key *k);

#endif
