/* stats.c: the append-only event log behind `pickled stats`. */
#include "stats.h"

#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG "stats.log"
#define GC_STAMP "gc.stamp"

struct record {
	uint32_t event, reserved;
	int64_t value;
};

void pk_stats_add(const pk_store *s, int event, int64_t value)
{
	struct record r = { (uint32_t)event, 0, value };
	int fd = pk_store_openat(s, LOG, O_WRONLY | O_APPEND | O_CREAT, 0600);

	if (fd < 0)
		return;
	if (write(fd, &r, sizeof(r)) < 0) {
		/* best effort, see header */
	}
	close(fd);
}

int pk_stats_read(const pk_store *s, pk_stats *st, pk_error *err)
{
	struct record buf[4096];
	struct stat sb;
	int fd;

	memset(st, 0, sizeof(*st));
	if (fstatat(s->dirfd, GC_STAMP, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		st->last_gc_ms = (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
	fd = pk_store_openat(s, LOG, O_RDONLY, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : pk_error_set(err, errno, "%s/%s", s->dir, LOG);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return pk_error_set(err, 0, "%s/%s: not a regular file", s->dir, LOG);
	}
	/* The log's birth is when counting started; ctime is the best proxy. */
	st->since_ms = (int64_t)sb.st_ctim.tv_sec * 1000 + sb.st_ctim.tv_nsec / 1000000;
	for (;;) {
		ssize_t n = pk_read_full(fd, buf, sizeof(buf));
		if (n < 0) {
			int e = errno;
			close(fd);
			return pk_error_set(err, e, "%s/%s", s->dir, LOG);
		}
		for (size_t i = 0; i < (size_t)n / sizeof(buf[0]); i++) {
			switch (buf[i].event) {
			case PK_STAT_HIT:
				st->hits++;
				if (buf[i].value > 0)
					st->saved_ms += buf[i].value;
				break;
			case PK_STAT_MISS: st->misses++; break;
			case PK_STAT_STALE: st->stale_refreshes++; break;
			case PK_STAT_REFRESH_FAIL: st->refresh_failures++; break;
			case PK_STAT_CORRUPT: st->corrupt++; break;
			case PK_STAT_STORE_FAIL: st->store_failures++; break;
			case PK_STAT_REMOTE_HIT: st->remote_hits++; break;
			case PK_STAT_REMOTE_MISS: st->remote_misses++; break;
			case PK_STAT_REMOTE_ERROR: st->remote_errors++; break;
			case PK_STAT_REMOTE_TIMEOUT: st->remote_timeouts++; break;
			default: break;
			}
		}
		if ((size_t)n < sizeof(buf))
			break;
	}
	close(fd);
	return 0;
}

int pk_stats_zero(const pk_store *s, pk_error *err)
{
	if (unlinkat(s->dirfd, LOG, 0) < 0 && errno != ENOENT)
		return pk_error_set(err, errno, "%s/%s", s->dir, LOG);
	return 0;
}
