/* run_record.c: what a run leaves behind besides its entry: its record in
 * the run log, and its counts in the metrics.  Best effort: a log or
 * counters that cannot be written lose the record, never the job, and say
 * nothing (a read-only cache that still replays hits must not make cron
 * mail a warning for each); a metrics textfile the user asked for that
 * cannot be written is said once, as pickled's one warning. */
#include "run_impl.h"

#include "metrics.h"
#include "runlog.h"
#include "store.h"

#include <stdio.h>
#include <string.h>

void run_decide(struct run *u, int decision, const char *why)
{
	if (decision >= 0)
		u->rec.decision = decision;
	if (why[0] != '\0' && u->rec.why[0] == '\0')
		snprintf(u->rec.why, sizeof(u->rec.why), "%s", why);
}

void run_record(struct run *u)
{
	pk_runlog_rec *rec = &u->rec;
	pk_error err = { 0 };

	/* Only into a cache that was accepted: a refused one (writable by
	 * others, another owner's) gets nothing. */
	if (rec->decision < 0 || !u->store_open)
		return;
	rec->end_ms = pk_now_ms();
	rec->duration_ms = rec->end_ms - u->start_ms;
	if (rec->duration_ms < 0)
		rec->duration_ms = 0;
	rec->exit_status = u->r->raise_signal ? 128 + u->r->raise_signal : u->r->status;
	snprintf(rec->key, sizeof(rec->key), "%s", u->cacheable ? u->hex : "");
	snprintf(rec->job, sizeof(rec->job), "%s", u->o->name ? u->o->name : "");
	pk_runlog_set_command(rec, u->o->argv);
	pk_runlog_append(&u->store, rec, &err);
	if (pk_metrics_record(&u->store, rec, u->o->max_size, u->o->metrics_file, &err) < 0 &&
	    u->o->metrics_file != NULL) {
		char buf[700];
		run_warn(u, "metrics not written: %s", pk_error_str(&err, buf, sizeof(buf)));
	}
}
