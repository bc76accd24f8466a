/* sig.h: the signals that ask pickled to stop, and ending a process as its
 * command ended, by the same signal.  For the processes that stand in for
 * a command: pickled (capture, the front end) and the tracer (trace.h). */
#ifndef PK_SIG_H
#define PK_SIG_H

/* The stop signals: SIGINT, SIGTERM, SIGHUP, SIGQUIT.  capture and the
 * tracer pass them on to the command, and a restore holds them back
 * (pk_capture_stop_signals): one set, so that all three agree.  The count
 * is named so that arrays kept per signal can be sized by it. */
enum { PK_SIG_NSTOP = 4 };
extern const int pk_sig_stop[PK_SIG_NSTOP];

/* Ends the calling process by sig: with the default disposition (even for
 * a signal ignored since the start: the command died of it anyway) and
 * unblocked.  No core file: the command's own is the one worth keeping,
 * and this process's would land next to it, or over it.  Returns only for
 * a signal whose default action is not to end the process. */
void pk_sig_die_by(int sig);

#endif
