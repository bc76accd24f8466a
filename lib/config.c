/* config.c: the configuration as a whole: its defaults, the PICKLED_*
 * variables, the chain of files (read by config_yaml.c, or from their
 * parsed copy, config_snapshot.c), the checks across keys, and applying it
 * to a run.  config_dump.c writes it back as YAML.
 *
 * Invariant: loading never stops at a bad value; every error is added to
 * c->errors for the caller to print. */
#include "config.h"
#include "config_keys.h"
#include "config_snapshot.h"

#include "defaults.h"
#include "store.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char oom_msg[] = "out of memory";

/* --- small helpers -------------------------------------------------------- */

void pk_config_strv_free(pk_strv *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int pk_config_strv_push(pk_strv *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 2) * sizeof(*v));

	if (v == NULL)
		return -1;
	l->v = v;
	if ((v[l->n] = strdup(s)) == NULL) {
		v[l->n] = NULL;
		return -1;
	}
	v[++l->n] = NULL;
	return 0;
}

void pk_config_job_free(pk_config_job *j)
{
	free(j->name);
	pk_config_strv_free(&j->command);
	pk_config_strv_free(&j->inputs);
	pk_config_strv_free(&j->outputs);
	pk_config_strv_free(&j->env);
	pk_config_strv_free(&j->tags);
	free(j->key);
	memset(j, 0, sizeof(*j));
}

void pk_config_add_error(pk_config *c, const char *fmt, ...)
{
	char buf[1024], **v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);   /* a long message is cut, no harm */
	va_end(ap);
	if ((v = realloc(c->errors, (c->nerrors + 1) * sizeof(*v))) == NULL)
		return;   /* the errors seen so far still say the config is broken */
	c->errors = v;
	if ((v[c->nerrors] = strdup(buf)) == NULL)
		v[c->nerrors] = oom_msg;
	c->nerrors++;
}

void pk_config_refuse(pk_config *c, const char *path, const char *why)
{
	size_t before = c->nerrors, *r;

	pk_config_add_error(c, "%s refused: %s", path, why);
	if (c->nerrors == before ||
	    (r = realloc(c->refused, (c->nrefused + 1) * sizeof(*r))) == NULL)
		return;   /* still an error, only not known as a refusal */
	c->refused = r;
	r[c->nrefused++] = before;
}

/* Records path in c->files; returns c's copy, or NULL. */
const char *pk_config_add_file(pk_config *c, const char *path)
{
	char **f = realloc(c->files, (c->nfiles + 1) * sizeof(*f));
	int *r;

	if (f == NULL)
		return NULL;
	c->files = f;
	if ((r = realloc(c->read, (c->nfiles + 1) * sizeof(*r))) == NULL)
		return NULL;
	c->read = r;
	if ((f[c->nfiles] = strdup(path)) == NULL)
		return NULL;
	r[c->nfiles] = 0;
	return f[c->nfiles++];
}

/* --- the environment ------------------------------------------------------ */

static const char *env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

static void read_env_fields(pk_config *c, char *const *envp, const struct field *f, size_t n)
{
	char msg[700];

	for (size_t i = 0; i < n; i++) {
		const char *v;

		if (f[i].type == T_MAP) {
			read_env_fields(c, envp, f[i].sub, f[i].nsub);
			continue;
		}
		if (f[i].env == NULL || (v = env_get(envp, f[i].env)) == NULL || v[0] == '\0')
			continue;
		if (pk_config_set_scalar(&f[i], v, c, f[i].env, msg, sizeof(msg)) < 0) {
			pk_config_add_error(c, "%s", msg);
			continue;
		}
		c->origins[f[i].id].where = f[i].env;
		c->origins[f[i].id].line = 0;
		c->origins[f[i].id].column = 0;
	}
}

/* systemd gives a unit with CacheDirectory= its folder, made with the
 * unit's user as owner, in CACHE_DIRECTORY: that is where the unit's runs
 * belong, before the files' cache_dir (which a dynamic user could not
 * write), but after PICKLED_CACHE_DIR, which is pickled's own and set on
 * purpose.  mine: the PICKLED_ variables. */
static void read_systemd_cache_dir(pk_config *c, char *const *envp, char *const *mine)
{
	const char *v = env_get(mine, "PICKLED_CACHE_DIR");
	char msg[700], *dir;

	if (v != NULL && v[0] != '\0')
		return;
	if ((dir = pk_store_systemd_dir(env_get(envp, "CACHE_DIRECTORY"))) == NULL) {
		if (errno == ENOMEM)
			pk_config_add_error(c, "out of memory");
		return;
	}
	for (size_t i = 0; i < pk_config_ntop; i++) {
		const struct field *f = &pk_config_top_fields[i];

		if (f->id != PK_CFG_CACHE_DIR)
			continue;
		if (pk_config_set_scalar(f, dir, c, "CACHE_DIRECTORY", msg, sizeof(msg)) < 0) {
			pk_config_add_error(c, "%s", msg);
			break;
		}
		c->origins[f->id].where = "CACHE_DIRECTORY";
		c->origins[f->id].line = 0;
		c->origins[f->id].column = 0;
	}
	free(dir);
}

