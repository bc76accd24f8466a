/* config_keys.c: every configuration key, its type, its PICKLED_*
 * variable and where it lands; setting a key from its text, the same for
 * a file and a variable, with "did you mean" suggestions; checking a
 * value; and the exact value formats. */
#include "config_keys.h"

#include "redis_url.h"
#include "remote.h"
#include "store.h"
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CFG(m) offsetof(pk_config, m)
#define JOB(m) offsetof(pk_config_job, m)
#define OV(m) offsetof(pk_config_job, ov.m)

static const char *const stdin_words[] = { "auto", "always", "never", NULL };
static const char *const check_words[] = { "none", "mtime", "content", NULL };
static const char *const mode_words[] = { "read-write", "read-only", NULL };
static const char *const network_words[] = { "cached", "uncached", NULL };

/* trace: true is short for trace: {enabled: true} (see shorthand). */
static const struct field trace_fields[] = {
	{ .name = "enabled",
	  .id = PK_CFG_TRACE,
	  .type = T_BOOL,
	  .off = CFG(trace),
	  .env = "PICKLED_TRACE" },
	{ .name = "ignore", .id = PK_CFG_TRACE_IGNORE, .type = T_LIST, .off = CFG(trace_ignore) },
	{ .name = "network",
	  .id = PK_CFG_TRACE_NETWORK,
	  .type = T_ENUM,
	  .off = CFG(trace_network),
	  .words = network_words },
};

static const struct field gc_fields[] = {
	{ .name = "auto",
	  .id = PK_CFG_GC_AUTO,
	  .type = T_BOOL,
	  .off = CFG(auto_gc),
	  .env = "PICKLED_GC" },
	{ .name = "interval",
	  .id = PK_CFG_GC_INTERVAL,
	  .type = T_DURATION,
	  .off = CFG(gc_interval_ms),
	  .env = "PICKLED_GC_INTERVAL" },
};

static const struct field remote_fields[] = {
	{ .name = "url",
	  .id = PK_CFG_REMOTE_URL,
	  .type = T_URL,
	  .off = CFG(remote_url),
	  .env = "PICKLED_REMOTE",
	  .nullable = 1 },
	{ .name = "mode",
	  .id = PK_CFG_REMOTE_MODE,
	  .type = T_ENUM,
	  .off = CFG(remote_mode),
	  .words = mode_words },
	/* 0 or forever would let one Redis that stops answering hang a job. */
	{ .name = "timeout",
	  .id = PK_CFG_REMOTE_TIMEOUT,
	  .type = T_DURATION,
	  .off = CFG(remote_timeout_ms),
	  .min = 1,
	  .max = 3600000 },
	{ .name = "prefix",
	  .id = PK_CFG_REMOTE_PREFIX,
	  .type = T_STRING,
	  .off = CFG(remote_prefix),
	  .max = PK_REMOTE_MAX_PREFIX },
	{ .name = "max_entry",
	  .id = PK_CFG_REMOTE_MAX_ENTRY,
	  .type = T_SIZE,
	  .off = CFG(remote_max_entry),
	  .min = 1 },
	/* Renewed every third: shorter than a second floods Redis; forever
	 * would keep a dead host's lock for good. */
	{ .name = "lease",
	  .id = PK_CFG_REMOTE_LEASE,
	  .type = T_DURATION,
	  .off = CFG(remote_lease_ms),
	  .min = 1000,
	  .max = 86400000 },
	/* How long an upload cut short leaves its pieces in Redis; renewed
	 * every third while the upload moves, so the same bounds. */
	{ .name = "upload_expiry",
	  .id = PK_CFG_REMOTE_UPLOAD_EXPIRY,
	  .type = T_DURATION,
	  .off = CFG(remote_upload_expiry_ms),
	  .min = 1000,
	  .max = 86400000 },
	{ .name = "secret_file",
	  .id = PK_CFG_REMOTE_SECRET_FILE,
	  .type = T_PATH,
	  .off = CFG(remote_secret_file),
	  .env = "PICKLED_REMOTE_SECRET_FILE",
	  .nullable = 1 },
	{ .name = "password_file",
	  .id = PK_CFG_REMOTE_PASSWORD_FILE,
	  .type = T_PATH,
	  .off = CFG(remote_password_file),
	  .env = "PICKLED_REMOTE_PASSWORD_FILE",
	  .nullable = 1 },
	/* More nodes of a cluster (or replicas of one server) to try when the
	 * URL's does not answer: "host:port, host:port". */
	{ .name = "seeds",
	  .id = PK_CFG_REMOTE_SEEDS,
	  .type = T_STRING,
	  .off = CFG(remote_seeds),
	  .env = "PICKLED_REMOTE_SEEDS",
	  .nullable = 1 },
	/* One round trip per local hit, for `rm` on one host to reach all. */
	{ .name = "verify_hits",
	  .id = PK_CFG_REMOTE_VERIFY_HITS,
	  .type = T_BOOL,
	  .off = CFG(remote_verify_hits) },
};

