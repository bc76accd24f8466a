/* gc.h: keeping the cache within its limits.  A collection removes the
 * foreign files under v1/ (see pk_foreign), damaged and expired entries,
 * traced results no manifest names any more, then the least recently used
 * ones until the cache fits its size limit (a foreign file that could not
 * be removed counts toward it), then the manifests' input sets whose
 * result is gone, then temporaries and locks left by crashed runs.
 * Only one collection runs at a time (DIR/gc.lock). */
#ifndef PK_GC_H
#define PK_GC_H

#include "catalog.h"
#include "error.h"
#include "store.h"

#include <stdint.h>

typedef struct pk_gc_opts {
	uint64_t max_size;  /* 0: no size limit */
	int64_t max_age_ms; /* 0: none; else remove entries older than this */
	int dry_run;        /* decide, report, remove nothing */
	int64_t wait_ms;    /* wait this long for a running gc (0: don't) */
	/* Called for each entry removed (or that would be, in a dry run). */
	void (*on_remove)(void *ctx, const pk_item *it, const char *why);
	/* The same for each foreign file. */
	void (*on_foreign)(void *ctx, const pk_foreign *f);
	/* The same for each manifest (or file under manifests/) removed: see
	 * pk_manifest_tidy. */
	void (*on_manifest)(void *ctx, const pk_key *key, const char *rel, const char *why);
	void *ctx;
} pk_gc_opts;

typedef struct pk_gc_report {
	size_t entries_removed, entries_kept, temps_removed;
	size_t foreign_removed;   /* foreign files under v1/ */
	size_t manifests_removed; /* manifests with no result left, damaged
	                             ones, foreign files under manifests/ */
	uint64_t bytes_freed, bytes_kept;
	size_t entries_failed; /* entries or foreign files that could not be
	                          removed; entries are counted as kept */
	pk_error failure;      /* why the first of them could not */
} pk_gc_report;

/* Runs a collection.  Returns 0, or -1 with err set (err->errnum
 * EWOULDBLOCK: another collection is running).  An entry that cannot be
 * removed does not stop it: rep says how many, and why. */
int pk_gc_run(const pk_store *s, const pk_gc_opts *o, pk_gc_report *rep, pk_error *err);

/* The temporaries of runs that ended in DIR/tmp, as gc removes them:
 * named as pickled names them, the user's, not written for an hour and
 * locked by nobody (a run in progress holds its own).  fn (may be NULL) is
 * called for each, dir being "tmp"; with remove set, for each one removed.
 * Returns how many. */
size_t pk_gc_stray_temps(const pk_store *s, int remove,
                         void (*fn)(void *ctx, const char *dir, const char *name, uint64_t bytes),
                         void *ctx);

/* Notes that an entry of bytes was just stored (for pk_gc_due). */
void pk_gc_note_store(const pk_store *s, uint64_t bytes);

/* 1 when an automatic collection is due: the last one is older than
 * interval_ms, or the cache has likely grown past max_size since. */
int pk_gc_due(const pk_store *s, uint64_t max_size, int64_t interval_ms);

#endif
