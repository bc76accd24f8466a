/* lock.c: flock-based locks with a bounded wait. */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pk_lock_acquire(const char *path, int64_t timeout_ms, pk_error *err)
{
	int64_t start = mono_ms();
	long delay_us = 1000;

	for (;;) {
		struct stat a, b;
		int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);

		if (fd < 0)
			return pk_error_set(err, errno, "%s", path);
		if (fstat(fd, &a) < 0 || !S_ISREG(a.st_mode)) {
			close(fd);
			return pk_error_set(err, 0, "%s: not a regular file", path);
		}
		while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			if (errno != EWOULDBLOCK && errno != EINTR) {
				int saved = errno;
				close(fd);
				return pk_error_set(err, saved, "%s", path);
			}
			if (mono_ms() - start >= timeout_ms) {
				close(fd);
				return pk_error_set(err, EWOULDBLOCK, "%s", path);
			}
			/* Poll with backoff: a waiter notices a release within 50 ms. */
			struct timespec ts = { 0, delay_us * 1000 };
			nanosleep(&ts, NULL);
			if (delay_us < 50000)
				delay_us *= 2;
		}
		/* The file may have been removed (by gc) between open and flock:
		 * then this lock guards nothing, try again on the new file. */
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			return fd;
		close(fd);
	}
}

void pk_lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}
