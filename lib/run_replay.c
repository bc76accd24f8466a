/* run_replay.c: a hit's work (see run_replay.h). */
#include "run_replay.h"

#include "capture.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

int run_replay_matches(const pk_run_opts *o, const pk_meta *m)
{
	if (m->nfiles != o->noutputs)
		return 0;
	for (size_t i = 0; i < m->nfiles; i++)
		if (strcmp(m->files[i].path, o->outputs[i]) != 0)
			return 0;
	return 1;
}

/* SIGTERM in the middle of a restore would leave a partial temporary next
 * to the user's file, which nothing removes.  A signal that came meanwhile
 * acts once they are in place (a restore is as fast as the disk: a
 * fraction of a second for hundreds of megabytes). */
int run_replay_files(pk_entry *e, const char *statdir, pk_error *err)
{
	sigset_t stop, old;
	int ret;

	pk_capture_stop_signals(&stop);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	ret = pk_entry_restore_files(e, statdir, err);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

/* Leaves a regular-file stdin where the command left it on the miss that
 * stored m, so that what the caller reads next is the same whether the
 * command ran or not. */
static void leave_stdin(const pk_meta *m, int stdin_file, off_t stdin_start)
{
	if (!stdin_file || !m->stdin_known)
		return;
	if (m->stdin_at_end)
		lseek(0, 0, SEEK_END);
	else
		lseek(0, stdin_start + (off_t)m->stdin_read, SEEK_SET);
}

void run_replay_output(pk_entry *e, run_msg *m, int stdin_file, off_t stdin_start)
{
	const pk_meta *meta = pk_entry_meta(e);
	pk_error err = { 0 };
	char buf[PK_ERROR_STR_LEN];

	m->r->status = meta->exit_status;
	leave_stdin(meta, stdin_file, stdin_start);
	if (pk_entry_replay(e, 1, 2, &err) == 0)
		return;
	/* A reader that went away ends pickled as SIGPIPE ends a bare
	 * command; where SIGPIPE was ignored when pickled started, such a
	 * command gets EPIPE and fails instead, and so does pickled. */
	if (err.errnum == EPIPE && sigismember(&m->o->ignored, SIGPIPE) == 1)
		run_output_lost(m);
	else if (err.errnum == EPIPE)
		m->r->raise_signal = SIGPIPE;
	else {
		run_warn(m, "cannot replay output: %s", pk_error_str(&err, buf, sizeof(buf)));
		run_output_lost(m);
	}
}
