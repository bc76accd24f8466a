/* run_trace.h: the traced path of a run (run --trace).  The run's key
 * names a manifest (manifest.h) instead of an entry: the lookup takes the
 * newest input set of the manifest that still holds, and its result key
 * becomes the entry looked up.  A miss runs the command under the tracer
 * (trace.h), judges its records (judge.h), stores the result under the
 * key of the input set it read, and adds that set to the manifest, which
 * the remote tier shares as it shares entries. */
#ifndef PK_RUN_TRACE_H
#define PK_RUN_TRACE_H

#include "judge.h"
#include "key.h"
#include "manifest.h"
#include "run_msg.h"
#include "run_opts.h"
#include "run_share.h"
#include "run_store.h"
#include "store.h"
#include "trace.h"

#include <stddef.h>
#include <stdint.h>

typedef struct run_trace {
	const pk_run_opts *o;
	const pk_store *store; /* NULL: no cache (pickled key) */
	const char *statdir;   /* the input stat cache (statbuf), or NULL */
	char statbuf[4200];
	pk_key manifest; /* the key the manifest is under */
	char hex[PK_KEY_HEX + 1];
	pk_trace *tracer;    /* during a miss */
	pk_key result;       /* after run_trace_judge: the entry's key */
	unsigned char *note; /* ...and its trace note (manifest.h) */
	size_t note_len;
	int flags;       /* PK_VARIANT_* */
	pk_mrec *inputs; /* the input set judged (owned) */
	size_t ninputs;
} run_trace;

/* Starts the traced path of a run whose key is run_key, in the cache store
 * (NULL: none): t->manifest is the key its manifest is under. */
void run_trace_init(run_trace *t, const pk_run_opts *o, const pk_store *store,
                    const pk_key *run_key);

/* Looks the manifest up (locally, then in the remote tier sh, which may be
 * NULL).  Returns 1 with *result set to the result key of the newest input
 * set that still holds; 0 when none does, explained ("miss (input
 * changed: PATH)", "miss (no manifest)"); a damaged manifest is a miss,
 * warned about once. */
int run_trace_lookup(run_trace *t, run_msg *m, run_share *sh, pk_key *result);

/* Prepares the tracer for the command (capture.h's trace).  Returns it, or
 * NULL when tracing cannot be prepared: said once; the command then runs
 * untraced and its result is not stored. */
pk_trace *run_trace_start(run_trace *t, run_msg *m);

/* After the command ran to its end: reads the tracer's records and judges
 * them.  Returns 0 when the result may be stored, with t->result (the
 * entry's key) and t->note set; -1 when not, said once through sink. */
int run_trace_judge(run_trace *t, const run_store_sink *sink);

/* After the entry for t->result was stored (created_ms: its creation):
 * adds the input set to the manifest, and the manifest to the remote tier
 * (sh may be NULL).  Best effort: a manifest that cannot be written costs
 * a miss next time, said once. */
void run_trace_stored(run_trace *t, run_msg *m, run_share *sh, int64_t created_ms);

/* Frees what t holds; a zeroed t is fine. */
void run_trace_free(run_trace *t);

#endif