int pk_config_read_env(pk_config *c, char *const *envp)
{
	size_t before = c->nerrors, n = 0;
	char *mine[64];

	/* One pass over the environment for the PICKLED_ ones: the lookups
	 * then scan a handful of strings, not the whole environment per key
	 * (this runs on every hit). */
	for (char *const *e = envp; e != NULL && *e != NULL && n < NELEM(mine) - 1; e++)
		if (strncmp(*e, "PICKLED_", 8) == 0)
			mine[n++] = *e;
	mine[n] = NULL;
	if (n > 0)
		read_env_fields(c, mine, pk_config_top_fields, pk_config_ntop);
	read_systemd_cache_dir(c, envp, mine);
	return c->nerrors > before ? -1 : 0;
}

/* --- the whole ------------------------------------------------------------ */

void pk_config_init(pk_config *c)
{
	memset(c, 0, sizeof(*c));
	c->ttl_ms = PK_DEFAULT_TTL_MS;
	c->stale_ms = PK_DEFAULT_STALE_MS;
	c->lock_timeout_ms = PK_DEFAULT_LOCK_TIMEOUT_MS;
	c->max_size = PK_DEFAULT_MAX_SIZE;
	c->max_entry = PK_DEFAULT_MAX_ENTRY;
	c->level = PK_DEFAULT_LEVEL;
	c->threads = PK_DEFAULT_THREADS;
	c->cache_failures = 0;
	c->stdin_mode = PK_STDIN_AUTO;
	c->program_check = PK_PROGRAM_MTIME;
	c->auto_gc = 1;
	c->gc_interval_ms = PK_DEFAULT_GC_INTERVAL_MS;
	c->remote_mode = PK_REMOTE_READ_WRITE;
	c->remote_timeout_ms = PK_DEFAULT_REMOTE_TIMEOUT_MS;
	c->remote_max_entry = PK_DEFAULT_REMOTE_MAX_ENTRY;
	c->remote_lease_ms = PK_DEFAULT_REMOTE_LEASE_MS;
	c->remote_prefix = strdup(PK_DEFAULT_REMOTE_PREFIX);   /* NULL: dumped as null */
}

void pk_config_free(pk_config *c)
{
	if (c == NULL)
		return;
	free(c->cache_dir);
	pk_config_strv_free(&c->env);
	free(c->remote_url);
	free(c->remote_prefix);
	free(c->remote_secret_file);
	free(c->remote_password_file);
	free(c->metrics_textfile);
	for (size_t i = 0; i < c->njobs; i++)
		pk_config_job_free(&c->jobs[i]);
	free(c->jobs);
	for (size_t i = 0; i < c->nerrors; i++)
		if (c->errors[i] != oom_msg)
			free(c->errors[i]);
	free(c->errors);
	free(c->refused);
	for (size_t i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c->read);
	memset(c, 0, sizeof(*c));
}

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
	pk_config_format_duration(stale, a, sizeof(a));
	pk_config_format_duration(ttl, b, sizeof(b));
	if (blame_stale)
		pk_config_add_error(c, "%s%s%sstale (%s) must be shorter than ttl (%s%s)",
		          where(stale_o, w, sizeof(w)), job ? job : "", job ? ": " : "", a, b,
		          from(ttl_o, stale_o, f, sizeof(f)));
	else
		pk_config_add_error(c, "%s%s%sttl (%s) must be longer than stale (%s%s)",
		          where(ttl_o, w, sizeof(w)), job ? job : "", job ? ": " : "", b, a,
		          from(stale_o, ttl_o, f, sizeof(f)));
}

