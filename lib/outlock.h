/* outlock.h: locks on declared output paths, so that two runs that write
 * the same file never overlap: one with another key would otherwise read
 * back, and store as its own result, the file the other wrote (or a hit
 * restored meanwhile).
 *
 * A path's lock is DIR/locks/out-HASH, HASH the XXH3-128 of its canonical
 * name: absolute, through the directories (and a final link) that exist
 * when it is taken, so that `out.bin` from one folder and `../w/out.bin`
 * from another are one lock.  Runs that share a cache directory see each
 * other's locks; runs with different caches do not.  The locks of a run
 * are taken in the order of their names, the same for every run whatever
 * the order of its -o flags, so two runs never wait for each other. */
#ifndef PK_OUTLOCK_H
#define PK_OUTLOCK_H

#include "error.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct pk_outlock {
	int *fds; /* the locks held */
	size_t n;
} pk_outlock;

/* Takes the locks of the n paths in s, waiting up to timeout_ms for all of
 * them together.  Returns 0 (l holds them), or -1 with err set (l holds
 * nothing): err->errnum EWOULDBLOCK when another run held one past the
 * timeout (err's message then names that path), another errno when the
 * lock files cannot be used. */
int pk_outlock_acquire(pk_outlock *l, const pk_store *s, char *const *paths, size_t n,
                       int64_t timeout_ms, pk_error *err);

/* Releases the locks; a zeroed or released l is fine. */
void pk_outlock_release(pk_outlock *l);

#endif
