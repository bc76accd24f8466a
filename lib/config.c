/* config.c: pickled.conf read with libyaml's event API against the table
 * of keys (config_keys.c), and the PICKLED_* variables read against the
 * same table; config_dump.c writes the result back.
 *
 * Invariants:
 * - A configuration file is opened once, checked with fstat on that open
 *   descriptor (regular file, owner the user or root, not writable by
 *   group or others), and read whole before parsing: no stat of paths
 *   that are not opened, no race between the check and the read.
 * - Parsing never stops at a bad value: the value's events are skipped and
 *   parsing goes on, so that every error of the file is reported.  Only a
 *   YAML syntax error ends the file, since libyaml cannot go on after one.
 * - A value's type comes from the key, not from the YAML tag: "ttl: 90"
 *   and "ttl: '90'" are the same duration. */
#include "config.h"
#include "config_keys.h"
#include "config_snapshot.h"

#include "defaults.h"
#include "io.h"
#include "key.h"
#include "remote.h"
#include "store.h"
#include "units.h"

#include <yaml.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FILE_SIZE (1u << 20)   /* a configuration file, not a database */

static char oom_msg[] = "out of memory";

/* --- small helpers -------------------------------------------------------- */

static void strv_free(pk_strv *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int strv_push(pk_strv *l, const char *s)
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

static void job_free(pk_config_job *j)
{
	free(j->name);
	strv_free(&j->command);
	strv_free(&j->inputs);
	strv_free(&j->outputs);
	strv_free(&j->env);
	strv_free(&j->tags);
	free(j->key);
	memset(j, 0, sizeof(*j));
}

static void add_error(pk_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_error(pk_config *c, const char *fmt, ...)
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

/* A value as it can be quoted in a message: at most 60 bytes, control
 * characters as '?'. */
static const char *show(const char *s, char *buf, size_t len)
{
	size_t i = 0;

	for (; s[i] != '\0' && i + 1 < len && i < 60; i++)
		buf[i] = iscntrl((unsigned char)s[i]) ? '?' : s[i];
	buf[i] = '\0';
	if (s[i] != '\0' && i >= 3)
		memcpy(buf + i - 3, "...", 3);
	return buf;
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
			unsigned cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
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

/* Keeps in *best the candidate closest to s, if close enough to suggest. */
static void closest(const char *s, const char *cand, const char **best, unsigned *bestd)
{
	size_t len = strlen(s);
	unsigned limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
	unsigned d = distance(s, cand);

	if (d <= limit && d < *bestd) {
		*best = cand;
		*bestd = d;
	}
}

static const char *suggest_field(const char *s, const struct field *f, size_t n)
{
	const char *best = NULL;
	unsigned bestd = 99;

	for (size_t i = 0; i < n; i++)
		closest(s, f[i].name, &best, &bestd);
	return best;
}



static int parse_bool(const char *s, int *v)
{
	static const char *const yes[] = { "true", "yes", "on", "1", NULL };
	static const char *const no[] = { "false", "no", "off", "0", NULL };

	for (int i = 0; yes[i] != NULL; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*v = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*v = 0;
			return 0;
		}
	}
	return -1;
}

static const char *type_name(enum type t)
{
	switch (t) {
	case T_DURATION: return "a duration";
	case T_SIZE: return "a size";
	case T_INT: return "an integer";
	case T_BOOL: return "true or false";
	case T_STRING: return "a string";
	case T_PATH: return "a path";
	case T_URL: return "a URL";
	case T_ENUM: return "one word";
	case T_LIST:
	case T_COMMAND: return "a list";
	case T_MAP:
	case T_JOBS: return "a mapping";
	}
	return "a value";
}

/* --- setting one scalar ----------------------------------------------------- */

/* Sets the scalar field f of base from s (NULL: a YAML null).  what names
 * the setting in messages; in_file is 0 for an environment variable.
 * Returns 0, or -1 with the message in msg (the field is then unchanged). */
static int set_scalar(const struct field *f, const char *s, int in_file, void *base,
                      const char *what, char *msg, size_t len)
{
	char *p = (char *)base + f->off;
	char shown[64], *copy = NULL;

	if (s == NULL) {
		if (!f->nullable) {
			snprintf(msg, len, "missing value for %s", what);
			return -1;
		}
		free(*(char **)p);
		*(char **)p = NULL;
		return 0;
	}
	show(s, shown, sizeof(shown));
	switch (f->type) {
	case T_DURATION: {
		int64_t ms;
		if (pk_duration_parse(s, &ms) < 0) {
			snprintf(msg, len, "invalid duration for %s: '%s'", what, shown);
			return -1;
		}
		memcpy(p, &ms, sizeof(ms));
		return 0;
	}
	case T_SIZE: {
		uint64_t b;
		if (pk_size_parse(s, &b) < 0) {
			snprintf(msg, len, "invalid size for %s: '%s'", what, shown);
			return -1;
		}
		if (b < (uint64_t)f->min) {
			snprintf(msg, len, "invalid size for %s: '%s' (must be at least %d)", what,
			         shown, f->min);
			return -1;
		}
		memcpy(p, &b, sizeof(b));
		return 0;
	}
	case T_INT: {
		char *end;
		long v;
		errno = 0;
		v = strtol(s, &end, 10);
		if (!isdigit((unsigned char)*s) || *end != '\0' || errno != 0 ||
		    v < f->min || v > f->max) {
			snprintf(msg, len, "invalid value for %s: '%s' (expected %d to %d)", what,
			         shown, f->min, f->max);
			return -1;
		}
		*(int *)p = (int)v;
		return 0;
	}
	case T_BOOL:
		if (parse_bool(s, (int *)p) < 0) {
			snprintf(msg, len, "invalid value for %s: '%s' (expected true or false)", what,
			         shown);
			return -1;
		}
		return 0;
	case T_ENUM: {
		const char *best = NULL;
		unsigned bestd = 99;
		for (int i = 0; f->words[i] != NULL; i++) {
			if (strcmp(s, f->words[i]) == 0) {
				*(int *)p = i;
				return 0;
			}
			closest(s, f->words[i], &best, &bestd);
		}
		if (best != NULL) {
			snprintf(msg, len, "invalid value for %s: '%s' (did you mean '%s'?)", what,
			         shown, best);
		} else {
			size_t n = 0;
			int used = snprintf(msg, len, "invalid value for %s: '%s' (expected ", what, shown);
			while (f->words[n] != NULL)
				n++;
			for (size_t i = 0; i < n && used > 0 && (size_t)used < len; i++)
				used += snprintf(msg + used, len - (size_t)used, "%s%s",
				                 i == 0 ? "" : i + 1 == n ? " or " : ", ", f->words[i]);
			if (used > 0 && (size_t)used < len)
				snprintf(msg + used, len - (size_t)used, ")");
		}
		return -1;
	}
	case T_PATH:
		if (in_file && s[0] == '~' && s[1] == '/') {
			const char *home = getenv("HOME");
			size_t n;
			if (home == NULL || home[0] != '/') {
				snprintf(msg, len, "cannot expand '~' in %s: HOME is not set", what);
				return -1;
			}
			n = strlen(home) + strlen(s);
			if ((copy = malloc(n)) == NULL)
				goto nomem;
			snprintf(copy, n, "%s%s", home, s + 1);
		} else if (in_file && s[0] != '/') {
			snprintf(msg, len, "invalid path for %s: '%s' (expected an absolute path, or one "
			         "starting with ~/)", what, shown);
			return -1;
		} else if (s[0] == '\0') {
			snprintf(msg, len, "missing value for %s", what);
			return -1;
		}
		break;
	case T_URL: {
		pk_error err = { 0 };
		if (pk_remote_parse_check(s, &err) < 0) {
			const char *why = err.msg;
			if (strncmp(why, "remote url: ", 12) == 0)
				why += 12;
			char hidden[512];
			show(pk_config_hide_password(s, hidden, sizeof(hidden)), shown, sizeof(shown));
			snprintf(msg, len, "invalid URL for %s: '%s' (%s)", what, shown, why);
			return -1;
		}
		break;
	}
	case T_STRING:
		break;
	default:
		snprintf(msg, len, "%s must be %s", what, type_name(f->type));
		return -1;
	}
	if (copy == NULL && (copy = strdup(s)) == NULL)
		goto nomem;
	free(*(char **)p);
	*(char **)p = copy;
	return 0;
nomem:
	snprintf(msg, len, "%s", oom_msg);
	return -1;
}

/* --- reading a file --------------------------------------------------------- */

struct parse {
	pk_config *c;
	const char *file;          /* owned by c */
	const char *buf;           /* the file's bytes */
	size_t len;
	yaml_parser_t yp;
	yaml_event_t ev;           /* the current event */
	int have;                  /* ev must be deleted */
	size_t nerrors;            /* errors in c before this file */
};

static void perr(struct parse *p, yaml_mark_t m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void perr(struct parse *p, yaml_mark_t m, const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	add_error(p->c, "%s:%zu:%zu: %s", p->file, m.line + 1, m.column + 1, msg);
}

static void syntax_error(struct parse *p)
{
	yaml_parser_t *y = &p->yp;
	yaml_mark_t m = y->problem_mark;
	const char *problem = y->problem ? y->problem : "invalid YAML";

	if (y->error == YAML_READER_ERROR) {
		/* The reader reports a byte offset; count lines up to it. */
		size_t off = y->problem_offset < p->len ? y->problem_offset : p->len;
		m.line = m.column = 0;
		for (size_t i = 0; i < off; i++) {
			if (p->buf[i] == '\n') {
				m.line++;
				m.column = 0;
			} else if (((unsigned char)p->buf[i] & 0xC0) != 0x80) {
				m.column++;
			}
		}
	}
	if (y->context != NULL && y->error != YAML_READER_ERROR)
		perr(p, m, "syntax error: %s (%s at line %zu)", problem, y->context,
		     y->context_mark.line + 1);
	else
		perr(p, m, "syntax error: %s", problem);
}

/* Moves to the next event.  Returns 0, or -1 after a syntax error. */
static int next(struct parse *p)
{
	if (p->have) {
		yaml_event_delete(&p->ev);
		p->have = 0;
	}
	if (!yaml_parser_parse(&p->yp, &p->ev)) {
		syntax_error(p);
		return -1;
	}
	p->have = 1;
	return 0;
}

/* Skips the node that starts at the current event: after it, the current
 * event is the node's last.  Returns 0, or -1 after a syntax error. */
static int skip(struct parse *p)
{
	int depth = 0;

	do {
		switch (p->ev.type) {
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT: depth++; break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT: depth--; break;
		default: break;
		}
		if (depth > 0 && next(p) < 0)
			return -1;
	} while (depth > 0);
	return 0;
}

static const char *kind(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_MAPPING_START_EVENT: return "a mapping";
	case YAML_SEQUENCE_START_EVENT: return "a list";
	case YAML_ALIAS_EVENT: return "an alias";
	default: return "a scalar";
	}
}

static int is_null(const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;

	return ev->type == YAML_SCALAR_EVENT && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	        strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0);
}

/* Reports a node of the wrong shape and skips it. */
static int wrong_shape(struct parse *p, const char *what, enum type t)
{
	if (p->ev.type == YAML_ALIAS_EVENT)
		perr(p, p->ev.start_mark, "aliases are not supported (in %s)", what);
	else
		perr(p, p->ev.start_mark, "%s must be %s, not %s", what, type_name(t), kind(&p->ev));
	return skip(p);
}

/* "command must be a list": show how the scalar would be written as one. */
static void not_a_list(struct parse *p, const char *what)
{
	const char *s = (const char *)p->ev.data.scalar.value;
	char hint[200];
	size_t n = 0;
	int space = 0;

	for (; *s != '\0' && n + 3 < sizeof(hint); s++) {
		if (*s == ' ' || *s == '\t') {
			space = n > 0;
			continue;
		}
		if (space) {
			hint[n++] = ',';
			hint[n++] = ' ';
			space = 0;
		}
		hint[n++] = iscntrl((unsigned char)*s) ? '?' : *s;
	}
	hint[n] = '\0';
	if (*s != '\0' || n == 0)
		perr(p, p->ev.start_mark, "%s must be a list, not a scalar", what);
	else
		perr(p, p->ev.start_mark, "%s must be a list, such as [%s]", what, hint);
}

static int walk_mapping(struct parse *p, const struct field *fields, size_t n, void *base,
                        pk_origin *origins, unsigned *set, const char *prefix);
static int walk_jobs(struct parse *p);

/* Reads a list node into l (replacing it) when it is sound. */
static int read_list(struct parse *p, const struct field *f, pk_strv *l, const char *what)
{
	yaml_mark_t start = p->ev.start_mark;
	pk_strv v = { 0 };
	int bad = 0;

	if (f->type == T_LIST && is_null(&p->ev)) {
		strv_free(l);
		return 0;
	}
	if (p->ev.type == YAML_SCALAR_EVENT) {
		not_a_list(p, what);
		return 1;
	}
	if (p->ev.type != YAML_SEQUENCE_START_EVENT)
		return wrong_shape(p, what, f->type) < 0 ? -1 : 1;
	for (;;) {
		if (next(p) < 0) {
			strv_free(&v);
			return -1;
		}
		if (p->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (p->ev.type != YAML_SCALAR_EVENT || is_null(&p->ev)) {
			if (p->ev.type == YAML_ALIAS_EVENT)
				perr(p, p->ev.start_mark, "aliases are not supported (in %s)", what);
			else if (p->ev.type == YAML_SCALAR_EVENT)
				perr(p, p->ev.start_mark, "empty item in %s", what);
			else
				perr(p, p->ev.start_mark, "items of %s must be strings, not %s", what,
				     kind(&p->ev));
			bad = 1;
			if (skip(p) < 0) {
				strv_free(&v);
				return -1;
			}
			continue;
		}
		if (!bad && strv_push(&v, (const char *)p->ev.data.scalar.value) < 0) {
			perr(p, p->ev.start_mark, "%s", oom_msg);
			bad = 1;
		}
	}
	if (!bad && f->type == T_COMMAND && (v.n == 0 || v.v[0][0] == '\0')) {
		perr(p, start, "%s must name a program", what);
		bad = 1;
	}
	if (bad) {
		strv_free(&v);
		return 1;
	}
	strv_free(l);
	*l = v;
	return 0;
}

/* Reads the value node of field f (the current event) into base.
 * keymark is the key's position, the value's origin.  Returns 0 when set,
 * 1 after an error in it, -1 after a syntax error. */
static int read_value(struct parse *p, const struct field *f, void *base, pk_origin *origins,
                      unsigned *set, const char *what, yaml_mark_t keymark)
{
	char msg[700];
	int rc;

	switch (f->type) {
	case T_MAP:
	case T_JOBS:
		if (is_null(&p->ev))
			return 0;
		if (p->ev.type != YAML_MAPPING_START_EVENT)
			return wrong_shape(p, what, f->type) < 0 ? -1 : 1;
		if (f->type == T_JOBS)
			return walk_jobs(p);
		return walk_mapping(p, f->sub, f->nsub, base, origins, set, f->name);
	case T_LIST:
	case T_COMMAND:
		rc = read_list(p, f, (pk_strv *)(void *)((char *)base + f->off), what);
		break;
	default:
		if (p->ev.type != YAML_SCALAR_EVENT)
			return wrong_shape(p, what, f->type) < 0 ? -1 : 1;
		rc = 0;
		if (set_scalar(f, is_null(&p->ev) ? NULL : (const char *)p->ev.data.scalar.value, 1,
		               base, what, msg, sizeof(msg)) < 0) {
			perr(p, p->ev.start_mark, "%s", msg);
			rc = 1;
		}
		break;
	}
	if (rc == 0) {
		origins[f->id].where = p->file;
		origins[f->id].line = (unsigned)keymark.line + 1;
		origins[f->id].column = (unsigned)keymark.column + 1;
		if (set != NULL)
			*set |= 1u << f->id;
	}
	return rc;
}

/* Walks a mapping (the current event is its start) of the keys in fields.
 * Returns 0, or -1 after a syntax error. */
static int walk_mapping(struct parse *p, const struct field *fields, size_t n, void *base,
                        pk_origin *origins, unsigned *set, const char *prefix)
{
	unsigned seen[32] = { 0 };   /* line of each key's first occurrence */
	char what[300], shown[64];

	for (;;) {
		const struct field *f = NULL;
		yaml_mark_t km;
		const char *k;

		if (next(p) < 0)
			return -1;
		if (p->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		km = p->ev.start_mark;
		if (p->ev.type != YAML_SCALAR_EVENT) {
			perr(p, km, "a key must be a scalar, not %s", kind(&p->ev));
			if (skip(p) < 0 || next(p) < 0 || skip(p) < 0)
				return -1;
			continue;
		}
		k = (const char *)p->ev.data.scalar.value;
		for (size_t i = 0; i < n && f == NULL; i++)
			if (strcmp(k, fields[i].name) == 0)
				f = &fields[i];
		if (f == NULL) {
			const char *best = suggest_field(k, fields, n);
			show(k, shown, sizeof(shown));
			if (best != NULL)
				perr(p, km, "unknown key '%s' (did you mean '%s'?)", shown, best);
			else if (fields == pk_config_top_fields && suggest_field(k, pk_config_job_fields, pk_config_njob))
				perr(p, km, "unknown key '%s' (a job's settings go under jobs: NAME:)", shown);
			else
				perr(p, km, "unknown key '%s'", shown);
			if (next(p) < 0 || skip(p) < 0)
				return -1;
			continue;
		}
		if (prefix != NULL)
			snprintf(what, sizeof(what), "%s.%s", prefix, f->name);
		else
			snprintf(what, sizeof(what), "%s", f->name);
		if (seen[f - fields] != 0) {
			perr(p, km, "duplicate key '%s' (first at line %u)", f->name, seen[f - fields]);
			if (next(p) < 0 || skip(p) < 0)
				return -1;
			continue;
		}
		seen[f - fields] = (unsigned)km.line + 1;
		if (next(p) < 0 || read_value(p, f, base, origins, set, what, km) < 0)
			return -1;
	}
}

static int valid_job_name(const char *s)
{
	if (s[0] == '\0' || s[0] == '-' || strlen(s) > 64)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("._-", *s) == NULL)
			return 0;
	return 1;
}

/* Adds j to c (taking what it owns), replacing a job of the same name from
 * an earlier file.  Returns 0, or -1 when out of memory. */
static int add_job(pk_config *c, pk_config_job *j)
{
	pk_config_job *v;

	for (size_t i = 0; i < c->njobs; i++) {
		if (strcmp(c->jobs[i].name, j->name) == 0) {
			job_free(&c->jobs[i]);
			c->jobs[i] = *j;
			return 0;
		}
	}
	if ((v = realloc(c->jobs, (c->njobs + 1) * sizeof(*v))) == NULL)
		return -1;
	c->jobs = v;
	c->jobs[c->njobs++] = *j;
	return 0;
}

/* Walks the jobs mapping (the current event is its start).  Returns 0, or
 * -1 after a syntax error. */
static int walk_jobs(struct parse *p)
{
	char what[300], shown[64];

	for (;;) {
		pk_config_job j;
		yaml_mark_t km;
		size_t before;
		int keep = 1;

		if (next(p) < 0)
			return -1;
		if (p->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		km = p->ev.start_mark;
		if (p->ev.type != YAML_SCALAR_EVENT) {
			perr(p, km, "a job name must be a scalar, not %s", kind(&p->ev));
			if (skip(p) < 0 || next(p) < 0 || skip(p) < 0)
				return -1;
			continue;
		}
		memset(&j, 0, sizeof(j));
		if ((j.name = strdup((const char *)p->ev.data.scalar.value)) == NULL) {
			perr(p, km, "%s", oom_msg);
			keep = 0;
		} else if (!valid_job_name(j.name)) {
			perr(p, km, "invalid job name '%s' (letters, digits, '.', '_' and '-', "
			     "not starting with '-')", show(j.name, shown, sizeof(shown)));
			keep = 0;
		} else {
			for (size_t i = 0; i < p->c->njobs; i++) {
				const pk_config_job *o = &p->c->jobs[i];
				if (o->origin.where == p->file && strcmp(o->name, j.name) == 0) {
					perr(p, km, "duplicate job '%s' (first at line %u)", j.name,
					     o->origin.line);
					keep = 0;
				}
			}
		}
		j.origin.where = p->file;
		j.origin.line = (unsigned)km.line + 1;
		j.origin.column = (unsigned)km.column + 1;
		snprintf(what, sizeof(what), "jobs.%s", j.name ? show(j.name, shown, sizeof(shown)) : "?");
		if (next(p) < 0) {
			job_free(&j);
			return -1;
		}
		before = p->c->nerrors;
		if (p->ev.type != YAML_MAPPING_START_EVENT) {
			if (wrong_shape(p, what, T_MAP) < 0) {
				job_free(&j);
				return -1;
			}
			keep = 0;
		} else if (walk_mapping(p, pk_config_job_fields, pk_config_njob, &j, j.origins, &j.set,
		                        what) < 0) {
			job_free(&j);
			return -1;
		} else if (!(j.set & (1u << PK_JOB_COMMAND))) {
			if (p->c->nerrors == before)   /* not when its command was bad */
				perr(p, km, "job '%s' has no command", j.name ? j.name : "?");
			keep = 0;
		}
		/* A job with a bad setting but a sound command is kept, so that
		 * `pickled run -j` can still run it, uncached. */
		if (!keep || add_job(p->c, &j) < 0)
			job_free(&j);
	}
}

static void parse_document(struct parse *p)
{
	if (next(p) < 0 || next(p) < 0)   /* stream start, document start */
		return;
	if (p->ev.type == YAML_STREAM_END_EVENT)
		return;   /* an empty file, or only comments */
	if (next(p) < 0)
		return;
	if (p->ev.type == YAML_MAPPING_START_EVENT) {
		if (walk_mapping(p, pk_config_top_fields, pk_config_ntop, p->c, p->c->origins, NULL, NULL) < 0)
			return;
	} else if (!is_null(&p->ev)) {
		perr(p, p->ev.start_mark, "the configuration must be a mapping of keys to values, "
		     "not %s", kind(&p->ev));
		if (skip(p) < 0)
			return;
	}
	if (next(p) < 0 || next(p) < 0)   /* document end, then stream end */
		return;
	if (p->ev.type == YAML_DOCUMENT_START_EVENT)
		perr(p, p->ev.start_mark, "only one YAML document is allowed");
}

/* Records path in c->files; returns c's copy, or NULL. */
static const char *add_file(pk_config *c, const char *path)
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

/* pk_config_read, leaving in src whether the file was there and its
 * fstat, for the parsed copy's fingerprint. */
static int read_source(pk_config *c, struct pk_config_source *src)
{
	const char *path = src->path;
	int optional = src->optional;
	struct stat *st = &src->st;
	struct parse p;
	char *buf = NULL;
	ssize_t n;
	size_t before = c->nerrors;
	int fd;

	memset(&p, 0, sizeof(p));
	src->present = 0;
	p.c = c;
	if ((p.file = add_file(c, path)) == NULL) {
		add_error(c, "%s", oom_msg);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);   /* a FIFO must not hang us */
	if (fd < 0) {
		if (errno != ENOENT || !optional)
			add_error(c, "cannot open configuration file: %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, st) < 0) {
		add_error(c, "cannot stat configuration file: %s: %s", path, strerror(errno));
		goto out;
	}
	/* Whoever can write the file decides where the cache is and what a
	 * job runs. */
	if (!S_ISREG(st->st_mode)) {
		add_error(c, "configuration file is not a regular file: %s", path);
		goto out;
	}
	if (st->st_uid != geteuid() && st->st_uid != 0) {
		add_error(c, "refusing a configuration file owned by another user (uid %lu): %s",
		          (unsigned long)st->st_uid, path);
		goto out;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		add_error(c, "refusing a configuration file writable by group or others: %s", path);
		goto out;
	}
	if (st->st_size > MAX_FILE_SIZE) {
		add_error(c, "configuration file larger than 1M: %s", path);
		goto out;
	}
	if ((buf = malloc((size_t)st->st_size + 1)) == NULL) {
		add_error(c, "%s", oom_msg);
		goto out;
	}
	if ((n = pk_read_full(fd, buf, (size_t)st->st_size)) < 0) {
		add_error(c, "cannot read configuration file: %s: %s", path, strerror(errno));
		goto out;
	}
	c->read[c->nfiles - 1] = 1;
	src->present = 1;
	p.buf = buf;
	p.len = (size_t)n;
	p.nerrors = before;
	if (!yaml_parser_initialize(&p.yp)) {
		add_error(c, "%s", oom_msg);
		goto out;
	}
	yaml_parser_set_input_string(&p.yp, (const unsigned char *)buf, p.len);
	parse_document(&p);
	if (p.have)
		yaml_event_delete(&p.ev);
	yaml_parser_delete(&p.yp);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return c->nerrors > before ? -1 : 0;
}

int pk_config_read(pk_config *c, const char *path, int optional)
{
	struct pk_config_source src = { .path = path, .optional = optional };

	return read_source(c, &src);
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
		if (set_scalar(&f[i], v, 0, c, f[i].env, msg, sizeof(msg)) < 0) {
			add_error(c, "%s", msg);
			continue;
		}
		c->origins[f[i].id].where = f[i].env;
		c->origins[f[i].id].line = 0;
		c->origins[f[i].id].column = 0;
	}
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
	strv_free(&c->env);
	free(c->remote_url);
	free(c->remote_prefix);
	for (size_t i = 0; i < c->njobs; i++)
		job_free(&c->jobs[i]);
	free(c->jobs);
	for (size_t i = 0; i < c->nerrors; i++)
		if (c->errors[i] != oom_msg)
			free(c->errors[i]);
	free(c->errors);
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
		add_error(c, "%s%s%sstale (%s) must be shorter than ttl (%s%s)",
		          where(stale_o, w, sizeof(w)), job ? job : "", job ? ": " : "", a, b,
		          from(ttl_o, stale_o, f, sizeof(f)));
	else
		add_error(c, "%s%s%sttl (%s) must be longer than stale (%s%s)",
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
			add_error(c, "configuration file path too long: %s/...", v);
			snapshot_dir = NULL;
		} else if (len > 0) {
			src[n].path = path;
			src[n++].optional = 1;
		}
	}
	rc = snapshot_dir != NULL ? pk_config_snapshot_load(c, snapshot_dir, src, n) : -1;
	for (size_t i = 0; rc == 1 && i < n; i++)
		if (add_file(c, src[i].path) == NULL)   /* absent, as stat just said */
			add_error(c, "%s", oom_msg);
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			read_source(c, &src[i]);
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
		closest(name, c->jobs[i].name, &best, &bestd);
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
	o->level = c->level;
	o->threads = c->threads;   /* 0: chosen by pk_run when it compresses */
	o->cache_failures = HAS(PK_JOB_CACHE_FAILURES) ? j->cache_failures : c->cache_failures;
	/* A named job is for cron: its input is what it declares, not whatever
	 * stdin cron or a terminal happens to give it. */
	o->stdin_mode = j == NULL ? c->stdin_mode : HAS(PK_JOB_STDIN) ? j->stdin_mode : PK_STDIN_NEVER;
	o->program_check = c->program_check;
	o->auto_gc = c->auto_gc;
	o->gc_interval_ms = c->gc_interval_ms;
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
