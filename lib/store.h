/* store.h: the cache directory: where entries live, how they are created
 * and replaced, and the per-entry hit counters.
 *
 *   DIR/CACHEDIR.TAG        marks the folder for backup tools
 *   DIR/v1/XX/KEY           entries (XX: the key's first two hex digits)
 *   DIR/v1/XX/KEY.hits      one byte appended per hit; mtime = last hit
 *   DIR/tmp/                entries being written
 *   DIR/locks/KEY           per-key locks (see lock.h)
 *   DIR/inputs/             stat cache of hashed inputs (see inputs.h)
 */
#ifndef PK_STORE_H
#define PK_STORE_H

#include "error.h"
#include "key.h"

#include <stdint.h>

typedef struct pk_store {
	char *dir; /* the cache directory */
	int dirfd; /* open on dir */
} pk_store;

/* The cache directory to use when none is given: PICKLED_CACHE_DIR (as
 * pk_store_dir_expand takes it), else the first directory of
 * CACHE_DIRECTORY (systemd's CacheDirectory=), else $XDG_CACHE_HOME/pickled,
 * else ~/.cache/pickled.  (The configuration's cache_dir comes between
 * CACHE_DIRECTORY and XDG_CACHE_HOME: see pk_config_read_env.)  *dir is
 * malloc'd.  Returns 0, or -1 with err set (no home directory, a relative
 * PICKLED_CACHE_DIR or CACHE_DIRECTORY). */
int pk_store_default_dir(char **dir, pk_error *err);

/* The first directory of v, a value of CACHE_DIRECTORY: systemd sets it
 * for a unit with CacheDirectory=, joining several with ':'.  Returns it
 * malloc'd, or NULL with errno ENOENT (v NULL, empty or starting with ':')
 * or ENOMEM. */
char *pk_store_systemd_dir(const char *v);

/* A cache directory as the configuration and PICKLED_CACHE_DIR give it:
 * an absolute path, or one starting with ~/ (under $HOME).  A relative
 * path would depend on the working directory of each run.  *dir is
 * malloc'd.  Returns 0, or -1 with errno EINVAL (not absolute), ENOENT
 * (~/ and no absolute HOME) or ENOMEM. */
int pk_store_dir_expand(const char *s, char **dir);

/* Opens dir, creating it (and missing parents) with mode 0700.  Refuses a
 * directory owned by another user or writable by group or others, since
 * whoever controls it controls what pickled replays.  Returns 0, or -1
 * with err set; s is then safe to pk_store_close. */
int pk_store_open(pk_store *s, const char *dir, pk_error *err);

/* The same for a directory that must already exist (ENOENT otherwise):
 * for what is worth keeping only where the cache already is. */
int pk_store_open_existing(pk_store *s, const char *dir, pk_error *err);

/* Closes s; a zeroed or closed store is fine. */
void pk_store_close(pk_store *s);

/* Path of a file in the store ("v1/ab/KEY", "locks/KEY"...) into buf.
 * Returns 0, or -1 when it does not fit. */
int pk_store_path(const pk_store *s, char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Opens the file at rel (relative to the cache) with flags (O_CLOEXEC and
 * O_NONBLOCK added), refusing a symbolic link anywhere on the way, so that
 * nothing planted in the cache can send pickled outside it, and never
 * waiting on a FIFO.  Returns the fd, or -1 with errno (ELOOP, EXDEV: a
 * link was refused). */
int pk_store_openat(const pk_store *s, const char *rel, int flags, int mode);

/* Makes sure rel is a real directory of the cache (created 0700 when
 * missing; a symbolic link or anything else is refused).  Returns 0, or
 * -1 with err set. */
int pk_store_subdir(const pk_store *s, const char *rel, pk_error *err);

/* Opens the entry for key read-only.  Returns the fd, or -1 with errno
 * (ENOENT: no entry). */
int pk_store_open_entry(const pk_store *s, const pk_key *key);

/* Creates a new temporary file for an entry (O_EXCL, O_NOFOLLOW, 0600) in
 * DIR/tmp; its name goes to tmp (at least 64 bytes).  The file is locked
 * (flock) for as long as the fd is open, so that gc never removes the
 * temporary of a run still in progress.  Returns the fd, or -1 with err
 * set. */
int pk_store_tmp_create(const pk_store *s, char *tmp, size_t len, pk_error *err);

/* Makes the temporary file the entry for key: fsync, then rename over any
 * older entry.  Readers see the old entry or the new one, never a part.
 * Returns 0, or -1 with err set (the temporary is removed either way). */
int pk_store_commit(const pk_store *s, int fd, const char *tmp, const pk_key *key, pk_error *err);

/* Removes the entry for key and its hit counter (an empty directory in the
 * entry's place too).  Returns 0, or -1 with errno (ENOENT when there was
 * none). */
int pk_store_remove(const pk_store *s, const pk_key *key);

/* Records that a refresh of key's entry (--warm, or a stale refresh) failed
 * with status, now, in DIR/v1/XX/KEY.fail, for `show`; the entry stays.  A
 * new result for key, or its removal, clears it.  Best effort. */
void pk_store_note_failure(const pk_store *s, const pk_key *key, int status);

/* The last failed refresh of key: returns 1 with *status and *when_ms
 * (Unix ms), or 0 when there is none. */
int pk_store_last_failure(const pk_store *s, const pk_key *key, int *status, int64_t *when_ms);

/* Counts a hit on key (best effort; errors are ignored). */
void pk_store_count_hit(const pk_store *s, const pk_key *key);

/* Hits recorded for key and the time of the last one (Unix ms, 0: none). */
void pk_store_hits(const pk_store *s, const pk_key *key, uint64_t *hits, int64_t *last_ms);

/* Milliseconds since the Unix epoch, wall clock. */
int64_t pk_now_ms(void);

#endif
