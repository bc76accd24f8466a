/* run_share.h: one run's use of the remote tier (share.h): the connection
 * made on first use, the fetch that stores a remote entry locally, the
 * push after a local store.  A remote failure is said once and the run
 * goes on with the local cache: the tier is not tried again this run. */
#ifndef PK_RUN_SHARE_H
#define PK_RUN_SHARE_H

#include "error.h"
#include "key.h"
#include "remote.h"
#include "run_msg.h"
#include "runlog.h"
#include "store.h"

#include <stdint.h>

typedef struct run_share {
	const pk_remote_opts *opts; /* url NULL: no remote tier */
	const pk_store *store;      /* its stats count the remote's hits */
	run_msg *msg;
	pk_runlog_rec *rec; /* counts the remote's errors */
	pk_remote *remote;  /* connected on first use */
	int down;           /* failed once: not tried again */
	int rejected;       /* a refused remote value was reported */
} run_share;

/* The connection, made on first use; NULL when there is no remote tier or
 * it failed (said once). */
pk_remote *run_share_remote(run_share *s);

/* The connection when this run may write to the tier (not read_only),
 * else NULL. */
pk_remote *run_share_writable(run_share *s);

/* A remote failure: counted, said once, and the connection dropped. */
void run_share_failed(run_share *s, const pk_error *err);

/* Fetches the remote entry for key into the local store when it is
 * younger than max_age_ms.  Returns 1 when one was stored locally.  In
 * quiet mode (a poll while waiting) a miss is not counted. */
int run_share_fetch(run_share *s, const pk_key *key, int64_t max_age_ms);

/* After a local store of key (open as fd, size bytes): the same bytes to
 * the remote tier, when writable. */
void run_share_push(run_share *s, const pk_key *key, int fd, uint64_t size, int64_t created_ms,
                    int64_t ttl_ms);

/* Closes the connection (NULL: nothing); it is made anew on next use.  In
 * a forked child, closing the copy of the parent's socket sends nothing. */
/* With remote.verify_hits: whether key's entry was removed from the
 * shared tier (`rm` on any host) after this copy, age_ms old, was made.
 * A shared tier that fails is said once, and the answer is no. */
int run_share_removed(run_share *s, const pk_key *key, int64_t age_ms);

/* Releases the remote lock; a renewal or release that failed (a refused
 * command included) is said, as run_share_failed does. */
void run_share_unlock(run_share *s);

void run_share_close(run_share *s);

#endif
