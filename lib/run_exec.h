/* run_exec.h: running the command once, its output passed on to the
 * caller as it comes and handed to a recorder (run_store.h) on the way.
 * Turns what the command did into pickled's result: its status, the
 * signal to end by, pickled's own failure to run it. */
#ifndef PK_RUN_EXEC_H
#define PK_RUN_EXEC_H

#include "capture.h"
#include "run_msg.h"
#include "run_opts.h"
#include "spool.h"

#include <stddef.h>
#include <stdint.h>

typedef struct run_exec {
	const pk_run_opts *o; /* argv, and the signals ignored at start */
	const char *path;     /* the program resolved, or NULL: argv[0] */
	pk_spool *spool;      /* stdin as read for the key, or NULL:
	                         inherited (/dev/null when detached) */
	/* Called with each chunk of output on the thread reading the pipes
	 * (see capture.h); NULL: nothing recorded. */
	int (*record)(void *ctx, int stream, const void *buf, size_t len);
	void *record_ctx;
	pk_trace *trace;    /* the tracer to run it under, or NULL */
	uint64_t out_bytes; /* set: the output's size, for the run log */
} run_exec;

/* Runs the command, its output to 1 and 2 (nowhere when m->detached).
 * Sets m->r's status (125 when it could not be started, with r->error;
 * so too when the stdin read for the key cannot be given back to it in
 * full: it is not run on a stdin cut short),
 * raise_signal and stop_signal.  Returns 0 when the command ran to an end
 * worth storing (not interrupted, its output read in full), else -1. */
int run_exec_command(run_exec *x, run_msg *m, pk_capture_result *cr);

#endif
