/* config_keys.c: every configuration key, its type, its PICKLED_*
 * variable and where it lands; setting a key from its text, the same for
 * a file and a variable, with "did you mean" suggestions; and the exact
 * value formats. */
#include "config_keys.h"

#include "remote.h"
#include "store.h"
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const stdin_words[] = { "auto", "always", "never", NULL };
static const char *const check_words[] = { "none", "mtime", "content", NULL };
static const char *const mode_words[] = { "read-write", "read-only", NULL };

static const struct field gc_fields[] = {
	{ .name = "auto", .id = PK_CFG_GC_AUTO, .type = T_BOOL, .off = CFG(auto_gc),
	  .env = "PICKLED_GC" },
	{ .name = "interval", .id = PK_CFG_GC_INTERVAL, .type = T_DURATION,
	  .off = CFG(gc_interval_ms), .env = "PICKLED_GC_INTERVAL" },
};

static const struct field remote_fields[] = {
	{ .name = "url", .id = PK_CFG_REMOTE_URL, .type = T_URL, .off = CFG(remote_url),
	  .env = "PICKLED_REMOTE", .nullable = 1 },
	{ .name = "mode", .id = PK_CFG_REMOTE_MODE, .type = T_ENUM, .off = CFG(remote_mode),
	  .words = mode_words },
	/* 0 or forever would let one Redis that stops answering hang a job. */
	{ .name = "timeout", .id = PK_CFG_REMOTE_TIMEOUT, .type = T_DURATION,
	  .off = CFG(remote_timeout_ms), .min = 1, .max = 3600000 },
	{ .name = "prefix", .id = PK_CFG_REMOTE_PREFIX, .type = T_STRING,
	  .off = CFG(remote_prefix), .max = PK_REMOTE_MAX_PREFIX },
	{ .name = "max_entry", .id = PK_CFG_REMOTE_MAX_ENTRY, .type = T_SIZE,
	  .off = CFG(remote_max_entry), .min = 1 },
	/* Renewed every third: shorter than a second floods Redis; forever
	 * would keep a dead host's lock for good. */
	{ .name = "lease", .id = PK_CFG_REMOTE_LEASE, .type = T_DURATION,
	  .off = CFG(remote_lease_ms), .min = 1000, .max = 86400000 },
	{ .name = "secret_file", .id = PK_CFG_REMOTE_SECRET_FILE, .type = T_PATH,
	  .off = CFG(remote_secret_file), .env = "PICKLED_REMOTE_SECRET_FILE", .nullable = 1 },
	{ .name = "password_file", .id = PK_CFG_REMOTE_PASSWORD_FILE, .type = T_PATH,
	  .off = CFG(remote_password_file), .env = "PICKLED_REMOTE_PASSWORD_FILE", .nullable = 1 },
};

static const struct field metrics_fields[] = {
	{ .name = "textfile", .id = PK_CFG_METRICS_TEXTFILE, .type = T_PATH,
	  .off = CFG(metrics_textfile), .env = "PICKLED_METRICS_FILE", .nullable = 1 },
};

