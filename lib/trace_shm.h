/* trace_shm.h: the memory the tracer shares with its fast path, the
 * preloaded lib/trace-shim/shim.so.
 *
 * A dynamically linked program in a traced tree gets the shim through
 * LD_PRELOAD.  Its open (read-only), stat, access and readlink wrappers
 * record the call in this shared memory and make the system call
 * themselves with the run's magic number in the sixth argument register,
 * which the seccomp filter lets through without a stop.  Everything else,
 * and every call the shim cannot record (no slot left, a path too long, a
 * static binary, a setuid program, a process whose environment lost the
 * variables), goes the slow way: a seccomp stop.  So a call is never
 * unseen; the shim only makes the common ones cheap.
 *
 * Sequence numbers come from one counter here, for the shim and the
 * tracer alike.  Slots are taken with an atomic add and published by
 * setting ready last; the tracer reads them after the tree has ended (a
 * process killed while writing one leaves it not ready: skipped, and its
 * call never ran).  Each process keeps its own set of what it already
 * recorded (path and flags), so repeated calls cost no slot. */
#ifndef PK_TRACE_SHM_H
#define PK_TRACE_SHM_H

#include "trace_record.h"

#include <stdint.h>

#define PK_SHM_MAGIC 0x31746b6d68736b70ull /* "pkshmkt1" */
#define PK_SHM_SLOTS 16384
#define PK_SHM_PATH 232 /* longer paths go the slow way */
/* The environment variable that tells the shim where the memory is and
 * what the magic number is: "PATH:HEX". */
#define PK_SHM_ENV "PICKLED_TRACE_SHM"

struct pk_shm_slot {
	uint32_t ready; /* 1 once the rest is written (release) */
	uint32_t flags; /* PK_TRACE_* */
	uint32_t len;
	uint32_t pad;
	uint64_t seq;
	pk_trace_stat first; /* the path before the call */
	char path[PK_SHM_PATH];
};

struct pk_shm {
	uint64_t magic; /* PK_SHM_MAGIC */
	uint64_t seq;   /* the last sequence number taken (atomic) */
	uint64_t used;  /* slots taken (atomic; may exceed the count) */
	uint64_t count; /* PK_SHM_SLOTS */
	struct pk_shm_slot slot[PK_SHM_SLOTS];
};

#endif
