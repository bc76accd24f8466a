/* unit.h: what every unit test of lib/ shares: the cmocka includes, a
 * temporary folder per test, and whole-file reads and writes. */
#ifndef PK_UNIT_H
#define PK_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh folder from mkdtemp, malloc'd; remove it with unit_rmtree. */
static inline char *unit_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char path[4096];
	int n;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	n = snprintf(path, sizeof(path), "%s/pickled-unit-XXXXXX", base);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	assert_non_null(mkdtemp(path));
	char *dir = strdup(path);
	assert_non_null(dir);
	return dir;
}

static inline int unit_rm_one(const char *path, const struct stat *st, int flag,
                              struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		fprintf(stderr, "# cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

/* rm -rf dir, then frees dir.  NULL is fine. */
static inline void unit_rmtree(char *dir)
{
	if (dir == NULL)
		return;
	chmod(dir, 0700);
	nftw(dir, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* "dir/name" into a malloc'd string. */
static inline char *unit_path(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	assert_non_null(p);
	assert_true(snprintf(p, n, "%s/%s", dir, name) == (int)n - 1);
	return p;
}

/* Creates (or replaces) path with len bytes of buf and the given mode. */
static inline void unit_write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	const char *p = buf;

	assert_true(fd >= 0);
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* The whole content of fd from offset 0, malloc'd (at least one byte is
 * allocated, so the result is never NULL); its length goes to *len. */
static inline unsigned char *unit_read_fd(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	unsigned char *buf = malloc(cap);

	assert_non_null(buf);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		ssize_t r = pread(fd, buf + n, cap - n, (off_t)n);
		assert_true(r >= 0);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return buf;
}

static inline unsigned char *unit_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned char *buf;

	assert_true(fd >= 0);
	buf = unit_read_fd(fd, len);
	close(fd);
	return buf;
}

/* Asserts that path holds exactly the len bytes of want. */
static inline void unit_assert_file(const char *path, const void *want, size_t len)
{
	size_t n;
	unsigned char *got = unit_read_file(path, &n);

	assert_int_equal(n, len);
	if (len > 0)
		assert_memory_equal(got, want, len);
	free(got);
}

/* An empty temporary file open for reading and writing, already unlinked. */
static inline int unit_tmpfile(const char *dir)
{
	char *p = unit_path(dir, "scratch-XXXXXX");
	int fd = mkostemp(p, O_CLOEXEC);

	assert_true(fd >= 0);
	unlink(p);
	free(p);
	return fd;
}

#endif
