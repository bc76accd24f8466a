/* remote_layout.h: where an entry's bytes are in Redis, for remote.c: one
 * value under PREFIX{KEY}:e, or, for an entry over PK_RLAYOUT_PART, parts
 * PREFIX{KEY}:p:TOKEN:N (each at most PK_RLAYOUT_PART, the last one with
 * the seal trailer too) that a manifest "PKLDPARTS1 TOKEN NPARTS SIZE" in
 * PREFIX{KEY}:e names; and reading them in ranges of at most
 * PK_RLAYOUT_CHUNK, so that memory stays bounded. */
#ifndef PK_REMOTE_LAYOUT_H
#define PK_REMOTE_LAYOUT_H

#include "error.h"
#include "key.h"
#include "rconn.h"

#include <stddef.h>
#include <stdint.h>

#define PK_RLAYOUT_PART (32ll * 1024 * 1024) /* well under Redis's 512 MB a value */
#define PK_RLAYOUT_CHUNK (4u * 1024 * 1024)
#define PK_RLAYOUT_KEY_MAX 400 /* a prefix of 200 bytes and more */

typedef struct pk_rlayout {
	pk_rconn *c;
	const char *prefix;
	const pk_key *key;
	char k[PK_RLAYOUT_KEY_MAX]; /* the entry's key */
	char token[33];             /* the parts' token; "" for one value */
	int nparts;
	long long size; /* bytes in all, seal trailer included */
} pk_rlayout;

/* PREFIX{HEX}:KIND into buf: every key of one entry in one cluster slot. */
void pk_rlayout_key(const char *prefix, const pk_key *key, const char *kind, char *buf, size_t len);

/* The key of part i of l. */
void pk_rlayout_part_key(const pk_rlayout *l, int i, char *buf, size_t len);

/* The manifest naming l's parts, into buf. */
void pk_rlayout_manifest(const pk_rlayout *l, char *buf, size_t len);

/* 0 when err is a value of another type (no entry), else -1. */
int pk_rlayout_failed(const pk_error *err);

/* Reads the layout of key's value of kind ("e" the entry, "m" its
 * manifest of a traced run), and the expiry its key has left
 * (left_ms may be NULL; -1: none), in one round trip.  Returns 1, 0 when
 * there is no entry (nor for a value of another type), -1 with err set. */
int pk_rlayout_read(pk_rconn *c, const char *prefix, const pk_key *key, const char *kind,
                    pk_rlayout *l, int64_t *left_ms, pk_error *err);

/* Calls fn with bytes [off, off + len) of l, range by range (fn returns
 * -1 with errno set to fail).  Returns 1, 0 when they are not all there
 * (expired or replaced meanwhile), -1 with err set. */
int pk_rlayout_read_bytes(const pk_rlayout *l, long long off, long long len,
                          int (*fn)(void *ctx, const char *p, size_t n), void *ctx, pk_error *err);

/* len bytes at off of l in a malloc'd buffer; NULL when they are not all
 * there (*failed -1 when Redis failed, with err set; else 0). */
unsigned char *pk_rlayout_bytes_at(const pk_rlayout *l, long long off, size_t len, int *failed,
                                   pk_error *err);

/* Renews the short expiry (expiry_ms, in ms as text) of parts [0, n) of
 * an upload in one round trip (a part is renewed by its own chunks only
 * while it is being written) and checks that each is still there: an
 * upload stopped past its expiry fails, rather than publish a manifest
 * naming a part that is gone.  rt: where the batch goes (see
 * pk_rconn_pipe).  Returns 0, or -1 with err set (saying which part). */
int pk_rlayout_renew_parts(const pk_rlayout *l, int n, const char *expiry_ms, pk_rconn_route *rt,
                           pk_error *err);

/* Publishes an upload in parts, on rt's node: in one MULTI/EXEC, the parts
 * get part_ms, the manifest in tmp is renamed to l->k and gets entry_ms
 * (ms as text; NULL: PERSIST).  Nothing of an upload that fails before the
 * EXEC keeps more than its short expiry.  Returns 0, or -1 with err set. */
int pk_rlayout_publish(const pk_rlayout *l, const char *tmp, const char *part_ms,
                       const char *entry_ms, pk_rconn_route *rt, pk_error *err);

/* Deletes l's parts (best effort: they expire with their entry anyway). */
void pk_rlayout_drop_parts(const pk_rlayout *l);

#endif
