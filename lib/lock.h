/* lock.h: per-key locks, so that identical runs execute once.
 * flock(2) locks are released by the kernel when their holder dies, so a
 * killed pickled never blocks anyone. */
#ifndef PK_LOCK_H
#define PK_LOCK_H

#include "error.h"

#include <stdint.h>

/* Takes the exclusive lock on the file at path (created 0600 as needed),
 * waiting up to timeout_ms (0: do not wait).  Returns an fd holding the
 * lock, or -1: err->errnum is EWOULDBLOCK when it timed out, something
 * else when the lock file cannot be used. */
int pk_lock_acquire(const char *path, int64_t timeout_ms, pk_error *err);

/* Releases the lock; a negative fd is ignored. */
void pk_lock_release(int fd);

#endif
