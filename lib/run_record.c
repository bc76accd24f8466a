/* run_record.c: what a run leaves behind besides its entry: its record in
 * the run log.  Best effort: a log that cannot be written loses the record,
 * never the job, and says nothing (a read-only cache that still replays
 * hits must not make cron mail a warning for each). */
#include "run_impl.h"

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

	if (rec->decision < 0 || u->store.dirfd < 0)
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
}
