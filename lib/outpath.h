/* outpath.h: the declared output files (-o) on the user's side: reading one
 * back after the command ran, and restoring one on a hit, so that a hit
 * leaves the path as the command leaves it and gives nobody more than the
 * bare command would.
 *
 * Both resolve the path through the kernel and then work from descriptors:
 * the directories on the way are followed as the command follows them (a
 * link there is the command's business: it writes through it too), and
 * nothing is checked by name and then used by name again.
 * - Reading back: a final symbolic link is followed only when it is owned
 *   by the user pickled runs as or by root, in a directory no other user
 *   can change (owned by one of them, and not writable by group or others
 *   unless sticky).  Otherwise the output is refused: another user could
 *   have planted it to make pickled store a file only we can read.
 * - Restoring: the path is opened as the command's open(2) would open it
 *   (the kernel applies fs.protected_symlinks), so a final link is written
 *   through to its target.  An existing file keeps its owner, group and
 *   mode; it is replaced atomically (a temporary in its own directory,
 *   renamed over it) when that directory allows it, and rewritten in place
 *   when it does not (not writable, an owner we cannot give back, more than
 *   one hard link).  A new file gets the recorded mode without set-id or
 *   sticky bits, less the umask. */
#ifndef PK_OUTPATH_H
#define PK_OUTPATH_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

/* Opens the output file or directory at path (relative to the current
 * directory) for reading, under the rule above, non-blocking (a FIFO never
 * hangs).  *st is its status.  Returns the fd, or -1 with err set:
 * err->errnum ENOENT when there is no file, EPERM when a link was refused;
 * a path that is neither a regular file nor a directory is an error with
 * errnum 0. */
int pk_outpath_open_read(const char *path, struct stat *st, pk_error *err);

/* What a restore is to write, so that a file already holding it is left
 * alone: its size and XXH3-128, and the stat cache to look the file's hash
 * up in (see inputs.h; NULL: none). */
typedef struct pk_outpath_want {
	uint64_t size;
	const unsigned char *sum; /* NULL: unknown, the file is always written */
	const char *statdir;
} pk_outpath_want;

typedef struct pk_outpath {
	const char *path; /* as declared (not owned) */
	int dirfd;        /* the directory the file is written in */
	int fd;           /* what is being written */
	int inplace;      /* fd is the file itself, not a temporary */
	int anon;         /* fd is an unnamed temporary (O_TMPFILE) */
	int fresh;        /* there was no file at the path */
	int unchanged;    /* the file already holds the content: nothing
	                     is written, and commit leaves it alone */
	char tmp[32];     /* a named temporary's name in dirfd */
	char *name;       /* the file's name in dirfd (malloc'd) */
} pk_outpath;

/* Starts restoring path; mode is the recorded mode of the command's file.
 * Missing directories on the way are created (mode 0777 less the umask,
 * as mkdir -p makes them).  The content goes to a temporary nobody sees
 * until commit: an unnamed one (O_TMPFILE) where the file system allows
 * it, so that a restore killed before its commit leaves nothing behind;
 * else a named one, .pickled-XXXXXXXX, in the same directory.  With want,
 * a regular file already at the path with that size and hash is left
 * alone (o->unchanged: no temporary, no new inode, no new mtime).
 * Returns 0, or -1 with err set (nothing was changed then, except the
 * directories created). */
int pk_outpath_begin(pk_outpath *o, const char *path, uint32_t mode, const pk_outpath_want *want,
                     pk_error *err);

/* Opens (O_PATH) the declared directory at path as the command reaches it,
 * making it (mode's permission bits, less the umask) and the directories
 * on its way when missing.  Returns the fd, or -1 with err set (ENOTDIR:
 * something else is there). */
int pk_outpath_open_dir(const char *path, uint32_t mode, pk_error *err);

/* The same for a member of a declared directory: the file name in the
 * directory open as dirfd (path names it in messages), never through a
 * link, given exactly mode's permission bits (not less the umask: the
 * command's files had them), atomically (an existing file of another
 * kind is the caller's to remove first).  Returns 0, or -1 with err set. */
int pk_outpath_begin_at(pk_outpath *o, int dirfd, const char *name, const char *path, uint32_t mode,
                        const pk_outpath_want *want, pk_error *err);

/* Writes the next len bytes (nothing when o->unchanged).  Returns 0, or -1
 * with err set. */
int pk_outpath_write(pk_outpath *o, const void *buf, size_t len, pk_error *err);

/* Puts the file in place and releases o.  Returns 0, or -1 with err set
 * (o released either way). */
int pk_outpath_commit(pk_outpath *o, pk_error *err);

/* Gives up: removes the temporary (an in-place file keeps what was
 * written) and releases o.  A zeroed or released o is fine. */
void pk_outpath_abort(pk_outpath *o);

#endif
