/* run_outputs.c: one run's locks on its declared output paths (see
 * run_outputs.h). */
#include "run_outputs.h"

#include "run_replay.h"

#include <errno.h>
#include <stdio.h>

int run_outputs_lock(run_outputs *ro, pk_outlock *l, pk_error *err)
{
	const pk_run_opts *o = ro->o;

	if (pk_outlock_acquire(l, ro->store, o->outputs, o->noutputs, 0, err) == 0)
		return 0;
	if (err->errnum != EWOULDBLOCK)
		return -1;
	if (!ro->busy) {
		run_explain(ro->msg, "waiting for another run writing %s", err->msg);
		if (pk_outlock_acquire(l, ro->store, o->outputs, o->noutputs, o->lock_timeout_ms,
		                       err) == 0)
			return 0;
		if (err->errnum != EWOULDBLOCK)
			return -1;
		ro->busy = 1;
	}
	/* err->msg is the path: copied first, since it is overwritten. */
	char path[sizeof(err->msg)];
	snprintf(path, sizeof(path), "%s", err->msg);
	return pk_error_set(err, 0, "another run was writing %s past the lock timeout", path);
}

int run_outputs_restore(run_outputs *ro, pk_entry *e, pk_error *err)
{
	char statdir[4096];
	pk_outlock l;
	int ret;

	if (run_outputs_lock(ro, &l, err) < 0)
		return -1;
	/* The stat records of -i: an output file hashed there (or at an
	 * earlier hit) is known unchanged without being read. */
	ret = run_replay_files(e,
	                       pk_store_path(ro->store, statdir, sizeof(statdir), "inputs") == 0 &&
	                                       pk_store_subdir(ro->store, "inputs", err) == 0
	                               ? statdir
	                               : NULL,
	                       err);
	pk_outlock_release(&l);
	return ret;
}
