/* metrics.h: the cache's metrics in the Prometheus text format, for
 * `pickled stats --prometheus` and for node_exporter's textfile collector
 * (metrics.textfile in pickled.conf, or PICKLED_METRICS_FILE).
 *
 * Invariants:
 * - The counters live in DIR/metrics.state, which every run updates under
 *   an exclusive flock on that file (read, add the run, rewrite in place):
 *   runs that end at the same moment are serialized, none is lost; readers
 *   take a shared flock.  A missing or damaged state starts the counters
 *   again from zero, which Prometheus reads as a counter reset.
 * - The textfile is written under the same lock, after the state: a
 *   temporary in the textfile's own directory (its name does not end in
 *   .prom, so the collector never reads it), then renamed over the file.
 *   The collector sees the old file or the new one, never a part, and the
 *   last rename always holds every run counted before it.
 * - No sample has a timestamp; every family has # HELP and # TYPE; values
 *   are in base units (seconds, bytes); counters end in _total.
 * - Labels are bounded: result takes four values; job is only ever a name
 *   given with -j or --name (never anything taken from the command line),
 *   and at most PK_METRICS_MAX_JOBS names are kept: past that, the name
 *   whose last run is the oldest is dropped.  A run without a name counts
 *   in the series without a job label only. */
#ifndef PK_METRICS_H
#define PK_METRICS_H

#include "error.h"
#include "runlog.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

#define PK_METRICS_MAX_JOBS 256

typedef struct pk_metrics_job {
	char name[PK_RUNLOG_NAME_MAX + 1];
	uint64_t runs[PK_DECISION_N]; /* by enum pk_decision */
	int64_t saved_ms;
	int64_t last_end_ms, last_duration_ms;
	int last_status;
	int64_t last_success_ms; /* the last run that exited 0; 0: none */
} pk_metrics_job;

typedef struct pk_metrics {
	uint64_t runs[PK_DECISION_N]; /* every run, named or not */
	int64_t saved_ms;
	uint64_t store_failures, remote_errors;
	pk_metrics_job jobs[PK_METRICS_MAX_JOBS];
	size_t njobs;
	/* The cache as pk_metrics_scan last found it, when, and its limit. */
	uint64_t cache_bytes, cache_entries, max_size;
	int64_t scanned_ms; /* 0: never */
} pk_metrics;

/* Reads s's counters into m (zeros when there are none yet, or they are
 * damaged).  Returns 0, or -1 with err set when they cannot be read. */
int pk_metrics_load(const pk_store *s, pk_metrics *m, pk_error *err);

/* Counts one run in m. */
void pk_metrics_add(pk_metrics *m, const pk_runlog_rec *r);

/* Fills m's cache_bytes and cache_entries from the entries of s (their
 * sizes only: no entry is opened). */
void pk_metrics_scan(const pk_store *s, pk_metrics *m);

/* m in the Prometheus text format, malloc'd (the caller frees), or NULL
 * when out of memory. */
char *pk_metrics_render(const pk_metrics *m);

/* Counts the run r in s's counters and, when textfile is not NULL, writes
 * the metrics to it (max_size: the cache's limit, for the gauge), all under
 * the state's lock (waiting up to 10 s for it).  The cache's size is taken
 * again for a miss or when the last figures are a minute old.  Returns 0, or -1 with err
 * set (the textfile, if any, is then left as it was). */
int pk_metrics_record(const pk_store *s, const pk_runlog_rec *r, uint64_t max_size,
                      const char *textfile, pk_error *err);

/* Writes text to path as the textfile collector wants it: a temporary in
 * the same directory, mode 0644, renamed into place.  Returns 0, or -1
 * with err set (nothing is left behind). */
int pk_metrics_write_textfile(const char *path, const char *text, pk_error *err);

#endif