const struct field pk_config_top_fields[] = {
	{ .name = "cache_dir", .id = PK_CFG_CACHE_DIR, .type = T_PATH, .off = CFG(cache_dir),
	  .env = "PICKLED_CACHE_DIR" },
	{ .name = "ttl", .id = PK_CFG_TTL, .type = T_DURATION, .off = CFG(ttl_ms),
	  .env = "PICKLED_TTL" },
	{ .name = "stale", .id = PK_CFG_STALE, .type = T_DURATION, .off = CFG(stale_ms),
	  .env = "PICKLED_STALE" },
	{ .name = "max_size", .id = PK_CFG_MAX_SIZE, .type = T_SIZE, .off = CFG(max_size),
	  .env = "PICKLED_MAX_SIZE", .min = 1 },
	{ .name = "max_entry", .id = PK_CFG_MAX_ENTRY, .type = T_SIZE, .off = CFG(max_entry),
	  .env = "PICKLED_MAX_ENTRY", .min = 1 },
	{ .name = "compression_level", .id = PK_CFG_LEVEL, .type = T_INT, .off = CFG(level),
	  .env = "PICKLED_COMPRESSION_LEVEL", .min = 1, .max = 19 },
	{ .name = "compression_threads", .id = PK_CFG_THREADS, .type = T_INT,
	  .off = CFG(threads), .env = "PICKLED_COMPRESSION_THREADS", .min = 0, .max = 64 },
	{ .name = "cache_failures", .id = PK_CFG_CACHE_FAILURES, .type = T_BOOL,
	  .off = CFG(cache_failures), .env = "PICKLED_CACHE_FAILURES" },
	{ .name = "env", .id = PK_CFG_ENV, .type = T_LIST, .off = CFG(env) },
	{ .name = "stdin", .id = PK_CFG_STDIN, .type = T_ENUM, .off = CFG(stdin_mode),
	  .env = "PICKLED_STDIN", .words = stdin_words },
	{ .name = "program_check", .id = PK_CFG_PROGRAM_CHECK, .type = T_ENUM,
	  .off = CFG(program_check), .env = "PICKLED_PROGRAM_CHECK", .words = check_words },
	{ .name = "lock_timeout", .id = PK_CFG_LOCK_TIMEOUT, .type = T_DURATION,
	  .off = CFG(lock_timeout_ms), .env = "PICKLED_LOCK_TIMEOUT" },
	{ .name = "gc", .id = -1, .type = T_MAP, .sub = gc_fields, .nsub = NELEM(gc_fields) },
	{ .name = "remote", .id = -1, .type = T_MAP, .sub = remote_fields,
	  .nsub = NELEM(remote_fields) },
	{ .name = "metrics", .id = -1, .type = T_MAP, .sub = metrics_fields,
	  .nsub = NELEM(metrics_fields) },
	{ .name = "jobs", .id = -1, .type = T_JOBS },
};

const struct field pk_config_job_fields[] = {
	{ .name = "command", .id = PK_JOB_COMMAND, .type = T_COMMAND, .off = JOB(command) },
	{ .name = "ttl", .id = PK_JOB_TTL, .type = T_DURATION, .off = JOB(ttl_ms) },
	{ .name = "stale", .id = PK_JOB_STALE, .type = T_DURATION, .off = JOB(stale_ms) },
	{ .name = "inputs", .id = PK_JOB_INPUTS, .type = T_LIST, .off = JOB(inputs) },
	{ .name = "outputs", .id = PK_JOB_OUTPUTS, .type = T_LIST, .off = JOB(outputs) },
	{ .name = "env", .id = PK_JOB_ENV, .type = T_LIST, .off = JOB(env) },
	{ .name = "tags", .id = PK_JOB_TAGS, .type = T_LIST, .off = JOB(tags), .tags = 1 },
	{ .name = "key", .id = PK_JOB_KEY, .type = T_STRING, .off = JOB(key) },
	{ .name = "cwd", .id = PK_JOB_CWD, .type = T_BOOL, .off = JOB(use_cwd) },
	{ .name = "stdin", .id = PK_JOB_STDIN, .type = T_ENUM, .off = JOB(stdin_mode),
	  .words = stdin_words },
	{ .name = "cache_failures", .id = PK_JOB_CACHE_FAILURES, .type = T_BOOL,
	  .off = JOB(cache_failures) },
	{ .name = "lock_timeout", .id = PK_JOB_LOCK_TIMEOUT, .type = T_DURATION,
	  .off = JOB(lock_timeout_ms) },
};

const size_t pk_config_ntop = NELEM(pk_config_top_fields);
const size_t pk_config_njob = NELEM(pk_config_job_fields);

/* A Redis URL with its password hidden: "redis://user:***@host". */
const char *pk_config_hide_password(const char *url, char *buf, size_t len)
{
	return pk_remote_redact(url, buf, len);
}

