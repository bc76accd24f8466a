/* config_yaml.c: a pickled.conf file read with libyaml's event API
 * against the table of keys (config_keys.c), into the model.
 *
 * Invariants:
 * - A configuration file is opened once, checked with fstat on that open
 *   descriptor (regular file, owner the user or root, not writable by
 *   group or others), and read whole before parsing: no stat of paths
 *   that are not opened, no race between the check and the read
 *   (pk_config_source_read, config_model.c).
 * - Parsing never stops at a bad value: the value's events are skipped and
 *   parsing goes on, so that every error of the file is reported.  Only a
 *   YAML syntax error ends the file, since libyaml cannot go on after one.
 * - A value's type comes from the key, not from the YAML tag: "ttl: 90"
 *   and "ttl: '90'" are the same duration.
 * - A string holding a NUL character ends the file too: C strings would
 *   cut it short, so that "a\0b" would silently mean "a".
 * - Nesting deeper than PK_CONFIG_MAX_DEPTH ends the file at the first
 *   level too deep, as a syntax error does: libyaml's work grows with the
 *   square of the depth (100000 '[' take minutes), and the events come one
 *   at a time, so it never gets to go that deep. */
#include "config_yaml.h"

#include "config_keys.h"
#include "meta.h"
#include "runlog.h"

#include <yaml.h>

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parse {
	pk_config *c;
	const char *file; /* owned by c */
	const char *buf;  /* the file's bytes */
	size_t len;
	yaml_parser_t yp;
	yaml_event_t ev; /* the current event */
	int have;        /* ev must be deleted */
	int depth;       /* mappings and lists open at ev */
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
	pk_config_add_error(p->c, "%s:%zu:%zu: %s", p->file, m.line + 1, m.column + 1, msg);
}

