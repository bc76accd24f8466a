/* trace.h: running a command with every file its process tree looks at
 * watched (pickled run --trace), and handing back what it did to each path.
 *
 * How it works.  The command runs under a seccomp-bpf filter that stops
 * only the file-access system calls (the open, stat, access, readlink,
 * exec, chdir, getdents, rename/link/unlink/mkdir and truncate families,
 * their at-variants, openat2, statx) and connect; every other call runs at
 * full speed.  A tracer process follows the whole tree with ptrace
 * (PTRACE_SEIZE with TRACESECCOMP, TRACECLONE/FORK/VFORK, TRACEEXEC,
 * EXITKILL): threads, vfork/posix_spawn and static binaries included.  It
 * takes at most one stop per watched call, at its entry: it reads the path
 * (process_vm_readv), resolves it as the kernel would (the caller's cwd, a
 * dirfd through /proc/PID/fd) and records it; what the call found is
 * judged from the file system (the tracer's own stat of the path when the
 * tree first touched it, and whatever the caller checks at the end).
 * The fast path: dynamically linked programs of the tree also get a small
 * shim through LD_PRELOAD (written for each run into a private folder
 * under $TMPDIR, removed after it) that records their read-only opens and
 * their stat, access and readlink calls in memory shared with the tracer
 * and makes them without a stop (trace_shm.h); everything else, and all
 * of a static or setuid program's calls, still stop.  The command's
 * environment therefore has two more variables: LD_PRELOAD (the shim,
 * then whatever it held) and PICKLED_TRACE_SHM.  opts.no_fast_path turns
 * it off.
 * io_uring_setup fails with ENOSYS inside the tree, so programs fall back
 * to calls the filter sees.  A system call of another ABI (32-bit int 0x80,
 * x32) cannot be watched: it runs, and the run is marked incomplete; so
 * do chroot, pivot_root and open_by_handle_at (paths would no longer mean
 * what the tracer resolves).
 *
 * The processes.  The caller sets pk_capture_opts.trace to the pk_trace
 * of pk_trace_create() (NULL: untraced) and calls pk_capture_run as usual.
 * capture forks; in the child, in place of exec'ing the command, it calls
 * pk_trace_exec().  That child becomes the
 * tracer: it forks the command's process, attaches to it, lets it install
 * the filter and call start() (which execs the command as capture's child
 * would), then follows the tree until its last process exits.  It passes
 * on the stop signals it receives from pickled (SIGINT, SIGTERM, SIGHUP,
 * SIGQUIT, sent to it alone) to the command, and finally exits with the
 * command's exit status, or dies by the signal that killed the command:
 * capture's wait status for it is the command's.  The tracer hands its
 * records to pickled through a memory file made by pk_trace_create() and
 * read by pk_trace_finish() after capture has reaped it.
 *
 * Fail safe, fail open.  When tracing cannot start (ptrace refused, as in
 * a container; pickled already under strace or gdb; seccomp unavailable;
 * the tracer cannot fork), the command still runs once, untraced, with the
 * same stdin, stdout, stderr and exit status, and the result says
 * PK_TRACE_UNTRACED and why.  When it started but something escaped it
 * (another ABI, a lost process, the record memory full, the tracer
 * killed), the result says PK_TRACE_INCOMPLETE and why.  Only
 * PK_TRACE_COMPLETE means that the whole tree was watched from its first
 * instruction to its last exit; any other state must not be cached.
 *
 * Privileges.  As root (CAP_SYS_ADMIN) the filter is installed without
 * no_new_privs, so setuid programs inside the job keep working.  As
 * another user the kernel requires no_new_privs: setuid and file-capability
 * programs in the tree then run without their privileges (the result's
 * no_new_privs says so).
 *
 * The tracer waits, as strace -f does, for every process of the tree:
 * a process the command leaves running keeps the run going, since a
 * process with the filter but without its tracer would see ENOSYS for
 * every watched call.
 *
 * Memory.  Records are kept once per path (a hash table over the path
 * strings), so a tree making any number of watched calls over a bounded set
 * of paths uses bounded memory; past PK_TRACE_MAX_BYTES of records (or
 * opts.max_bytes) the tracer stops recording, keeps the tree running, and
 * marks the run incomplete. */
#ifndef PK_TRACE_H
#define PK_TRACE_H

#include "error.h"
#include "trace_record.h" /* the records and the result */

typedef struct pk_trace_opts {
	size_t max_bytes; /* bound on the records' memory; 0: the default */
	int no_fast_path; /* every watched call stops the tree: no
	                     preloaded shim (tests, measurements) */
} pk_trace_opts;

typedef struct pk_trace pk_trace;

/* Prepares a traced run, in pickled, before capture forks: builds the
 * filter and the memory file the tracer will write.  opts may be NULL.
 * Returns NULL with err set when tracing cannot be prepared (libseccomp
 * fails, no memory file): the caller then runs the command untraced,
 * uncached, with one warning. */
pk_trace *pk_trace_create(const pk_trace_opts *opts, pk_error *err);

/* Called in the child of capture's fork, in place of exec: becomes the
 * tracer described above and never returns.  start(ctx) is called in the
 * command's process, after the filter is in place, and must exec the
 * command or _exit (as capture's exec code does: it resets the signals,
 * sets up the descriptors, reports a failed exec and _exits 127).  The
 * tracer closes every descriptor of its own but 0, 1, 2 and the memory
 * file once the command's process exists, so that the pipes capture reads
 * end with the command's tree. */
_Noreturn void pk_trace_exec(pk_trace *t, void (*start)(void *ctx), void *ctx);

/* After capture has reaped the tracer: reads its records into res (all
 * fields set; free with pk_trace_result_free).  A tracer that ended
 * without handing over its records gives state PK_TRACE_INCOMPLETE.
 * Returns 0, or -1 with err set (no memory): res is then empty. */
int pk_trace_finish(pk_trace *t, pk_trace_result *res, pk_error *err);

/* pk_trace_result_free (trace_record.h) frees what res owns. */

/* Frees t (closes the memory file); NULL is fine. */
void pk_trace_free(pk_trace *t);

#endif
