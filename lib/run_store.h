/* run_store.h: recording a miss's result into a new entry while the
 * command runs, then storing it: output files added, checks that the
 * result may be stored under its key, the entry committed.  What cannot
 * be stored is said once and counted; the command's output reaches the
 * caller in full whatever happens here. */
#ifndef PK_RUN_STORE_H
#define PK_RUN_STORE_H

#include "capture.h"
#include "entry.h"
#include "error.h"
#include "key.h"
#include "relay.h"
#include "run_msg.h"
#include "run_opts.h"
#include "runlog.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where a run counts what it could not store: said once (m), counted in
 * the run log (rec) and the cache's stats (store, NULL: none). */
typedef struct run_store_sink {
	run_msg *m;
	pk_runlog_rec *rec;
	const pk_store *store;
} run_store_sink;

/* A result that could not be stored: said once, and counted. */
void run_not_stored(const run_store_sink *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* While the command runs, everything below but relay and put_err belongs
 * to the relay's thread (the sink); the reader looks again only once
 * the relay has ended that thread (run_store_commit, run_store_close). */
typedef struct run_store {
	run_store_sink sink;
	const pk_run_opts *o;
	const pk_key *key;
	const pk_key_parts *parts;
	pk_entry_writer *w;
	pk_relay *relay; /* NULL: recording failed from the start */
	pk_error err;
	pk_error put_err; /* the reader's */
	int failed;
	int put_failed;     /* the relay refused: record no more */
	int fd;             /* the temporary entry */
	char tmp[256];      /* its name in the store */
	int unlinked;       /* the temporary is already gone */
	int64_t created_ms; /* when the run began: the entry's age */
	/* A traced run's note for the entry's metadata (meta.h), or NULL;
	 * set, with key (the input set's result key), before the commit. */
	const unsigned char *trace;
	size_t trace_len;
} run_store;

/* Starts an entry for key (parts) in sink.store.  Returns 0, or -1 with
 * err set when no temporary can be made (nothing to discard then).  A
 * writer that cannot start leaves the entry failed: the command runs all
 * the same, and run_store_commit says why nothing was stored. */
int run_store_begin(run_store *s, const run_store_sink *sink, const pk_run_opts *o,
                    const pk_key *key, const pk_key_parts *parts, pk_error *err);

/* The record callback for run_exec (ctx: the run_store). */
int run_store_chunk(void *ctx, int stream, const void *buf, size_t len);

/* After a command that ran to its end (cr): adds the declared output
 * files, and commits the entry unless something forbids it (an input
 * that changed while the command ran, an entry over the size limit...),
 * which is said and counted.  stdin_fd (-1: none) is the regular file the
 * command read its stdin from, from stdin_start: where it left it is
 * recorded for hits.  Returns 0 when stored (*stored: the entry's size,
 * s->fd still open for a push), or -1.  Either way run_store_close
 * follows. */
int run_store_commit(run_store *s, const pk_capture_result *cr, int stdin_fd, off_t stdin_start,
                     uint64_t *stored);

/* Ends the entry: the recording stopped, its temporary removed unless it
 * was committed, the fd closed. */
void run_store_close(run_store *s);

#endif