static const struct field metrics_fields[] = {
	{ .name = "textfile",
	  .id = PK_CFG_METRICS_TEXTFILE,
	  .type = T_PATH,
	  .off = CFG(metrics_textfile),
	  .env = "PICKLED_METRICS_FILE",
	  .nullable = 1 },
};

const struct field pk_config_top_fields[] = {
	{ .name = "cache_dir",
	  .id = PK_CFG_CACHE_DIR,
	  .type = T_PATH,
	  .off = CFG(cache_dir),
	  .env = "PICKLED_CACHE_DIR" },
	{ .name = "ttl",
	  .id = PK_CFG_TTL,
	  .type = T_DURATION,
	  .off = CFG(ttl_ms),
	  .env = "PICKLED_TTL" },
	{ .name = "stale",
	  .id = PK_CFG_STALE,
	  .type = T_DURATION,
	  .off = CFG(stale_ms),
	  .env = "PICKLED_STALE" },
	{ .name = "max_size",
	  .id = PK_CFG_MAX_SIZE,
	  .type = T_SIZE,
	  .off = CFG(max_size),
	  .env = "PICKLED_MAX_SIZE",
	  .min = 1 },
	{ .name = "max_entry",
	  .id = PK_CFG_MAX_ENTRY,
	  .type = T_SIZE,
	  .off = CFG(max_entry),
	  .env = "PICKLED_MAX_ENTRY",
	  .min = 1 },
	{ .name = "compression_level",
	  .id = PK_CFG_LEVEL,
	  .type = T_INT,
	  .off = CFG(level),
	  .env = "PICKLED_COMPRESSION_LEVEL",
	  .min = 1,
	  .max = 19 },
	{ .name = "compression_threads",
	  .id = PK_CFG_THREADS,
	  .type = T_INT,
	  .off = CFG(threads),
	  .env = "PICKLED_COMPRESSION_THREADS",
	  .min = 0,
	  .max = 64 },
	{ .name = "cache_failures",
	  .id = PK_CFG_CACHE_FAILURES,
	  .type = T_BOOL,
	  .off = CFG(cache_failures),
	  .env = "PICKLED_CACHE_FAILURES" },
	{ .name = "env", .id = PK_CFG_ENV, .type = T_LIST, .off = CFG(env) },
	{ .name = "stdin",
	  .id = PK_CFG_STDIN,
	  .type = T_ENUM,
	  .off = CFG(stdin_mode),
	  .env = "PICKLED_STDIN",
	  .words = stdin_words },
	{ .name = "program_check",
	  .id = PK_CFG_PROGRAM_CHECK,
	  .type = T_ENUM,
	  .off = CFG(program_check),
	  .env = "PICKLED_PROGRAM_CHECK",
	  .words = check_words },
	{ .name = "lock_timeout",
	  .id = PK_CFG_LOCK_TIMEOUT,
	  .type = T_DURATION,
	  .off = CFG(lock_timeout_ms),
	  .env = "PICKLED_LOCK_TIMEOUT" },
	{ .name = "gc", .id = -1, .type = T_MAP, .sub = gc_fields, .nsub = NELEM(gc_fields) },
	{ .name = "remote",
	  .id = -1,
	  .type = T_MAP,
	  .sub = remote_fields,
	  .nsub = NELEM(remote_fields) },
	{ .name = "metrics",
	  .id = -1,
	  .type = T_MAP,
	  .sub = metrics_fields,
	  .nsub = NELEM(metrics_fields) },
	{ .name = "trace",
	  .id = -1,
	  .type = T_MAP,
	  .sub = trace_fields,
	  .nsub = NELEM(trace_fields),
	  .shorthand = "enabled" },
	{ .name = "jobs", .id = -1, .type = T_JOBS },
};

