/* config.c: loading, the top of the config group: the chain of files
 * (read by config_yaml.c, or from their parsed copy, config_snapshot.c),
 * then the PICKLED_* variables (config_env.c), the checks across keys, and
 * applying the result to a run.
 *
 * Invariant: loading never stops at a bad value; every error is added to
 * c->errors for the caller to print. */
#include "config.h"

#include "config_snapshot.h"
#include "defaults.h"
#include "units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "FILE:LINE:COLUMN: " or "NAME: " for an error about a value from o. */
static const char *where(const pk_origin *o, char *buf, size_t len)
{
	if (o->where == NULL)
		snprintf(buf, len, "%s", "");
	else if (o->line == 0)
		snprintf(buf, len, "%s: ", o->where);
	else
		snprintf(buf, len, "%s:%u:%u: ", o->where, o->line, o->column);
	return buf;
}

/* Where o is, for a message about other: ", from line N" in the same
 * file, ", from FILE:LINE", ", from NAME" or ", the default". */
static const char *from(const pk_origin *o, const pk_origin *other, char *buf, size_t len)
{
	if (o->where != NULL && o->where == other->where && o->line > 0)
		snprintf(buf, len, ", from line %u", o->line);
	else if (o->where != NULL && o->where == other->where)
		buf[0] = '\0';
	else if (o->where == NULL)
		snprintf(buf, len, ", the default");
	else if (o->line == 0)
		snprintf(buf, len, ", from %s", o->where);
	else
		snprintf(buf, len, ", from %s:%u", o->where, o->line);
	return buf;
}

static void check_stale(pk_config *c, const char *job, int64_t ttl, const pk_origin *ttl_o,
                        int64_t stale, const pk_origin *stale_o, int blame_stale)
{
	char w[600], f[600], a[32], b[32];

	if (stale <= 0 || stale < ttl)
		return;
	pk_duration_format_exact(stale, a, sizeof(a));
	pk_duration_format_exact(ttl, b, sizeof(b));
	if (blame_stale)
		pk_config_add_error(c, "%s%s%sstale (%s) must be shorter than ttl (%s%s)",
		                    where(stale_o, w, sizeof(w)), job ? job : "", job ? ": " : "",
		                    a, b, from(ttl_o, stale_o, f, sizeof(f)));
	else
		pk_config_add_error(c, "%s%s%sttl (%s) must be longer than stale (%s%s)",
		                    where(ttl_o, w, sizeof(w)), job ? job : "", job ? ": " : "", b,
		                    a, from(stale_o, ttl_o, f, sizeof(f)));
}

int pk_config_validate(pk_config *c)
{
	size_t before = c->nerrors;
	char name[100];

	check_stale(c, NULL, c->ttl_ms, &c->origins[PK_CFG_TTL], c->stale_ms,
	            &c->origins[PK_CFG_STALE], 1);
	for (size_t i = 0; i < c->njobs; i++) {
		const pk_config_job *j = &c->jobs[i];
		int has_ttl = pk_overlay_has(&j->ov, PK_SET_TTL);
		int has_stale = pk_overlay_has(&j->ov, PK_SET_STALE);

		if (!has_ttl && !has_stale)
			continue; /* the top level's, checked above */
		snprintf(name, sizeof(name), "job '%s'", j->name);
		check_stale(c, name, has_ttl ? j->ov.ttl_ms : c->ttl_ms,
		            has_ttl ? &j->origins[PK_SET_TTL] : &c->origins[PK_CFG_TTL],
		            has_stale ? j->ov.stale_ms : c->stale_ms,
		            has_stale ? &j->origins[PK_SET_STALE] : &c->origins[PK_CFG_STALE],
		            has_stale);
	}
	return c->nerrors > before ? -1 : 0;
}

