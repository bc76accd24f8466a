/* run_opts.h: what a run is asked to do (pk_run_opts) and what it
 * answers (pk_run_result).  Types only: run.h and the run modules below
 * run.c (run_key, run_exec, run_store, run_replay, run_share, run_record)
 * all use them, so they sit below all of them. */
#ifndef PK_RUN_OPTS_H
#define PK_RUN_OPTS_H

#include "error.h"
#include "remote.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

enum pk_stdin_mode { PK_STDIN_AUTO, PK_STDIN_ALWAYS, PK_STDIN_NEVER };

typedef struct pk_run_opts {
	char **argv; /* the command, NULL-terminated */
	char **inputs;
	size_t ninputs;
	char **envs;
	size_t nenvs;
	char **outputs;
	size_t noutputs;
	char **tags;
	size_t ntags;
	const char *extra; /* -k TEXT or NULL */
	int use_cwd;       /* the working directory is in the key (always when traced) */
	int stdin_mode;    /* enum pk_stdin_mode */
	uint64_t stdin_limit;
	int program_check; /* enum pk_program_check */
	int64_t ttl_ms, stale_ms, lock_timeout_ms;
	int cache_failures, force, warm;
	int level, threads;     /* zstd level and workers (0: one per core, up to 4) */
	uint64_t max_size;      /* automatic gc keeps the cache under this */
	uint64_t max_entry;     /* a larger result is not stored (0: none);
	                           never more than max_size either */
	int auto_gc;            /* gc after a store when due */
	int64_t gc_interval_ms; /* gc at least this often when auto_gc */
	const char *cache_dir;
	/* The run's name (-j NAME, else --name NAME), or NULL: it labels the
	 * run's record in the run log and its series in the metrics. */
	const char *name;
	/* The textfile the metrics are written to after the run, or NULL. */
	const char *metrics_file;
	/* The shared tier (see remote.h); remote.url NULL: none. */
	pk_remote_opts remote;
	int no_cache; /* run the command directly, store nothing */
	/* run --trace: the inputs are found by watching the command (see
	 * run_trace.h); trace_ignore: the trace.ignore globs; network
	 * uncached: a run that reached another host is not stored. */
	int trace;
	char **trace_ignore;
	size_t ntrace_ignore;
	int trace_network_uncached;
	sigset_t ignored; /* ignored when pickled started: kept so in
	                     the command (see capture.h) */
	/* Called with each --explain line (without "pickled: "); NULL: none. */
	void (*explain)(void *ctx, const char *line);
	void *explain_ctx;
} pk_run_opts;

typedef struct pk_run_result {
	int status;                     /* the exit status for pickled */
	int raise_signal;               /* non-zero: end by this signal instead */
	int stop_signal;                /* a stop signal pickled received and passed
	                                   on to the command, or 0: pickled must
	                                   then end promptly, and say what it has to
	                                   say only where it can at once */
	char error[PK_ERROR_STR_LEN];   /* pickled's own failure (125/126/127), or "" */
	char warning[PK_ERROR_STR_LEN]; /* one warning for stderr, or "" */
	char notice[PK_ERROR_STR_LEN];  /* said on stderr besides the warning,
	                                   even on a hit: an input pattern with
	                                   wildcards that matched no file; or "" */
} pk_run_result;

#endif
