/* trace.c: the tracer process (see trace.h): the filter, the start of the
 * command under it, following the tree, and the hand-over of the records.
 *
 * One stop per watched call: the filter returns SECCOMP_RET_TRACE for the
 * file-access calls, the tracer records the call at that stop and lets it
 * run; it never asks for the call's exit.  What the call found is judged
 * from the file system: the tracer stats a path the first time the tree
 * touches it, and the caller looks at it again after the run. */
#include "trace.h"

#include "exitstatus.h"
#include "io.h"
#include "sig.h"
#include "trace_calls.h"
#include "trace_fast.h"
#include "trace_filter.h"
#include "trace_shm.h"
#include "trace_table.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct pk_trace {
	int memfd;                /* the tracer's records, for pk_trace_finish */
	struct sock_filter *prog; /* the filter, built by libseccomp */
	unsigned short prog_len;
	size_t max_bytes;
	int fast;       /* preload the fast path (trace_shm.h) */
	uint64_t magic; /* r9 of the fast path's own calls */
};

pk_trace *pk_trace_create(const pk_trace_opts *opts, pk_error *err)
{
	pk_trace *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		pk_error_set(err, ENOMEM, "cannot trace");
		return NULL;
	}
	t->max_bytes = opts != NULL ? opts->max_bytes : 0;
	t->fast = opts == NULL || !opts->no_fast_path;
	/* Unguessable, so that no program passes it by chance; never 0, the
	 * shim's "not active". */
	while (t->magic == 0)
		if (getrandom(&t->magic, sizeof(t->magic), 0) != (ssize_t)sizeof(t->magic)) {
			pk_error_set(err, errno, "cannot trace: getrandom");
			free(t);
			return NULL;
		}
	if ((t->memfd = memfd_create("pickled-trace", MFD_CLOEXEC)) < 0) {
		pk_error_set(err, errno, "cannot trace: memfd_create");
		free(t);
		return NULL;
	}
	if (pk_trace_filter_build(t->magic, &t->prog, &t->prog_len, err) < 0) {
		pk_trace_free(t);
		return NULL;
	}
	return t;
}

void pk_trace_free(pk_trace *t)
{
	if (t == NULL)
		return;
	if (t->memfd >= 0)
		close(t->memfd);
	free(t->prog);
	free(t);
}

int pk_trace_finish(pk_trace *t, pk_trace_result *res, pk_error *err)
{
	if (trace_table_read(t->memfd, res) < 0)
		return pk_error_set(err, errno, "cannot read the trace");
	return 0;
}

/* ---- the tracer process ---- */

/* Whom a stop signal is passed on to (0: not started yet: kept in
 * pending_signal until it is). */
static volatile sig_atomic_t command_pid;
static volatile sig_atomic_t pending_signal;

static void pass_on(int sig, siginfo_t *info, void *uctx)
{
	(void)uctx;
	/* From the terminal the whole process group, the command included,
	 * got it already. */
	if (info->si_code == SI_KERNEL)
		return;
	if (command_pid > 0)
		kill((pid_t)command_pid, sig);
	else
		pending_signal = sig;
}

/* Over the stop signals pickled passes on (those not ignored): the
 * command's process resets them before its exec, as capture's child does. */
static void arm_pass_on(void)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = pass_on;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < PK_SIG_NSTOP; i++)
		if (sigaction(pk_sig_stop[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(pk_sig_stop[i], &sa, NULL);
}

/* Non-zero when this process is itself traced (strace -f, gdb): the
 * command's process is then taken by that tracer, or cannot be by this
 * one.  Writes the other tracer's pid and name into why. */
static int traced_already(char *why, size_t size)
{
	char line[256], comm[64] = "?", path[64];
	FILE *f = fopen("/proc/self/status", "re");
	long pid = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "TracerPid: %ld", &pid) == 1)
			break;
	fclose(f);
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if ((f = fopen(path, "re")) != NULL) {
		if (fgets(comm, sizeof(comm), f) != NULL)
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	snprintf(why, size, "already traced by process %ld (%s)", pid, comm);
	return 1;
}

/* Closes every descriptor but 0, 1, 2 and keep: the pipes capture reads
 * must end with the command's tree, not with the tracer. */
static void close_others(int keep)
{
	if (keep > 3)
		close_range(3, (unsigned)keep - 1, 0);
	if (close_range((unsigned)keep + 1, ~0u, 0) < 0) {
		struct rlimit rl;
		rlim_t n = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
		if (n > 65536)
			n = 65536;
		for (rlim_t fd = 3; fd < n; fd++)
			if ((int)fd != keep)
				close((int)fd);
	}
}

/* Fail open: hands over an UNTRACED table and becomes the command. */
static _Noreturn void run_untraced(pk_trace *t, struct trace_table *tab, void (*start)(void *),
                                   void *ctx)
{
	trace_table_write(tab, t->memfd);
	start(ctx);
	_exit(PK_EXIT_NOTFOUND);
}

/* Ends the tracer as the command ended: the same exit code, or death by
 * the same signal. */
static _Noreturn void mirror(int status)
{
	if (WIFSIGNALED(status)) {
		pk_sig_die_by(WTERMSIG(status));
		_exit(128 + WTERMSIG(status));
	}
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : PK_EXIT_FAILURE);
}

