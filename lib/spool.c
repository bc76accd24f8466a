/* spool.c: stdin hashing and spooling. */
#include "spool.h"

#include "hash.h"
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUF (256 * 1024)

int pk_spool_wanted(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return 0;
	return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISREG(st.st_mode);
}

static int open_tmp(const char *dir)
{
	const char *t = getenv("TMPDIR");
	int fd = -1;

	if (dir != NULL)
		fd = open(dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	if (fd < 0)
		fd = open(t && *t ? t : "/tmp", O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	return fd;
}

/* Hashes the regular file src from off into xs, copying it to dst (-1:
 * no copy), until its end (*ended set) or once more than limit bytes are
 * read.  Returns the bytes read, or -1 with errno. */
static int64_t hash_file(int src, off_t off, uint64_t limit, int dst, unsigned char *buf,
                         XXH3_state_t *xs, int *ended)
{
	uint64_t total = 0;

	*ended = 0;
	while (total <= limit) {
		ssize_t n = pread(src, buf, BUF, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n > 0 && dst >= 0 && pk_write_all(dst, buf, (size_t)n) < 0))
			return -1;
		if (n == 0) {
			*ended = 1;
			break;
		}
		pk_hash_update(xs, buf, (size_t)n);
		off += n;
		total += (uint64_t)n;
	}
	return (int64_t)total;
}

int pk_spool_read(int src, const char *dir, uint64_t limit, pk_spool *sp, pk_error *err)
{
	XXH3_state_t xs;
	XXH128_canonical_t c;
	struct stat st;
	unsigned char *buf;
	int ret = -1, consumed = 0;

	memset(sp, 0, sizeof(*sp));
	sp->fd = -1;
	sp->src_fd = src;
	if (fstat(src, &st) < 0)
		return pk_error_set(err, errno, "cannot read stdin");
	if ((buf = pk_io_alloc(BUF)) == NULL)
		return pk_error_set(err, ENOMEM, "cannot read stdin");
	XXH3_128bits_reset(&xs);
	if (S_ISREG(st.st_mode)) {
		off_t off = lseek(src, 0, SEEK_CUR);
		if (off < 0)
			off = 0;
		sp->start = off;
		sp->in_place = 1;
		/* Larger than the limit: not worth reading to hash (and if it
		 * grows while read, hash_file stops past the limit). */
		if (st.st_size <= off || (uint64_t)(st.st_size - off) <= limit) {
			int64_t n = hash_file(src, off, limit, -1, buf, &xs, &sp->complete);
			if (n < 0) {
				pk_error_set(err, errno, "cannot read stdin");
				goto out;
			}
			sp->size = (uint64_t)n;
		}
		if ((sp->fd = fcntl(src, F_DUPFD_CLOEXEC, 3)) < 0) {
			pk_error_set(err, errno, "cannot read stdin");
			goto out;
		}
	} else {
		if ((sp->fd = open_tmp(dir)) < 0) {
			pk_error_set(err, errno, "cannot create a file to hold stdin");
			goto out;
		}
		for (;;) {
			size_t want = BUF;
			if (sp->size >= limit)
				break;
			if (limit - sp->size < want)
				want = (size_t)(limit - sp->size);
			ssize_t n = read(src, buf, want);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				sp->spool_errno = errno; /* what was read is still fed */
				break;
			}
			if (n == 0) {
				sp->complete = 1;
				break;
			}
			consumed = 1;
			if (pk_write_all(sp->fd, buf, (size_t)n) < 0) {
				/* Keep the chunk: the command must get every byte. */
				sp->spool_errno = errno;
				if (ftruncate(sp->fd, (off_t)sp->size) < 0) {
					pk_error_set(err, errno, "cannot spool stdin");
					goto out;
				}
				sp->pending = buf;
				sp->pending_len = (size_t)n;
				buf = NULL;
				break;
			}
			pk_hash_update(&xs, buf, (size_t)n);
			sp->size += (uint64_t)n;
		}
		/* Exactly at the limit: one more byte tells whether it ended. */
		if (!sp->complete && sp->spool_errno == 0) {
			unsigned char one;
			ssize_t n;
			while ((n = read(src, &one, 1)) < 0 && errno == EINTR)
				;
			consumed |= n == 1;
			if (n == 0)
				sp->complete = 1;
			else if (n == 1 && (sp->pending = pk_io_alloc(1)) != NULL) {
				sp->pending[0] = one;
				sp->pending_len = 1;
			} else if (n == 1) {
				pk_error_set(err, ENOMEM, "cannot spool stdin");
				goto out;
			}
		}
	}
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&xs));
	memcpy(sp->hash, c.digest, 16);
	ret = pk_spool_rewind(sp);
	if (ret < 0)
		pk_error_set(err, errno, "cannot rewind stdin");
