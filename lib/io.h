/* io.h: whole reads and writes over file descriptors, retrying on EINTR
 * and short transfers; the buffers large transfers go through; when a
 * file's stat may stand for its content; a directory's names, sorted. */
#ifndef PK_IO_H
#define PK_IO_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* Allocates a buffer of size bytes for reads and writes, starting on a page
 * boundary.  Every large I/O buffer comes from here: the kernel copies
 * between the page cache (or a pipe's pages) and a page-aligned buffer
 * markedly faster than into one a few bytes past a page boundary, which is
 * what malloc returns for large sizes (its chunk header comes first).  On
 * some processors (AMD EPYC) a misaligned destination costs about 60% more
 * system time per byte read.  Returns NULL with errno set (ENOMEM); free
 * the buffer with pk_io_free. */
void *pk_io_alloc(size_t size);

/* Frees a buffer from pk_io_alloc; NULL is fine. */
void pk_io_free(void *buf);

/* Writes all len bytes.  Returns 0, or -1 with errno set. */
int pk_write_all(int fd, const void *buf, size_t len);

/* The same, asking give_up(ctx, moved) whenever a write is interrupted by a
 * signal or would block, with the bytes written since the last time it was
 * asked: a non-zero answer ends the write with -1 and errno ETIMEDOUT.
 * give_up NULL: pk_write_all. */
int pk_write_all_or(int fd, const void *buf, size_t len, int (*give_up)(void *ctx, size_t moved),
                    void *ctx);

/* Reads until len bytes or end of file.  Returns the count read (less than
 * len only at end of file), or -1 with errno set. */
ssize_t pk_read_full(int fd, void *buf, size_t len);

/* The same at an offset, leaving the file position alone. */
ssize_t pk_pread_full(int fd, void *buf, size_t len, off_t off);

/* A time in nanoseconds since the epoch, as the stat records keep it. */
static inline int64_t pk_ns(struct timespec ts)
{
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Non-zero when st's modification and change times are at least two
 * seconds in the past.  Only then may a record keyed on the stat stand for
 * the content: a file changed twice within one timestamp tick (a second on
 * some file systems) keeps its stat. */
int pk_stat_settled(const struct stat *st);

/* The names read from the open directory d ("." and ".." left out), sorted
 * by strcmp, each followed past its NUL by its type: readdir's DT_* byte,
 * or with types non-zero, where readdir gave DT_UNKNOWN, lstat's (still
 * DT_UNKNOWN if that fails).  d stays open.  On success *names (*n of them)
 * are the caller's, freed with pk_dir_names_free.  Returns 0, or -1 with
 * errno set (ENOMEM, or readdir's) and nothing to free. */
int pk_dir_names(DIR *d, int types, char ***names, size_t *n);

/* Frees n names from pk_dir_names; NULL is fine. */
void pk_dir_names_free(char **names, size_t n);

#endif
