/* outtree.h: declared output directories (-o DIR): reading the tree back
 * after the command ran, and restoring it on a hit so that the directory
 * holds exactly what the command left in it.
 *
 * What a tree holds, and how each kind comes back:
 * - Regular files, with their permission bits (set-id and sticky bits
 *   dropped), restored as pk_outpath_begin_at restores a file: through a
 *   temporary, and left alone when they already hold the content.
 * - Directories, with their permission bits.
 * - Symbolic links, stored as their text and restored as links with that
 *   text, wherever they point (inside the tree, outside it, nowhere): what
 *   they point to is not stored, and a link is never followed, neither
 *   when reading the tree back nor when restoring it.
 * - Anything else (a FIFO, socket or device) cannot be stored: the result
 *   is not stored.  Hard links within the tree come back as separate
 *   files.
 * On a hit, whatever the directory holds that the tree does not (files
 * added since the run, another kind of file under a member's name) is
 * removed: the directory ends holding what the command left, no more. */
#ifndef PK_OUTTREE_H
#define PK_OUTTREE_H

#include "error.h"
#include "meta.h"
#include "outpath.h"

#include <stddef.h>

/* Reads back the tree of the directory open as fd (from
 * pk_outpath_open_read; path names it in messages) into f: f->is_dir,
 * f->members (each directory before what it holds, the entries of each
 * directory in byte order) and f->size.  Each regular file is handed, open
 * for reading, to file(ctx, fd, member, err), which stores its content and
 * sets member->size and member->sum.  Returns 0, or -1 with err set
 * (errnum 0: a member that cannot be stored, named in the message); f's
 * members are freed with pk_outfile_free_members either way. */
int pk_outtree_read(int fd, const char *path, pk_outfile *f,
                    int (*file)(void *ctx, int fd, pk_outmember *m, pk_error *err), void *ctx,
                    pk_error *err);

typedef struct pk_outtree {
	const pk_outfile *f; /* what to restore (not owned) */
	int top;             /* the directory (O_PATH) */
	size_t *sorted;      /* member indexes by rel, for lookups */
	char *path;          /* for messages: path/rel of the current member */
} pk_outtree;

/* Starts restoring the directory f (f->path, relative to the current
 * directory): made when missing (with the directories on its way), then
 * everything in it that is not a member of the tree, or not of the
 * member's kind, removed, the member directories made and the links set.
 * Returns 0, or -1 with err set (errnum 0 with a damaged tree). */
int pk_outtree_begin(pk_outtree *t, const pk_outfile *f, pk_error *err);

/* Starts writing member k (a regular file) into o, as pk_outpath_begin_at
 * (statdir: the stat cache, for a file that already holds its content).
 * Returns 0, or -1 with err set. */
int pk_outtree_file(pk_outtree *t, size_t k, pk_outpath *o, const char *statdir, pk_error *err);

/* Gives the directories their modes (last: a directory without write
 * permission is filled first) and releases t.  Returns 0, or -1 with err
 * set (t released either way). */
int pk_outtree_finish(pk_outtree *t, pk_error *err);

/* Releases t; a zeroed or released t is fine. */
void pk_outtree_abort(pk_outtree *t);

#endif
