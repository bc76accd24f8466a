/* judge.c: a traced run's records into inputs, outputs and a verdict. */
#include "judge.h"

#include "io.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Flags that take in a path's content (not only its existence): a path
 * read this way, then written, was an input that the run itself changed. */
#define CONTENT_READS (PK_TRACE_READ | PK_TRACE_LIST | PK_TRACE_READLINK | PK_TRACE_EXEC)
/* Writes that change the listing of the folder holding the path. */
#define LISTING_WRITES                                                                             \
	(PK_TRACE_CREATE | PK_TRACE_UNLINK | PK_TRACE_RENAME_FROM | PK_TRACE_RENAME_TO |           \
	 PK_TRACE_LINK_TO | PK_TRACE_MKDIR)

void pk_judgement_free(pk_judgement *j)
{
	if (j == NULL)
		return;
	for (size_t i = 0; i < j->ninputs; i++)
		pk_mrec_free(&j->inputs[i]);
	free(j->inputs);
	for (size_t i = 0; i < j->nwritten; i++)
		free(j->written[i]);
	free(j->written);
	for (size_t i = 0; i < j->npeers; i++)
		free(j->peers[i]);
	free(j->peers);
	memset(j, 0, sizeof(*j));
}

static void refuse(pk_judgement *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The first reason is the one said. */
static void refuse(pk_judgement *j, const char *fmt, ...)
{
	va_list ap;

	if (!j->cacheable)
		return;
	j->cacheable = 0;
	va_start(ap, fmt);
	vsnprintf(j->why, sizeof(j->why), fmt, ap);
	va_end(ap);
}

/* 1 when path is dir or below it. */
static int under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return 1;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* path made absolute against cwd, with "./" and doubled slashes gone (as
 * the tracer writes its paths).  Returns NULL when out of memory. */
static char *absolute(const char *path, const char *cwd)
{
	size_t lc = cwd ? strlen(cwd) : 0, lp = strlen(path);
	char *s = malloc(lc + lp + 2), *w;
	const char *p;

	if (s == NULL)
		return NULL;
	if (path[0] == '/' || cwd == NULL)
		snprintf(s, lp + 1, "%s", path);
	else
		snprintf(s, lc + lp + 2, "%s/%s", cwd, path);
	/* Squeeze "//" and "/./". */
	for (p = s, w = s; *p != '\0';) {
		if (p[0] == '/' && p[1] == '/') {
			p++;
		} else if (p[0] == '/' && p[1] == '.' && (p[2] == '/' || p[2] == '\0')) {
			p += 2;
		} else {
			*w++ = *p++;
		}
	}
	if (w == s)
		*w++ = '/';
	*w = '\0';
	if (w - s > 1 && w[-1] == '/')
		w[-1] = '\0';
	return s;
}

int pk_judge_ignored(const char *path, char *const *globs, size_t n, const char *cwd)
{
	for (size_t i = 0; i < n; i++) {
		const char *g = globs[i];

		if (strchr(g, '/') == NULL) {
			/* Each component's name. */
			for (const char *c = path; *c != '\0';) {
				const char *end = strchr(c, '/');
				size_t len = end ? (size_t)(end - c) : strlen(c);
				char name[256];
				if (len > 0 && len < sizeof(name)) {
					memcpy(name, c, len);
					name[len] = '\0';
					if (fnmatch(g, name, 0) == 0)
						return 1;
				}
				c += len + (end != NULL);
			}
			continue;
		}
		char *abs = absolute(g, cwd);
		char *p;
		if (abs == NULL)
			continue;
		/* The path, then each folder above it. */
		if ((p = strdup(path)) != NULL) {
			for (;;) {
				if (fnmatch(abs, p, FNM_PATHNAME) == 0) {
					free(p);
					free(abs);
					return 1;
				}
				char *slash = strrchr(p, '/');
				if (slash == NULL || slash == p)
					break;
				*slash = '\0';
			}
			free(p);
		}
		free(abs);
	}
	return 0;
}

static int skipped(const char *path, const pk_judge_opts *o)
{
	if (under(path, "/proc") || under(path, "/sys") || under(path, "/dev"))
		return 1;
	if (o->cache_dir != NULL && under(path, o->cache_dir))
		return 1;
	return pk_judge_ignored(path, o->ignore, o->nignore, o->cwd);
}

/* What an input's flags ask to be recorded of it. */
static int wanted_kind(uint32_t flags)
{
	if (flags & PK_TRACE_LIST)
		return PK_MK_DIR;
	if (flags & (PK_TRACE_READ | PK_TRACE_EXEC))
		return PK_MK_FILE;
	if (flags & PK_TRACE_READLINK)
		return PK_MK_LINK;
	if ((flags & PK_TRACE_LSTAT) && !(flags & PK_TRACE_STAT))
		return PK_MK_LINK;
	return PK_MK_STAT;
}

static int ts_ge(struct timespec a, struct timespec b)
{
	return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec >= b.tv_nsec);
}

/* 1 when the path, as the tracer first saw it, is not what rec saw at the
 * end (a change by someone else while the run went on). */
