/* run_impl.h: what run.c (the decision) and run_lookup.c (looking a key
 * up and replaying what is found) share about one run.  Internal to those
 * two files; run.h is the contract. */
#ifndef PK_RUN_IMPL_H
#define PK_RUN_IMPL_H

#include "run_key.h"
#include "run_msg.h"
#include "run_opts.h"
#include "run_outputs.h"
#include "run_share.h"
#include "run_trace.h"
#include "runlog.h"
#include "spool.h"
#include "store.h"

#include <stdint.h>
#include <sys/types.h>

enum lookup { HIT, STALE, MISS };

struct run {
	const pk_run_opts *o;
	pk_run_result *r;
	run_msg msg; /* msg.detached: a background warm or
	                refresh, no output; msg.quiet: a second
	                lookup, explain only a hit */
	pk_store store;
	int have_store;
	int store_open; /* the cache was opened (and accepted) */
	int cacheable;  /* key computed and store usable */
	pk_spool spool;
	int have_spool;
	run_key key;
	run_share share;
	int stdin_file;    /* pickled's stdin is a regular file... */
	off_t stdin_start; /* ...at this offset when it started */
	int gc_due;        /* a store made an automatic gc due */
	int64_t since_ms;  /* when this run began (wall clock) */
	int refreshing;    /* a --warm run or a stale refresh */
	int waited;        /* waited on an identical run's lock: a hit
	                      then says so */
	int after_wait;    /* looking again after waiting for a run:
	                      one stored since since_ms is taken, old
	                      or not (and is the only kind --warm
	                      takes) */
	/* What this run did, for the run log and the metrics: decision -1
	 * until one is made (a background gc records nothing). */
	pk_runlog_rec rec;
	int64_t start_ms;
	/* run --trace: the key names a manifest; key.key becomes the result
	 * key of the input set found to hold, if any (see run_trace.h). */
	int traced;
	run_trace trace;
	run_outputs outs; /* the declared outputs' locks */
};

/* The run's output locks (see run_outputs.h), filled from the run here so
 * that run_lookup.c, below run.c, need not call up into it. */
static inline run_outputs *run_outs(struct run *u)
{
	u->outs.o = u->o;
	u->outs.store = &u->store;
	u->outs.msg = &u->msg;
	return &u->outs;
}

/* Looks for a usable local entry and, with replay, replays it.  Returns
 * HIT or STALE when the entry was (or, without replay, would be) replayed,
 * MISS otherwise (with the reason explained). */
enum lookup run_lookup_local(struct run *u, int replay);

/* Local first, then the remote tier, whose entry is stored locally and
 * replayed from there like any local one. */
enum lookup run_lookup(struct run *u, int replay);

/* A quiet lookup after waiting for an identical run: its result is taken
 * whatever its age (see run_lookup_local). */
enum lookup run_waited_lookup(struct run *u);

#endif
