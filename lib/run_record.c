/* run_record.c: what a run leaves behind besides its entry: its record in
 * the run log, and its counts in the metrics.  Best effort: a log or
 * counters that cannot be written lose the record, never the job, and say
 * nothing (a read-only cache that still replays hits must not make cron
 * mail a warning for each); a metrics textfile the user asked for that
 * cannot be written is said once, as pickled's one warning. */
#include "run_record.h"

#include "metrics.h"

#include <stdio.h>
#include <string.h>

void run_decide(pk_runlog_rec *rec, int decision, const char *why)
{
	if (decision >= 0)
		rec->decision = decision;
	if (why[0] != '\0' && rec->why[0] == '\0')
		snprintf(rec->why, sizeof(rec->why), "%s", why);
}

void run_record(pk_runlog_rec *rec, const pk_store *store, const pk_run_opts *o,
                const char *key_hex, int64_t start_ms, run_msg *m)
{
	pk_error err = { 0 };

	/* Only into a cache that was accepted: a refused one (writable by
	 * others, another owner's) gets nothing. */
	if (rec->decision < 0 || store == NULL)
		return;
	rec->end_ms = pk_now_ms();
	rec->duration_ms = rec->end_ms - start_ms;
	if (rec->duration_ms < 0)
		rec->duration_ms = 0;
	rec->exit_status = m->r->raise_signal ? 128 + m->r->raise_signal : m->r->status;
	snprintf(rec->key, sizeof(rec->key), "%s", key_hex);
	snprintf(rec->job, sizeof(rec->job), "%s", o->name ? o->name : "");
	pk_runlog_set_command(rec, o->argv);
	pk_runlog_append(store, rec, &err);
	if (pk_metrics_record(store, rec, o->max_size, o->metrics_file, &err) < 0 &&
	    o->metrics_file != NULL) {
		char buf[PK_ERROR_STR_LEN];
		run_warn(m, "metrics not written: %s", pk_error_str(&err, buf, sizeof(buf)));
	}
}
