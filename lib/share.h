/* share.h: moving entries between the local store and the remote tier. */
#ifndef PK_SHARE_H
#define PK_SHARE_H

#include "error.h"
#include "remote.h"
#include "store.h"

#include <stdint.h>

/* Downloads the remote entry for key and, when it is a sound entry for
 * that key younger than ttl_ms (its age by the server's clock: the ttl it
 * was stored with less its remaining expiry in Redis; by its creator's
 * clock when it has none), stores it locally, dated by this host's clock (atomically, as a local
 * result would be).  Nothing of a fetched value is used before it passed
 * every check.  Returns 1 when stored, 0 when absent, expired or the local
 * store failed, 2 when the value was refused (too large, damaged, another
 * key: something a host would never upload; why says which), -1 when the
 * remote failed (err set). */
int pk_share_fetch(const pk_store *s, pk_remote *r, const pk_key *key, int64_t ttl_ms, char *why,
                   size_t whylen, pk_error *err);

/* Uploads the local entry for key (open as fd, size bytes) with an expiry
 * of the time it has left under its stored ttl.  Returns as
 * pk_remote_put. */
int pk_share_push(pk_remote *r, const pk_key *key, int fd, uint64_t size, int64_t created_ms,
                  int64_t ttl_ms, pk_error *err);

#endif
