/* io.h: whole reads and writes over file descriptors, retrying on EINTR
 * and short transfers. */
#ifndef PK_IO_H
#define PK_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Writes all len bytes.  Returns 0, or -1 with errno set. */
int pk_write_all(int fd, const void *buf, size_t len);

/* Reads until len bytes or end of file.  Returns the count read (less than
 * len only at end of file), or -1 with errno set. */
ssize_t pk_read_full(int fd, void *buf, size_t len);

/* The same at an offset, leaving the file position alone. */
ssize_t pk_pread_full(int fd, void *buf, size_t len, off_t off);

#endif
