/* store.c: the cache directory.
 *
 * Invariants:
 * - The directory belongs to the user running pickled and is not writable
 *   by group or others; otherwise it is refused as a whole.
 * - Every file is created with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, in
 *   DIR/tmp, written fully and fsync'd, then renamed into place: a reader
 *   sees a whole entry or none, and a crash leaves only a temporary that
 *   gc removes.
 * - Entries are never modified in place: a newer result replaces the file
 *   by rename, so a reader holding the old one keeps reading it whole.
 * - Paths come from hex keys only; nothing a user types reaches a path. */
#include "store.h"

#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int64_t pk_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 2);
	if (p == NULL)
		return NULL;
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

int pk_store_dir_expand(const char *s, char **dir)
{
	const char *home;

	*dir = NULL;
	if (s[0] == '/') {
		*dir = strdup(s);
	} else if (s[0] == '~' && s[1] == '/') {
		if ((home = getenv("HOME")) == NULL || home[0] != '/') {
			errno = ENOENT;
			return -1;
		}
		*dir = join(home, s + 2);
	} else {
		errno = EINVAL;
		return -1;
	}
	return *dir == NULL ? -1 : 0;
}

char *pk_store_systemd_dir(const char *v)
{
	size_t n;
	char *dir;

	if (v == NULL || (n = strcspn(v, ":")) == 0) {
		errno = ENOENT;
		return NULL;
	}
	if ((dir = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(dir, v, n);
	dir[n] = '\0';
	return dir;
}

int pk_store_default_dir(char **dir, pk_error *err)
{
	const char *v = getenv("PICKLED_CACHE_DIR"), *name = "PICKLED_CACHE_DIR";
	char *first = NULL;
	const char *home;
	int rc;

	if (v == NULL || *v == '\0') {
		if ((first = pk_store_systemd_dir(getenv("CACHE_DIRECTORY"))) == NULL &&
		    errno == ENOMEM)
			return pk_error_set(err, ENOMEM, "cache directory");
		v = first;
		name = "CACHE_DIRECTORY";
	}
	if (v != NULL) {
		rc = 0;
		if (pk_store_dir_expand(v, dir) < 0)
			rc = pk_error_set(
				err, errno == ENOMEM ? ENOMEM : 0, "%s: '%s': %s", name, v,
				errno == ENOENT
					? "cannot expand '~': HOME is not set"
					: "expected an absolute path, or one starting with ~/");
		free(first);
		return rc;
	}
	if ((v = getenv("XDG_CACHE_HOME")) != NULL && v[0] == '/')
		*dir = join(v, "pickled");
	else {
		home = getenv("HOME");
		if (home == NULL || *home == '\0') {
			struct passwd *pw = getpwuid(getuid());
			home = pw ? pw->pw_dir : NULL;
		}
		if (home == NULL)
			return pk_error_set(
				err, 0, "no home directory for the cache (set PICKLED_CACHE_DIR)");
		*dir = join(home, ".cache/pickled");
	}
	if (*dir == NULL)
		return pk_error_set(err, ENOMEM, "cache directory");
	return 0;
}

static int open_store(pk_store *s, const char *dir, int create, pk_error *err)
{
	struct stat st;
	static const char tag[] = "Signature: 8a477f597d28d172789f06886806bc55\n"
				  "# This file marks a pickled cache directory.\n";

	s->dir = NULL;
	s->dirfd = -1;
	if ((s->dir = strdup(dir)) == NULL)
		return pk_error_set(err, ENOMEM, "%s", dir);
	/* Reached only through directories and links of ours or root's:
	 * whoever could swap one could point the cache, and gc's removals,
	 * anywhere. */
	s->dirfd = pk_trust_open_dir(dir, create, err);
	if (s->dirfd < 0)
		return -1;
	if (fstat(s->dirfd, &st) < 0)
		return pk_error_set(err, errno, "%s", dir);
	if (st.st_uid != geteuid())
		return pk_error_set(err, 0, "%s: owned by another user (uid %u), refused", dir,
		                    (unsigned)st.st_uid);
	if (st.st_mode & 022)
		return pk_error_set(err, 0, "%s: writable by group or others, refused", dir);
	if (faccessat(s->dirfd, ".", W_OK, AT_EACCESS) < 0)
		return pk_error_set(err, errno, "%s", dir);
	if (create && fstatat(s->dirfd, "CACHEDIR.TAG", &st, AT_SYMLINK_NOFOLLOW) < 0 &&
	    errno == ENOENT) {
		int fd = openat(s->dirfd, "CACHEDIR.TAG",
		                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			if (write(fd, tag, sizeof(tag) - 1) < 0) {
				/* only a marker for backup tools */
			}
			close(fd);
		}
	}
	/* tmp/ and v1/ are made when first needed: a hit creates nothing. */
	return 0;
}

int pk_store_open(pk_store *s, const char *dir, pk_error *err)
{
	return open_store(s, dir, 1, err);
}

int pk_store_open_existing(pk_store *s, const char *dir, pk_error *err)
{
	return open_store(s, dir, 0, err);
}

void pk_store_close(pk_store *s)
{
	if (s == NULL)
		return;
	if (s->dirfd >= 0)
		close(s->dirfd);
	s->dirfd = -1;
	free(s->dir);
	s->dir = NULL;
}

int pk_store_path(const pk_store *s, char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(buf, len, "%s/", s->dir);

	if (n < 0 || (size_t)n >= len)
		return -1;
	va_start(ap, fmt);
	int m = vsnprintf(buf + n, len - (size_t)n, fmt, ap);
	va_end(ap);
	return m < 0 || (size_t)m >= len - (size_t)n ? -1 : 0;
}

int pk_store_openat(const pk_store *s, const char *rel, int flags, int mode)
{
	struct open_how how;
	int fd;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
	how.mode = (flags & O_CREAT) ? (uint64_t)mode : 0;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
	fd = (int)syscall(SYS_openat2, s->dirfd, rel, &how, sizeof(how));
	if (fd >= 0 || errno != ENOSYS)
		return fd;
	/* Kernels before 5.6: the last component at least is not followed. */
	return openat(s->dirfd, rel, flags | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW, mode);
}

int pk_store_subdir(const pk_store *s, const char *rel, pk_error *err)
{
	struct stat st;

	if (mkdirat(s->dirfd, rel, 0700) < 0 && errno != EEXIST)
		return pk_error_set(err, errno, "%s/%s", s->dir, rel);
	if (fstatat(s->dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return pk_error_set(err, errno, "%s/%s", s->dir, rel);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return pk_error_set(err, 0, "%s/%s: not a directory of the cache, refused", s->dir,
		                    rel);
	return 0;
}

static void entry_rel(const pk_key *key, char rel[48], const char *suffix)
{
	char hex[PK_KEY_HEX + 1];
	pk_key_hex(key, hex);
	snprintf(rel, 48, "v1/%.2s/%s%s", hex, hex, suffix);
}

int pk_store_open_entry(const pk_store *s, const pk_key *key)
{
	char rel[48];
	entry_rel(key, rel, "");
	return pk_store_openat(s, rel, O_RDONLY, 0);
}

int pk_store_tmp_create(const pk_store *s, char *tmp, size_t len, pk_error *err)
{
	static unsigned counter;
	for (int tries = 0; tries < 100; tries++) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int n = snprintf(tmp, len, "tmp/%ld.%ld.%u", (long)getpid(), (long)ts.tv_nsec,
		                 counter++);
		if (n < 0 || (size_t)n >= len)
			return pk_error_set(err, ENAMETOOLONG, "%s/tmp", s->dir);
		int fd = pk_store_openat(s, tmp, O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd >= 0) {
			/* Held until close: gc leaves a locked temporary alone. */
			flock(fd, LOCK_EX | LOCK_NB);
			return fd;
		}
		if (errno == EEXIST)
			continue;
		if (errno == ENOENT && tries == 0) {
			if (pk_store_subdir(s, "tmp", err) < 0)
				return -1;
			continue;
		}
		return pk_error_set(err, errno, "%s/tmp", s->dir);
	}
	return pk_error_set(err, EEXIST, "%s/tmp", s->dir);
}


int pk_store_commit(const pk_store *s, int fd, const char *tmp, const pk_key *key, pk_error *err)
{
	char rel[48], shard[8];

	entry_rel(key, rel, "");
	memcpy(shard, rel, 5);
	shard[5] = '\0';
	if (fsync(fd) < 0) {
		pk_error_set(err, errno, "%s/%s", s->dir, tmp);
		goto fail;
	}
	/* Both checked: a rename through a planted link would put the entry
	 * outside the cache. */
	if (pk_store_subdir(s, "v1", err) < 0 || pk_store_subdir(s, shard, err) < 0)
		goto fail;
	if (renameat(s->dirfd, tmp, s->dirfd, rel) < 0) {
		pk_error_set(err, errno, "%s/%s", s->dir, rel);
		goto fail;
	}
	/* A new result starts with no hits, and no failed refresh. */
	entry_rel(key, rel, ".hits");
	unlinkat(s->dirfd, rel, 0);
	entry_rel(key, rel, ".fail");
	unlinkat(s->dirfd, rel, 0);
	return 0;
fail:
	unlinkat(s->dirfd, tmp, 0);
	return -1;
}

int pk_store_remove(const pk_store *s, const pk_key *key)
{
	char rel[48];
	int ret, saved;

	entry_rel(key, rel, "");
	ret = unlinkat(s->dirfd, rel, 0);
	/* Only pickled names things here: an empty directory in an entry's
	 * place is junk to clear; one with contents is left, and said so. */
	if (ret < 0 && errno == EISDIR)
		ret = unlinkat(s->dirfd, rel, AT_REMOVEDIR);
	saved = errno;
	entry_rel(key, rel, ".hits");
	unlinkat(s->dirfd, rel, 0);
	entry_rel(key, rel, ".fail");
	unlinkat(s->dirfd, rel, 0);
	errno = saved;
	return ret;
}

/* KEY.fail: the status as a little-endian u32; the time is its mtime. */
void pk_store_note_failure(const pk_store *s, const pk_key *key, int status)
{
	char rel[48], tmp[256];
	unsigned char b[4];
	pk_error err = { 0 };
	int fd;

	for (int i = 0; i < 4; i++)
		b[i] = (unsigned char)((unsigned)status >> (8 * i));
	entry_rel(key, rel, ".fail");
	/* A temporary like an entry's, which gc knows, then renamed. */
	if ((fd = pk_store_tmp_create(s, tmp, sizeof(tmp), &err)) < 0)
		return;
	if (write(fd, b, sizeof(b)) != (ssize_t)sizeof(b) || close(fd) < 0 ||
	    renameat(s->dirfd, tmp, s->dirfd, rel) < 0)
		unlinkat(s->dirfd, tmp, 0);
}

int pk_store_last_failure(const pk_store *s, const pk_key *key, int *status, int64_t *when_ms)
{
	char rel[48];
	unsigned char b[4];
	struct stat st;
	int fd, ok;

	entry_rel(key, rel, ".fail");
	if ((fd = pk_store_openat(s, rel, O_RDONLY, 0)) < 0)
		return 0;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	     read(fd, b, sizeof(b)) == (ssize_t)sizeof(b);
	close(fd);
	if (!ok)
		return 0;
	*status = (int)((unsigned)b[0] | (unsigned)b[1] << 8 | (unsigned)b[2] << 16 |
	                (unsigned)b[3] << 24);
	*when_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	return 1;
}

void pk_store_count_hit(const pk_store *s, const pk_key *key)
{
	char rel[48];
	int fd;

	/* O_APPEND makes concurrent hits add up without a lock. */
	entry_rel(key, rel, ".hits");
	fd = pk_store_openat(s, rel, O_WRONLY | O_APPEND | O_CREAT, 0600);
	if (fd < 0)
		return;
	if (write(fd, "h", 1) < 0) {
		/* a lost hit count must never fail the job */
	}
	close(fd);
}

void pk_store_hits(const pk_store *s, const pk_key *key, uint64_t *hits, int64_t *last_ms)
{
	char rel[48];
	struct stat st;

	entry_rel(key, rel, ".hits");
	if (fstatat(s->dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
		*hits = 0;
		*last_ms = 0;
		return;
	}
	*hits = (uint64_t)st.st_size;
	*last_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}