const struct field pk_config_job_fields[] = {
	{ .name = "command", .id = PK_SET_COMMAND, .type = T_COMMAND, .off = JOB(command) },
	{ .name = "ttl", .id = PK_SET_TTL, .type = T_DURATION, .off = OV(ttl_ms) },
	{ .name = "stale", .id = PK_SET_STALE, .type = T_DURATION, .off = OV(stale_ms) },
	{ .name = "inputs", .id = PK_SET_INPUTS, .type = T_LIST, .off = OV(inputs) },
	{ .name = "outputs", .id = PK_SET_OUTPUTS, .type = T_LIST, .off = OV(outputs) },
	{ .name = "env", .id = PK_SET_ENV, .type = T_LIST, .off = OV(env) },
	{ .name = "tags", .id = PK_SET_TAGS, .type = T_LIST, .off = OV(tags), .tags = 1 },
	{ .name = "key", .id = PK_SET_KEY, .type = T_STRING, .off = OV(key) },
	{ .name = "cwd", .id = PK_SET_CWD, .type = T_BOOL, .off = OV(use_cwd) },
	{ .name = "stdin",
	  .id = PK_SET_STDIN,
	  .type = T_ENUM,
	  .off = OV(stdin_mode),
	  .words = stdin_words },
	{ .name = "cache_failures",
	  .id = PK_SET_CACHE_FAILURES,
	  .type = T_BOOL,
	  .off = OV(cache_failures) },
	{ .name = "lock_timeout",
	  .id = PK_SET_LOCK_TIMEOUT,
	  .type = T_DURATION,
	  .off = OV(lock_timeout_ms) },
	{ .name = "trace", .id = PK_SET_TRACE, .type = T_BOOL, .off = OV(trace) },
	{ .name = "dir", .id = PK_SET_DIR, .type = T_PATH, .off = JOB(dir), .nullable = 1 },
};

const size_t pk_config_ntop = NELEM(pk_config_top_fields);
const size_t pk_config_njob = NELEM(pk_config_job_fields);

int pk_config_fields_each(const struct field *f, size_t n, const char *section,
                          pk_config_field_fn *fn, void *ctx)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		if (f[i].type == T_MAP)
			rc = pk_config_fields_each(f[i].sub, f[i].nsub, f[i].name, fn, ctx);
		else if (f[i].type != T_JOBS)
			rc = fn(&f[i], section, ctx);
	}
	return rc;
}

/* --- setting one scalar from its text ------------------------------------ */

const char *pk_config_show(const char *s, char *buf, size_t len)
{
	size_t i = 0;

	for (; s[i] != '\0' && i + 1 < len && i < 60; i++)
		buf[i] = iscntrl((unsigned char)s[i]) ? '?' : s[i];
	buf[i] = '\0';
	if (s[i] != '\0' && i >= 3)
		memcpy(buf + i - 3, "...", 3);
	return buf;
}


