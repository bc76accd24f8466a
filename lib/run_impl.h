/* run_impl.h: what run.c and run_key.c share about one run in progress.
 * Internal to those two files; pk_run in run.h is the contract. */
#ifndef PK_RUN_IMPL_H
#define PK_RUN_IMPL_H

#include "key.h"
#include "remote.h"
#include "run.h"
#include "runlog.h"
#include "spool.h"
#include "store.h"

struct run {
	const pk_run_opts *o;
	pk_run_result *r;
	pk_store store;
	int have_store;
	int cacheable;             /* key computed and store usable */
	pk_spool spool;
	int have_spool;
	int detached;              /* a background warm or refresh: no output */
	int quiet;                 /* a second lookup: explain only a hit */
	int remote_rejected;       /* a refused remote value was reported */
	pk_remote *remote;         /* connected on first use */
	int remote_down;           /* failed once: not tried again this run */
	int gc_due;                /* a store made an automatic gc due */
	int64_t since_ms;          /* when this run began (wall clock) */
	int refreshing;            /* a --warm run or a stale refresh */
	int after_wait;            /* looking again after waiting for a run:
	                              one stored since since_ms is taken, old
	                              or not (and is the only kind --warm
	                              takes) */
	pk_key_parts parts;
	pk_key key;
	char hex[PK_KEY_HEX + 1];
	char statdir[4096];
	int stdin_file;            /* pickled's stdin is a regular file... */
	off_t stdin_start;         /* ...at this offset when it started */
	char no_key[600];          /* why no key applies and the run goes
	                              uncached (stdin over the limit...), or "" */
	/* What this run did, for the run log and the metrics: decision -1
	 * until one is made (a background gc records nothing). */
	pk_runlog_rec rec;
	int64_t start_ms;
	int store_open;            /* the cache was opened (and accepted) */
};

/* pickled says why once: the first warning is kept, later ones dropped. */
void run_warn(struct run *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line for --explain, when asked for. */
void run_explain(struct run *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads stdin into the key when the mode says so.  Returns 0, or -2 when
 * the run must go uncached (stdin too large, or not readable), with
 * u->no_key saying why. */
int run_take_stdin(struct run *u);

/* Fills u->parts, u->key and u->hex.  Returns 0; -1 with u->r->error for a
 * missing program; -2 when no key applies (u->no_key says why: the run then
 * goes uncached, with a warning), the stdin read before included. */
int run_make_key(struct run *u);

/* --explain: the key and every part that went into it. */
void run_explain_parts(struct run *u);

/* Sets the run's decision, and its reason unless one is already set. */
void run_decide(struct run *u, int decision, const char *why);

/* At the end of a run that made a decision: appends its record to the run
 * log and updates the metrics (best effort; see run_record.c). */
void run_record(struct run *u);

#endif
