/* run_record.h: what a run leaves behind besides its entry: its decision
 * and reason, its record in the run log, and its counts in the metrics. */
#ifndef PK_RUN_RECORD_H
#define PK_RUN_RECORD_H

#include "run_msg.h"
#include "run_opts.h"
#include "runlog.h"
#include "store.h"

#include <stdint.h>

/* Sets the run's decision (unless decision < 0), and its reason unless one
 * is already set. */
void run_decide(pk_runlog_rec *rec, int decision, const char *why);

/* At the end of a run that made a decision, into the cache store (NULL: a
 * cache not opened or refused, which gets nothing): appends rec to the run
 * log and updates the metrics, the run begun at start_ms, its key key_hex
 * ("" when uncached).  Best effort; a metrics textfile the user asked for
 * that cannot be written is said in m. */
void run_record(pk_runlog_rec *rec, const pk_store *store, const pk_run_opts *o,
                const char *key_hex, int64_t start_ms, run_msg *m);

#endif