static void syntax_error(struct parse *p)
{
	yaml_parser_t *y = &p->yp;
	yaml_mark_t m = y->problem_mark;
	const char *problem = y->problem ? y->problem : "invalid YAML";

	if (y->error == YAML_MEMORY_ERROR) {
		/* libyaml's allocation failed: the file is not at fault. */
		perr(p, m, "out of memory");
		return;
	}
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
	/* "a\0b" would be cut to "a" by every C string that holds it. */
	if (p->ev.type == YAML_SCALAR_EVENT &&
	    memchr(p->ev.data.scalar.value, '\0', p->ev.data.scalar.length) != NULL) {
		perr(p, p->ev.start_mark, "a NUL character (\\0) in a string is not allowed");
		return -1;
	}
	if (p->ev.type == YAML_MAPPING_END_EVENT || p->ev.type == YAML_SEQUENCE_END_EVENT) {
		p->depth--;
	} else if ((p->ev.type == YAML_MAPPING_START_EVENT ||
	            p->ev.type == YAML_SEQUENCE_START_EVENT) &&
	           ++p->depth > PK_CONFIG_MAX_DEPTH) {
		perr(p, p->ev.start_mark, "nested deeper than %d levels", PK_CONFIG_MAX_DEPTH);
		return -1;
	}
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
		perr(p, p->ev.start_mark, "%s must be %s, not %s", what, pk_config_type_name(t),
		     kind(&p->ev));
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

/* Moves to the next key of a mapping: returns 1 at a scalar key (the
 * current event), 0 at the mapping's end, -1 after a syntax error.  A key
 * that is not a scalar ("what must be a scalar") is reported and skipped
 * with its value. */
static int next_key(struct parse *p, const char *what)
{
	for (;;) {
		if (next(p) < 0)
			return -1;
		if (p->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		if (p->ev.type == YAML_SCALAR_EVENT)
			return 1;
		perr(p, p->ev.start_mark, "%s must be a scalar, not %s", what, kind(&p->ev));
		if (skip(p) < 0 || next(p) < 0 || skip(p) < 0)
			return -1;
	}
}

/* Reads a list node into l (replacing it) when it is sound. */
static int read_list(struct parse *p, const struct field *f, pk_strv *l, const char *what)
{
	yaml_mark_t start = p->ev.start_mark;
	pk_strv v = { 0 };
	const char *why;
	char shown[64], msg[100];
	int bad = 0;

	if (f->type == T_LIST && is_null(&p->ev)) {
		pk_config_strv_free(l);
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
			pk_config_strv_free(&v);
			return -1;
		}
		if (p->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (p->ev.type != YAML_SCALAR_EVENT || is_null(&p->ev)) {
			if (p->ev.type == YAML_ALIAS_EVENT)
				perr(p, p->ev.start_mark, "aliases are not supported (in %s)",
				     what);
			else if (p->ev.type == YAML_SCALAR_EVENT)
				perr(p, p->ev.start_mark, "empty item in %s", what);
			else
				perr(p, p->ev.start_mark, "items of %s must be strings, not %s",
				     what, kind(&p->ev));
			bad = 1;
			if (skip(p) < 0) {
				pk_config_strv_free(&v);
				return -1;
			}
			continue;
		}
		if (f->tags &&
		    (why = pk_meta_tag_problem((const char *)p->ev.data.scalar.value)) != NULL) {
			perr(p, p->ev.start_mark, "invalid tag in %s: '%s' (%s)", what,
			     pk_config_show((const char *)p->ev.data.scalar.value, shown,
			                    sizeof(shown)),
			     why);
			bad = 1;
			continue;
		}
		if (!bad && pk_config_strv_push(&v, (const char *)p->ev.data.scalar.value) < 0) {
			perr(p, p->ev.start_mark, "out of memory");
			bad = 1;
		}
	}
	if (!bad && (why = pk_config_value_problem(f, &v, msg, sizeof(msg))) != NULL) {
		perr(p, start, "%s %s", what, why);
		bad = 1;
	}
	if (bad) {
		pk_config_strv_free(&v);
		return 1;
	}
	pk_config_strv_free(l);
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
		if (p->ev.type == YAML_SCALAR_EVENT && f->shorthand != NULL) {
			for (size_t i = 0; i < f->nsub; i++)
				if (strcmp(f->sub[i].name, f->shorthand) == 0)
					return read_value(p, &f->sub[i], base, origins, set, what,
					                  keymark);
		}
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
		if (pk_config_set_scalar(
			    f, is_null(&p->ev) ? NULL : (const char *)p->ev.data.scalar.value, base,
			    what, msg, sizeof(msg)) < 0) {
			perr(p, p->ev.start_mark, "%s", msg);
			pk_config_drop_url(f, base, &p->c->nurl_errors);
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
	unsigned seen[32] = { 0 }; /* line of each key's first occurrence */
	char what[300], shown[64];
	int rc;

	for (;;) {
		const struct field *f = NULL;
		yaml_mark_t km;
		const char *k;

		if ((rc = next_key(p, "a key")) <= 0)
			return rc;
		km = p->ev.start_mark;
		k = (const char *)p->ev.data.scalar.value;
		for (size_t i = 0; i < n && f == NULL; i++)
			if (strcmp(k, fields[i].name) == 0)
				f = &fields[i];
		if (f == NULL) {
			const char *best = pk_config_suggest_field(k, fields, n);
			pk_config_show(k, shown, sizeof(shown));
			if (best != NULL)
				perr(p, km, "unknown key '%s' (did you mean '%s'?)", shown, best);
			else if (fields == pk_config_top_fields &&
			         pk_config_suggest_field(k, pk_config_job_fields, pk_config_njob))
				perr(p, km,
				     "unknown key '%s' (a job's settings go under jobs: NAME:)",
				     shown);
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
			perr(p, km, "duplicate key '%s' (first at line %u)", f->name,
			     seen[f - fields]);
			if (next(p) < 0 || skip(p) < 0)
				return -1;
			continue;
		}
		seen[f - fields] = (unsigned)km.line + 1;
		if (next(p) < 0 || read_value(p, f, base, origins, set, what, km) < 0)
			return -1;
	}
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
		int keep = 1, rc;

		if ((rc = next_key(p, "a job name")) <= 0)
			return rc;
		km = p->ev.start_mark;
		memset(&j, 0, sizeof(j));
		if ((j.name = strdup((const char *)p->ev.data.scalar.value)) == NULL) {
			perr(p, km, "out of memory");
			keep = 0;
		} else if (!pk_runlog_name_valid(j.name)) {
			perr(p, km,
			     "invalid job name '%s' (letters, digits, '.', '_' and '-', "
			     "not starting with '-')",
			     pk_config_show(j.name, shown, sizeof(shown)));
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
		snprintf(what, sizeof(what), "jobs.%s",
		         j.name ? pk_config_show(j.name, shown, sizeof(shown)) : "?");
		if (next(p) < 0) {
			pk_config_job_free(&j);
			return -1;
		}
		before = p->c->nerrors;
		if (p->ev.type != YAML_MAPPING_START_EVENT) {
			if (wrong_shape(p, what, T_MAP) < 0) {
				pk_config_job_free(&j);
				return -1;
			}
			keep = 0;
		} else if (walk_mapping(p, pk_config_job_fields, pk_config_njob, &j, j.origins,
		                        &j.ov.set, what) < 0) {
			pk_config_job_free(&j);
			return -1;
		} else if (!pk_overlay_has(&j.ov, PK_SET_COMMAND)) {
			if (p->c->nerrors == before) /* not when its command was bad */
				perr(p, km, "job '%s' has no command", j.name ? j.name : "?");
			keep = 0;
		}
		/* A job with a bad setting but a sound command is kept, so that
		 * `pickled run -j` can still run it, uncached. */
		if (!keep)
			pk_config_job_free(&j);
		else if (pk_config_job_add(p->c, &j) < 0)
			perr(p, km, "out of memory");
	}
}

static void parse_document(struct parse *p)
{
	if (next(p) < 0 || next(p) < 0) /* stream start, document start */
		return;
	if (p->ev.type == YAML_STREAM_END_EVENT)
		return; /* an empty file, or only comments */
	if (next(p) < 0)
		return;
	if (p->ev.type == YAML_MAPPING_START_EVENT) {
		if (walk_mapping(p, pk_config_top_fields, pk_config_ntop, p->c, p->c->origins, NULL,
		                 NULL) < 0)
			return;
	} else if (!is_null(&p->ev)) {
		perr(p, p->ev.start_mark,
		     "the configuration must be a mapping of keys to values, "
		     "not %s",
		     kind(&p->ev));
		if (skip(p) < 0)
			return;
	}
	if (next(p) < 0 || next(p) < 0) /* document end, then stream end */
		return;
	if (p->ev.type == YAML_DOCUMENT_START_EVENT)
		perr(p, p->ev.start_mark, "only one YAML document is allowed");
}

int pk_config_read_source(pk_config *c, struct pk_config_source *src)
{
	struct parse p;
	char *buf, why[600];
	size_t len, before = c->nerrors;
	int rc, refused;

	memset(&p, 0, sizeof(p));
	p.c = c;
	if ((p.file = pk_config_add_file(c, src->path)) == NULL)
		return -1;
	rc = pk_config_source_read(src, &buf, &len, why, sizeof(why), &refused);
	if (rc < 0 && refused)
		pk_config_refuse(c, src->path, why);
	else if (rc < 0)
		pk_config_add_error(c, "%s", why);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	c->read[c->nfiles - 1] = 1;
	p.buf = buf;
	p.len = len;
	if (!yaml_parser_initialize(&p.yp)) {
		pk_config_add_error(c, "out of memory");
	} else {
		yaml_parser_set_input_string(&p.yp, (const unsigned char *)buf, len);
		parse_document(&p);
		if (p.have)
			yaml_event_delete(&p.ev);
		yaml_parser_delete(&p.yp);
	}
	free(buf);
	return c->nerrors > before ? -1 : 0;
}

int pk_config_read(pk_config *c, const char *path, int optional)
{
	struct pk_config_source src = { .path = path, .optional = optional };

	return pk_config_read_source(c, &src);
}