/* Exact forms, for output that is read back: "1h30m15s", "forever". */
const char *pk_config_format_duration(int64_t ms, char *buf, size_t len)
{
	static const struct { const char *unit; int64_t ms; } units[] = {
		{ "w", 604800000 }, { "d", 86400000 }, { "h", 3600000 },
		{ "m", 60000 }, { "s", 1000 }, { "ms", 1 },
	};
	size_t used = 0;

	if (ms == PK_FOREVER)
		return snprintf(buf, len, "forever"), buf;
	if (ms <= 0)
		return snprintf(buf, len, "0s"), buf;
	buf[0] = '\0';
	for (size_t i = 0; i < NELEM(units) && used < len; i++) {
		if (ms >= units[i].ms) {
			int n = snprintf(buf + used, len - used, "%lld%s",
			                 (long long)(ms / units[i].ms), units[i].unit);
			if (n < 0)
				break;
			used += (size_t)n;
			ms %= units[i].ms;
		}
	}
	return buf;
}

int pk_config_duration_ok(const struct field *f, int64_t ms)
{
	return ms >= 0 && (f->max == 0 || (ms >= f->min && ms <= f->max));
}

const char *pk_config_format_size(uint64_t b, char *buf, size_t len)
{
	static const char units[] = "TGMK";

	for (int i = 0; i < 4 && b > 0; i++) {
		uint64_t u = 1ULL << (10 * (4 - i));
		if (b % u == 0) {
			snprintf(buf, len, "%llu%c", (unsigned long long)(b / u), units[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)b);
	return buf;
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

int pk_config_set_scalar(const struct field *f, const char *s, void *base,
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
	pk_config_show(s, shown, sizeof(shown));
	switch (f->type) {
	case T_DURATION: {
		int64_t ms;
		if (pk_duration_parse(s, &ms) < 0) {
			snprintf(msg, len, "invalid duration for %s: '%s'", what, shown);
			return -1;
		}
		if (!pk_config_duration_ok(f, ms)) {
			char lo[32], hi[32];
			snprintf(msg, len, "invalid duration for %s: '%s' (must be %s to %s)", what,
			         shown, pk_config_format_duration(f->min, lo, sizeof(lo)),
			         pk_config_format_duration(f->max, hi, sizeof(hi)));
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
		if (pk_bool_parse(s, (int *)p) < 0) {
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
			pk_config_closest(s, f->words[i], &best, &bestd);
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
		/* One rule for the file and the variable (pk_store_dir_expand). */
		if (s[0] == '\0') {
			snprintf(msg, len, "missing value for %s", what);
			return -1;
		}
		if (pk_store_dir_expand(s, &copy) < 0) {
			if (errno == ENOMEM)
				goto nomem;
			if (errno == ENOENT)
				snprintf(msg, len, "cannot expand '~' in %s: HOME is not set", what);
			else
				snprintf(msg, len, "invalid path for %s: '%s' (expected an absolute path, "
				         "or one starting with ~/)", what, shown);
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
			pk_config_show(pk_config_hide_password(s, hidden, sizeof(hidden)), shown, sizeof(shown));
			snprintf(msg, len, "invalid URL for %s: '%s' (%s)", what, shown, why);
			return -1;
		}
		break;
	}
	case T_STRING:
		if (f->max > 0 && strlen(s) > (size_t)f->max) {
			snprintf(msg, len, "%s longer than %d bytes: '%s'", what, f->max, shown);
			return -1;
		}
		break;
	default:
		snprintf(msg, len, "%s must be %s", what, pk_config_type_name(f->type));
		return -1;
	}
	if (copy == NULL && (copy = strdup(s)) == NULL)
		goto nomem;
	free(*(char **)p);
	*(char **)p = copy;
	return 0;
nomem:
	snprintf(msg, len, "out of memory");
	return -1;
}
