/* trace_filter.h: the seccomp filter of a traced run, built with
 * libseccomp and checked before use.  Internal to the tracer (trace.c).
 *
 * libseccomp 2.5.4 does not always survive a failed allocation: it may
 * loop for ever, crash, or return a program that silently lacks rules (a
 * traced run that misses reads, then a wrong hit).  So the program is
 * built in a child process that is given a few seconds, and the program it
 * returns is run, instruction by instruction, over every system call
 * number before it is used. */
#ifndef PK_TRACE_FILTER_H
#define PK_TRACE_FILTER_H

#include "error.h"

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

/* Builds and checks the filter: the watched calls (trace_calls.h) stop
 * with their number as the tag unless their sixth argument is magic;
 * io_uring_setup fails with ENOSYS; a call of another ABI stops with
 * TRACE_TAG_BADARCH; anything else runs.  *prog (malloc'd, *len
 * instructions) on success.  Returns 0, or -1 with err set. */
int pk_trace_filter_build(uint64_t magic, struct sock_filter **prog, unsigned short *len,
                          pk_error *err);

/* Whether prog does exactly what pk_trace_filter_build promises for
 * magic.  Returns NULL, or what is wrong. */
const char *pk_trace_filter_check(const struct sock_filter *prog, size_t len, uint64_t magic);

#endif
