/* config_model.h: the configuration's model, the floor of the config
 * group: its types, init and free, the files looked at, the errors found
 * and the named jobs.  Everything above it (the key table, the readers of
 * YAML, of the environment and of the parsed copy, the writer, the
 * loading) fills or reads these structs; nothing here knows about them.
 *
 * A pk_config is the caller's: pk_config_init it, fill it, read its
 * fields, pk_config_free it.  Every pointer in it is owned by it. */
#ifndef PK_CONFIG_MODEL_H
#define PK_CONFIG_MODEL_H

#include "overlay.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* The settings of the top level, as indexes into pk_config.origins. */
enum pk_config_key {
	PK_CFG_CACHE_DIR,
	PK_CFG_TTL,
	PK_CFG_STALE,
	PK_CFG_MAX_SIZE,
	PK_CFG_MAX_ENTRY,
	PK_CFG_LEVEL,
	PK_CFG_THREADS,
	PK_CFG_CACHE_FAILURES,
	PK_CFG_ENV,
	PK_CFG_STDIN,
	PK_CFG_PROGRAM_CHECK,
	PK_CFG_LOCK_TIMEOUT,
	PK_CFG_GC_AUTO,
	PK_CFG_GC_INTERVAL,
	PK_CFG_REMOTE_URL,
	PK_CFG_REMOTE_MODE,
	PK_CFG_REMOTE_TIMEOUT,
	PK_CFG_REMOTE_PREFIX,
	PK_CFG_REMOTE_MAX_ENTRY,
	PK_CFG_REMOTE_LEASE,
	PK_CFG_REMOTE_UPLOAD_EXPIRY,
	PK_CFG_REMOTE_SECRET_FILE,
	PK_CFG_REMOTE_PASSWORD_FILE,
	PK_CFG_REMOTE_SEEDS,
	PK_CFG_REMOTE_VERIFY_HITS,
	PK_CFG_METRICS_TEXTFILE,
	PK_CFG_TRACE,
	PK_CFG_TRACE_IGNORE,
	PK_CFG_TRACE_NETWORK,
	PK_CFG_NKEYS
};

enum pk_remote_mode { PK_REMOTE_READ_WRITE, PK_REMOTE_READ_ONLY };

/* Where a value came from. */
typedef struct pk_origin {
	const char *where;     /* NULL: built-in default; else a file path
	                          or an environment variable's name */
	unsigned line, column; /* 1-based position in the file; 0: not a file */
} pk_origin;

/* A named job: its command, and its settings as an overlay over the top
 * level's (ov.set: a bit (1u << PK_SET_x) for each key given, the
 * command's included). */
typedef struct pk_config_job {
	char *name;
	pk_origin origin; /* where the job is defined */
	pk_origin origins[PK_SET_NJOB];
	pk_strv command;
	char *dir;     /* the working directory it runs in, or
	                  NULL: the caller's (absolute) */
	pk_overlay ov; /* its strings and lists are the job's */
} pk_config_job;

typedef struct pk_config {
	char *cache_dir; /* NULL: the default, see pk_store_default_dir */
	int64_t ttl_ms, stale_ms, lock_timeout_ms;
	uint64_t max_size;
	uint64_t max_entry; /* the largest result stored locally */
	int level;          /* zstd level, 1..19 */
	int threads;        /* zstd workers; 0: automatic */
	int cache_failures;
	pk_strv env;       /* always in the key */
	int stdin_mode;    /* enum pk_stdin_mode */
	int program_check; /* enum pk_program_check */
	int auto_gc;
	int64_t gc_interval_ms;
	char *remote_url; /* NULL: no remote tier */
	int remote_mode;  /* enum pk_remote_mode */
	int64_t remote_timeout_ms;
	char *remote_prefix;
	uint64_t remote_max_entry;
	int64_t remote_lease_ms;
	int64_t remote_upload_expiry_ms;
	char *remote_secret_file;   /* NULL: entries not authenticated */
	char *remote_password_file; /* NULL: the password, if any, is in the URL */
	char *remote_seeds;         /* NULL: the URL's node only */
	int remote_verify_hits;     /* a local hit checks for a fleet-wide rm */
	char *remote_password;      /* PICKLED_REMOTE_PASSWORD; NULL: none */
	char *metrics_textfile;     /* NULL: no textfile (see metrics.h) */
	int trace;                  /* trace.enabled: run --trace */
	pk_strv trace_ignore;       /* trace.ignore: globs never inputs */
	int trace_network;          /* trace.network: 0 cached, 1 uncached */
	pk_origin origins[PK_CFG_NKEYS];

	pk_config_job *jobs; /* in the order they were defined */
	size_t njobs;

	char **errors; /* "FILE:LINE:COLUMN: what" or "NAME: what" */
	size_t nerrors;
	size_t *refused; /* indexes in errors of "FILE refused: why",
	                    files not read for their owner or mode */
	size_t nrefused;
	size_t nurl_errors; /* of nerrors: bad remote URLs, which leave
	                       only the shared tier out of a run (the
	                       URL stays unset) */

	char **files; /* files looked at, in order; see read[] */
	int *read;    /* 1: read; 0: absent */
	size_t nfiles;
} pk_config;

