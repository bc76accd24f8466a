/* config_dump.h: the writer of the configuration, beside its readers,
 * above the model (config_model.h): what a pk_config holds, written back
 * as YAML or one value at a time. */
#ifndef PK_CONFIG_DUMP_H
#define PK_CONFIG_DUMP_H

#include "config_model.h"

/* The effective value of one setting, by its dotted name ("ttl",
 * "gc.auto", "remote.url", "jobs.NAME.ttl"), as `pickled config` prints
 * it but with strings as they are (a URL's password hidden); a list in
 * YAML's flow form.  A job's setting it leaves out is the one it runs
 * with: the top level's (ttl, stale, cache_failures, lock_timeout), or
 * stdin's never; a list of a job holds what the job adds.  *value is
 * malloc'd (the caller frees it) and *origin says where it came from (its
 * where points into c).  Returns 0, or -1 with errno EINVAL (no such
 * setting), ENOENT (no such job), ENODATA (not set: null) or ENOMEM. */
int pk_config_get(const pk_config *c, const char *name, char **value, pk_origin *origin);

/* The effective configuration as YAML, each value followed by a comment
 * naming its origin ("# default", "# FILE:LINE", "# PICKLED_TTL").  *out is
 * malloc'd, NUL-terminated, the caller's.  Returns 0, or -1 with errno. */
int pk_config_dump(const pk_config *c, char **out);

#endif
