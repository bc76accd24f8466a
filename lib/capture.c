/* capture.c: fork/exec, pipe pumping and signal forwarding. */
#include "capture.h"

#include "exitstatus.h"
#include "io.h"
#include "sig.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

/* The handler needs to know whom to pass a signal on to. */
static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t got_signal;

void pk_capture_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	for (size_t i = 0; i < PK_SIG_NSTOP; i++)
		sigaddset(set, pk_sig_stop[i]);
}

/* Which of them pickled ignores: no handler is put over those. */
static int stop_ignored[PK_SIG_NSTOP];

/* Gives sig its default action in the command, unless it is in ignored. */
static void reset_signal(int sig, const sigset_t *ignored)
{
	signal(sig, ignored != NULL && sigismember(ignored, sig) == 1 ? SIG_IGN : SIG_DFL);
}

/* After a stop signal, pickled passes on what the command still writes
 * for as long as its readers take it, but no longer than GRACE_MS without
 * progress: a reader that does not read must not keep it alive.  A write
 * blocked on such a reader is woken every TICK_MS by SIGALRM from a timer
 * that the stop signal starts (the stop signal itself may come just before
 * the write begins, and would then not interrupt it). */
#define GRACE_MS 200
#define TICK_MS 50
static timer_t tick;
static volatile sig_atomic_t have_tick;
static int alarm_ignored; /* SIGALRM's disposition, for the command */

static void on_tick(int sig)
{
	(void)sig; /* only there to interrupt a blocked write */
}

static void forward_signal(int sig, siginfo_t *info, void *uctx)
{
	static const struct itimerspec every = { { 0, TICK_MS * 1000000 },
		                                 { 0, TICK_MS * 1000000 } };

	(void)uctx;
	got_signal = sig;
	if (have_tick)
		timer_settime(tick, 0, &every, NULL);
	/* A signal from the terminal already reached the whole process group,
	 * the command included; only signals sent to pickled alone are passed
	 * on, so the command does not get them twice. */
	if (child_pid > 0 && info->si_code != SI_KERNEL)
		kill((pid_t)child_pid, sig);
}

/* Puts the handlers in place: forward_signal over the stop signals that
 * pickled does not ignore (their old actions in old[]), on_tick over
 * SIGALRM (*old_alarm), and the timer, disarmed. */
static void arm_signals(struct sigaction old[PK_SIG_NSTOP], struct sigaction *old_alarm)
{
	struct sigaction sa;
	struct sigevent ev;

	got_signal = 0;
	child_pid = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tick;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, old_alarm);
	alarm_ignored = old_alarm->sa_handler == SIG_IGN;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGALRM;
	have_tick = timer_create(CLOCK_MONOTONIC, &ev, &tick) == 0;

	sa.sa_sigaction = forward_signal;
	sa.sa_flags = SA_SIGINFO;
	for (size_t i = 0; i < PK_SIG_NSTOP; i++) {
		sigaction(pk_sig_stop[i], NULL, &old[i]);
		stop_ignored[i] = old[i].sa_handler == SIG_IGN;
		if (!stop_ignored[i])
			sigaction(pk_sig_stop[i], &sa, NULL);
	}
}

/* Puts the old actions back.  A tick still pending is taken first: once
 * SIGALRM has its old action back, it would end pickled. */
