/* config_keys.c: every configuration key, its type, its PICKLED_*
 * variable and where it lands; and the exact value formats. */
#include "config_keys.h"

#include "units.h"

#include <stdio.h>
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
	{ .name = "timeout", .id = PK_CFG_REMOTE_TIMEOUT, .type = T_DURATION,
	  .off = CFG(remote_timeout_ms) },
	{ .name = "prefix", .id = PK_CFG_REMOTE_PREFIX, .type = T_STRING,
	  .off = CFG(remote_prefix) },
	{ .name = "max_entry", .id = PK_CFG_REMOTE_MAX_ENTRY, .type = T_SIZE,
	  .off = CFG(remote_max_entry), .min = 1 },
	{ .name = "lease", .id = PK_CFG_REMOTE_LEASE, .type = T_DURATION,
	  .off = CFG(remote_lease_ms) },
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
	{ .name = "jobs", .id = -1, .type = T_JOBS },
};

const struct field pk_config_job_fields[] = {
	{ .name = "command", .id = PK_JOB_COMMAND, .type = T_COMMAND, .off = JOB(command) },
	{ .name = "ttl", .id = PK_JOB_TTL, .type = T_DURATION, .off = JOB(ttl_ms) },
	{ .name = "stale", .id = PK_JOB_STALE, .type = T_DURATION, .off = JOB(stale_ms) },
	{ .name = "inputs", .id = PK_JOB_INPUTS, .type = T_LIST, .off = JOB(inputs) },
	{ .name = "outputs", .id = PK_JOB_OUTPUTS, .type = T_LIST, .off = JOB(outputs) },
	{ .name = "env", .id = PK_JOB_ENV, .type = T_LIST, .off = JOB(env) },
	{ .name = "tags", .id = PK_JOB_TAGS, .type = T_LIST, .off = JOB(tags) },
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
	const char *auth = strstr(url, "://"), *at, *colon;

	if (auth == NULL || (at = strrchr(auth + 3, '@')) == NULL) {
		snprintf(buf, len, "%s", url);
		return buf;
	}
	auth += 3;
	colon = memchr(auth, ':', (size_t)(at - auth));
	snprintf(buf, len, "%.*s***%s", (int)((colon ? colon + 1 : auth) - url), url, at);
	return buf;
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
