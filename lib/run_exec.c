/* run_exec.c: running the command once (see run_exec.h). */
#include "run_exec.h"

#include "error.h"
#include "exitstatus.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The command's stdin: the spool when there is one, else inherited (-1;
 * /dev/null when detached).  Returns -2 with err set when the spool cannot
 * give the command its stdin from the first byte: the bytes read for the
 * key are no longer in fd 0, and a command reading it would run on a
 * stdin cut short. */
static int command_stdin(run_exec *x, int detached, pid_t *feeder, pk_error *err)
{
	int fd;

	*feeder = -1;
	if (x->spool == NULL)
		return detached ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
	if (x->spool->complete || x->spool->in_place) {
		if (pk_spool_rewind(x->spool) < 0) {
			pk_error_set(err, errno, "cannot rewind stdin");
			return -2;
		}
		return x->spool->fd;
	}
	fd = pk_spool_feed(x->spool, feeder, err);
	return fd < 0 ? -2 : fd;
}

/* The capture's recorder, on the thread that reads the pipes: counts the
 * bytes whatever becomes of the recording (the run log's), and passes
 * them on. */
static int record_chunk(void *ctx, int stream, const void *buf, size_t len)
{
	run_exec *x = ctx;

	x->out_bytes += len;
	return x->record != NULL ? x->record(x->record_ctx, stream, buf, len) : 0;
}

int run_exec_command(run_exec *x, run_msg *m, pk_capture_result *cr)
{
	pk_run_result *r = m->r;
	pk_capture_opts co = { 0 };
	pk_error err = { 0 };
	pid_t feeder;
	int in_fd = command_stdin(x, m->detached, &feeder, &err);
	int ret = -1;

	x->out_bytes = 0;
	if (in_fd == -2) {
		char buf[PK_ERROR_STR_LEN];
		r->status = PK_EXIT_FAILURE;
		snprintf(r->error, sizeof(r->error), "%s", pk_error_str(&err, buf, sizeof(buf)));
		return -1;
	}
	co.path = x->path ? x->path : x->o->argv[0];
	co.argv = x->o->argv;
	co.stdin_fd = in_fd;
	co.ignored = &x->o->ignored;
	co.out_fd = m->detached ? -1 : 1;
	co.err_fd = m->detached ? -1 : 2;
	co.record = record_chunk;
	co.record_ctx = x;
	co.trace = x->trace;
	int rc = pk_capture_run(&co, cr, &err);
	if (rc < 0) {
		char buf[PK_ERROR_STR_LEN];
		r->status = PK_EXIT_FAILURE;
		snprintf(r->error, sizeof(r->error), "%s", pk_error_str(&err, buf, sizeof(buf)));
		goto out;
	}
	r->status = pk_capture_status(cr);
	r->stop_signal = cr->signal_received;
	/* A command killed by a signal makes pickled end by the same signal,
	 * whatever the path that ran it: a shell loop around pickled must see
	 * what it would see around the bare command (bash stops a script
	 * whose child died of SIGINT, not one whose child exited 130). */
	if (cr->exec_errno == 0 && WIFSIGNALED(cr->wait_status))
		r->raise_signal = WTERMSIG(cr->wait_status);
	if (cr->exec_errno != 0) {
		snprintf(r->error, sizeof(r->error), "%s: %s", x->o->argv[0],
		         strerror(cr->exec_errno));
		goto out;
	}
	/* A reader that went away (`| head`) is the caller's choice, not a
	 * failure: the status is the command's own, as in a bare run; what it
	 * printed was not all read, so nothing is stored. */
	if (cr->forward_errno == EPIPE)
		goto out;
	/* Not every byte reached the caller: pickled fails as the bare
	 * command would have (its own status when it failed, else 1), while
	 * the result, captured whole, may still be stored. */
	if (cr->forward_errno == ETIMEDOUT && cr->signal_received) {
		run_warn(m, "cannot write output: the reader did not read after the stop signal");
		run_output_lost(m);
	} else if (cr->forward_errno != 0) {
		run_warn(m, "cannot write output: %s", strerror(cr->forward_errno));
		run_output_lost(m);
	}
	if (cr->signal_received || WIFSIGNALED(cr->wait_status))
		goto out;
	ret = 0;
out:
	if (feeder > 0) {
		/* The feeder may be stuck writing what the command did not read:
		 * the pipe closed, and SIGKILL, which it cannot have ignored. */
		close(in_fd);
		kill(feeder, SIGKILL);
		while (waitpid(feeder, NULL, 0) < 0 && errno == EINTR)
			;
	} else if (in_fd >= 0 && x->spool == NULL) {
		close(in_fd);
	}
	return ret;
}
