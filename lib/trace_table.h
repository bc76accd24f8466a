/* trace_table.h: the tracer's records while it runs: one per path (a hash
 * table over an arena of path strings, bounded in bytes), the network
 * peers and the run-level facts, and their trip through the memory file to
 * pickled (trace_table.c).  Internal to the tracer; trace.h is the
 * contract. */
#ifndef PK_TRACE_TABLE_H
#define PK_TRACE_TABLE_H

#include "trace_record.h"

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
	uint32_t *slots; /* index + 1 into recs; 0: empty */
	size_t nslots;   /* a power of two */
	char *arena;     /* the paths, each NUL-terminated */
	size_t arena_len, arena_cap;
	size_t max_bytes; /* bound on recs + slots + arena */
	int full;         /* a new path was refused for the bound */
	pk_trace_peer peers[PK_TRACE_MAX_PEERS];
	size_t npeers;
	int peers_truncated;
	uint64_t seq;         /* the last sequence number taken */
	uint64_t *shared_seq; /* the counter shared with the fast path
	                         (trace_shm.h), or NULL: seq is it */
	uint64_t stops;       /* calls that stopped the tree */
	const char *skip;     /* a folder of the tracer's own (the fast
	                         path's): not recorded; NULL: none */
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

/* Takes the next sequence number, for a watched call. */
uint64_t trace_table_next(struct trace_table *t);

/* Records that the call numbered seq did flags to path (absolute,
 * normalized, len bytes).  first: the path before the call, as its
 * caller saw it; NULL: the tracer stats it now (lstat when nofollow), the
 * call not having run yet.  Calls may come out of order (the fast path's
 * are read at the end): the first sequence numbers are minimums, and the
 * stat kept is the earliest call's.  Paths under /proc, /sys and /dev are
 * not recorded. */
void trace_table_add(struct trace_table *t, uint64_t seq, const char *path, size_t len,
                     uint32_t flags, int nofollow, const pk_trace_stat *first);

/* Records a network peer (already formatted), once. */
void trace_table_peer(struct trace_table *t, const char *addr);

/* Writes the whole table to fd (from offset 0), records in first-touch
 * order; the table is only for trace_table_destroy afterwards.  Returns 0
 * or -1. */
int trace_table_write(struct trace_table *t, int fd);

/* Reads what trace_table_write wrote to fd into res.  A missing or cut
 * short table gives an INCOMPLETE res.  Returns 0, or -1 with errno
 * (ENOMEM). */
int trace_table_read(int fd, pk_trace_result *res);

#endif
