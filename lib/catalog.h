/* catalog.h: the entries in a cache, for ls, show, rm, gc and verify.
 * Only each entry's header and metadata are read, never its output. */
#ifndef PK_CATALOG_H
#define PK_CATALOG_H

#include "error.h"
#include "key.h"
#include "meta.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct pk_item {
	pk_key key;
	char hex[PK_KEY_HEX + 1];
	pk_meta meta;    /* empty when damaged */
	uint64_t stored; /* bytes on disk */
	uint64_t hits;
	int64_t last_hit_ms;       /* 0: never hit */
	int64_t refresh_failed_ms; /* the last failed refresh (0: none), */
	int refresh_status;        /* and its status (show only) */
	int damaged;               /* header or metadata unreadable */
	char reason[160];          /* why, when damaged (cut short) */
} pk_item;

/* A file under v1/ that is not an entry or its hit counter: a stray file,
 * a link, a directory, a key in the wrong shard.  pickled never makes one;
 * it is reported by verify, removed by verify --fix, gc and rm --all, and
 * its size counts toward the cache's size until then. */
typedef struct pk_foreign {
	char rel[272];    /* "v1/ab/junk", relative to the cache */
	const char *what; /* "file", "symbolic link", "directory"... */
	uint64_t bytes;   /* its size; a directory's files summed */
} pk_foreign;

typedef struct pk_catalog {
	pk_item *items;
	size_t n;
	pk_foreign *foreign; /* local caches only */
	size_t nforeign;
} pk_catalog;

/* Reads every entry of s into c (in no particular order), and every
 * foreign file under v1/.  An entry's name that is not a regular file (a
 * link) is a damaged entry.  A closed store (dirfd -1: no cache) holds
 * nothing.  Returns 0, or -1 with err set.  Free c with pk_catalog_free
 * either way. */
int pk_catalog_load(const pk_store *s, pk_catalog *c, pk_error *err);

/* Removes the foreign file f of s, a directory with everything in it,
 * never following a link and never entering a directory that is not the
 * user's.  Returns 0 (also when it was gone already), or -1 with errno. */
int pk_catalog_remove_foreign(const pk_store *s, const pk_foreign *f);

/* Reads every entry of the remote tier into c: stored is the value's size,
 * hits 0.  Returns 0, or -1 with err set.  Free c with pk_catalog_free. */
struct pk_remote;
int pk_catalog_load_remote(struct pk_remote *r, pk_catalog *c, pk_error *err);

void pk_catalog_free(pk_catalog *c);

/* Finds the one entry whose key starts with prefix (1 to 32 hex digits, in
 * either case).  Returns 0 with *key set, or -1 with err set.  The lookup's
 * own verdicts have a whole message and errnum EINVAL when prefix is not
 * hex, ENOENT when no entry matches, 0 when several do; any other errnum is
 * the system's reason the cache could not be read. */
int pk_catalog_find(const pk_store *s, const char *prefix, pk_key *key, pk_error *err);

/* pk_catalog_find over the entries of s and, when r is not NULL, those of
 * the remote tier r (only their keys are read): an entry that both hold
 * counts once.  When r fails, the entries of s alone decide and remote_err
 * (which may be NULL only when r is) says why; otherwise remote_err->msg is
 * empty.  Returns as pk_catalog_find. */
int pk_catalog_find_shared(const pk_store *s, struct pk_remote *r, const char *prefix, pk_key *key,
                           pk_error *err, pk_error *remote_err);

/* When the entry was last used: its last hit, else its creation. */
int64_t pk_item_last_use(const pk_item *it);

/* The entry's age at now_ms (never negative). */
int64_t pk_item_age(const pk_item *it, int64_t now_ms);

/* The entry's freshness at now_ms under the ttl and stale time it was
 * stored with (pk_meta_freshness). */
enum pk_freshness pk_item_freshness(const pk_item *it, int64_t now_ms);

/* 1 when the entry is older than the ttl it was stored with. */
int pk_item_expired(const pk_item *it, int64_t now_ms);

/* 1 when the entry is past its stale time but not expired. */
int pk_item_stale(const pk_item *it, int64_t now_ms);

#endif