static void disarm_signals(const struct sigaction old[PK_SIG_NSTOP],
                           const struct sigaction *old_alarm)
{
	static const struct timespec now = { 0, 0 };
	sigset_t alarm_set, mask;

	child_pid = 0;
	for (size_t i = 0; i < PK_SIG_NSTOP; i++)
		if (!stop_ignored[i])
			sigaction(pk_sig_stop[i], &old[i], NULL);
	sigemptyset(&alarm_set);
	sigaddset(&alarm_set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alarm_set, &mask);
	if (have_tick)
		timer_delete(tick);
	have_tick = 0;
	while (sigtimedwait(&alarm_set, NULL, &now) == SIGALRM)
		;
	sigaction(SIGALRM, old_alarm, NULL);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static _Noreturn void child_exec(const pk_capture_opts *o, int out_w, int err_w, int report_w)
{
	sigset_t none;
	int e;

	/* pickled ignores SIGPIPE and SIGXFSZ for itself, and handles the stop
	 * signals it does not ignore; the command must get the dispositions a
	 * bare run would have: the default, or ignored when pickled was started
	 * with the signal ignored, as env and nice pass it on. */
	reset_signal(SIGPIPE, o->ignored);
	reset_signal(SIGXFSZ, o->ignored);
	for (size_t i = 0; i < PK_SIG_NSTOP; i++)
		if (!stop_ignored[i])
			signal(pk_sig_stop[i], SIG_DFL);
	signal(SIGALRM, alarm_ignored ? SIG_IGN : SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (o->stdin_fd >= 0 && o->stdin_fd != 0 && dup2(o->stdin_fd, 0) < 0)
		goto fail;
	if (dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
		goto fail;
	/* A bare name reaches here only when pickled could not look the
	 * program up itself (the run is then uncached): exec searches PATH. */
	if (strchr(o->path, '/') == NULL)
		execvp(o->path, o->argv);
	else
		execv(o->path, o->argv);
	if (errno == ENOEXEC) {
		/* As execvp does: a file without a #! line is a shell script. */
		size_t n = 0;
		while (o->argv[n] != NULL)
			n++;
		char **sh = calloc(n + 2, sizeof(*sh));
		if (sh != NULL) {
			sh[0] = (char *)"sh";
			sh[1] = strdup(o->path);
			for (size_t i = 1; i < n; i++)
				sh[i + 1] = o->argv[i];
			execv("/bin/sh", sh);
		}
		errno = ENOEXEC;
	}
fail:
	e = errno;
	if (write(report_w, &e, sizeof(e)) < 0) {
		/* the parent then sees a plain exit 127 */
	}
	_exit(PK_EXIT_NOTFOUND);
}

/* child_exec's arguments, for the tracer to start the command with. */
struct exec_args {
	const pk_capture_opts *o;
	int out_w, err_w, report_w;
};

static void start_command(void *ctx)
{
	const struct exec_args *a = ctx;
	child_exec(a->o, a->out_w, a->err_w, a->report_w);
}

/* pk_write_all_or's question, for forward: after a stop signal, has the
 * write taken nothing for GRACE_MS?  *since: when it last moved (0: not
 * yet asked since the signal). */
static int stalled(void *ctx, size_t moved)
{
	int64_t *since = ctx;

	if (!got_signal)
		return 0;
	if (moved > 0 || *since == 0) {
		*since = mono_ms();
		return 0;
	}
	return mono_ms() - *since >= GRACE_MS;
}

/* A poll or read that fails though the command did nothing wrong
 * (EIO, ENOMEM: the system's trouble, not the command's) is tried again,
 * up to RETRIES times in a row: giving up at once would cut the command's
 * output short while its exit status says all went well. */
#define RETRIES 3

/* The pipes could not be read (RETRIES failures in a row): what is left
 * of the output cannot reach the caller, and is not stored.  Reported as
 * output that could not be passed on, which it is. */
static void lost_output(pk_capture_result *res, int *recording, int e)
{
	*recording = 0;
	if (res->forward_errno == 0)
		res->forward_errno = e;
}

/* Passes a chunk on to *fd.  A write that fails gives up that stream
 * alone (*fd = -1): the other still gets all its bytes.  After a stop
 * signal, a write that its reader does not take is given up too
 * (ETIMEDOUT).  Returns 0, or the errno of the failed write. */
static int forward(int *fd, const void *buf, size_t len, pk_capture_result *res)
{
	int64_t since = 0;
	int e;

	if (*fd < 0 || pk_write_all_or(*fd, buf, len, stalled, &since) == 0)
		return 0;
	e = errno;
	if (res->forward_errno == 0)
		res->forward_errno = e;
	*fd = -1;
	return e;
}

int pk_capture_run(const pk_capture_opts *o, pk_capture_result *res, pk_error *err)
{
	int out_p[2] = { -1, -1 }, err_p[2] = { -1, -1 }, rep_p[2] = { -1, -1 };
	struct sigaction old[PK_SIG_NSTOP], old_alarm;
	char *buf = NULL;
	int recording = o->record != NULL;
	int64_t start;
	pid_t pid;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if ((buf = pk_io_alloc(CHUNK)) == NULL)
		return pk_error_set(err, ENOMEM, "cannot run command");
	if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0 ||
	    pipe2(rep_p, O_CLOEXEC) < 0) {
		pk_error_set(err, errno, "cannot create pipe");
		goto out;
	}
	/* Larger pipes mean fewer wake-ups for chatty commands. */
	fcntl(out_p[0], F_SETPIPE_SZ, 1 << 20);
	fcntl(err_p[0], F_SETPIPE_SZ, 1 << 20);

	arm_signals(old, &old_alarm);

	start = mono_ms();
	pid = fork();
	if (pid < 0) {
		pk_error_set(err, errno, "cannot start command");
		goto restore;
	}
	if (pid == 0) {
		struct exec_args a = { o, out_p[1], err_p[1], rep_p[1] };
		if (o->trace != NULL)
			pk_trace_exec(o->trace, start_command, &a);
		child_exec(o, out_p[1], err_p[1], rep_p[1]);
	}
	child_pid = pid;
	/* A signal that arrived before the pid was known is passed on now. */
	if (got_signal)
		kill(pid, got_signal);
	close(out_p[1]);
	close(err_p[1]);
	close(rep_p[1]);
	out_p[1] = err_p[1] = rep_p[1] = -1;

	{
		/* The child's errno, if it could not exec: read to the end, as a
		 * short read must not turn "cannot execute" into the exit 127 the
		 * child then makes, with nothing said. */
		int e;
		size_t got = 0;
		ssize_t n;
		while (got < sizeof(e) &&
		       ((n = read(rep_p[0], (char *)&e + got, sizeof(e) - got)) > 0 ||
		        (n < 0 && errno == EINTR)))
			if (n > 0)
				got += (size_t)n;
		if (got == sizeof(e))
			res->exec_errno = e;
	}

	struct pollfd fds[2] = { { out_p[0], POLLIN, 0 }, { err_p[0], POLLIN, 0 } };
	int to[2] = { o->out_fd, o->err_fd };
	int open_fds = 2, reaped = 0, poll_fails = 0, read_fails[2] = { 0, 0 };
	int64_t reaped_at = 0;
	while (open_fds > 0) {
		/* After a stop signal, the command's own end is what counts: a
		 * process it left behind holding the pipes (a shell's child, a
		 * background job) must not keep pickled alive, as it would not
		 * keep the caller of a bare run.  What is in the pipes then is
		 * still passed on, for up to 200 ms. */
		if (got_signal && !reaped && waitpid(pid, &res->wait_status, WNOHANG) == pid) {
			reaped = 1;
			reaped_at = mono_ms();
		}
		int ready = poll(fds, 2, reaped ? 0 : got_signal ? 50 : -1);
		if (ready < 0) {
			if (errno == EINTR || ++poll_fails <= RETRIES)
				continue;
			lost_output(res, &recording, errno);
			break;
		}
		poll_fails = 0;
		if (reaped && (ready == 0 || mono_ms() - reaped_at > GRACE_MS))
			break;
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || fds[i].revents == 0)
				continue;
			ssize_t n = read(fds[i].fd, buf, CHUNK);
			if (n < 0 &&
			    (errno == EINTR || errno == EAGAIN || ++read_fails[i] <= RETRIES))
				continue;
			if (n < 0)
				lost_output(res, &recording, errno);
			else
				read_fails[i] = 0;
			if (n <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
				continue;
			}
			if (forward(&to[i], buf, (size_t)n, res) == EPIPE) {
				/* The reader of this stream went away, as with `| head`:
				 * stop reading it, so that the command meets the closed
				 * pipe as a bare run would; the other stream goes on.
				 * The output is cut short: nothing more is recorded. */
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
				recording = 0;
				continue;
			}
			if (recording && o->record(o->record_ctx, i + 1, buf, (size_t)n) != 0)
				recording = 0;
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	out_p[0] = err_p[0] = -1;
	while (!reaped && waitpid(pid, &res->wait_status, 0) < 0) {
		if (errno != EINTR) {
			pk_error_set(err, errno, "cannot wait for command");
			goto restore;
		}
	}
	res->duration_ms = mono_ms() - start;
	res->signal_received = got_signal;
	ret = 0;
restore:
	disarm_signals(old, &old_alarm);
out:
	for (int i = 0; i < 2; i++) {
		if (out_p[i] >= 0)
			close(out_p[i]);
		if (err_p[i] >= 0)
			close(err_p[i]);
		if (rep_p[i] >= 0)
			close(rep_p[i]);
	}
	pk_io_free(buf);
	return ret;
}

int pk_capture_status(const pk_capture_result *res)
{
	if (res->exec_errno != 0)
		return res->exec_errno == ENOENT || res->exec_errno == ENOTDIR ? PK_EXIT_NOTFOUND
		                                                               : PK_EXIT_NOEXEC;
	if (WIFSIGNALED(res->wait_status))
		return 128 + WTERMSIG(res->wait_status);
	if (WIFEXITED(res->wait_status))
		return WEXITSTATUS(res->wait_status);
	return PK_EXIT_FAILURE;
}
