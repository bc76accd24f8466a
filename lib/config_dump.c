/* config_dump.c: the writer: the effective configuration written back as
 * YAML, each value with a comment naming where it came from, and one value
 * by its name.  Beside the readers, above the model and its key table. */
#include "config_dump.h"

#include "buf.h"
#include "config_keys.h"
#include "redis_url.h"
#include "store.h"
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void buf_str(pk_buf *b, const char *s)
{
	pk_buf_add(b, s, strlen(s));
}

/* Whether s can be written as a plain scalar, in block and flow context,
 * and read back as the same string by any YAML reader. */
static int plain_ok(const char *s)
{
	static const char *const words[] = {
		"null", "true", "false", "yes", "no", "on", "off", "y", "n", NULL,
	};

	if (s[0] == '\0')
		return 0;
	if (!isalnum((unsigned char)s[0]) && strchr("/._", s[0]) == NULL &&
	    !(s[0] == '-' && s[1] != '\0' && s[1] != ' '))
		return 0;
	for (const char *q = s; *q != '\0'; q++)
		if (!isalnum((unsigned char)*q) && strchr("_./@%+=*~-", *q) == NULL)
			return 0;
	for (int i = 0; words[i] != NULL; i++)
		if (strcasecmp(s, words[i]) == 0)
			return 0;
	return 1;
}

static void add_scalar(pk_buf *b, const char *s)
{
	if (s == NULL) {
		buf_str(b, "null");
		return;
	}
	if (plain_ok(s)) {
		buf_str(b, s);
		return;
	}
	buf_str(b, "\"");
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			pk_buf_printf(b, "\\%c", ch);
		else if (ch == '\n')
			buf_str(b, "\\n");
		else if (ch == '\t')
			buf_str(b, "\\t");
		else if (ch < 0x20 || ch == 0x7f)
			pk_buf_printf(b, "\\x%02x", ch);
		else
			pk_buf_add(b, s, 1);
	}
	buf_str(b, "\"");
}

static void add_list(pk_buf *b, const pk_strv *l)
{
	buf_str(b, "[");
	for (size_t i = 0; i < l->n; i++) {
		if (i > 0)
			buf_str(b, ", ");
		add_scalar(b, l->v[i]);
	}
	buf_str(b, "]");
}

/* raw: a string as it is, for `config get`; else as YAML reads it back. */
static void add_value(pk_buf *b, const struct field *f, const void *base, const char *default_dir,
                      int raw)
{
	const char *p = (const char *)base + f->off;
	char tmp[64];

	switch (f->type) {
	case T_DURATION: {
		int64_t ms;
		memcpy(&ms, p, sizeof(ms));
		buf_str(b, pk_duration_format_exact(ms, tmp, sizeof(tmp)));
		break;
	}
	case T_SIZE: {
		uint64_t v;
		memcpy(&v, p, sizeof(v));
		buf_str(b, pk_size_format_exact(v, tmp, sizeof(tmp)));
		break;
	}
	case T_INT: pk_buf_printf(b, "%d", *(const int *)(const void *)p); break;
	case T_BOOL: buf_str(b, *(const int *)(const void *)p ? "true" : "false"); break;
	case T_ENUM: buf_str(b, f->words[*(const int *)(const void *)p]); break;
	case T_PATH: {
		const char *v = *(char *const *)(const void *)p;
		if (v == NULL && !f->nullable) /* the cache: its default place */
			v = default_dir;
		if (raw)
			buf_str(b, v ? v : "null");
		else
			add_scalar(b, v);
		break;
	}
	case T_STRING: (raw ? buf_str : add_scalar)(b, *(char *const *)(const void *)p); break;
	case T_URL: {
		char *const url = *(char *const *)(const void *)p;
		char hidden[4096];
		(raw ? buf_str : add_scalar)(
			b, url ? pk_redis_url_redact(url, hidden, sizeof(hidden)) : NULL);
		break;
	}
	case T_LIST:
	case T_COMMAND: add_list(b, (const pk_strv *)(const void *)p); break;
	default: break;
	}
}

#define COMMENT_COLUMN 40

/* Ends the line that started at offset start with "# origin". */
static void add_origin(pk_buf *b, size_t start, const pk_origin *o)
{
	size_t w = b->len - start;

	for (size_t i = w; i < COMMENT_COLUMN || i < w + 2; i++)
		buf_str(b, " ");
	if (o->where == NULL)
		buf_str(b, "# default\n");
	else if (o->line == 0)
		pk_buf_printf(b, "# %s\n", o->where);
	else
		pk_buf_printf(b, "# %s:%u\n", o->where, o->line);
}

struct dump {
	pk_buf *b;
	const void *base; /* the pk_config or pk_config_job */
	const pk_origin *origins;
	unsigned set; /* a job's keys set (only_set) */
	int indent, only_set;
	const char *default_dir; /* the cache's when cache_dir is NULL */
	const char *section;     /* the mapping written last */
};

static int dump_field(const struct field *f, const char *section, void *ctx)
{
	struct dump *d = ctx;
	size_t start;

	if (section != NULL && section != d->section)
		pk_buf_printf(d->b, "%*s%s:\n", d->indent, "", section);
	d->section = section;
	if (d->only_set && !((d->set >> f->id) & 1))
		return 0;
	start = d->b->len;
	pk_buf_printf(d->b, "%*s%s: ", d->indent + (section ? 2 : 0), "", f->name);
	add_value(d->b, f, d->base, d->default_dir, 0);
	add_origin(d->b, start, &d->origins[f->id]);
	return 0;
}