int pk_config_validate(pk_config *c)
{
	size_t before = c->nerrors;
	char name[100];

	check_stale(c, NULL, c->ttl_ms, &c->origins[PK_CFG_TTL], c->stale_ms,
	            &c->origins[PK_CFG_STALE], 1);
	for (size_t i = 0; i < c->njobs; i++) {
		const pk_config_job *j = &c->jobs[i];
		int has_ttl = (j->set >> PK_JOB_TTL) & 1, has_stale = (j->set >> PK_JOB_STALE) & 1;

		if (!has_ttl && !has_stale)
			continue;   /* the top level's, checked above */
		snprintf(name, sizeof(name), "job '%s'", j->name);
		check_stale(c, name, has_ttl ? j->ttl_ms : c->ttl_ms,
		            has_ttl ? &j->origins[PK_JOB_TTL] : &c->origins[PK_CFG_TTL],
		            has_stale ? j->stale_ms : c->stale_ms,
		            has_stale ? &j->origins[PK_JOB_STALE] : &c->origins[PK_CFG_STALE],
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
	if (file == NULL && (v = env_get(envp, "PICKLED_CONFIG")) != NULL && v[0] != '\0')
		file = v;
	if (file != NULL) {
		src[n++].path = file;
	} else {
		int len = -1;

		src[n].path = PK_SYSTEM_CONFIG;
		src[n++].optional = 1;
		if ((v = env_get(envp, "XDG_CONFIG_HOME")) != NULL && v[0] == '/')
			len = snprintf(path, sizeof(path), "%s/%s", v, PK_USER_CONFIG);
		else if ((v = env_get(envp, "HOME")) != NULL && v[0] != '\0')
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
		if (pk_config_add_file(c, src[i].path) == NULL)   /* absent, as stat just said */
			pk_config_add_error(c, "out of memory");
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

const pk_config_job *pk_config_job_find(const pk_config *c, const char *name,
                                        const char **suggestion)
{
	const char *best = NULL;
	unsigned bestd = 99;

	for (size_t i = 0; i < c->njobs; i++) {
		if (strcmp(c->jobs[i].name, name) == 0)
			return &c->jobs[i];
		pk_config_closest(name, c->jobs[i].name, &best, &bestd);
	}
	if (suggestion != NULL)
		*suggestion = best;
	return NULL;
}

/* --- applying it to a run ------------------------------------------------- */

/* *v (malloc'd, NULL-terminated) = a then b; the strings are borrowed. */
static int concat(char ***v, size_t *n, const pk_strv *a, const pk_strv *b)
{
	size_t total = a->n + (b ? b->n : 0);

	*v = NULL;
	*n = 0;
	if (total == 0)
		return 0;
	if ((*v = calloc(total + 1, sizeof(**v))) == NULL)
		return -1;
	for (size_t i = 0; i < a->n; i++)
		(*v)[(*n)++] = a->v[i];
	for (size_t i = 0; b != NULL && i < b->n; i++)
		(*v)[(*n)++] = b->v[i];
	return 0;
}

void pk_config_remote(const pk_config *c, pk_remote_opts *o)
{
	o->url = c->remote_url;
	o->read_only = c->remote_mode == PK_REMOTE_READ_ONLY;
	o->timeout_ms = c->remote_timeout_ms;
	o->prefix = c->remote_prefix ? c->remote_prefix : "";
	o->max_entry = c->remote_max_entry;
	o->lease_ms = c->remote_lease_ms;
	o->secret_file = c->remote_secret_file;
	o->password_file = c->remote_password_file;
}

int pk_config_apply(const pk_config *c, const pk_config_job *j, pk_run_opts *o)
{
	unsigned set = j ? j->set : 0;
#define HAS(k) ((set >> (k)) & 1)

	o->cache_dir = c->cache_dir;
	o->ttl_ms = HAS(PK_JOB_TTL) ? j->ttl_ms : c->ttl_ms;
	o->stale_ms = HAS(PK_JOB_STALE) ? j->stale_ms : c->stale_ms;
	o->lock_timeout_ms = HAS(PK_JOB_LOCK_TIMEOUT) ? j->lock_timeout_ms : c->lock_timeout_ms;
	o->max_size = c->max_size;
	o->max_entry = c->max_entry;
	o->level = c->level;
	o->threads = c->threads;   /* 0: chosen by pk_run when it compresses */
	o->cache_failures = HAS(PK_JOB_CACHE_FAILURES) ? j->cache_failures : c->cache_failures;
	/* A named job is for cron: its input is what it declares, not whatever
	 * stdin cron or a terminal happens to give it. */
	o->stdin_mode = j == NULL ? c->stdin_mode : HAS(PK_JOB_STDIN) ? j->stdin_mode : PK_STDIN_NEVER;
	o->program_check = c->program_check;
	o->auto_gc = c->auto_gc;
	o->gc_interval_ms = c->gc_interval_ms;
	o->metrics_file = c->metrics_textfile;
	pk_config_remote(c, &o->remote);
	o->inputs = o->outputs = o->tags = NULL;
	o->ninputs = o->noutputs = o->ntags = 0;
	if (concat(&o->envs, &o->nenvs, &c->env, j ? &j->env : NULL) < 0)
		goto nomem;
	if (j == NULL)
		return 0;
	o->argv = j->command.v;
	o->extra = j->key;
	o->use_cwd = j->use_cwd;
	if (concat(&o->inputs, &o->ninputs, &j->inputs, NULL) < 0 ||
	    concat(&o->outputs, &o->noutputs, &j->outputs, NULL) < 0 ||
	    concat(&o->tags, &o->ntags, &j->tags, NULL) < 0)
		goto nomem;
	return 0;
#undef HAS
nomem:
	free(o->envs);
	free(o->inputs);
	free(o->outputs);
	o->envs = o->inputs = o->outputs = NULL;
	errno = ENOMEM;
	return -1;
}
