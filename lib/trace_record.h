/* trace_record.h: what the tracer hands back (trace.h): one record per path
 * the traced tree looked at, and the run-level facts.  Its own header, below
 * trace.h and the tracer's internals, so that all of them can share the
 * types without including each other. */
#ifndef PK_TRACE_RECORD_H
#define PK_TRACE_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
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
	PK_TRACE_READ = 1u << 0,         /* opened for reading (O_RDONLY, O_RDWR) */
	PK_TRACE_WRITE = 1u << 1,        /* opened for writing (O_WRONLY, O_RDWR) */
	PK_TRACE_CREATE = 1u << 2,       /* opened with O_CREAT, or creat(), mknod */
	PK_TRACE_TRUNC = 1u << 3,        /* opened with O_TRUNC, or truncate() */
	PK_TRACE_STAT = 1u << 4,         /* stat, statx, access (existence and
	                                    metadata, the last link followed) */
	PK_TRACE_LSTAT = 1u << 5,        /* lstat or AT_SYMLINK_NOFOLLOW: the
	                                    link itself */
	PK_TRACE_READLINK = 1u << 6,     /* readlink: a symbolic link's target */
	PK_TRACE_LIST = 1u << 7,         /* getdents on a descriptor of this
	                                    directory: its listing */
	PK_TRACE_EXEC = 1u << 8,         /* executed (execve, execveat; also the
	                                    program the kernel ran for it: a #!
	                                    interpreter, from /proc/PID/exe) */
	PK_TRACE_CHDIR = 1u << 9,        /* chdir, fchdir */
	PK_TRACE_UNLINK = 1u << 10,      /* unlink, unlinkat, rmdir */
	PK_TRACE_RENAME_FROM = 1u << 11, /* renamed away (rename's old name) */
	PK_TRACE_RENAME_TO = 1u << 12,   /* renamed onto (rename's new name) */
	PK_TRACE_LINK_TO = 1u << 13,     /* made by link or symlink (new name) */
	PK_TRACE_MKDIR = 1u << 14,       /* mkdir, mkdirat */
	PK_TRACE_LOOKUP = 1u << 15,      /* looked up only: open with O_PATH,
	                                    or a link's old name */
	PK_TRACE_DIRECTORY = 1u << 16,   /* opened with O_DIRECTORY */
};

/* Which of the flags read the path's state (content, listing, target,
 * existence) and which change it: first_read_seq and first_write_seq. */
#define PK_TRACE_READS                                                                             \
	(PK_TRACE_READ | PK_TRACE_STAT | PK_TRACE_LSTAT | PK_TRACE_READLINK | PK_TRACE_LIST |      \
	 PK_TRACE_EXEC | PK_TRACE_CHDIR | PK_TRACE_LOOKUP | PK_TRACE_DIRECTORY)
#define PK_TRACE_WRITES                                                                            \
	(PK_TRACE_WRITE | PK_TRACE_CREATE | PK_TRACE_TRUNC | PK_TRACE_UNLINK |                     \
	 PK_TRACE_RENAME_FROM | PK_TRACE_RENAME_TO | PK_TRACE_LINK_TO | PK_TRACE_MKDIR)

/* The path as the tracer found it (stat, or lstat for PK_TRACE_LSTAT,
 * READLINK, UNLINK, RENAME_*, LINK_TO, MKDIR first touches) just before the
 * tree's first watched call on it ran. */
typedef struct pk_trace_stat {
	int exists;  /* 0: absent (ENOENT, ENOTDIR); the rest is 0 */
	mode_t mode; /* type and permissions */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
} pk_trace_stat;

/* Fills ps from st, a path found there.  Inline: the preloaded shim, which
 * links nothing of lib/, fills its slots with it too. */
static inline void pk_trace_stat_from(pk_trace_stat *ps, const struct stat *st)
{
	ps->exists = 1;
	ps->mode = st->st_mode;
	ps->dev = st->st_dev;
	ps->ino = st->st_ino;
	ps->size = st->st_size;
	ps->mtime = st->st_mtim;
	ps->ctime = st->st_ctim;
}

/* One path the tree looked at.  Sequence numbers count the tree's watched
 * calls from 1 in the order the tracer saw them (one thread's calls in its
 * order; the calls of different threads interleaved as they happened);
 * 0 means never. */
typedef struct pk_trace_record {
	const char *path;         /* absolute; "." and empty components removed,
	                             ".." kept (a symlink before it changes what
	                             it means); owned by the result */
	uint32_t flags;           /* PK_TRACE_* */
	uint64_t first_seq;       /* the first call that touched it */
	uint64_t first_read_seq;  /* the first with a flag in PK_TRACE_READS */
	uint64_t first_write_seq; /* the first with a flag in PK_TRACE_WRITES */
	pk_trace_stat first;      /* the path before first_seq ran */
} pk_trace_record;

/* A network peer: "1.2.3.4:443", "[2001:db8::1]:53".  Unix sockets and
 * loopback (127/8, ::1, ::ffff:127/104) are not peers. */
typedef struct pk_trace_peer {
	char addr[64];
} pk_trace_peer;

typedef enum pk_trace_state {
	PK_TRACE_COMPLETE = 0, /* the whole tree watched: may be cached */
	PK_TRACE_INCOMPLETE,   /* traced, but something escaped: why says what */
	PK_TRACE_UNTRACED,     /* tracing could not start; the command ran
	                          untraced: why says why (warn once) */
} pk_trace_state;

typedef struct pk_trace_result {
	pk_trace_state state;
	char why[256];            /* state != COMPLETE: the first reason, e.g.
	                             "ptrace: Operation not permitted",
	                             "already traced by process 123 (strace)",
	                             "a 32-bit system call (int 0x80) in process 45" */
	int no_new_privs;         /* the filter needed no_new_privs (not root) */
	uint64_t calls;           /* watched calls seen */
	uint64_t stops;           /* of which stopped the tree (the others went
	                             through the fast path, see trace_shm.h) */
	uint64_t processes;       /* processes (and threads) followed */
	int wait_status;          /* the command's, as the tracer reaped it
	                             (capture's wait status of the tracer is the
	                             same exit code or signal) */
	struct timespec started;  /* CLOCK_REALTIME just before the command's
	                             exec (compare with mtime and ctime) */
	pk_trace_record *records; /* sorted by first_seq; owned by the result */
	size_t nrecords;
	pk_trace_peer *peers; /* in first-connect order; owned by the result */
	size_t npeers;
	int peers_truncated; /* more than PK_TRACE_MAX_PEERS distinct peers */
} pk_trace_result;

/* Frees what res owns (res itself is the caller's); NULL is fine. */
void pk_trace_result_free(pk_trace_result *res);

#endif