out:
	pk_io_free(buf);
	if (ret < 0 && sp->fd >= 0) {
		close(sp->fd);
		sp->fd = -1;
	}
	if (ret < 0)
		sp->lost = consumed;
	return ret;
}

int pk_spool_own(pk_spool *sp, const char *dir, pk_error *err)
{
	XXH3_state_t xs;
	XXH128_canonical_t c;
	unsigned char *buf;
	int64_t copied;
	int fd, ended, ret = -1;

	if (!sp->in_place || !sp->complete)
		return 0;
	if ((buf = pk_io_alloc(BUF)) == NULL)
		return pk_error_set(err, ENOMEM, "cannot copy stdin");
	if ((fd = open_tmp(dir)) < 0) {
		pk_error_set(err, errno, "cannot copy stdin");
		goto out;
	}
	XXH3_128bits_reset(&xs);
	if ((copied = hash_file(sp->fd, sp->start, sp->size, fd, buf, &xs, &ended)) < 0) {
		pk_error_set(err, errno, "cannot copy stdin");
		goto out;
	}
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&xs));
	if (!ended || (uint64_t)copied != sp->size || memcmp(c.digest, sp->hash, 16) != 0) {
		pk_error_set(err, 0, "stdin changed since it was read");
		goto out;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		pk_error_set(err, errno, "cannot copy stdin");
		goto out;
	}
	close(sp->fd);
	sp->fd = fd;
	fd = -1;
	sp->start = 0;
	sp->in_place = 0;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	pk_io_free(buf);
	return ret;
}

int pk_spool_rewind(pk_spool *sp)
{
	if (sp->fd < 0)
		return 0;
	return lseek(sp->fd, sp->start, SEEK_SET) < 0 ? -1 : 0;
}

int pk_spool_feed(pk_spool *sp, pid_t *feeder, pk_error *err)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return pk_error_set(err, errno, "cannot create pipe");
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return pk_error_set(err, errno, "cannot start stdin feeder");
	}
	if (pid == 0) {
		char *buf = pk_io_alloc(BUF);
		int fds[2] = { sp->fd, sp->src_fd };
		signal(SIGPIPE, SIG_DFL);
		close(p[0]);
		if (buf == NULL || pk_spool_rewind(sp) < 0)
			_exit(1);
		for (int i = 0; i < 2; i++) {
			ssize_t n;
			while ((n = read(fds[i], buf, BUF)) != 0) {
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0 || pk_write_all(p[1], buf, (size_t)n) < 0)
					_exit(1);
			}
			if (i == 0 && sp->pending_len > 0 &&
			    pk_write_all(p[1], sp->pending, sp->pending_len) < 0)
				_exit(1);
		}
		_exit(0);
	}
	close(p[1]);
	*feeder = pid;
	return p[0];
}

void pk_spool_close(pk_spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->fd >= 0) {
		close(sp->fd);
		sp->fd = -1;
	}
	pk_io_free(sp->pending);
	sp->pending = NULL;
	sp->pending_len = 0;
}
