/* config.h: pickled.conf, the YAML configuration: its layers (built-in
 * defaults, the system file, the user file or one named file, PICKLED_*
 * variables), where each value came from, the named jobs, and every error
 * found on the way.  Loading never stops at the first error: all of them
 * are collected in the pk_config for the caller to print.
 *
 * A pk_config is the caller's: pk_config_init it, load into it, read its
 * fields, pk_config_free it.  Every pointer in it is owned by it. */
#ifndef PK_CONFIG_H
#define PK_CONFIG_H

#include "run.h"

#include <stddef.h>
#include <stdint.h>

/* The settings of the top level, as indexes into pk_config.origins. */
enum pk_config_key {
	PK_CFG_CACHE_DIR, PK_CFG_TTL, PK_CFG_STALE, PK_CFG_MAX_SIZE, PK_CFG_MAX_ENTRY,
	PK_CFG_LEVEL, PK_CFG_THREADS, PK_CFG_CACHE_FAILURES, PK_CFG_ENV,
	PK_CFG_STDIN, PK_CFG_PROGRAM_CHECK, PK_CFG_LOCK_TIMEOUT,
	PK_CFG_GC_AUTO, PK_CFG_GC_INTERVAL,
	PK_CFG_REMOTE_URL, PK_CFG_REMOTE_MODE, PK_CFG_REMOTE_TIMEOUT, PK_CFG_REMOTE_PREFIX,
	PK_CFG_REMOTE_MAX_ENTRY, PK_CFG_REMOTE_LEASE, PK_CFG_REMOTE_SECRET_FILE,
	PK_CFG_REMOTE_PASSWORD_FILE,
	PK_CFG_METRICS_TEXTFILE,
	PK_CFG_NKEYS
};

/* The settings of a job, as bits of pk_config_job.set and indexes into
 * pk_config_job.origins. */
enum pk_job_key {
	PK_JOB_COMMAND, PK_JOB_TTL, PK_JOB_STALE, PK_JOB_INPUTS, PK_JOB_OUTPUTS,
	PK_JOB_ENV, PK_JOB_TAGS, PK_JOB_KEY, PK_JOB_CWD, PK_JOB_STDIN,
	PK_JOB_CACHE_FAILURES, PK_JOB_LOCK_TIMEOUT,
	PK_JOB_NKEYS
};

enum pk_remote_mode { PK_REMOTE_READ_WRITE, PK_REMOTE_READ_ONLY };

/* Where a value came from. */
typedef struct pk_origin {
	const char *where;         /* NULL: built-in default; else a file path
	                              or an environment variable's name */
	unsigned line, column;     /* 1-based position in the file; 0: not a file */
} pk_origin;

/* A list of strings, v NULL-terminated (v is NULL when n is 0). */
typedef struct pk_strv {
	char **v;
	size_t n;
} pk_strv;

typedef struct pk_config_job {
	char *name;
	pk_origin origin;          /* where the job is defined */
	unsigned set;              /* bit (1u << PK_JOB_x) for each key given */
	pk_origin origins[PK_JOB_NKEYS];
	pk_strv command, inputs, outputs, env, tags;
	char *key;                 /* extra key text, or NULL */
	int use_cwd;
	int stdin_mode;            /* enum pk_stdin_mode */
	int cache_failures;
	int64_t ttl_ms, stale_ms, lock_timeout_ms;
} pk_config_job;

typedef struct pk_config {
	char *cache_dir;           /* NULL: the default, see pk_store_default_dir */
	int64_t ttl_ms, stale_ms, lock_timeout_ms;
	uint64_t max_size;
	uint64_t max_entry;        /* the largest result stored locally */
	int level;                 /* zstd level, 1..19 */
	int threads;               /* zstd workers; 0: automatic */
	int cache_failures;
	pk_strv env;               /* always in the key */
	int stdin_mode;            /* enum pk_stdin_mode */
	int program_check;         /* enum pk_program_check */
	int auto_gc;
	int64_t gc_interval_ms;
	char *remote_url;          /* NULL: no remote tier */
	int remote_mode;           /* enum pk_remote_mode */
	int64_t remote_timeout_ms;
	char *remote_prefix;
	uint64_t remote_max_entry;
	int64_t remote_lease_ms;
	char *remote_secret_file;  /* NULL: entries not authenticated */
	char *remote_password_file;   /* NULL: the password, if any, is in the URL */
	char *metrics_textfile;    /* NULL: no textfile (see metrics.h) */
	pk_origin origins[PK_CFG_NKEYS];

	pk_config_job *jobs;       /* in the order they were defined */
	size_t njobs;

	char **errors;             /* "FILE:LINE:COLUMN: what" or "NAME: what" */
	size_t nerrors;
	size_t *refused;           /* indexes in errors of "FILE refused: why",
	                              files not read for their owner or mode */
	size_t nrefused;

	char **files;              /* files looked at, in order; see read[] */
	int *read;                 /* 1: read; 0: absent */
	size_t nfiles;
} pk_config;