/* Puts the filter in place: seccomp(2), or prctl(2) where seccomp(2) is
 * not known (valgrind, which runs pickled's tests, passes prctl on).
 * Returns 0, or -1 with errno set. */
static int install(const struct sock_fprog *prog)
{
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0);
}

/* What the command's process tells the tracer before it starts the
 * command. */
struct report {
	int seccomp_errno; /* the filter could not be put in place */
	int no_new_privs;  /* set to put it in place */
	int word_errno;    /* the tracer's word could not be read */
};

/* AddressSanitizer's leak checker stops the world with ptrace, which a
 * process already traced cannot do (as under strace or gdb): it fails the
 * job at its exit.  Its link-order check refuses the fast path's shim in
 * LD_PRELOAD.  Both are turned off for the command, in front of its own
 * ASAN_OPTIONS, whose flags come later and so win. */
static void sanitizer_env(void)
{
	static const char ours[] = "detect_leaks=0:verify_asan_link_order=0";
	const char *old = getenv("ASAN_OPTIONS");
	char both[4096];
	int n;

	if (old == NULL || old[0] == '\0') {
		setenv("ASAN_OPTIONS", ours, 1);
		return;
	}
	n = snprintf(both, sizeof(both), "%s:%s", ours, old);
	if (n > 0 && (size_t)n < sizeof(both))
		setenv("ASAN_OPTIONS", both, 1);
}

/* The command's process: waits for the tracer's word ('T': trace, 'U':
 * untraced), puts the filter in place, reports how that went, and starts
 * the command, whatever went wrong: the job runs, untraced at worst. */
static _Noreturn void command(pk_trace *t, const struct trace_fast *fast, int go, int ack,
                              void (*start)(void *), void *ctx)
{
	struct sock_fprog prog = { t->prog_len, t->prog };
	struct report rep = { 0, 0, 0 };
	char c = 0;
	ssize_t n;

	while ((n = read(go, &c, 1)) < 0 && errno == EINTR)
		;
	if (n != 1) {
		rep.word_errno = n < 0 ? errno : EPIPE;
		c = 'U';
	}
	if (c == 'T' && install(&prog) < 0) {
		rep.seccomp_errno = errno;
		/* Without CAP_SYS_ADMIN the kernel wants no_new_privs first. */
		if (errno == EACCES && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) {
			rep.no_new_privs = 1;
			rep.seccomp_errno = install(&prog) < 0 ? errno : 0;
		}
	}
	/* Unsaid, the tracer takes the run for untraced. */
	int said = pk_write_all(ack, &rep, sizeof(rep)) == 0;
	if (said && c == 'T' && rep.seccomp_errno == 0) {
		trace_fast_env(fast);
		sanitizer_env();
	}
	close(ack);
	close(go);
	start(ctx);
	_exit(PK_EXIT_NOTFOUND);
}

/* Follows the tree until its last process is gone.  Returns non-zero when
 * the command's own exit was seen (its status in tab->wait_status). */
static int follow(struct trace_table *tab, pid_t cmd)
{
	int status, seen = 0, errors = 0;
	pid_t p;

	for (;;) {
		p = waitpid(-1, &status, __WALL);
		if (p < 0) {
			/* ECHILD: no process of the tree is left, but never
			 * before the command's own process (a child) was
			 * reaped.  Other errors are tried again too, a while:
			 * giving up kills the tree (PTRACE_O_EXITKILL). */
			if (errno == EINTR)
				continue;
			if ((errno != ECHILD || !seen) && ++errors < 1000)
				continue;
			break;
		}
		errors = 0;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (p == cmd) {
				tab->wait_status = status;
				command_pid = 0;
				seen = 1;
			}
			continue;
		}
		if (!WIFSTOPPED(status))
			continue;
		int sig = WSTOPSIG(status), inject = 0;
		switch ((unsigned)status >> 16) {
		case PTRACE_EVENT_SECCOMP: trace_call(tab, p); break;
		case PTRACE_EVENT_CLONE:
		case PTRACE_EVENT_FORK:
		case PTRACE_EVENT_VFORK: tab->processes++; break;
		case PTRACE_EVENT_EXEC: trace_exec_done(tab, p); break;
		case PTRACE_EVENT_STOP:
			/* A group stop (SIGSTOP, SIGTSTP...) stays a stop until
			 * SIGCONT, as without a tracer; other event stops (a new
			 * process's first) go on. */
			if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
				ptrace(PTRACE_LISTEN, p, 0, 0);
				continue;
			}
			break;
		case 0:
			inject = sig; /* a signal for the tracee: deliver it */
			break;
		default: break;
		}
		ptrace(PTRACE_CONT, p, 0, (void *)(intptr_t)inject);
	}
	return seen;
}

