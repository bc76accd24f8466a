/* run.h: the memoized execution of one command: key, lookup, replay, or
 * run and store.  The caller (cmd/) prints what the result says. */
#ifndef PK_RUN_H
#define PK_RUN_H

#include "key.h"
#include "run_opts.h"

/* Runs (or replays) the command.  Never fails as a whole: whatever goes
 * wrong with the cache, the command runs and its status is returned. */
void pk_run(const pk_run_opts *opts, pk_run_result *res);

/* Computes the key pk_run would use, without running anything; with
 * opts->explain set, explains its parts.  Creates no cache directory: a
 * missing one only means input hashes are not kept.  Returns 0, or -1 with res->error
 * and res->status set. */
int pk_run_key(const pk_run_opts *opts, pk_key *key, pk_run_result *res);

#endif
