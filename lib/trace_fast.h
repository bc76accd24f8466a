/* trace_fast.h: the fast path's files for one traced run (trace_fast.c;
 * the scheme is in trace_shm.h).  Internal to the tracer. */
#ifndef PK_TRACE_FAST_H
#define PK_TRACE_FAST_H

#include "trace_table.h"

#include <stdint.h>

struct pk_shm;

/* The fast path for one run (trace_fast.c, trace_shm.h). */
struct trace_fast {
	char dir[256];      /* the private folder; "" when none */
	char preload[1024]; /* LD_PRELOAD for the command */
	char env[320];      /* PK_SHM_ENV for the command */
	struct pk_shm *shm; /* mapped; NULL: no fast path */
};

/* Sets up the fast path with the filter's magic number.  Returns 0, or
 * -1 when there is none (every watched call then stops the tree). */
int trace_fast_open(struct trace_fast *f, uint64_t magic);

/* In the command's process, before its exec: points it at the fast path. */
void trace_fast_env(const struct trace_fast *f);

/* After the tree has ended: adds the shim's records to t, and the calls
 * it counted. */
void trace_fast_drain(struct trace_fast *f, struct trace_table *t);

/* Unmaps and removes the fast path's files. */
void trace_fast_close(struct trace_fast *f);

/* The shim, embedded (trace_blob.c). */
extern const unsigned char pk_trace_shim_so[], pk_trace_shim_so_end[];

#endif