const char *pk_config_suggest_field(const char *s, const struct field *f, size_t n)
{
	const char *best = NULL;
	unsigned bestd = 99;

	for (size_t i = 0; i < n; i++)
		pk_config_closest(s, f[i].name, &best, &bestd);
	return best;
}
const char *pk_config_type_name(enum type t)
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

const char *pk_config_value_problem(const struct field *f, const void *value, char *buf, size_t len)
{
	const char *p = value, *str;
	char lo[32], hi[32];
	int64_t d;
	uint64_t u;
	int v, n = 0;
	pk_error err;

	switch (f->type) {
	case T_DURATION:
		memcpy(&d, p, sizeof(d));
		if (d >= 0 && (f->max == 0 || (d >= f->min && d <= f->max)))
			return NULL;
		snprintf(buf, len, "must be %s to %s",
		         pk_duration_format_exact(f->min, lo, sizeof(lo)),
		         pk_duration_format_exact(f->max, hi, sizeof(hi)));
		return buf;
	case T_SIZE:
		memcpy(&u, p, sizeof(u));
		if (u >= (uint64_t)f->min)
			return NULL;
		snprintf(buf, len, "must be at least %d", f->min);
		return buf;
	case T_INT:
	case T_BOOL:
	case T_ENUM:
		memcpy(&v, p, sizeof(v));
		if (f->type == T_INT && v >= f->min && v <= f->max)
			return NULL;
		if (f->type == T_BOOL && (v == 0 || v == 1))
			return NULL;
		while (f->type == T_ENUM && f->words[n] != NULL)
			n++;
		if (f->type == T_ENUM && v >= 0 && v < n)
			return NULL;
		snprintf(buf, len, "expected %d to %d", f->type == T_INT ? f->min : 0,
		         f->type == T_INT    ? f->max
		         : f->type == T_BOOL ? 1
		                             : n - 1);
		return buf;
	case T_STRING:
	case T_PATH:
	case T_URL:
		if ((str = *(char *const *)(const void *)p) == NULL)
			return NULL;
		if (f->type == T_STRING && f->max > 0 && strlen(str) > (size_t)f->max)
			snprintf(buf, len, "longer than %d bytes", f->max);
		else if (f->type == T_PATH && str[0] != '/')
			snprintf(buf, len, "expected an absolute path");
		else if (f->type == T_URL && pk_remote_parse_check(str, &err) < 0)
			snprintf(buf, len, "%s", err.msg);
		else
			return NULL;
		return buf;
	case T_COMMAND: {
		const pk_strv *l = (const pk_strv *)(const void *)p;
		if (l->n > 0 && l->v[0][0] != '\0')
			return NULL;
		snprintf(buf, len, "must name a program");
		return buf;
	}
	default: return NULL;
	}
}

void pk_config_drop_url(const struct field *f, void *base, size_t *n)
{
	char **p = (char **)(void *)((char *)base + f->off);

	if (f->type != T_URL)
		return;
	free(*p);
	*p = NULL;
	(*n)++;
}

