/* manifest.h: what a traced run depended on, and the manifest that maps a
 * key to the results of the input sets seen under it.
 *
 * A traced run's key (argv, program, declared inputs...) does not cover the
 * files the command chose to read.  The tracer lists them; each becomes a
 * record (pk_mrec): a file's content, a path that was absent, a directory's
 * listing, a symbolic link's target, or only that something of a type (and,
 * for a regular file, a size and mtime) was there.  The records of one run
 * are an input set; the result is stored under the result key, the digest
 * of the run's key and the set.  The manifest, stored under the run's key,
 * lists at most PK_MANIFEST_VARIANTS input sets, newest first, each naming
 * its result key: a later run takes the first set whose every record still
 * holds.
 *
 *   DIR/manifests/XX/KEY   one manifest per traced key
 *
 * Layout, little-endian: "PKLDMAN\0", u32 version (1), u32 reserved, u64
 * the length of what follows unpacked, a zstd frame of it; last, a u64
 * XXH3-64 of every byte before it.  Unpacked: u32 count and that many
 * records (u32 path length, path, u8 kind, u32
 * mode, 16-byte hash, u64 dev, ino, size, i64 mtime, ctime, u8 settled),
 * u32 count and that many variants (16-byte result key, i64 created ms,
 * u8 flags, u32 count and that many record indexes).  Packed, the paths'
 * shared prefixes cost little: a hit reads a tenth of the bytes.
 * A manifest that fails any check is a miss, never acted upon. */
#ifndef PK_MANIFEST_H
#define PK_MANIFEST_H

#include "error.h"
#include "key.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

/* Input sets kept per key.  A job that alternates between a few input sets
 * (a weekday and a weekend configuration, two branches, a data set that is
 * put back) keeps all of its results; past that, the oldest set's result
 * was the least likely to be asked for again.  Sixteen bounds what one
 * lookup may check (a miss checks each distinct record once, sets sharing
 * most records: a Python job's three thousand paths cost the same in one
 * set or sixteen) and the manifest's size (about 1 MiB at the bound of
 * records below). */
#define PK_MANIFEST_VARIANTS 16
/* Distinct records kept: past it, the oldest sets go first. */
#define PK_MANIFEST_RECORDS 20000

enum pk_mkind {
	PK_MK_FILE = 1, /* a regular file's content */
	PK_MK_ABSENT,   /* nothing there (a failed lookup) */
	PK_MK_DIR,      /* a directory's listing: sorted names and types */
	PK_MK_LINK,     /* a symbolic link's target */
	PK_MK_STAT,     /* existence only: type; a regular file's size and
	                   mtime too (what a stat without an open shows) */
};

typedef struct pk_mrec {
	char *path;              /* absolute */
	int kind;                /* enum pk_mkind */
	uint32_t mode;           /* st_mode when something was there */
	unsigned char hash[16];  /* FILE: content; DIR: listing; LINK: target */
	uint64_t dev, ino, size; /* the stat the hash was taken with */
	int64_t mtime_ns, ctime_ns;
	int settled;  /* an equal stat later proves equal content */
	int in_block; /* path is in its manifest's block (decoded), not its own */
} pk_mrec;

/* What a path's kind is called in show and --explain ("file"...). */
const char *pk_mkind_name(int kind);

/* Observes path now as a record of kind want (FILE, DIR, LINK or STAT; an
 * absent path is recorded ABSENT whatever want is; a FILE or DIR wanted of
 * something else is recorded STAT).  Regular files are hashed through the
 * stat cache statdir (NULL: none).  r->path is set to a copy of path.
 * Returns 0, or -1 with err set (r is then empty). */
int pk_mrec_observe(pk_mrec *r, const char *path, int want, const char *statdir, pk_error *err);

/* Checks the record against the file system: the stat first, the content
 * (or listing, or target) only when the stat differs or was not settled.
 * Returns 0 when it still holds, 1 when not, with *why set to "input
 * changed", "now present" or "now absent".  A record that holds by its
 * content while its stat moved (a touch) or was not settled takes the new
 * stat, and *refreshed (may be NULL) is set to 1, so that the next check,
 * once saved, needs no read. */
int pk_mrec_check(pk_mrec *r, const char *statdir, const char **why, int *refreshed);

void pk_mrec_free(pk_mrec *r);

/* The key a traced run's manifest is under, from the run's key (its
 * arguments, program, declared inputs, working directory...): another
 * than that key's, so that a traced and an untraced run never share. */
void pk_manifest_key(const pk_key *run_key, pk_key *out);

/* The result key of an input set: the digest of key and of each record's
 * path, kind and what it holds (not its stat).  recs must be sorted by
 * path (pk_mrecs_sort). */
void pk_mrecs_result_key(const pk_key *key, const pk_mrec *recs, size_t n, pk_key *out);

/* Sorts by path and removes duplicates (the first of each path stays). */
void pk_mrecs_sort(pk_mrec *recs, size_t *n);

enum { PK_VARIANT_NETWORK = 1 }; /* the run connected to another host */

typedef struct pk_variant {
	pk_key result;
	int64_t created_ms;
	int flags;
	size_t n;
	uint32_t *idx; /* into the manifest's records */
} pk_variant;

