/* stats.h: cache-wide counters.  Each event is one fixed-size record
 * appended to DIR/stats.log with O_APPEND, so concurrent pickled processes
 * never lose or tear a count and a hit costs one small write. */
#ifndef PK_STATS_H
#define PK_STATS_H

#include "error.h"
#include "store.h"

#include <stdint.h>

enum pk_stat_event {
	PK_STAT_HIT = 1,        /* value: the command time the hit saved, ms */
	PK_STAT_MISS,           /* the command ran for the cache */
	PK_STAT_STALE,          /* a stale hit started a background refresh */
	PK_STAT_CORRUPT,        /* a damaged entry was found */
	PK_STAT_STORE_FAIL,     /* a result could not be stored */
	PK_STAT_REMOTE_HIT,     /* an entry came from the remote tier */
	PK_STAT_REMOTE_MISS,    /* the remote tier had no usable entry */
	PK_STAT_REMOTE_ERROR,   /* the remote tier failed */
	PK_STAT_REMOTE_TIMEOUT, /* the remote tier did not answer in time */
	PK_STAT_REFRESH_FAIL,   /* a --warm or stale refresh failed; value: its
	                           status; the entry it did not replace stays */
};

typedef struct pk_stats {
	uint64_t hits, misses, stale_refreshes, refresh_failures, corrupt, store_failures;
	uint64_t remote_hits, remote_misses, remote_errors, remote_timeouts;
	int64_t saved_ms;
	int64_t since_ms;   /* when counting started (0: unknown) */
	int64_t last_gc_ms; /* 0: never */
} pk_stats;

/* Records one event (best effort: a lost count never fails a job). */
void pk_stats_add(const pk_store *s, int event, int64_t value);

/* Sums the log.  Returns 0, or -1 with err set. */
int pk_stats_read(const pk_store *s, pk_stats *st, pk_error *err);

/* Starts counting afresh.  Returns 0, or -1 with err set. */
int pk_stats_zero(const pk_store *s, pk_error *err);

#endif