int pk_config_set_scalar(const struct field *f, const char *s, void *base, const char *what,
                         char *msg, size_t len)
{
	char *p = (char *)base + f->off;
	char shown[64], why[300], *copy = NULL;
	union {
		int64_t d;
		uint64_t u;
		int i;
		char *s;
	} v;
	const char *noun = "value", *problem;

	if (s == NULL) {
		if (!f->nullable) {
			snprintf(msg, len, "missing value for %s", what);
			return -1;
		}
		free(*(char **)p);
		*(char **)p = NULL;
		return 0;
	}
	pk_config_show(s, shown, sizeof(shown));
	/* Parse into v, as the field's own type, then check it as the parsed
	 * copy's values are checked (pk_config_value_problem). */
	switch (f->type) {
	case T_DURATION:
		noun = "duration";
		if (pk_duration_parse(s, &v.d) < 0)
			goto invalid;
		break;
	case T_SIZE:
		noun = "size";
		if (pk_size_parse(s, &v.u) < 0)
			goto invalid;
		break;
	case T_INT: {
		char *end;
		long l;
		errno = 0;
		l = strtol(s, &end, 10);
		/* Not a number says the same as one out of range: the bounds
		 * (the table's are small: max + 1 is an int). */
		if (!isdigit((unsigned char)*s) || *end != '\0' || errno != 0 || l > f->max)
			l = (long)f->max + 1;
		v.i = l < f->min ? f->min - 1 : (int)l;
		break;
	}
	case T_BOOL:
		if (pk_bool_parse(s, &v.i) < 0) {
			snprintf(msg, len, "invalid value for %s: '%s' (expected true or false)",
			         what, shown);
			return -1;
		}
		break;
	case T_ENUM: {
		const char *best = NULL;
		unsigned bestd = 99;
		for (v.i = 0; f->words[v.i] != NULL; v.i++) {
			if (strcmp(s, f->words[v.i]) == 0)
				break;
			pk_config_closest(s, f->words[v.i], &best, &bestd);
		}
		if (f->words[v.i] != NULL)
			break;
		if (best != NULL) {
			snprintf(msg, len, "invalid value for %s: '%s' (did you mean '%s'?)", what,
			         shown, best);
		} else {
			int used = snprintf(msg, len, "invalid value for %s: '%s' (expected ", what,
			                    shown);
			for (int i = 0; f->words[i] != NULL && used > 0 && (size_t)used < len; i++)
				used += snprintf(msg + used, len - (size_t)used, "%s%s",
				                 i == 0                    ? ""
				                 : f->words[i + 1] == NULL ? " or "
				                                           : ", ",
				                 f->words[i]);
			if (used > 0 && (size_t)used < len)
				snprintf(msg + used, len - (size_t)used, ")");
		}
		return -1;
	}
	case T_PATH:
		/* One rule for the file and the variable (pk_store_dir_expand). */
		if (s[0] == '\0') {
			snprintf(msg, len, "missing value for %s", what);
			return -1;
		}
		if (pk_store_dir_expand(s, &copy) < 0) {
			if (errno == ENOMEM)
				goto nomem;
			if (errno == ENOENT)
				snprintf(msg, len, "cannot expand '~' in %s: HOME is not set",
				         what);
			else
				snprintf(msg, len,
				         "invalid path for %s: '%s' (expected an absolute path, "
				         "or one starting with ~/)",
				         what, shown);
			return -1;
		}
		v.s = copy;
		break;
	case T_URL:
		noun = "URL";
		/* The password is not shown, even in a URL that is wrong. */
		pk_redis_url_redact(s, why, sizeof(why));
		pk_config_show(why, shown, sizeof(shown));
		/* fall through */
	case T_STRING: v.s = (char *)(uintptr_t)s; break;
	default: snprintf(msg, len, "%s must be %s", what, pk_config_type_name(f->type)); return -1;
	}
	if ((problem = pk_config_value_problem(f, &v, why, sizeof(why))) != NULL) {
		free(copy);
		if (f->type == T_STRING)
			snprintf(msg, len, "%s %s: '%s'", what, problem, shown);
		else
			snprintf(msg, len, "invalid %s for %s: '%s' (%s)", noun, what, shown,
			         problem);
		return -1;
	}
	switch (f->type) {
	case T_DURATION:
	case T_SIZE: memcpy(p, &v.u, sizeof(v.u)); return 0;
	case T_INT:
	case T_BOOL:
	case T_ENUM: *(int *)p = v.i; return 0;
	default: break;
	}
	if (copy == NULL && (copy = strdup(s)) == NULL)
		goto nomem;
	free(*(char **)p);
	*(char **)p = copy;
	return 0;
invalid:
	snprintf(msg, len, "invalid %s for %s: '%s'", noun, what, shown);
	return -1;
nomem:
	snprintf(msg, len, "out of memory");
	return -1;
}
