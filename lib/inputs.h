/* inputs.h: declared input files: expansion of globs and directories, and
 * content hashing through a stat cache, so that an unchanged input is not
 * read again (a 1 GiB input is hashed once, not on every cron run). */
#ifndef PK_INPUTS_H
#define PK_INPUTS_H

#include "error.h"
#include "key.h"

#include <sys/stat.h>

/* XXH3-128 of the file at path.  statdir (NULL: none) is a folder where
 * (device, inode, size, mtime, ctime) -> hash records are kept; a record
 * that matches the file's stat is used instead of reading it.
 * Returns 0, 1 when the file does not exist, or -1 with err set. */
int pk_hash_file(const char *statdir, const char *path, unsigned char hash[16], pk_error *err);

/* The same for the regular file open as fd, whose status is *st (path
 * names it in messages): an output file a hit may find unchanged. */
int pk_hash_fd(const char *statdir, int fd, const struct stat *st, const char *path,
               unsigned char hash[16], pk_error *err);

/* Checks again, after the command ran, every input in v (as filled by
 * pk_inputs_expand): one whose device, inode, size, mtime or ctime differ
 * from when it was hashed, that appeared or went away, changed.  A stat that
 * was not settled when taken proves nothing: that file's content is hashed
 * again and compared.  Paths in skip (n_skip of them, NULL: none) are not
 * checked (the run's declared outputs: the command is meant to write them).
 * Returns 1 with *which set to the first input that changed, 0 when none
 * did. */
int pk_inputs_changed(const pk_input *v, size_t n, char *const *skip, size_t n_skip, size_t *which);

/* Expands patterns (paths, globs, directories) into regular files, sorted
 * by path, duplicates removed, each hashed as pk_hash_file does.  A path or
 * glob that matches nothing is recorded as absent; a pattern with
 * wildcards that matched no file at all has nomatch set.  Special files (FIFOs,
 * devices) are an error.  *out is the caller's (pk_key_parts_free frees it
 * as part of parts).  Returns 0, or -1 with err set. */
int pk_inputs_expand(char *const *patterns, size_t n, const char *statdir, pk_input **out,
                     size_t *nout, pk_error *err);

#endif
