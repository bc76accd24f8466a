/* config_env.h: the environment reader of the configuration, above the
 * model (config_model.h) and beside the other readers: the PICKLED_*
 * variables over what a pk_config holds. */
#ifndef PK_CONFIG_ENV_H
#define PK_CONFIG_ENV_H

#include "config_model.h"

/* Applies the PICKLED_* variables of envp (a NULL-terminated "NAME=value"
 * list) over what c holds; an empty value counts as unset.  Without
 * PICKLED_CACHE_DIR, the first directory of CACHE_DIRECTORY (systemd's
 * CacheDirectory=) is the cache_dir.  Returns 0, or -1 when it added
 * errors. */
int pk_config_read_env(pk_config *c, char *const *envp);

/* The value of the variable name in envp, or NULL. */
const char *pk_config_env_get(char *const *envp, const char *name);

#endif
