/* sig.h: ending a process as its command ended, by the same signal.
 * For the processes that stand in for a command: pickled's front end and
 * the tracer (trace.h). */
#ifndef PK_SIG_H
#define PK_SIG_H

/* Ends the calling process by sig: with the default disposition (even for
 * a signal ignored since the start: the command died of it anyway) and
 * unblocked.  No core file: the command's own is the one worth keeping,
 * and this process's would land next to it, or over it.  Returns only for
 * a signal whose default action is not to end the process. */
void pk_sig_die_by(int sig);

#endif
