/* run_replay.h: a hit's work: the output files restored, the output
 * replayed to the caller, stdin left where the run that stored the entry
 * left it, and pickled's result made the stored run's. */
#ifndef PK_RUN_REPLAY_H
#define PK_RUN_REPLAY_H

#include "entry.h"
#include "error.h"
#include "meta.h"
#include "run_msg.h"
#include "run_opts.h"

#include <sys/types.h>

/* 1 when m restores exactly the files o declares.  The files a hit
 * writes are the ones the run declares, never what an entry says: an
 * entry forged in a shared tier must not be able to write anywhere. */
int run_replay_matches(const pk_run_opts *o, const pk_meta *m);

/* Restores the entry's output files, the stop signals held back meanwhile
 * (statdir: the stat cache, see pk_entry_restore_files).  Returns 0, -1
 * with err set, or -2 when the entry is damaged. */
int run_replay_files(pk_entry *e, const char *statdir, pk_error *err);

/* Replays the entry's stdout and stderr to 1 and 2 and sets m->r's status
 * to the stored one.  stdin_file: pickled's stdin is a regular file that
 * was at stdin_start when pickled started; it is left where the stored
 * run left it.  A reader that went away ends pickled as SIGPIPE would;
 * any other failure is a warning and status 1 (as a failed write would). */
void run_replay_output(pk_entry *e, run_msg *m, int stdin_file, off_t stdin_start);

#endif
