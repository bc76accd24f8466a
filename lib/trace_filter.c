/* trace_filter.c: the traced run's seccomp filter (see trace_filter.h). */
#include "trace_filter.h"

#include "io.h"
#include "trace_calls.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Building takes a millisecond or two; this bounds a child that never
 * ends, with room for a loaded machine or valgrind. */
#define BUILD_TIMEOUT_MS 5000

/* Call numbers checked: every native one there is, and then some. */
#define CHECKED_CALLS 1024

/* x32's calls are the native numbers with this bit (asm/unistd.h). */
#define X32_BIT 0x40000000u

/* Writes the filter to fd.  Returns 0 or -errno. */
static int export_filter(uint64_t magic, int fd)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int rc;

	if (ctx == NULL)
		return -ENOMEM;
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	                           SCMP_ACT_TRACE(TRACE_TAG_BADARCH))) < 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) < 0 ||
	    /* A binary tree of the call numbers: every call of the command
	     * runs the filter, most of them calls it lets through. */
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) < 0)
		goto out;
	/* r9, the sixth argument: no watched call has six, so only the fast
	 * path (trace_shm.h) puts the magic number there. */
	struct scmp_arg_cmp not_magic = { .arg = 5, .op = SCMP_CMP_NE, .datum_a = magic };
	for (size_t i = 0; i < trace_nwatched; i++)
		if ((rc = seccomp_rule_add_array(ctx, SCMP_ACT_TRACE((uint32_t)trace_watched[i]),
		                                 trace_watched[i], 1, &not_magic)) < 0)
			goto out;
	/* The ring's I/O is not system calls the filter could see. */
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(io_uring_setup), 0)) < 0)
		goto out;
	rc = seccomp_export_bpf(ctx, fd);
out:
	seccomp_release(ctx);
	return rc;
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs export_filter in a child, given BUILD_TIMEOUT_MS.  Returns 0, or
 * -errno (-ETIMEDOUT: no answer; -ECHILD: the child died). */
static int export_filter_bounded(uint64_t magic, int fd)
{
	int done[2], status = 0, rc;
	pid_t pid;

	if (pipe2(done, O_CLOEXEC) < 0)
		return -errno;
	if ((pid = fork()) < 0) {
		rc = -errno;
		close(done[0]);
		close(done[1]);
		return rc;
	}
	if (pid == 0) {
		/* Nothing of libc's complaints (a double free) on the job's
		 * stderr: the parent says what went wrong, in one line. */
		close(STDERR_FILENO);
		close(done[0]);
		rc = export_filter(magic, fd);
		_exit(rc == 0 ? 0 : rc > -256 ? -rc : EINVAL);
	}
	close(done[1]);
	/* The child's end of the pipe closes when it exits or is killed. */
	struct pollfd pfd = { done[0], POLLIN, 0 };
	int64_t deadline = monotonic_ms() + BUILD_TIMEOUT_MS, left;
	rc = -ETIMEDOUT;
	while ((left = deadline - monotonic_ms()) > 0) {
		int n = poll(&pfd, 1, (int)left);
		if (n > 0) {
			rc = 0;
			break;
		}
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
	}
	if (rc < 0)
		kill(pid, SIGKILL);
	close(done[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			/* SIGCHLD ignored: reaped already; the check decides. */
			status = 0;
			break;
		}
	if (rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0)
		rc = -WEXITSTATUS(status);
	else if (rc == 0 && !WIFEXITED(status))
		rc = -ECHILD;
	return rc;
}

int pk_trace_filter_build(uint64_t magic, struct sock_filter **prog, unsigned short *len,
                          pk_error *err)
{
	struct sock_filter *p = NULL;
	struct stat st;
	const char *wrong;
	int fd, rc;

	if ((fd = memfd_create("pickled-filter", MFD_CLOEXEC)) < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = export_filter_bounded(magic, fd)) < 0)
		goto fail;
	rc = -EINVAL;
	if (fstat(fd, &st) < 0 || st.st_size == 0 || st.st_size % sizeof(*p) != 0 ||
	    st.st_size / sizeof(*p) > BPF_MAXINSNS)
		goto fail;
	if ((p = malloc((size_t)st.st_size)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if (pk_pread_full(fd, p, (size_t)st.st_size, 0) != st.st_size) {
		rc = -EIO;
		goto fail;
	}
	if ((wrong = pk_trace_filter_check(p, (size_t)st.st_size / sizeof(*p), magic)) != NULL) {
		pk_error_set(err, 0, "the trace filter is wrong: %s", wrong);
		goto out;
	}
	*prog = p;
	*len = (unsigned short)(st.st_size / sizeof(*p));
	close(fd);
	return 0;
fail:
	if (rc == -ETIMEDOUT)
		pk_error_set(err, 0, "cannot build the trace filter: no answer in %d s",
		             BUILD_TIMEOUT_MS / 1000);
	else if (rc == -ECHILD)
		pk_error_set(err, 0, "cannot build the trace filter: its builder died");
	else
		pk_error_set(err, -rc, "cannot build the trace filter");
out:
	free(p);
	if (fd >= 0)
		close(fd);
	return -1;
}

/* ---- the check: classic BPF, as the kernel runs it for seccomp ---- */

/* Runs prog over d.  Returns the action, or 0 (SECCOMP_RET_KILL_THREAD,
 * never asked for here) for a program the kernel would refuse. */
static uint32_t run_filter(const struct sock_filter *prog, size_t len, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };
	unsigned char data[sizeof(*d)];

	memcpy(data, d, sizeof(data));
	for (size_t pc = 0; pc < len; pc++) {
		const struct sock_filter *f = &prog[pc];
		uint32_t src = BPF_SRC(f->code) == BPF_X ? x : f->k;
		size_t jump = 0;

		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
		case BPF_LDX: {
			uint32_t v;
			if (BPF_MODE(f->code) == BPF_ABS && BPF_SIZE(f->code) == BPF_W &&
			    f->k % 4 == 0 && f->k <= sizeof(data) - 4)
				memcpy(&v, data + f->k, 4);
			else if (BPF_MODE(f->code) == BPF_IMM)
				v = f->k;
			else if (BPF_MODE(f->code) == BPF_MEM && f->k < BPF_MEMWORDS)
				v = mem[f->k];
			else if (BPF_MODE(f->code) == BPF_LEN)
				v = (uint32_t)sizeof(data);
			else
				return 0;
			if (BPF_CLASS(f->code) == BPF_LD)
				a = v;
			else
				x = v;
			break;
		}
		case BPF_ST:
		case BPF_STX:
			if (f->k >= BPF_MEMWORDS)
				return 0;
			mem[f->k] = BPF_CLASS(f->code) == BPF_ST ? a : x;
			break;
		case BPF_ALU:
			switch (BPF_OP(f->code)) {
			case BPF_ADD: a += src; break;
			case BPF_SUB: a -= src; break;
			case BPF_MUL: a *= src; break;
			case BPF_DIV:
				if (src == 0)
					return 0;
				a /= src;
				break;
			case BPF_MOD:
				if (src == 0)
					return 0;
				a %= src;
				break;
			case BPF_AND: a &= src; break;
			case BPF_OR: a |= src; break;
			case BPF_XOR: a ^= src; break;
			case BPF_LSH: a = src < 32 ? a << src : 0; break;
			case BPF_RSH: a = src < 32 ? a >> src : 0; break;
			case BPF_NEG: a = (uint32_t)-a; break;
			default: return 0;
			}
			break;
		case BPF_JMP: {
			int taken;
			switch (BPF_OP(f->code)) {
			case BPF_JA:
				jump = f->k;
				taken = -1;
				break;
			case BPF_JEQ: taken = a == src; break;
			case BPF_JGT: taken = a > src; break;
			case BPF_JGE: taken = a >= src; break;
			case BPF_JSET: taken = (a & src) != 0; break;
			default: return 0;
			}
			if (taken >= 0)
				jump = taken ? f->jt : f->jf;
			if (jump >= len - pc)
				return 0;
			pc += jump;
			break;
		}
		case BPF_RET: return BPF_RVAL(f->code) == BPF_A ? a : f->k;
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		default: return 0;
		}
	}
	return 0; /* ran off the end */
}

