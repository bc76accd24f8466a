/* remote.h: the optional shared tier in Redis (one server or a Redis
 * Cluster), for fleets of hosts that run the same jobs.  Entries travel as
 * the exact bytes of the local entry file and are checked like local ones
 * before any use.  Keys in Redis, all of one entry in one cluster slot
 * (the hash tag {KEY}):
 *   PREFIX{KEY}:e   the entry (expiring with the entry's lifetime)
 *   PREFIX{KEY}:l   the per-key run lock (SET NX PX, renewed while running)
 *   PREFIX{KEY}:m   the manifest of a traced key (manifest.h), sealed and
 *                   expiring as entries are (stored as entries are)
 *   PREFIX{KEY}:t:TOKEN   an upload in progress, renamed onto the entry when
 *                   whole; it expires a minute after its last chunk
 *   PREFIX{KEY}:x   the tombstone of an entry `rm` removed (pk_remote_del)
 *   PREFIX{KEY}:p:TOKEN:N   part N of an entry over 32 MiB, whose key then
 *                   holds a manifest "PKLDPARTS1 TOKEN NPARTS SIZE"
 * No command needs scripting.  Every call is bounded by the timeout, which
 * bounds a stall (see rconn.h); after an error or a timeout every later
 * call fails at once, so a broken Redis costs one timeout at most.  Any
 * error reply (a command the server's ACL refuses included) is a failure
 * of the call, never taken for "no entry". */
#ifndef PK_REMOTE_H
#define PK_REMOTE_H

#include "error.h"
#include "key.h"

#include <stdint.h>

#define PK_REMOTE_MAX_PREFIX 200

typedef struct pk_remote_opts {
	const char *url;           /* see redis_url.h */
	const char *seeds;         /* NULL, or more nodes to try first
	                              ("host:port,host:port") */
	int read_only;             /* never write entries or locks */
	int64_t timeout_ms;        /* connect and each operation */
	const char *prefix;        /* prepended to every key; at most
	                              PK_REMOTE_MAX_PREFIX bytes */
	uint64_t max_entry;        /* larger entries stay local only */
	int64_t lease_ms;          /* lock lifetime; renewed every third of it */
	int64_t upload_expiry_ms;  /* an upload's pieces outlive its last
	                              progress by this (0: the default);
	                              renewed every third of it */
	const char *secret_file;   /* NULL: entries are not authenticated; else
	                              every entry is sealed with it (seal.h) and
	                              a value not sealed with it is refused */
	const char *password_file; /* NULL: the URL's password, if any; else
	                              the password, read from this file
	                              (checked as the secret file is) */
	const char *password;      /* NULL, or the password (from the
	                              environment), when no password file */
	int verify_hits;           /* a local hit first asks whether the
	                              entry was removed fleet-wide since */
} pk_remote_opts;

typedef struct pk_remote pk_remote;

/* Checks a URL's syntax.  Returns 0, or -1 with err saying what is wrong. */
int pk_remote_parse_check(const char *url, pk_error *err);

/* Connects (and authenticates, selects the db).  Returns NULL with err set
 * (a prefix longer than PK_REMOTE_MAX_PREFIX, or holding a brace, is
 * refused, EINVAL);
 * err->errnum is ETIMEDOUT for a timeout. */
pk_remote *pk_remote_connect(const pk_remote_opts *o, pk_error *err);

/* Downloads the entry for key into fd (an empty file).  With a secret, the
 * value's seal is checked and removed: fd then holds the entry alone.
 * *left_ms is the time the value had left before it expires in Redis, by
 * the server's clock, when the download began (-1: no expiry).  Returns 1
 * when it was there, 0 when not, 2 when it was refused (larger than
 * max_entry, unread; not sealed with the secret; or in parts, one of them
 * missing; err->msg says which), -1 with err set. */
int pk_remote_get(pk_remote *r, const pk_key *key, int fd, int64_t *left_ms, pk_error *err);

/* Uploads size bytes of fd as the entry for key, expiring after ttl_ms
 * (PK_FOREVER: never).  An upload that fails leaves nothing in Redis for
 * longer than upload_expiry_ms; one that moves is never cut short by it.
 * Returns 1 when stored, 0 when skipped (read-only, or larger than
 * max_entry), -1 with err set. */
int pk_remote_put(pk_remote *r, const pk_key *key, int fd, uint64_t size, int64_t ttl_ms,
                  pk_error *err);

/* The same for the manifest of a traced key (see manifest.h): its bytes,
 * checked by the caller as a local manifest is. */
int pk_remote_get_manifest(pk_remote *r, const pk_key *key, int fd, pk_error *err);
int pk_remote_put_manifest(pk_remote *r, const pk_key *key, int fd, uint64_t size, int64_t ttl_ms,
                           pk_error *err);

/* Non-zero when entries are authenticated with a shared secret. */
int pk_remote_sealed(const pk_remote *r);

/* Removes the entry for key, leaving in its place a tombstone,
 * PREFIX{KEY}:x, holding the server's time of the removal and expiring
 * when the entry would have (none for an entry with no expiry), so that
 * hosts holding a copy can tell (pk_remote_removed).  Nothing is left for
 * an entry Redis does not hold.  Returns 0, or -1 with err set. */
int pk_remote_del(pk_remote *r, const pk_key *key, pk_error *err);

/* Whether key's entry was removed from Redis (by `rm` on some host) since
 * a copy of age age_ms was made: returns 1 with *age_ms set to how long
 * ago, by the server's clock, the last removal was; 0 when there is none;
 * -1 with err set.  One round trip. */
int pk_remote_removed(pk_remote *r, const pk_key *key, int64_t *age_ms, pk_error *err);

/* Tries to take the run lock for key; one held with no expiry is taken
 * over (no host sets one: it can only be squatted).  Returns 1 when taken
 * (the lock is then renewed in the background until pk_remote_unlock), 0
 * when another host holds it, -1 with err set. */
int pk_remote_lock(pk_remote *r, const pk_key *key, pk_error *err);

/* Stops renewing and releases the lock if it is still ours.  Returns 0, or
 * -1 with err set (may be NULL) when a renewal or the release failed (a
 * refused command included): the lock then lapses after its lease. */
int pk_remote_unlock(pk_remote *r, pk_error *err);

/* Calls fn with each entry key in Redis whose hex digits start with prefix
 * (lower-case hex digits; "" for every entry), without reading the values
 * (SCAN, never KEYS; the configured prefix is matched literally, glob
 * characters included; a whole key is one EXISTS).  fn returns 0 to go on, 1 to stop, or -1 after
 * setting err, which makes the call fail.  Returns 0, or -1 with err set. */
int pk_remote_keys(pk_remote *r, const char *prefix, int (*fn)(void *ctx, const char *hex),
                   void *ctx, pk_error *err);

/* Calls fn with each entry key in Redis, as pk_remote_keys does, with the
 * entry's metadata bytes (NULL when the value is not a sound entry, or,
 * with a secret, when its seal does not cover them) and its size.  fn returns 0 to go on, 1 to
 * stop, or -1 after setting err, which makes the call fail.  Returns 0, or -1 with err set. */
int pk_remote_each(pk_remote *r,
                   int (*fn)(void *ctx, const char *hex, const unsigned char *meta, size_t meta_len,
                             uint64_t size),
                   void *ctx, pk_error *err);

/* Closes the connection (after pk_remote_unlock); NULL is fine. */
void pk_remote_close(pk_remote *r);

#endif
