/* overlay.h: the settings a layer lays over a run's: a job of the
 * configuration over the configuration, the command line over the job.
 * One type for both, each setting given or not (a bit of set), and one
 * merge: flags over job over configuration over defaults (the last two
 * are pk_config's: pk_config_init's defaults, then what the files and
 * variables set). */
#ifndef PK_OVERLAY_H
#define PK_OVERLAY_H

#include "run_opts.h"

#include <stddef.h>
#include <stdint.h>

/* The settings of an overlay, as bits of pk_overlay.set; for a job, also
 * indexes into its origins (the first PK_SET_NJOB: a job's keys). */
enum pk_setting {
	PK_SET_COMMAND, /* a job's command (not merged: the caller
	                   appends the command line's words) */
	PK_SET_TTL,
	PK_SET_STALE,
	PK_SET_INPUTS,
	PK_SET_OUTPUTS,
	PK_SET_ENV,
	PK_SET_TAGS,
	PK_SET_KEY,
	PK_SET_CWD,
	PK_SET_STDIN,
	PK_SET_CACHE_FAILURES,
	PK_SET_LOCK_TIMEOUT,
	PK_SET_TRACE,
	PK_SET_DIR, /* a job's dir (not merged: the caller
	               enters it before the run) */
	PK_SET_NJOB,
	PK_SET_STDIN_LIMIT = PK_SET_NJOB, /* the command line's only */
};

/* A list of strings, v NULL-terminated (v is NULL when n is 0). */
typedef struct pk_strv {
	char **v;
	size_t n;
} pk_strv;

/* Who owns the strings and lists is the layer's owner's business (a
 * pk_config owns its jobs'; the command line's point into argv). */
typedef struct pk_overlay {
	unsigned set; /* bit (1u << PK_SET_x) for each one given */
	int64_t ttl_ms, stale_ms, lock_timeout_ms;
	uint64_t stdin_limit;
	int stdin_mode; /* enum pk_stdin_mode */
	int cache_failures;
	int use_cwd;
	int trace;                          /* run --trace */
	char *key;                          /* extra key text */
	pk_strv inputs, outputs, env, tags; /* added to what is below */
} pk_overlay;

/* 1 when ov gives the setting s. */
static inline int pk_overlay_has(const pk_overlay *ov, enum pk_setting s)
{
	return (ov->set >> s) & 1;
}

/* Marks the setting s given in ov (after its value is set). */
static inline void pk_overlay_give(pk_overlay *ov, enum pk_setting s)
{
	ov->set |= 1u << s;
}

/* Lays ov over o, which holds the layers below: each setting ov gives
 * replaces o's; each list ov gives is added after o's (o's arrays are
 * malloc'd, the caller's, grown here; the strings are borrowed from ov).
 * Returns 0, or -1 with errno ENOMEM (o's arrays then hold what they
 * could). */
int pk_overlay_apply(const pk_overlay *ov, pk_run_opts *o);

#endif
