/* config_model.c: the configuration's model: defaults, freeing, the files
 * looked at and how one is read, the errors, the jobs (see
 * config_model.h).  It calls no other part of the config group. */
#include "config_model.h"

#include "defaults.h"
#include "io.h"
#include "key.h"
#include "run_opts.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

static char oom_msg[] = "out of memory";

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
	c->remote_upload_expiry_ms = PK_DEFAULT_REMOTE_UPLOAD_EXPIRY_MS;
	c->remote_prefix = strdup(PK_DEFAULT_REMOTE_PREFIX); /* NULL: dumped as null */
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
	free(c->remote_seeds);
	free(c->remote_password);
	free(c->metrics_textfile);
	pk_config_strv_free(&c->trace_ignore);
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

void pk_config_add_error(pk_config *c, const char *fmt, ...)
{
	char buf[1024], **v;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap); /* a long message is cut, no harm */
	va_end(ap);
	if ((v = realloc(c->errors, (c->nerrors + 1) * sizeof(*v))) == NULL)
		return; /* the errors seen so far still say the config is broken */
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
		return; /* still an error, only not known as a refusal */
	c->refused = r;
	r[c->nrefused++] = before;
}

const char *pk_config_add_file(pk_config *c, const char *path)
{
	char **f = realloc(c->files, (c->nfiles + 1) * sizeof(*f));
	int *r;

	if (f == NULL)
		goto nomem;
	c->files = f;
	if ((r = realloc(c->read, (c->nfiles + 1) * sizeof(*r))) == NULL)
		goto nomem;
	c->read = r;
	if ((f[c->nfiles] = strdup(path)) == NULL)
		goto nomem;
	r[c->nfiles] = 0;
	return f[c->nfiles++];
nomem:
	pk_config_add_error(c, "out of memory");
	return NULL;
}

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

/* --- the jobs ------------------------------------------------------------- */

void pk_config_job_free(pk_config_job *j)
{
	free(j->name);
	pk_config_strv_free(&j->command);
	pk_config_strv_free(&j->ov.inputs);
	pk_config_strv_free(&j->ov.outputs);
	pk_config_strv_free(&j->ov.env);
	pk_config_strv_free(&j->ov.tags);
	free(j->ov.key);
	free(j->dir);
	memset(j, 0, sizeof(*j));
}

int pk_config_job_add(pk_config *c, pk_config_job *j)
{
	pk_config_job *v;

	for (size_t i = 0; i < c->njobs; i++) {
		if (strcmp(c->jobs[i].name, j->name) == 0) {
			pk_config_job_free(&c->jobs[i]);
			c->jobs[i] = *j;
			return 0;
		}
	}
	if ((v = realloc(c->jobs, (c->njobs + 1) * sizeof(*v))) == NULL) {
		pk_config_job_free(j);
		return -1;
	}
	c->jobs = v;
	c->jobs[c->njobs++] = *j;
	return 0;
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

/* Optimal string alignment distance, for "did you mean"; large when the
 * strings are too long to bother. */
static unsigned distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned d[33][33];

	if (la > 32 || lb > 32)
		return 99;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = tolower((unsigned char)a[i - 1]) !=
			                tolower((unsigned char)b[j - 1]);
			unsigned v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

void pk_config_closest(const char *s, const char *cand, const char **best, unsigned *bestd)
{
	size_t len = strlen(s);
	unsigned limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
	unsigned d = distance(s, cand);

	if (d <= limit && d < *bestd) {
		*best = cand;
		*bestd = d;
	}
}

/* --- the files ------------------------------------------------------------ */

void pk_config_hash_content(const void *buf, size_t len, unsigned char hash[16])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(buf, len));
	memcpy(hash, c.digest, 16);
}

/* 1 when opening src failed with errnum only because there is no file of
 * the user's there: src is optional and the file is missing, a folder on
 * the way is a file, or a folder on the way cannot be searched (a HOME
 * not the user's own, as a job run with another user's HOME has). */
static int source_missing(const struct pk_config_source *src, int errnum)
{
	struct stat st;

	if (!src->optional)
		return 0;
	if (errnum == ENOENT || errnum == ENOTDIR)
		return 1;
	/* EACCES from the file itself (stat works) is a file to report. */
	return errnum == EACCES && stat(src->path, &st) < 0 && errno == EACCES;
}

int pk_config_source_read(struct pk_config_source *src, char **buf, size_t *len, char *why,
                          size_t whylen, int *refused)
{
	struct stat *st = &src->st;
	ssize_t n;
	int fd, ret = -1;

	*buf = NULL;
	*refused = 0;
	src->present = 0;
	fd = open(src->path,
	          O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); /* a FIFO must not hang us */
	if (fd < 0) {
		int e = errno;
		if (source_missing(src, e))
			return 1;
		snprintf(why, whylen, "cannot open configuration file: %s: %s", src->path,
		         strerror(e));
		return -1;
	}
	if (fstat(fd, st) < 0) {
		snprintf(why, whylen, "cannot stat configuration file: %s: %s", src->path,
		         strerror(errno));
		goto out;
	}
	/* Whoever can write the file decides where the cache is and what a
	 * job runs.  Group-writable is refused even when the group has no
	 * member but the owner (OpenSSH's exception): a member added later
	 * gets the file without it changing, and asking NSS on every run
	 * costs time and can fail in cron. */
	*refused = 1;
	if (!S_ISREG(st->st_mode))
		snprintf(why, whylen, "not a regular file");
	else if (st->st_uid != geteuid() && st->st_uid != 0)
		snprintf(why, whylen, "owned by another user (uid %lu)", (unsigned long)st->st_uid);
	else if (st->st_mode & (S_IWGRP | S_IWOTH))
		snprintf(why, whylen, "%s",
		         (st->st_mode & S_IWGRP) == 0 ? "writable by others"
		         : (st->st_mode & S_IWOTH)    ? "writable by group and others"
		                                      : "writable by group");
	else
		*refused = 0;
	if (*refused)
		goto out;
	if (st->st_size > PK_CONFIG_MAX_FILE) {
		snprintf(why, whylen, "configuration file larger than 1M: %s", src->path);
		goto out;
	}
	if ((*buf = malloc((size_t)st->st_size + 1)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if ((n = pk_read_full(fd, *buf, (size_t)st->st_size)) < 0) {
		snprintf(why, whylen, "cannot read configuration file: %s: %s", src->path,
		         strerror(errno));
		free(*buf);
		*buf = NULL;
		goto out;
	}
	(*buf)[n] = '\0';
	*len = (size_t)n;
	src->present = 1;
	pk_config_hash_content(*buf, *len, src->hash);
	ret = 0;
out:
	close(fd);
	return ret;
}
