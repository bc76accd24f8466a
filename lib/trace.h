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
 * takes one stop per watched call, at its entry: it reads the path
 * (process_vm_readv), resolves it as the kernel would (the caller's cwd, a
 * dirfd through /proc/PID/fd) and records it; what the call found is
 * judged from the file system (the tracer's own stat of the path when the
 * tree first touched it, and whatever the caller checks at the end).
 * io_uring_setup fails with ENOSYS inside the tree, so programs fall back
 * to calls the filter sees.  A system call of another ABI (32-bit int 0x80,
 * x32) cannot be watched: it runs, and the run is marked incomplete.
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

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* The default bound on the records' memory in the tracer, and so in
 * pickled after pk_trace_finish (a little more: the result's arrays). */
#define PK_TRACE_MAX_BYTES (24u << 20)
/* At most this many distinct network peers are listed; more set
 * peers_truncated. */
#define PK_TRACE_MAX_PEERS 32

/* What the tree did to a path: any combination of these (PK_TRACE_*). */
enum {
	PK_TRACE_READ      = 1u << 0,  /* opened for reading (O_RDONLY, O_RDWR) */
	PK_TRACE_WRITE     = 1u << 1,  /* opened for writing (O_WRONLY, O_RDWR) */
	PK_TRACE_CREATE    = 1u << 2,  /* opened with O_CREAT, or creat(), mknod */
	PK_TRACE_TRUNC     = 1u << 3,  /* opened with O_TRUNC, or truncate() */
	PK_TRACE_STAT      = 1u << 4,  /* stat, statx, access (existence and
	                                  metadata, the last link followed) */
	PK_TRACE_LSTAT     = 1u << 5,  /* lstat or AT_SYMLINK_NOFOLLOW: the
	                                  link itself */
	PK_TRACE_READLINK  = 1u << 6,  /* readlink: a symbolic link's target */
	PK_TRACE_LIST      = 1u << 7,  /* getdents on a descriptor of this
	                                  directory: its listing */
	PK_TRACE_EXEC      = 1u << 8,  /* executed (execve, execveat; also the
	                                  program the kernel ran for it: a #!
	                                  interpreter, from /proc/PID/exe) */
	PK_TRACE_CHDIR     = 1u << 9,  /* chdir, fchdir */
	PK_TRACE_UNLINK    = 1u << 10, /* unlink, unlinkat, rmdir */
	PK_TRACE_RENAME_FROM = 1u << 11, /* renamed away (rename's old name) */
	PK_TRACE_RENAME_TO = 1u << 12, /* renamed onto (rename's new name) */
	PK_TRACE_LINK_TO   = 1u << 13, /* made by link or symlink (new name) */
	PK_TRACE_MKDIR     = 1u << 14, /* mkdir, mkdirat */
	PK_TRACE_LOOKUP    = 1u << 15, /* looked up only: open with O_PATH,
	                                  or a link's old name */
	PK_TRACE_DIRECTORY = 1u << 16, /* opened with O_DIRECTORY */
};

/* Which of the flags read the path's state (content, listing, target,
 * existence) and which change it: first_read_seq and first_write_seq. */
#define PK_TRACE_READS                                                          \
	(PK_TRACE_READ | PK_TRACE_STAT | PK_TRACE_LSTAT | PK_TRACE_READLINK |     \
	 PK_TRACE_LIST | PK_TRACE_EXEC | PK_TRACE_CHDIR | PK_TRACE_LOOKUP |      \
	 PK_TRACE_DIRECTORY)
#define PK_TRACE_WRITES                                                         \
	(PK_TRACE_WRITE | PK_TRACE_CREATE | PK_TRACE_TRUNC | PK_TRACE_UNLINK |    \
	 PK_TRACE_RENAME_FROM | PK_TRACE_RENAME_TO | PK_TRACE_LINK_TO |         \
	 PK_TRACE_MKDIR)

/* The path as the tracer found it (stat, or lstat for PK_TRACE_LSTAT,
 * READLINK, UNLINK, RENAME_*, LINK_TO, MKDIR first touches) just before the
 * tree's first watched call on it ran. */
typedef struct pk_trace_stat {
	int exists;                /* 0: absent (ENOENT, ENOTDIR); the rest is 0 */
	mode_t mode;               /* type and permissions */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
} pk_trace_stat;

/* One path the tree looked at.  Sequence numbers count the tree's watched
 * calls from 1 in the order the tracer saw them (one thread's calls in its
 * order; the calls of different threads interleaved as they happened);
 * 0 means never. */
typedef struct pk_trace_record {
	const char *path;          /* absolute; "." and empty components removed,
	                              ".." kept (a symlink before it changes what
	                              it means); owned by the result */
	uint32_t flags;            /* PK_TRACE_* */
	uint64_t first_seq;        /* the first call that touched it */
	uint64_t first_read_seq;   /* the first with a flag in PK_TRACE_READS */
	uint64_t first_write_seq;  /* the first with a flag in PK_TRACE_WRITES */
	pk_trace_stat first;       /* the path before first_seq ran */
} pk_trace_record;

/* A network peer: "1.2.3.4:443", "[2001:db8::1]:53".  Unix sockets and
 * loopback (127/8, ::1, ::ffff:127/104) are not peers. */
typedef struct pk_trace_peer {
	char addr[64];
} pk_trace_peer;

typedef enum pk_trace_state {
	PK_TRACE_COMPLETE = 0,     /* the whole tree watched: may be cached */
	PK_TRACE_INCOMPLETE,       /* traced, but something escaped: why says what */
	PK_TRACE_UNTRACED,         /* tracing could not start; the command ran
	                              untraced: why says why (warn once) */
} pk_trace_state;

typedef struct pk_trace_result {
	pk_trace_state state;
	char why[256];             /* state != COMPLETE: the first reason, e.g.
	                              "ptrace: Operation not permitted",
	                              "already traced by process 123 (strace)",
	                              "a 32-bit system call (int 0x80) in process 45" */
	int no_new_privs;          /* the filter needed no_new_privs (not root) */
	uint64_t calls;            /* watched calls seen */
	uint64_t processes;        /* processes (and threads) followed */
	int wait_status;           /* the command's, as the tracer reaped it
	                              (capture's wait status of the tracer is the
	                              same exit code or signal) */
	struct timespec started;   /* CLOCK_REALTIME just before the command's
	                              exec (compare with mtime and ctime) */
	pk_trace_record *records;  /* sorted by first_seq; owned by the result */
	size_t nrecords;
	pk_trace_peer *peers;      /* in first-connect order; owned by the result */
	size_t npeers;
	int peers_truncated;       /* more than PK_TRACE_MAX_PEERS distinct peers */
} pk_trace_result;

typedef struct pk_trace_opts {
	size_t max_bytes;          /* bound on the records' memory; 0: the default */
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

/* Frees what res owns (res itself is the caller's); NULL is fine. */
void pk_trace_result_free(pk_trace_result *res);

/* Frees t (closes the memory file); NULL is fine. */
void pk_trace_free(pk_trace *t);

#endif
