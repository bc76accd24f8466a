/* trace_calls.h: what one watched system call does to which path, read
 * at its seccomp stop (trace_calls.c).  Internal to the tracer. */
#ifndef PK_TRACE_CALLS_H
#define PK_TRACE_CALLS_H

#include "trace_table.h"

#include <sys/types.h>

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
