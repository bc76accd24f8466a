/* capture.h: running the command with its stdout and stderr through pipes,
 * forwarding every chunk live and handing it to a recorder.  Signals that
 * ask pickled to stop (SIGINT, SIGTERM, SIGHUP, SIGQUIT) are passed on to
 * the command, except those pickled ignores: those it leaves ignored, in
 * itself and in the command (nohup, a background job of a script). */
#ifndef PK_CAPTURE_H
#define PK_CAPTURE_H

#include "error.h"
#include "trace.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pk_capture_opts {
	const char *path;  /* program to execute (resolved) */
	char *const *argv; /* its argv, NULL-terminated */
	int stdin_fd;      /* dup'd to the command's stdin; -1: inherit */
	/* Signals to leave ignored in the command: those ignored when pickled
	 * started, among the ones it changes for itself (SIGPIPE, SIGXFSZ);
	 * the others start at their default action.  NULL: none. */
	const sigset_t *ignored;
	int out_fd, err_fd; /* where chunks are forwarded; -1: nowhere */
	/* Called with each chunk in arrival order (stream 1 or 2).  A non-zero
	 * return stops further calls, not the command. NULL: no recording. */
	int (*record)(void *ctx, int stream, const void *buf, size_t len);
	void *record_ctx;
	/* Non-NULL: the command runs under this tracer (trace.h), which stands
	 * between pickled and the command; the wait status is still the
	 * command's.  Read its records with pk_trace_finish afterwards. */
	pk_trace *trace;
} pk_capture_opts;

typedef struct pk_capture_result {
	int wait_status;     /* as from waitpid */
	int exec_errno;      /* non-zero: the program could not be executed */
	int signal_received; /* a stop signal pickled received and passed on */
	int forward_errno;   /* the first write to out_fd/err_fd that failed
	                        (EPIPE...); that stream was given up, the
	                        other went on.  After EPIPE the command's
	                        output was not all read, nor recorded. */
	int64_t duration_ms; /* wall time from start to exit */
} pk_capture_result;

/* Runs the command to completion (its exit and end of both pipes).
 * Returns 0 when the command ran (see res), or -1 with err set when it
 * could not be started at all. */
int pk_capture_run(const pk_capture_opts *opts, pk_capture_result *res, pk_error *err);

/* Fills set with the signals that ask pickled to stop (SIGINT, SIGTERM,
 * SIGHUP, SIGQUIT): the ones passed on to the command, and the ones held
 * back where an operation must not be cut in half. */
void pk_capture_stop_signals(sigset_t *set);

/* The shell-style exit status for res: the command's exit code, 128+N when
 * it was killed by signal N, 126/127 when it could not be executed. */
int pk_capture_status(const pk_capture_result *res);

#endif
