/* trust.c: walking a directory path under the ownership rule (trust.h). */
#include "trust.h"

#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* As the kernel's limit on links followed in one lookup. */
#define MAX_LINKS 40

int pk_trust_uid(uid_t uid)
{
	return uid == geteuid() || uid == 0;
}

int pk_trust_dir(const struct stat *d)
{
	return pk_trust_uid(d->st_uid) && ((d->st_mode & 022) == 0 || (d->st_mode & S_ISVTX));
}

struct walk {
	const char *path; /* as asked for, for messages */
	int create;
	int links;
	pk_error *err;
};

/* A directory we are about to look a name up in (shown: its name). */
static int check_dir(struct walk *w, int fd, const char *shown)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return pk_error_set(w->err, errno, "%s", w->path);
	if (!pk_trust_uid(st.st_uid))
		return pk_error_set(w->err, 0, "%s: %s is owned by another user (uid %u), refused",
		                    w->path, shown, (unsigned)st.st_uid);
	if (!pk_trust_dir(&st))
		return pk_error_set(w->err, 0, "%s: %s is writable by other users, refused",
		                    w->path, shown);
	return 0;
}

/* Walks rel from the directory start (-1: from "/"), checking each
 * directory before a name is looked up in it, and each link before its
 * target is walked.  Returns an O_PATH fd of the last directory (not
 * checked itself: the caller has its own rule for it), or -1. */
static int walk(struct walk *w, int start, const char *rel)
{
	char shown[PATH_MAX], comp[NAME_MAX + 1], target[PATH_MAX];
	const char *p = rel;
	int cur, next;
	size_t slen;

	if (start < 0 || rel[0] == '/') {
		cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		snprintf(shown, sizeof(shown), "/");
	} else {
		cur = fcntl(start, F_DUPFD_CLOEXEC, 0);
		shown[0] = '\0';
	}
	if (cur < 0)
		return pk_error_set(w->err, errno, "%s", w->path);
	slen = strlen(shown);
	while (*p != '\0') {
		size_t n = strcspn(p, "/");
		struct stat st;

		if (n == 0 || (n == 1 && p[0] == '.')) {
			p += n + (p[n] == '/');
			continue;
		}
		if (n > NAME_MAX) {
			pk_error_set(w->err, ENAMETOOLONG, "%s", w->path);
			goto fail;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n + (p[n] == '/');
		if (check_dir(w, cur, slen ? shown : ".") < 0)
			goto fail;
		if (slen + n + 2 < sizeof(shown)) {
			if (slen > 0 && shown[slen - 1] != '/')
				shown[slen++] = '/';
			memcpy(shown + slen, comp, n + 1);
			slen += n;
		}
		next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && w->create) {
			if (mkdirat(cur, comp, 0700) < 0 && errno != EEXIST) {
				pk_error_set(w->err, errno, "%s", w->path);
				goto fail;
			}
			next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0 || fstat(next, &st) < 0) {
			pk_error_set(w->err, errno, "%s", w->path);
			if (next >= 0)
				close(next);
			goto fail;
		}
		if (S_ISLNK(st.st_mode)) {
			/* Pinned by the descriptor: the link we check is the link we
			 * read, and its directory is one nobody else can change. */
			ssize_t len;
			if (!pk_trust_uid(st.st_uid)) {
				pk_error_set(
					w->err, 0,
					"%s: %s is a link owned by another user (uid %u), refused",
					w->path, shown, (unsigned)st.st_uid);
				close(next);
				goto fail;
			}
			len = readlinkat(next, "", target, sizeof(target) - 1);
			close(next);
			if (len < 0 || ++w->links > MAX_LINKS) {
				pk_error_set(w->err, len < 0 ? errno : ELOOP, "%s", w->path);
				goto fail;
			}
			target[len] = '\0';
			if ((next = walk(w, cur, target)) < 0)
				goto fail;
		} else if (!S_ISDIR(st.st_mode)) {
			close(next);
			pk_error_set(w->err, ENOTDIR, "%s", w->path);
			goto fail;
		}
		close(cur);
		cur = next;
	}
	return cur;
fail:
	close(cur);
	return -1;
}

int pk_trust_open_dir(const char *path, int create, pk_error *err)
{
	struct walk w = { path, create, 0, err };
	char *abs = NULL;
	int at, fd;

	if (path[0] != '/') {
		char *cwd = getcwd(NULL, 0);
		if (cwd == NULL)
			return pk_error_set(err, errno, "%s", path);
		size_t len = strlen(cwd) + strlen(path) + 2;
		if ((abs = malloc(len)) != NULL)
			snprintf(abs, len, "%s/%s", cwd, path);
		free(cwd);
		if (abs == NULL)
			return pk_error_set(err, ENOMEM, "%s", path);
	}
	at = walk(&w, -1, abs ? abs : path);
	free(abs);
	if (at < 0)
		return -1;
	fd = openat(at, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		pk_error_set(err, errno, "%s", path);
	close(at);
	return fd;
}

int pk_trust_read_secret(const char *path, unsigned char *buf, size_t min, size_t cap, size_t *len,
                         pk_error *err)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), ret = -1;

	if (fd < 0)
		return pk_error_set(err, errno, "%s", path);
	if (fstat(fd, &st) < 0) {
		pk_error_set(err, errno, "%s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		pk_error_set(err, 0, "%s: not a regular file, refused", path);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		pk_error_set(err, 0, "%s: owned by another user (uid %u), refused", path,
		             (unsigned)st.st_uid);
		goto out;
	}
	if (st.st_mode & 077) {
		pk_error_set(err, 0,
		             "%s: readable or writable by group or others (mode %04o), "
		             "refused",
		             path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if ((n = pk_read_full(fd, buf, cap)) < 0) {
		pk_error_set(err, errno, "%s", path);
		goto out;
	}
	if ((size_t)n < min || ((size_t)n == cap && st.st_size > (off_t)cap)) {
		pk_error_set(err, 0, "%s: %zd bytes, expected %zu to %zu, refused", path,
		             (ssize_t)st.st_size, min, cap);
		goto out;
	}
	*len = (size_t)n;
	ret = 0;
out:
	close(fd);
	return ret;
}
