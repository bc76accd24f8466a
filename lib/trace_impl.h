/* trace_impl.h: what the tracer's files share (trace.c runs the tree,
 * trace_calls.c decodes one watched call, trace_table.c keeps the records).
 * Internal to them; trace.h is the contract. */
#ifndef PK_TRACE_IMPL_H
#define PK_TRACE_IMPL_H

#include "trace.h"

#include <stdint.h>
#include <sys/types.h>

/* One path in the tracer, deduplicated in a hash table.  The path itself
 * is in the table's arena, at off. */
struct trace_rec {
	uint64_t hash;
	uint32_t off, len;
	uint32_t flags;
	uint64_t first_seq, first_read_seq, first_write_seq;
	pk_trace_stat first;
};

/* The tracer's state: records, peers and the run-level facts, all of
 * which end up in the memory file. */
struct trace_table {
	struct trace_rec *recs;
	size_t nrecs, caprecs;
	uint32_t *slots;           /* index + 1 into recs; 0: empty */
	size_t nslots;             /* a power of two */
	char *arena;               /* the paths, each NUL-terminated */
	size_t arena_len, arena_cap;
	size_t max_bytes;          /* bound on recs + slots + arena */
	int full;                  /* a new path was refused for the bound */
	pk_trace_peer peers[PK_TRACE_MAX_PEERS];
	size_t npeers;
	int peers_truncated;
	uint64_t seq;              /* watched calls seen */
	uint64_t processes;
	pk_trace_state state;
	char why[256];
	int no_new_privs;
	int wait_status;
	struct timespec started;
};

/* Sets up t with a bound of max_bytes (0: PK_TRACE_MAX_BYTES).
 * Returns 0, or -1 with errno set. */
int trace_table_init(struct trace_table *t, size_t max_bytes);
void trace_table_destroy(struct trace_table *t);

/* Marks the run state (INCOMPLETE or UNTRACED) with a reason, unless it
 * already has one: the first reason is the one reported. */
void trace_table_fail(struct trace_table *t, pk_trace_state state, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records that the call numbered t->seq did flags to path (absolute,
 * normalized, len bytes).  nofollow: a first stat of the path is an lstat.
 * Paths under /proc, /sys and /dev are not recorded. */
void trace_table_add(struct trace_table *t, const char *path, size_t len, uint32_t flags,
                     int nofollow);

/* Records a network peer (already formatted), once. */
void trace_table_peer(struct trace_table *t, const char *addr);

/* Writes the whole table to fd (from offset 0).  Returns 0 or -1. */
int trace_table_write(const struct trace_table *t, int fd);

/* Reads what trace_table_write wrote to fd into res.  A missing or cut
 * short table gives an INCOMPLETE res.  Returns 0, or -1 with errno
 * (ENOMEM). */
int trace_table_read(int fd, pk_trace_result *res);

/* Decodes the watched call that stopped process pid at its seccomp stop
 * and records what it does.  Returns 0, or -1 when the process is gone. */
int trace_call(struct trace_table *t, pid_t pid);

/* Records the program a process has just exec'd (/proc/PID/exe). */
void trace_exec_done(struct trace_table *t, pid_t pid);

/* The system calls the filter stops (native numbers): every one that
 * trace_call decodes. */
extern const int trace_watched[];
extern const size_t trace_nwatched;

/* The seccomp filter's tags (SECCOMP_RET_DATA) for what is not a watched
 * call of the native ABI: any other tag is the call's number. */
#define TRACE_TAG_BADARCH 0xfffe

#endif