typedef struct pk_manifest {
	size_t nrecs;
	pk_mrec *recs; /* distinct records */
	size_t nvariants;
	pk_variant *variants; /* newest first */
	/* Decoded: the unpacked records (their paths used in place) and the
	 * recs array, one region (region.h) of region_len bytes.  recs
	 * leaves it when it grows (recs_in_region then 0). */
	void *region;
	size_t region_len;
	int recs_in_region;
} pk_manifest;

void pk_manifest_free(pk_manifest *m);

/* Encodes m (*buf malloc'd, the caller's).  Returns 0, or -1 (ENOMEM). */
int pk_manifest_encode(const pk_manifest *m, unsigned char **buf, size_t *len);

/* Decodes len bytes into *m (free it either way).  Returns 0, or -1 with
 * err set when the bytes are not a sound manifest (errnum 0, msg what is
 * wrong: "checksum mismatch"...). */
int pk_manifest_decode(const unsigned char *buf, size_t len, pk_manifest *m, pk_error *err);

/* Reads the manifest of key.  Returns 0, 1 when there is none, -1 with err
 * set when it is damaged or cannot be read (m is then empty). */
int pk_manifest_load(const pk_store *s, const pk_key *key, pk_manifest *m, pk_error *err);

/* Writes m as the manifest of key: through a temporary, fsync'd, renamed
 * into place.  Returns 0, or -1 with err set. */
int pk_manifest_save(const pk_store *s, const pk_key *key, const pk_manifest *m, pk_error *err);

/* Removes the manifest of key.  Returns 0, or -1 with errno (ENOENT). */
int pk_manifest_remove(const pk_store *s, const pk_key *key);

/* Adds the input set recs (sorted, as pk_mrecs_sort leaves them; copied)
 * with its result, newest first: a set with the same result key goes,
 * then the oldest sets past the bounds.  Returns 0, or -1 (ENOMEM). */
int pk_manifest_add(pk_manifest *m, const pk_key *result, int64_t created_ms, int flags,
                    const pk_mrec *recs, size_t n);

/* Drops the variants for which keep(ctx, result) returns 0, and the
 * records no variant uses any more.  Returns how many were dropped. */
size_t pk_manifest_prune(pk_manifest *m, int (*keep)(void *ctx, const pk_key *result), void *ctx);

/* Finds the newest variant whose every record still holds, checking each
 * distinct record once.  Returns its index, or -1; then, when there is a
 * variant, *first (may be NULL) is set to the newest one's first record
 * that does not hold, and *why to how it differs.  *refreshed (may be
 * NULL) is set to 1 when a record took a new stat (see pk_mrec_check):
 * m is then worth saving. */
long pk_manifest_match(pk_manifest *m, const char *statdir, const pk_mrec **first, const char **why,
                       int *refreshed);

/* Calls fn for every manifest file of s: with its key, or key NULL and
 * rel set for a file under manifests/ that is not one (pickled never makes
 * one).  fn returns 0 to go on, or -1 after setting err to stop.  A store
 * with no manifests has nothing to list.  Returns 0, or -1 with err set. */
int pk_manifest_each(const pk_store *s, int (*fn)(void *ctx, const pk_key *key, const char *rel),
                     void *ctx, pk_error *err);

/* Tidies the manifests of s: drops the input sets whose result entry is
 * gone, and removes a manifest left with none, a damaged one, and a file
 * under manifests/ that is not one (with dry_run, only says so).  fn (may
 * be NULL) is called for each manifest or file removed: key NULL for a
 * foreign file, rel its path in the cache, why "no result left",
 * "damaged" or "foreign".  Best effort: a manifest that cannot be read or
 * rewritten is left as it is.  Returns how many were removed. */
size_t pk_manifest_tidy(const pk_store *s, int dry_run,
                        void (*fn)(void *ctx, const pk_key *key, const char *rel, const char *why),
                        void *ctx);

/* The result keys every sound manifest of s names, sorted (*keys
 * malloc'd; NULL when there is none).  Returns 0, or -1 with err set. */
int pk_manifest_results(const pk_store *s, pk_key **keys, size_t *n, pk_error *err);

/* Packs the n bytes at raw onto out: u64 n, then a zstd frame.  Returns
 * 0, or -1 with out->failed set. */
struct pk_buf;
int pk_manifest_zip(const unsigned char *raw, size_t n, struct pk_buf *out);

/* Unpacks what pk_manifest_zip made (n bytes at p) into *raw (malloc'd,
 * *rawlen bytes).  Returns 0, or -1 when the bytes do not unpack. */
int pk_manifest_unzip(const unsigned char *p, size_t n, unsigned char **raw, size_t *rawlen);

/* What a traced entry records of its run in its metadata, for show: the
 * key its manifest is under, its input set, the paths it wrote, and the
 * network peers it connected to. */
typedef struct pk_trace_note {
	pk_key manifest;
	int flags; /* PK_VARIANT_* */
	size_t ninputs;
	pk_mrec *inputs;
	size_t nwritten;
	char **written;
	size_t npeers;
	char **peers;
} pk_trace_note;

/* Encodes n (*buf malloc'd).  Returns 0, or -1 (ENOMEM). */
int pk_trace_note_encode(const pk_trace_note *n, unsigned char **buf, size_t *len);

/* Decodes len bytes into *n (free it either way).  Returns 0, or -1 with
 * err set. */
int pk_trace_note_decode(const unsigned char *buf, size_t len, pk_trace_note *n, pk_error *err);

/* Frees what n owns; NULL is fine. */
void pk_trace_note_free(pk_trace_note *n);

#endif
