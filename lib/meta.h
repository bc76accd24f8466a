/* meta.h: what an entry records about its run, and its byte encoding.
 * The encoding is a sequence of (tag, length, bytes) fields; unknown tags
 * are skipped, so a newer pickled can add fields that an older one ignores.
 * Values of environment variables are never recorded, only their names. */
#ifndef PK_META_H
#define PK_META_H

#include "error.h"
#include "key.h"

#include <stddef.h>
#include <stdint.h>

/* A member of a declared output directory. */
typedef struct pk_outmember {
	char *rel;             /* its path below the directory: never empty,
	                          absolute, nor holding an empty, "." or ".."
	                          component */
	uint32_t mode;         /* S_IFREG, S_IFDIR or S_IFLNK, and permission bits */
	uint64_t size;         /* a regular file's bytes */
	unsigned char sum[16]; /* a regular file's XXH3-128 */
	char *target;          /* a symbolic link's text; NULL otherwise */
} pk_outmember;

typedef struct pk_outfile {
	char *path;            /* as declared (relative to the run's directory) */
	uint32_t mode;         /* permission bits */
	uint64_t size;         /* a directory: its regular members' bytes */
	int has_sum;           /* sum is known (entries before it was recorded: not) */
	unsigned char sum[16]; /* XXH3-128 of the content */
	/* A directory (-o DIR): its tree, each directory before what it holds;
	 * the regular members' contents are stored in this order. */
	int is_dir;
	size_t nmembers;
	pk_outmember *members;
} pk_outfile;

typedef struct pk_meta {
	pk_key key;
	pk_key_parts parts;  /* env[].value is always NULL here */
	char *run_cwd;       /* working directory of the run that stored it */
	int exit_status;     /* 0..255 */
	int64_t created_ms;  /* Unix time in ms */
	int64_t duration_ms; /* the command's wall time */
	int64_t ttl_ms;      /* as asked by the run that stored it */
	int64_t stale_ms;    /* 0: none */
	uint64_t stdout_bytes, stderr_bytes;
	size_t ntags;
	char **tags;
	size_t nfiles;
	pk_outfile *files; /* restored before stdout is replayed */
	/* Where the command left a stdin it read from a file (the caller's,
	 * or the copy of a pipe): a hit leaves a seekable stdin there too.
	 * stdin_known 0: not recorded (no such stdin, an older entry). */
	int stdin_known;
	int stdin_at_end;    /* it read to the end */
	uint64_t stdin_read; /* else: bytes from where it started */
	char *name;          /* the run's -j or --name, or NULL */
	/* A traced run's note (pk_trace_note in manifest.h, encoded), or
	 * NULL: an untraced run. */
	unsigned char *trace;
	size_t trace_len;
} pk_meta;

/* The age at now_ms of an entry created at created_ms (Unix ms).  A
 * creation time up to PK_CLOCK_SKEW_MS ahead is age 0: hosts' clocks differ
 * a little.  Further ahead, the entry was written while a clock was wrong
 * (a jump of days would keep it fresh for days): -1, which callers treat
 * as expired whatever the ttl. */
int64_t pk_meta_age(int64_t created_ms, int64_t now_ms);

/* The one freshness rule, for a run deciding whether to replay, and for
 * ls, show, gc, rm and config reporting what a run would do. */
enum pk_freshness { PK_FRESH, PK_STALE, PK_EXPIRED };

/* What a result of age age_ms (from pk_meta_age; negative: created in the
 * future) is under ttl_ms (PK_FOREVER: never expires) and stale_ms (0:
 * never stale): expired from ttl_ms on, and whenever created in the
 * future; stale from stale_ms on until then; fresh before. */
enum pk_freshness pk_meta_freshness(int64_t age_ms, int64_t ttl_ms, int64_t stale_ms);

/* "fresh", "stale" or "expired". */
const char *pk_meta_freshness_name(enum pk_freshness f);

/* Frees a file's members (rel and target of each, and the array). */
void pk_outfile_free_members(pk_outfile *f);

/* Frees what meta owns; NULL is fine. */
void pk_meta_free(pk_meta *meta);

/* Encodes meta into a malloc'd buffer (*buf, *len; the caller frees).
 * Returns 0, or -1 with errno ENOMEM. */
int pk_meta_encode(const pk_meta *meta, unsigned char **buf, size_t *len);

/* Decodes len bytes into *meta (zeroed first; free with pk_meta_free even
 * on failure).  Returns 0, or -1 with err set when the bytes are not a
 * well-formed encoding. */
int pk_meta_decode(const unsigned char *buf, size_t len, pk_meta *meta, pk_error *err);

/* NULL when tag can be recorded, else why not.  `ls -l` shows the tags
 * as one comma-separated word: a tag is neither empty nor holds a comma. */
const char *pk_meta_tag_problem(const char *tag);

/* Bytes of raw output the entry holds: stdout + stderr + output files. */
uint64_t pk_meta_raw_bytes(const pk_meta *meta);

#endif