int pk_config_load(pk_config *c, const char *file, char *const *envp, const char *snapshot_dir)
{
	struct pk_config_source src[2];
	char path[4096];
	const char *v;
	size_t n = 0;
	int rc;

	memset(src, 0, sizeof(src));
	if (file == NULL && (v = pk_config_env_get(envp, "PICKLED_CONFIG")) != NULL && v[0] != '\0')
		file = v;
	if (file != NULL) {
		src[n++].path = file;
	} else {
		int len = -1;

		src[n].path = PK_SYSTEM_CONFIG;
		src[n++].optional = 1;
		if ((v = pk_config_env_get(envp, "XDG_CONFIG_HOME")) != NULL && v[0] == '/')
			len = snprintf(path, sizeof(path), "%s/%s", v, PK_USER_CONFIG);
		else if ((v = pk_config_env_get(envp, "HOME")) != NULL && v[0] != '\0')
			len = snprintf(path, sizeof(path), "%s/.config/%s", v, PK_USER_CONFIG);
		if (len >= (int)sizeof(path)) {
			pk_config_add_error(c, "configuration file path too long: %s/...", v);
			snapshot_dir = NULL;
		} else if (len > 0) {
			src[n].path = path;
			src[n++].optional = 1;
		}
	}
	rc = snapshot_dir != NULL ? pk_config_snapshot_load(c, snapshot_dir, src, n) : -1;
	for (size_t i = 0; rc == 1 && i < n; i++)
		pk_config_add_file(c, src[i].path); /* absent, as stat just said */
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			pk_config_read_source(c, &src[i]);
		if (snapshot_dir != NULL && c->nerrors == 0)
			pk_config_snapshot_save(c, snapshot_dir, src, n);
	}
	pk_config_read_env(c, envp);
	pk_config_validate(c);
	return c->nerrors > 0 ? -1 : 0;
}

/* --- applying it to a run ------------------------------------------------- */

void pk_config_remote(const pk_config *c, pk_remote_opts *o)
{
	o->url = c->remote_url;
	o->read_only = c->remote_mode == PK_REMOTE_READ_ONLY;
	o->timeout_ms = c->remote_timeout_ms;
	o->prefix = c->remote_prefix ? c->remote_prefix : "";
	o->max_entry = c->remote_max_entry;
	o->lease_ms = c->remote_lease_ms;
	o->upload_expiry_ms = c->remote_upload_expiry_ms;
	o->secret_file = c->remote_secret_file;
	o->password_file = c->remote_password_file;
	o->seeds = c->remote_seeds;
	o->verify_hits = c->remote_verify_hits;
	o->password = c->remote_password;
}

int pk_config_apply(const pk_config *c, const pk_config_job *j, pk_run_opts *o)
{
	const pk_overlay top = { .env = c->env }; /* the top level's list */

	/* The configuration over the defaults: every setting an overlay may
	 * give, so that the layers above replace a known value. */
	o->cache_dir = c->cache_dir;
	o->ttl_ms = c->ttl_ms;
	o->stale_ms = c->stale_ms;
	o->lock_timeout_ms = c->lock_timeout_ms;
	o->stdin_limit = PK_DEFAULT_STDIN_LIMIT;
	o->max_size = c->max_size;
	o->max_entry = c->max_entry;
	o->level = c->level;
	o->threads = c->threads; /* 0: chosen by pk_run when it compresses */
	o->cache_failures = c->cache_failures;
	/* A named job is for cron: its input is what it declares, not whatever
	 * stdin cron or a terminal happens to give it. */
	o->stdin_mode = j == NULL ? c->stdin_mode : PK_STDIN_NEVER;
	o->program_check = c->program_check;
	o->auto_gc = c->auto_gc;
	o->gc_interval_ms = c->gc_interval_ms;
	o->metrics_file = c->metrics_textfile;
	o->trace = c->trace;
	o->trace_ignore = c->trace_ignore.v;
	o->ntrace_ignore = c->trace_ignore.n;
	o->trace_network_uncached = c->trace_network == 1;
	pk_config_remote(c, &o->remote);
	o->extra = NULL;
	o->use_cwd = 0;
	o->inputs = o->outputs = o->tags = o->envs = NULL;
	o->ninputs = o->noutputs = o->ntags = o->nenvs = 0;
	if (pk_overlay_apply(&top, o) < 0 || (j != NULL && pk_overlay_apply(&j->ov, o) < 0))
		goto nomem;
	if (j != NULL)
		o->argv = j->command.v;
	return 0;
nomem:
	free(o->envs);
	free(o->inputs);
	free(o->outputs);
	free(o->tags);
	o->envs = o->inputs = o->outputs = o->tags = NULL;
	errno = ENOMEM;
	return -1;
}
