/* remote.h: the optional shared tier in Redis, for fleets of hosts that run
 * the same jobs.  Entries travel as the exact bytes of the local entry file
 * and are checked like local ones before any use.  Keys in Redis:
 *   PREFIX e:KEY   the entry (expiring with the entry's lifetime)
 *   PREFIX l:KEY   the per-key run lock (SET NX PX, renewed while running)
 *   PREFIX m:KEY   the manifest of a traced key (manifest.h), sealed and
 *                  expiring as entries are
 *   PREFIX t:KEY:TOKEN   an upload in progress, renamed onto e:KEY (or m:KEY)
 *                        when whole
 * Every call is bounded by the timeout; after an error or a timeout the
 * connection is dropped and every later call fails at once, so a broken
 * Redis costs one timeout at most. */
#ifndef PK_REMOTE_H
#define PK_REMOTE_H

#include "error.h"
#include "key.h"

#include <stdint.h>

#define PK_REMOTE_MAX_PREFIX 200

typedef struct pk_remote_opts {
	const char *url;       /* redis://[[user:]pass@]host[:port][/db] or
	                          redis+unix:///path[?db=N] */
	int read_only;         /* never write entries or locks */
	int64_t timeout_ms;    /* connect and each operation */
	const char *prefix;    /* prepended to every key; at most
	                          PK_REMOTE_MAX_PREFIX bytes */
	uint64_t max_entry;    /* larger entries stay local only */
	int64_t lease_ms;      /* lock lifetime; renewed every third of it */
	const char *secret_file;  /* NULL: entries are not authenticated; else
	                             every entry is sealed with it (seal.h) and
	                             a value not sealed with it is refused */
	const char *password_file;   /* NULL: the URL's password, if any; else
	                                the password, read from this file
	                                (checked as the secret file is) */
} pk_remote_opts;

typedef struct pk_remote pk_remote;

/* The URL as a message may show it (cron mails stderr): the password
 * replaced by "***", also in a mistyped URL (no "://", or a password typed
 * without its '@', where the port would be).  Returns buf. */
const char *pk_remote_redact(const char *url, char *buf, size_t len);

/* The URL without its password, for the environment of the command (a
 * nested run reads remote.password_file itself): "redis://user:@host" for
 * "redis://user:pw@host", "redis://host" for "redis://:pw@host" and
 * "redis://pw@host".  Returns
 * 0, or -1 when it does not fit. */
int pk_remote_strip_password(const char *url, char *buf, size_t len);

/* Checks a URL's syntax.  Returns 0, or -1 with err saying what is wrong,
 * without naming the setting (the caller names it: "bad port"). */
int pk_remote_parse_check(const char *url, pk_error *err);

/* Connects (and authenticates, selects the db).  Returns NULL with err set
 * (a prefix longer than PK_REMOTE_MAX_PREFIX is refused, EINVAL);
 * err->errnum is ETIMEDOUT for a timeout. */
pk_remote *pk_remote_connect(const pk_remote_opts *o, pk_error *err);

/* Downloads the entry for key into fd (an empty file).  With a secret, the
 * value's seal is checked and removed: fd then holds the entry alone.
 * Returns 1 when it was there, 0 when not, 2 when it was refused (larger
 * than max_entry, unread; or not sealed with the secret; err->msg says
 * which), -1 with err set. */
int pk_remote_get(pk_remote *r, const pk_key *key, int fd, pk_error *err);

/* Uploads size bytes of fd as the entry for key, expiring after ttl_ms
 * (PK_FOREVER: never).  Returns 1 when stored, 0 when skipped (read-only,
 * or larger than max_entry), -1 with err set. */
int pk_remote_put(pk_remote *r, const pk_key *key, int fd, uint64_t size,
                  int64_t ttl_ms, pk_error *err);

/* The same for the manifest of a traced key (see manifest.h): its bytes,
 * checked by the caller as a local manifest is. */
int pk_remote_get_manifest(pk_remote *r, const pk_key *key, int fd, pk_error *err);
int pk_remote_put_manifest(pk_remote *r, const pk_key *key, int fd, uint64_t size,
                           int64_t ttl_ms, pk_error *err);

/* Non-zero when entries are authenticated with a shared secret. */
int pk_remote_sealed(const pk_remote *r);

/* Removes the entry for key.  Returns 0, or -1 with err set. */
int pk_remote_del(pk_remote *r, const pk_key *key, pk_error *err);

/* Tries to take the run lock for key; one held with no expiry is taken
 * over (no host sets one: it can only be squatted).  Returns 1 when taken
 * (the lock is then renewed in the background until pk_remote_unlock), 0
 * when another host holds it, -1 with err set. */
int pk_remote_lock(pk_remote *r, const pk_key *key, pk_error *err);

/* Stops renewing and releases the lock if it is still ours. */
void pk_remote_unlock(pk_remote *r);

/* Calls fn with each entry key in Redis whose hex digits start with prefix
 * (lower-case hex digits; "" for every entry), without reading the values
 * (SCAN, never KEYS; the configured prefix is matched literally, glob
 * characters included; a whole key is one EXISTS).  fn returns 0 to go on, 1 to stop, or -1 after
 * setting err, which makes the call fail.  Returns 0, or -1 with err set. */
int pk_remote_keys(pk_remote *r, const char *prefix, int (*fn)(void *ctx, const char *hex),
                   void *ctx, pk_error *err);

/* Calls fn with each entry key in Redis, as pk_remote_keys does, with the
 * entry's metadata bytes (NULL when the value is not a sound entry, or,
 * with a secret, when its seal does not cover them) and its size.  fn returns 0 to go on, 1 to stop, or -1 after setting err, which
 * makes the call fail.  Returns 0, or -1 with err set. */
int pk_remote_each(pk_remote *r,
                   int (*fn)(void *ctx, const char *hex, const unsigned char *meta,
                             size_t meta_len, uint64_t size),
                   void *ctx, pk_error *err);

/* Closes the connection (after pk_remote_unlock); NULL is fine. */
void pk_remote_close(pk_remote *r);

#endif