/* Sets c to the built-in defaults, no jobs, no errors. */
void pk_config_init(pk_config *c);

/* Frees everything c owns and zeroes it; NULL is fine. */
void pk_config_free(pk_config *c);

/* Reads the file at path over what c holds.  A file that does not exist is
 * skipped when optional is non-zero, an error otherwise.  The file must be
 * a regular file owned by the user or root and not writable by group or
 * others (even a group of the owner alone); else it is refused: "FILE
 * refused: why" in c->errors, its index in c->refused.  Every problem is
 * added to c->errors.  Returns 0 when the file
 * was sound or absent, -1 when it added errors. */
int pk_config_read(pk_config *c, const char *path, int optional);

/* Applies the PICKLED_* variables of envp (a NULL-terminated "NAME=value"
 * list) over what c holds; an empty value counts as unset.  Without
 * PICKLED_CACHE_DIR, the first directory of CACHE_DIRECTORY (systemd's
 * CacheDirectory=) is the cache_dir.  Returns 0, or -1 when it added
 * errors. */
int pk_config_read_env(pk_config *c, char *const *envp);

/* Checks what no single value can: that every stale duration, the top
 * level's and each job's, is shorter than its ttl.  Returns 0, or -1 when
 * it added errors. */
int pk_config_validate(pk_config *c);

/* The whole chain over the defaults in c: file if not NULL, else
 * PICKLED_CONFIG from envp if set, else the system file then the user file
 * ($XDG_CONFIG_HOME/pickled/pickled.conf, else
 * $HOME/.config/pickled/pickled.conf), both optional; then the variables
 * of envp; then pk_config_validate.
 *
 * snapshot_dir (NULL: none) is the folder of the parsed copies of the
 * files (config-HASH.cache, one per chain of files): when the chain's copy
 * was made from the files as they stat now, it is read instead of them (c
 * must then hold pk_config_init's defaults and nothing else); when the
 * files are read without errors, the copy is written for next time, best
 * effort (a folder that does not exist or cannot be written only costs a
 * parse next time).  Returns 0, or -1 when c->errors is not empty. */
int pk_config_load(pk_config *c, const char *file, char *const *envp,
                   const char *snapshot_dir);

/* The job called name, or NULL; then *suggestion (when not NULL) is set to
 * the name of a job spelled closely, or NULL. */
const pk_config_job *pk_config_job_find(const pk_config *c, const char *name,
                                        const char **suggestion);

/* The remote tier's settings in c (pointers into c). */
void pk_config_remote(const pk_config *c, pk_remote_opts *o);

/* Fills o with the settings of c and, when job is not NULL, of the job over
 * them (o->argv is then the job's command).  A job's standard input mode
 * is never unless the job says otherwise.  Compression threads 0 becomes
 * one per core, up to 4.  The arrays o->inputs, o->envs, o->outputs and
 * o->tags are malloc'd (the caller frees them; they may grow them with
 * realloc); the strings and o->argv are c's, valid while c lives.  Fields
 * not named here are left alone.  Returns 0, or -1 with errno ENOMEM. */
int pk_config_apply(const pk_config *c, const pk_config_job *job, pk_run_opts *o);

/* The effective value of one setting, by its dotted name ("ttl",
 * "gc.auto", "remote.url", "jobs.NAME.ttl"), as `pickled config` prints
 * it but with strings as they are (a URL's password hidden); a list in
 * YAML's flow form.  A job's setting it leaves out is the one it runs
 * with: the top level's (ttl, stale, cache_failures, lock_timeout), or
 * stdin's never; a list of a job holds what the job adds.  *value is
 * malloc'd (the caller frees it) and *origin says where it came from (its
 * where points into c).  Returns 0, or -1 with errno EINVAL (no such
 * setting), ENOENT (no such job), ENODATA (not set: null) or ENOMEM. */
int pk_config_get(const pk_config *c, const char *name, char **value, pk_origin *origin);

/* The effective configuration as YAML, each value followed by a comment
 * naming its origin ("# default", "# FILE:LINE", "# PICKLED_TTL").  *out is
 * malloc'd, NUL-terminated, the caller's.  Returns 0, or -1 with errno. */
int pk_config_dump(const pk_config *c, char **out);

#endif
