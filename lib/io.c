/* io.c: read/write loops that survive signals and short transfers, and
 * their buffers; a directory's names. */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void *pk_io_alloc(size_t size)
{
	long ps = sysconf(_SC_PAGESIZE); /* glibc's stored value: cheap */
	size_t page = ps > 0 ? (size_t)ps : 4096;
	void *p;
	int e;

	/* Whole pages too, so that the last read into the buffer ends on a
	 * page boundary as well. */
	if (size > SIZE_MAX - page) {
		errno = ENOMEM;
		return NULL;
	}
	size = (size + page - 1) / page * page;
	if ((e = posix_memalign(&p, page, size ? size : page)) != 0) {
		errno = e;
		return NULL;
	}
	return p;
}

void pk_io_free(void *buf)
{
	free(buf);
}

int pk_write_all(int fd, const void *buf, size_t len)
{
	return pk_write_all_or(fd, buf, len, NULL, NULL);
}

int pk_write_all_or(int fd, const void *buf, size_t len, int (*give_up)(void *ctx, size_t moved),
                    void *ctx)
{
	const char *p = buf;
	size_t moved = 0;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			int e = errno;
			if (e != EINTR && e != EAGAIN)
				return -1;
			if (give_up != NULL && give_up(ctx, moved)) {
				errno = ETIMEDOUT;
				return -1;
			}
			moved = 0;
			if (e == EAGAIN) {
				/* An inherited non-blocking descriptor: wait, then go on
				 * (a signal ends the wait, and give_up is asked again). */
				struct pollfd pfd = { fd, POLLOUT, 0 };
				poll(&pfd, 1, -1);
			}
			continue;
		}
		p += n;
		len -= (size_t)n;
		moved += (size_t)n;
	}
	return 0;
}

/* The loop of both: off < 0 reads at the file position, else at off. */
static ssize_t read_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = off < 0 ? read(fd, p + got, len - got)
		                    : pread(fd, p + got, len - got, off + (off_t)got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

ssize_t pk_read_full(int fd, void *buf, size_t len)
{
	return read_full(fd, buf, len, -1);
}

ssize_t pk_pread_full(int fd, void *buf, size_t len, off_t off)
{
	/* A negative offset is pread's EINVAL, not a read at the position. */
	if (off < 0) {
		errno = EINVAL;
		return -1;
	}
	return read_full(fd, buf, len, off);
}

#define SETTLED_NS 2000000000LL

int pk_stat_settled(const struct stat *st)
{
	struct timespec now;

	if (clock_gettime(CLOCK_REALTIME, &now) < 0)
		return 0;
	return pk_ns(now) - pk_ns(st->st_mtim) >= SETTLED_NS &&
	       pk_ns(now) - pk_ns(st->st_ctim) >= SETTLED_NS;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int pk_dir_names(DIR *d, int types, char ***names, size_t *n)
{
	struct dirent *de;
	char **v = NULL;
	size_t nv = 0, cap = 0;
	int e;

	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		unsigned char type = de->d_type;
		if (types && type == DT_UNKNOWN) {
			struct stat st;
			type = fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
			               ? (unsigned char)(IFTODT(st.st_mode))
			               : DT_UNKNOWN;
		}
		if (nv == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **nn = realloc(v, ncap * sizeof(*nn));
			if (nn == NULL)
				goto nomem;
			v = nn;
			cap = ncap;
		}
		size_t len = strlen(de->d_name);
		/* The type travels after the name's NUL, sorted with it. */
		if ((v[nv] = malloc(len + 2)) == NULL)
			goto nomem;
		memcpy(v[nv], de->d_name, len + 1);
		v[nv][len + 1] = (char)type;
		nv++;
	}
	if (errno != 0)
		goto fail;
	if (nv > 1)
		qsort(v, nv, sizeof(*v), cmp_name);
	*names = v;
	*n = nv;
	return 0;
nomem:
	errno = ENOMEM;
fail:
	e = errno;
	pk_dir_names_free(v, nv);
	errno = e;
	return -1;
}

void pk_dir_names_free(char **names, size_t n)
{
	if (names == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
