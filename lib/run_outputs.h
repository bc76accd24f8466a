/* run_outputs.h: one run's locks on its declared output paths (see
 * outlock.h): held by a miss from before its command starts until its
 * files are read back, and by a hit while it restores them, so that a run
 * with another key never stores a file this one wrote, nor this one
 * another's.  Another run holding one is waited for, up to the lock
 * timeout, once per run. */
#ifndef PK_RUN_OUTPUTS_H
#define PK_RUN_OUTPUTS_H

#include "entry.h"
#include "error.h"
#include "outlock.h"
#include "run_msg.h"
#include "run_opts.h"
#include "store.h"

typedef struct run_outputs {
	const pk_run_opts *o;
	const pk_store *store;
	run_msg *msg; /* says the wait in --explain */
	int busy;     /* another run held one past the lock
	                 timeout: not waited for again */
} run_outputs;

/* Takes the locks of o->outputs into l.  Returns 0, or -1 with err saying
 * why in words ("another run was writing PATH past the lock timeout",
 * errnum 0, when one was held too long). */
int run_outputs_lock(run_outputs *ro, pk_outlock *l, pk_error *err);

/* Restores e's output files under their locks, through the stat cache of
 * the store.  Returns as run_replay_files (-2: the entry is damaged). */
int run_outputs_restore(run_outputs *ro, pk_entry *e, pk_error *err);

#endif