_Noreturn void pk_trace_exec(pk_trace *t, void (*start)(void *ctx), void *ctx)
{
	struct trace_table tab;
	struct trace_fast fast;
	int go[2] = { -1, -1 }, ack[2] = { -1, -1 };
	struct report rep = { 0, 0, 0 };
	pid_t pid;

	arm_pass_on();
	if (trace_table_init(&tab, t->max_bytes) < 0) {
		memset(&tab, 0, sizeof(tab));
		trace_table_fail(&tab, PK_TRACE_UNTRACED, "cannot trace: out of memory");
		run_untraced(t, &tab, start, ctx);
	}
	tab.processes = 1;
	clock_gettime(CLOCK_REALTIME, &tab.started);
	if (traced_already(tab.why, sizeof(tab.why))) {
		tab.state = PK_TRACE_UNTRACED;
		run_untraced(t, &tab, start, ctx);
	}
	memset(&fast, 0, sizeof(fast));
	if (t->fast && trace_fast_open(&fast, t->magic) == 0) {
		tab.shared_seq = &fast.shm->seq;
		tab.skip = fast.dir;
	}
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(ack, O_CLOEXEC) < 0) {
		trace_table_fail(&tab, PK_TRACE_UNTRACED, "cannot trace: pipe: %s",
		                 strerror(errno));
		trace_fast_close(&fast);
		run_untraced(t, &tab, start, ctx);
	}
	if ((pid = fork()) < 0) {
		trace_table_fail(&tab, PK_TRACE_UNTRACED, "cannot trace: fork: %s",
		                 strerror(errno));
		close(go[0]);
		close(go[1]);
		close(ack[0]);
		close(ack[1]);
		trace_fast_close(&fast);
		run_untraced(t, &tab, start, ctx);
	}
	if (pid == 0) {
		close(go[1]);
		close(ack[0]);
		command(t, &fast, go[0], ack[1], start, ctx);
	}
	command_pid = pid;
	close(go[0]);
	close(ack[1]);
	if (ptrace(PTRACE_SEIZE, pid, 0,
	           PTRACE_O_TRACESECCOMP | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK |
	                   PTRACE_O_TRACEVFORK | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL) < 0)
		trace_table_fail(&tab, PK_TRACE_UNTRACED, "cannot trace: ptrace: %s",
		                 strerror(errno));
	clock_gettime(CLOCK_REALTIME, &tab.started);
	if (pk_write_all(go[1], tab.state == PK_TRACE_COMPLETE ? "T" : "U", 1) < 0)
		trace_table_fail(&tab, PK_TRACE_UNTRACED, "cannot trace: write: %s",
		                 strerror(errno));
	close(go[1]);
	if (pk_read_full(ack[0], &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		trace_table_fail(&tab, PK_TRACE_UNTRACED,
		                 "cannot trace: no word from the command's process");
	else if (rep.word_errno != 0)
		trace_table_fail(&tab, PK_TRACE_UNTRACED, "cannot trace: read: %s",
		                 strerror(rep.word_errno));
	else if (rep.seccomp_errno != 0)
		trace_table_fail(&tab, PK_TRACE_UNTRACED, "cannot trace: seccomp: %s",
		                 strerror(rep.seccomp_errno));
	tab.no_new_privs = rep.no_new_privs;
	close(ack[0]);
	close_others(t->memfd);
	if (pending_signal)
		kill(pid, pending_signal);

	if (!follow(&tab, pid)) {
		trace_table_fail(&tab, PK_TRACE_INCOMPLETE, "the command's end was not seen");
		tab.wait_status = PK_EXIT_FAILURE << 8;
	}
	trace_fast_drain(&fast, &tab);
	trace_fast_close(&fast);
	tab.skip = NULL;
	if (trace_table_write(&tab, t->memfd) < 0) {
		/* pk_trace_finish then finds no table: INCOMPLETE. */
	}
	mirror(tab.wait_status);
}