static int watched(uint32_t nr)
{
	for (size_t i = 0; i < trace_nwatched; i++)
		if ((uint32_t)trace_watched[i] == nr)
			return 1;
	return 0;
}

/* What prog does with call nr of arch with sixth argument arg5. */
static uint32_t action(const struct sock_filter *prog, size_t len, uint32_t arch, uint32_t nr,
                       uint64_t arg5)
{
	struct seccomp_data d;

	memset(&d, 0, sizeof(d));
	d.arch = arch;
	d.nr = (int)nr;
	d.args[5] = arg5;
	return run_filter(prog, len, &d);
}

const char *pk_trace_filter_check(const struct sock_filter *prog, size_t len, uint64_t magic)
{
	/* The magic number, and numbers that differ from it in one half. */
	const uint64_t args[] = { magic, 0, magic ^ 1, magic ^ ((uint64_t)1 << 32) };
	const uint32_t badarch = SECCOMP_RET_TRACE | TRACE_TAG_BADARCH;

	for (uint32_t nr = 0; nr < CHECKED_CALLS; nr++) {
		int w = watched(nr);
		/* Past the magic number itself, the others only matter to a
		 * watched call. */
		for (size_t i = 0; i < (w ? sizeof(args) / sizeof(args[0]) : 2); i++) {
			uint32_t want = SECCOMP_RET_ALLOW;
			if (nr == SYS_io_uring_setup)
				want = SECCOMP_RET_ERRNO | ENOSYS;
			else if (w && i > 0)
				want = SECCOMP_RET_TRACE | nr;
			if (action(prog, len, AUDIT_ARCH_X86_64, nr, args[i]) != want)
				return w ? "a watched call" : "another call";
		}
		/* The other ABIs' calls stop, whatever they are. */
		if (action(prog, len, AUDIT_ARCH_X86_64, nr | X32_BIT, 0) != badarch)
			return "an x32 call";
		if (action(prog, len, AUDIT_ARCH_I386, nr, 0) != badarch)
			return "a 32-bit call";
	}
	return NULL;
}