/* Sets c to the built-in defaults, no jobs, no errors. */
void pk_config_init(pk_config *c);

/* Frees everything c owns and zeroes it; NULL is fine. */
void pk_config_free(pk_config *c);

/* Adds a message to c->errors (an allocation failure keeps a fixed one). */
void pk_config_add_error(pk_config *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Adds "PATH refused: WHY" to c->errors and records it in c->refused. */
void pk_config_refuse(pk_config *c, const char *path, const char *why);

/* Records path in c->files (not read, so far); returns c's copy, or NULL
 * (out of memory, then added to c->errors). */
const char *pk_config_add_file(pk_config *c, const char *path);

void pk_config_strv_free(pk_strv *l);
/* Appends a copy of s.  Returns 0, or -1 when out of memory. */
int pk_config_strv_push(pk_strv *l, const char *s);

/* Frees what j owns and zeroes it. */
void pk_config_job_free(pk_config_job *j);

/* Adds j to c (taking what it owns), replacing a job of the same name from
 * an earlier file.  Returns 0, or -1 when out of memory (j is c's either
 * way: freed then). */
int pk_config_job_add(pk_config *c, pk_config_job *j);

/* The job called name, or NULL; then *suggestion (when not NULL) is set to
 * the name of a job spelled closely, or NULL. */
const pk_config_job *pk_config_job_find(const pk_config *c, const char *name,
                                        const char **suggestion);

/* Keeps in *best the candidate closest to s, if close enough to suggest
 * ("did you mean"); start with *best NULL and *bestd large. */
void pk_config_closest(const char *s, const char *cand, const char **best, unsigned *bestd);

/* --- the files ------------------------------------------------------------ */

#define PK_CONFIG_MAX_FILE (1 << 20) /* a configuration file, not a database */

/* One configuration file of the chain, in the order it is read. */
struct pk_config_source {
	const char *path;
	int optional;           /* its absence is not an error */
	int present;            /* it was there: st and hash are set */
	struct stat st;         /* its fstat */
	unsigned char hash[16]; /* XXH3-128 of its content */
};

/* Reads the file of src whole, with the checks every reader makes: it is
 * opened once (never blocking on a FIFO), then fstat'ed on that
 * descriptor: a regular file, owned by the user or root, not writable by
 * group or others, at most PK_CONFIG_MAX_FILE bytes.  Sets src->present,
 * st and hash.  Returns 0 with *buf (malloc'd, the caller's, NUL-terminated)
 * and *len; 1 when src is optional and there is no file of the user's
 * there (missing, a folder on the way that is a file or cannot be
 * searched, as in another user's HOME): nothing to read; or -1 with the
 * message in why, and *refused set when the file is refused for its kind,
 * owner or mode (why then says only why). */
int pk_config_source_read(struct pk_config_source *src, char **buf, size_t *len, char *why,
                          size_t whylen, int *refused);

/* The XXH3-128 of a file's content, as the parsed copy's fingerprint
 * keeps it. */
void pk_config_hash_content(const void *buf, size_t len, unsigned char hash[16]);

#endif
