/* remote_lock.h: the per-key run lock in Redis, for remote.c: taken with
 * SET NX PX, renewed every third of its lease by a thread of its own (with
 * its own connections) and released, all without scripting (see
 * remote_lock.c).  Only the holder's token acts on it. */
#ifndef PK_REMOTE_LOCK_H
#define PK_REMOTE_LOCK_H

#include "error.h"
#include "rconn.h"
#include "redis_url.h"

#include <pthread.h>
#include <stdint.h>

typedef struct pk_rlock {
	/* set by the caller before pk_rlock_take; the strings outlive it */
	pk_rconn *c;           /* the run's connection (not owned) */
	const pk_redis_url *u; /* for the renewer's own connection */
	const char *shown, *seeds;
	int64_t timeout_ms, lease_ms;
	/* the lock's state */
	char key[512], token[33];
	int locked; /* 1: renewed by renewer; 2: without renewal */
	pthread_t renewer;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	pk_error err; /* the renewer's first failure */
	int failed;
} pk_rlock;

/* Readies l (its mutex and condition); pk_rlock_destroy undoes it. */
void pk_rlock_init(pk_rlock *l);
void pk_rlock_destroy(pk_rlock *l);

/* 32 random hex digits.  Returns 0, or -1 with errno set. */
int pk_rlock_token(char out[33]);

/* Tries to take the lock named key (at most 511 bytes); one held with no
 * expiry is taken over.  Returns 1 when taken (then renewed until
 * pk_rlock_release), 0 when another holder has it, -1 with err set. */
int pk_rlock_take(pk_rlock *l, const char *key, pk_error *err);

/* Stops renewing and releases the lock if still ours.  Returns 0, or -1
 * with err set (may be NULL) when a renewal or the release failed. */
int pk_rlock_release(pk_rlock *l, pk_error *err);

#endif