static int changed_meanwhile(const pk_trace_stat *f, const pk_mrec *rec)
{
	/* Not even the tracer could look (EACCES, ELOOP): as absent, if it
	 * still cannot be looked at. */
	if (!f->exists || (f->mode & S_IFMT) == 0)
		return rec->kind != PK_MK_ABSENT;
	if (rec->kind == PK_MK_ABSENT || (f->mode & S_IFMT) != (rec->mode & S_IFMT))
		return 1;
	if (S_ISDIR(f->mode) && rec->kind != PK_MK_DIR)
		return 0; /* a folder's existence is all that was seen */
	return (uint64_t)f->dev != rec->dev || (uint64_t)f->ino != rec->ino ||
	       (uint64_t)f->size != rec->size || pk_ns(f->mtime) != rec->mtime_ns ||
	       pk_ns(f->ctime) != rec->ctime_ns;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The folders whose listing the tree changed, sorted. */
static char **changed_dirs(const pk_trace_result *res, size_t *n)
{
	char **v = calloc(res->nrecords + 1, sizeof(*v));

	*n = 0;
	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < res->nrecords; i++) {
		const char *p = res->records[i].path, *slash = strrchr(p, '/');
		if (!(res->records[i].flags & LISTING_WRITES) || slash == NULL)
			continue;
		if ((v[*n] = strndup(p, slash == p ? 1 : (size_t)(slash - p))) == NULL)
			break;
		(*n)++;
	}
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_str);
	return v;
}

static int declared(const char *path, char *const *abs_outputs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (abs_outputs[i] != NULL && strcmp(path, abs_outputs[i]) == 0)
			return 1;
	return 0;
}

/* One input record into j (or a reason the result cannot be stored). */
static int judge_input(const pk_trace_record *r, const pk_judge_opts *o, char **dirs, size_t ndirs,
                       struct timespec started, pk_judgement *j, pk_error *err)
{
	pk_mrec rec;
	pk_error oerr = { 0 };
	char buf[PK_ERROR_STR_LEN];

	if (pk_mrec_observe(&rec, r->path, wanted_kind(r->flags), o->statdir, &oerr) < 0) {
		if (oerr.errnum == ENOMEM)
			return pk_error_set(err, ENOMEM, "out of memory");
		refuse(j, "cannot read input: %s", pk_error_str(&oerr, buf, sizeof(buf)));
		return 0;
	}
	int own_listing = rec.kind == PK_MK_DIR &&
	                  bsearch(&r->path, dirs, ndirs, sizeof(*dirs), cmp_str) != NULL;
	if (!own_listing && changed_meanwhile(&r->first, &rec))
		refuse(j, "input changed during the run: %s", r->path);
	else if (!own_listing && rec.kind != PK_MK_ABSENT &&
	         !(S_ISDIR(rec.mode) && rec.kind != PK_MK_DIR) &&
	         (ts_ge(r->first.mtime, started) || ts_ge(r->first.ctime, started)))
		/* Written in the same instant the run began: the content the
		 * run read may not be the one recorded now. */
		refuse(j, "input modified as the run started: %s", r->path);
	j->inputs[j->ninputs++] = rec;
	return 0;
}

int pk_judge(const pk_trace_result *res, const pk_judge_opts *o, pk_judgement *j, pk_error *err)
{
	char **outs = NULL, **dirs = NULL;
	size_t ndirs = 0;
	int ret = -1;

	memset(j, 0, sizeof(*j));
	j->cacheable = 1;
	if (res->state != PK_TRACE_COMPLETE) {
		refuse(j, "%s", res->why[0] ? res->why : "the trace is incomplete");
		return 0;
	}
	if (o->noutputs > 0 && (outs = calloc(o->noutputs, sizeof(*outs))) == NULL)
		goto nomem;
	for (size_t i = 0; i < o->noutputs; i++)
		if ((outs[i] = absolute(o->outputs[i], o->cwd)) == NULL)
			goto nomem;
	if ((dirs = changed_dirs(res, &ndirs)) == NULL)
		goto nomem;
	if ((j->inputs = calloc(res->nrecords + 1, sizeof(*j->inputs))) == NULL ||
	    (j->written = calloc(res->nrecords + 1, sizeof(*j->written))) == NULL)
		goto nomem;
	for (size_t i = 0; i < res->nrecords; i++) {
		const pk_trace_record *r = &res->records[i];

		if (skipped(r->path, o))
			continue;
		if (!(r->flags & PK_TRACE_WRITES)) {
			if (judge_input(r, o, dirs, ndirs, res->started, j, err) < 0)
				goto out;
			continue;
		}
		/* Read, then changed by the run: what a later run would find
		 * there is not what this one read. */
		if ((r->flags & CONTENT_READS) && r->first_read_seq != 0 &&
		    r->first_read_seq <= r->first_write_seq && r->first.exists &&
		    !S_ISDIR(r->first.mode) && !declared(r->path, outs, o->noutputs))
			refuse(j, "read, then written by the run: %s", r->path);
		if ((j->written[j->nwritten] = strdup(r->path)) == NULL)
			goto nomem;
		j->nwritten++;
	}
	pk_mrecs_sort(j->inputs, &j->ninputs);
	if (j->nwritten > 1)
		qsort(j->written, j->nwritten, sizeof(*j->written), cmp_str);
	if (res->npeers > 0) {
		if ((j->peers = calloc(res->npeers, sizeof(*j->peers))) == NULL)
			goto nomem;
		for (size_t i = 0; i < res->npeers; i++) {
			if ((j->peers[i] = strdup(res->peers[i].addr)) == NULL)
				goto nomem;
			j->npeers++;
		}
		if (o->network_uncached)
			refuse(j, "the run used the network (%s), and trace.network is uncached",
			       res->peers[0].addr);
	}
	ret = 0;
	goto out;
nomem:
	pk_error_set(err, ENOMEM, "out of memory");
out:
	for (size_t i = 0; outs != NULL && i < o->noutputs; i++)
		free(outs[i]);
	free(outs);
	for (size_t i = 0; i < ndirs; i++)
		free(dirs[i]);
	free(dirs);
	if (ret < 0)
		pk_judgement_free(j);
	return ret;
}
