/* spool.h: reading stdin into the key.  stdin is copied to an unlinked
 * temporary file while it is hashed, so that the command later reads the
 * very same bytes and memory stays bounded whatever its size. */
#ifndef PK_SPOOL_H
#define PK_SPOOL_H

#include "error.h"

#include <stdint.h>
#include <sys/types.h>

typedef struct pk_spool {
	int fd;                 /* what the command reads; -1: none */
	off_t start;            /* where the command starts reading in fd */
	int complete;           /* 1: hash covers all of stdin */
	unsigned char hash[16]; /* XXH3-128 of stdin when complete */
	uint64_t size;          /* bytes hashed */
	int src_fd;             /* the original stdin, for the rest */
	int in_place;           /* fd is stdin itself, a regular file: the
	                           command reads it from start, complete or not */
	unsigned char *pending; /* read from stdin but not in fd (the spool
	                           could not take it): fed after fd's bytes */
	size_t pending_len;
	int spool_errno; /* why the spool stopped short, or 0 */
	int lost;        /* pk_spool_read failed after taking bytes
	                    from src_fd: the command cannot be given
	                    its stdin whole */
} pk_spool;

/* Returns 1 when fd is a pipe, FIFO, socket or regular file: input worth
 * keying on; 0 for a terminal, character device or a closed descriptor. */
int pk_spool_wanted(int fd);

/* Hashes src_fd to its end.  A regular file is hashed in place from its
 * current offset (in_place); anything else is copied into an unlinked file
 * in dir (NULL: $TMPDIR or /tmp).  Either way, past limit bytes complete
 * is 0 and the caller must run uncached, feeding the command with
 * pk_spool_feed, or from sp->fd rewound when in_place.  A spool that cannot
 * be written (a full disk, ulimit -f) or a stdin that fails to read also
 * leaves complete 0, with spool_errno set: no byte read is ever lost, the
 * feed gives them all.  Returns 0, or -1 with err set: nothing has been
 * read then, unless the spool failed at its very end (it cannot be
 * rewound, the chunk it could not write cannot be kept), which sets
 * sp->lost. */
int pk_spool_read(int src_fd, const char *dir, uint64_t limit, pk_spool *sp, pk_error *err);

/* Gives a complete in-place spool a copy of its own, in an unlinked file in
 * dir (NULL: $TMPDIR or /tmp), checked against sp->hash: for a command run
 * after pickled returns (--warm, a stale refresh), when the caller may
 * already have changed its file.  Nothing to do for other spools.  Returns
 * 0, or -1 with err set (the file changed since it was hashed, or cannot
 * be copied); sp is unchanged then. */
int pk_spool_own(pk_spool *sp, const char *dir, pk_error *err);

/* Rewinds sp->fd to where the command must start reading.  Returns 0, or
 * -1 with errno set. */
int pk_spool_rewind(pk_spool *sp);

/* For an incomplete spool: returns a pipe's read end giving the spooled
 * bytes, the pending ones, then the rest of sp->src_fd, fed by a child process whose
 * pid goes to *feeder.  Returns -1 with err set on failure. */
int pk_spool_feed(pk_spool *sp, pid_t *feeder, pk_error *err);

/* Closes the spool; a zeroed one (fd -1) is fine. */
void pk_spool_close(pk_spool *sp);

#endif
