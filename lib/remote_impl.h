/* remote_impl.h: what remote.c (entries) and remote_lock.c (the run lock)
 * share; not for other modules. */
#ifndef PK_REMOTE_IMPL_H
#define PK_REMOTE_IMPL_H

#include "rconn.h"
#include "redis_url.h"
#include "remote.h"
#include "seal.h"

#include <pthread.h>

/* Room for a key: the prefix, "{", 64 hex digits, "}:t:" and a token. */
#define PK_REMOTE_KEY_MAX (PK_REMOTE_MAX_PREFIX + 128)

struct pk_remote {
	pk_remote_opts o;
	pk_redis_url u;
	char shown[600];      /* the URL, redacted */
	int sealed;
	unsigned char seal_key[PK_SEAL_KEY];
	pk_rconn *c;
	/* the run lock (remote_lock.c) */
	char lock_key[PK_REMOTE_KEY_MAX], token[33];
	int locked;           /* 1: renewed by renewer; 2: held without renewal */
	pthread_t renewer;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	pk_error lock_err;    /* the renewer's first failure, said at unlock */
	int lock_failed;
};

/* The Redis key of kind kind ("e", "l", "t:TOKEN"...) of key:
 * PREFIX{HEX}:KIND, all of one entry in one cluster slot. */
void pk_remote_key(const pk_remote *r, char *buf, size_t len, const char *kind,
                   const pk_key *key);

/* 32 random hex digits.  Returns 0, or -1 with errno set. */
int pk_remote_token(char out[33]);

#endif