int pk_config_dump(const pk_config *c, char **out)
{
	pk_buf b = { 0 };
	struct dump top = { &b, c, c->origins, 0, 0, 0, NULL, NULL };
	char *dir = NULL;
	pk_error err;

	*out = NULL;
	if (c->cache_dir == NULL)
		pk_store_default_dir(&dir, &err); /* NULL when there is none: dumped as null */
	top.default_dir = dir;
	buf_str(&b, "# The effective configuration of pickled.  After each value, its origin:\n"
	            "# the built-in default, FILE:LINE, or an environment variable.\n");
	for (size_t i = 0; i < c->nfiles; i++)
		pk_buf_printf(&b, "# %s: %s\n", c->read[i] ? "read" : "not found", c->files[i]);
	pk_config_fields_each(pk_config_top_fields, pk_config_ntop, NULL, dump_field, &top);
	if (c->njobs == 0) {
		size_t start = b.len;
		pk_origin none = { NULL, 0, 0 };
		buf_str(&b, "jobs: {}");
		add_origin(&b, start, &none);
	} else {
		buf_str(&b, "jobs:\n");
	}
	for (size_t i = 0; i < c->njobs; i++) {
		const pk_config_job *j = &c->jobs[i];
		struct dump job = { &b, j, j->origins, j->ov.set, 4, 1, NULL, NULL };
		size_t start = b.len;

		buf_str(&b, "  ");
		add_scalar(&b, j->name);
		buf_str(&b, ":");
		add_origin(&b, start, &j->origin);
		pk_config_fields_each(pk_config_job_fields, pk_config_njob, NULL, dump_field, &job);
	}
	free(dir);
	if (b.failed) {
		free(b.p);
		errno = ENOMEM;
		return -1;
	}
	*out = (char *)b.p;
	return 0;
}

/* --- one value ------------------------------------------------------------ */

struct find {
	const char *name;      /* dotted: "gc.auto" */
	const struct field *f; /* the field called so */
};

static int match(const struct field *f, const char *section, void *ctx)
{
	struct find *w = ctx;
	const char *name = w->name;
	size_t n = section ? strlen(section) : 0;

	if (section != NULL && (strncmp(name, section, n) != 0 || name[n] != '.'))
		return 0;
	if (strcmp(name + (section ? n + 1 : 0), f->name) != 0)
		return 0;
	w->f = f;
	return 1;
}

/* The setting called name in f[0..n), or NULL. */
static const struct field *find_field(const struct field *f, size_t n, const char *name)
{
	struct find w = { name, NULL };

	pk_config_fields_each(f, n, NULL, match, &w);
	return w.f;
}

int pk_config_get(const pk_config *c, const char *name, char **value, pk_origin *origin)
{
	static const pk_origin dflt = { NULL, 0, 0 };
	const struct field *f;
	const void *base = c;
	const pk_origin *o;
	pk_buf b = { 0 };
	char *dir = NULL;
	pk_error err;

	*value = NULL;
	if (strncmp(name, "jobs.", 5) == 0) {
		const char *job = name + 5, *dot = strrchr(job, '.');
		const pk_config_job *j = NULL;

		if (dot == NULL || dot == job)
			return errno = EINVAL, -1;
		for (size_t i = 0; i < c->njobs && j == NULL; i++)
			if (strlen(c->jobs[i].name) == (size_t)(dot - job) &&
			    strncmp(c->jobs[i].name, job, (size_t)(dot - job)) == 0)
				j = &c->jobs[i];
		if (j == NULL)
			return errno = ENOENT, -1;
		if ((f = find_field(pk_config_job_fields, pk_config_njob, dot + 1)) == NULL)
			return errno = EINVAL, -1;
		base = j;
		o = &j->origins[f->id];
		/* Not set in the job: what the job runs with, from the top. */
		if (!pk_overlay_has(&j->ov, f->id)) {
			const struct field *top =
				find_field(pk_config_top_fields, pk_config_ntop, f->name);
			if (f->id == PK_SET_STDIN) {
				/* never, whatever the top level says (pk_config_apply) */
				*origin = dflt;
				return (*value = strdup("never")) == NULL ? -1 : 0;
			} else if (top == NULL || top->type == T_LIST) {
				o = &dflt; /* the job's default; a list: nothing added */
			} else {
				f = top;
				base = c;
				o = &c->origins[f->id];
			}
		}
	} else {
		if ((f = find_field(pk_config_top_fields, pk_config_ntop, name)) == NULL)
			return errno = EINVAL, -1;
		o = &c->origins[f->id];
	}
	/* Only the cache has a default place; another path not set is null,
	 * wherever the cache is. */
	if (f->type == T_PATH && !f->nullable && c->cache_dir == NULL)
		pk_store_default_dir(&dir, &err);
	if ((f->type == T_URL || f->type == T_STRING || f->type == T_PATH) &&
	    *(char *const *)(const void *)((const char *)base + f->off) == NULL && dir == NULL) {
		free(dir);
		return errno = ENODATA, -1; /* null: not set */
	}
	add_value(&b, f, base, dir, 1);
	free(dir);
	pk_buf_add(&b, "", 1);
	if (b.failed) {
		free(b.p);
		return errno = ENOMEM, -1;
	}
	*value = (char *)b.p;
	*origin = *o;
	return 0;
}
