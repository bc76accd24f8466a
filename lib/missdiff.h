/* missdiff.h: why a run found no entry: the newest entry of the same
 * command in the cache, and what differs between its key and the run's
 * (keydiff.h), for --explain.  Reads every entry's metadata: only when
 * asked, never on the way of a plain run. */
#ifndef PK_MISSDIFF_H
#define PK_MISSDIFF_H

#include "key.h"
#include "store.h"

/* Called with each line of the account (without a leading indent). */
typedef void pk_missdiff_fn(void *ctx, const char *line);

/* The entry compared with is, among the sound entries of s other than the
 * one of key, the newest: stored under the same name when name is not
 * NULL (-j or --name), else with the same arguments, else with the same
 * program (resolved path).  Calls fn with "newest entry of this command:
 * KEY12, stored AGE ago; what differs:" then one line per difference,
 * indented by two spaces (at most 5 per part), or with "no earlier entry of this command" when
 * there is none.  cwd is the run's working directory (NULL: unknown).
 * Returns 0, or -1 with err set when the cache cannot be read (nothing
 * said then). */
int pk_missdiff_explain(const pk_store *s, const pk_key_parts *p, const pk_key *key,
                        const char *name, const char *cwd, pk_missdiff_fn *fn, void *ctx,
                        pk_error *err);

#endif
