/* trace_path.h: what the tracer (trace_calls.c) and its fast path
 * (lib/trace-shim) both decide about a call: the record flags of an open,
 * the path as the kernel walks it, and the paths never recorded.  Built
 * into both, so that a call gets the same record whichever way it went. */
#ifndef PK_TRACE_PATH_H
#define PK_TRACE_PATH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The PK_TRACE_* flags of an open with these O_* flags; *nofollow set
 * when the final component is not followed (O_NOFOLLOW, O_CREAT|O_EXCL).
 * An O_TMPFILE open names a directory only: PK_TRACE_LOOKUP. */
uint32_t pk_trace_open_flags(uint64_t oflags, int *nofollow);

/* Joins base (absolute, or "" for none) and path into out as the kernel
 * walks them: "." and empty components dropped, ".." kept (after a
 * symbolic link it means the link target's parent, which only the kernel
 * knows).  Returns the length, or -1 when it does not fit in size. */
ssize_t pk_trace_join(const char *base, const char *path, char *out, size_t size);

/* Non-zero for paths under /proc, /sys and /dev: what the kernel shows
 * there is not the job's input. */
int pk_trace_pseudo(const char *path, size_t len);

/* If path names a descriptor through /proc (/proc/self/fd/N,
 * /proc/thread-self/fd/N, /proc/PID/fd/N, /dev/fd/N): writes the link to
 * read for it, as seen by process pid ("/proc/PID/fd/N"), into out and
 * returns 1; else 0.  Opening such a path opens the descriptor's file,
 * which an O_PATH open may have only looked up. */
int pk_trace_proc_fd(const char *path, long pid, char *out, size_t size);

#endif
