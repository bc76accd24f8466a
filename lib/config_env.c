/* config_env.c: the PICKLED_* variables, and systemd's CACHE_DIRECTORY,
 * over the configuration, through the key table (config_keys.c): a
 * variable takes the same values as its key in a file. */
#include "config_env.h"

#include "config_keys.h"
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *pk_config_env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

struct env_read {
	pk_config *c;
	char *const *envp; /* the variables to look in */
	const char *value; /* for the field named only_id, else NULL */
	int only_id;       /* -1: every field with a variable */
};

/* Sets the field f from its variable (or from r->value), with the
 * variable as its origin. */
static int env_field(const struct field *f, const char *section, void *ctx)
{
	struct env_read *r = ctx;
	const char *v = r->value, *name = f->env;
	char msg[700];

	(void)section;
	if (r->only_id >= 0) {
		if (f->id != r->only_id)
			return 0;
		name = "CACHE_DIRECTORY";
	} else if (name == NULL || (v = pk_config_env_get(r->envp, name)) == NULL || v[0] == '\0') {
		return 0;
	}
	if (pk_config_set_scalar(f, v, r->c, name, msg, sizeof(msg)) < 0) {
		pk_config_add_error(r->c, "%s", msg);
		pk_config_drop_url(f, r->c, &r->c->nurl_errors);
		return 0;
	}
	r->c->origins[f->id] = (pk_origin){ name, 0, 0 };
	return 0;
}

int pk_config_read_env(pk_config *c, char *const *envp)
{
	struct env_read r = { c, NULL, NULL, -1 };
	size_t before = c->nerrors, n = 0;
	const char *v;
	char *mine[64], *dir;

	/* One pass over the environment for the PICKLED_ ones: the lookups
	 * then scan a handful of strings, not the whole environment per key
	 * (this runs on every hit). */
	for (char *const *e = envp; e != NULL && *e != NULL && n < NELEM(mine) - 1; e++)
		if (strncmp(*e, "PICKLED_", 8) == 0)
			mine[n++] = *e;
	mine[n] = NULL;
	r.envp = mine;
	if (n > 0)
		pk_config_fields_each(pk_config_top_fields, pk_config_ntop, NULL, env_field, &r);
	/* The Redis password, as redis-cli takes REDISCLI_AUTH: out of the
	 * crontab's URL, never a key of a file nor shown. */
	v = pk_config_env_get(mine, "PICKLED_REMOTE_PASSWORD");
	free(c->remote_password);
	c->remote_password = v != NULL && v[0] != '\0' ? strdup(v) : NULL;
	/* systemd gives a unit with CacheDirectory= its folder, made with the
	 * unit's user as owner, in CACHE_DIRECTORY: that is where the unit's
	 * runs belong, before the files' cache_dir (which a dynamic user
	 * could not write), but after PICKLED_CACHE_DIR, which is pickled's
	 * own and set on purpose. */
	v = pk_config_env_get(mine, "PICKLED_CACHE_DIR");
	if (v == NULL || v[0] == '\0') {
		if ((dir = pk_store_systemd_dir(pk_config_env_get(envp, "CACHE_DIRECTORY"))) !=
		    NULL) {
			r.value = dir;
			r.only_id = PK_CFG_CACHE_DIR;
			pk_config_fields_each(pk_config_top_fields, pk_config_ntop, NULL, env_field,
			                      &r);
			free(dir);
		} else if (errno == ENOMEM) {
			pk_config_add_error(c, "out of memory");
		}
	}
	return c->nerrors > before ? -1 : 0;
}
