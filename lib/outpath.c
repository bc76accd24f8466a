/* outpath.c: reading back and restoring declared output files by
 * descriptor (see outpath.h for the rule). */
#include "outpath.h"

#include "inputs.h"
#include "io.h"
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* mkdir -p dir: each missing directory on the way, mode 0777 less the
 * umask, as the command's own mkdir -p would make them.  Returns 0, or -1
 * with errno. */
static int make_dirs(char *dir)
{
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(dir, 0777);
		*p = '/';
		if (rc < 0 && errno != EEXIST)
			return -1;
	}
	return mkdir(dir, 0777) < 0 && errno != EEXIST ? -1 : 0;
}

/* Opens the directory of path (as the command would reach it, links and
 * all) and sets *base to its last component; with create, a missing one
 * is made first.  Returns the fd, or -1 with err set. */
static int open_parent(const char *path, const char **base, int create, pk_error *err)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	*base = slash ? slash + 1 : path;
	if (**base == '\0' || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0) {
		pk_error_set(err, EISDIR, "%s", path);
		return -1;
	}
	if (slash == NULL) {
		if ((fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			pk_error_set(err, errno, "%s", path);
		return fd;
	}
	if ((dir = strndup(path, slash == path ? 1 : (size_t)(slash - path))) == NULL) {
		pk_error_set(err, ENOMEM, "%s", path);
		return -1;
	}
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* A folder the user deleted: the command would have made it again
	 * (or failed, and not been stored). */
	if (fd < 0 && errno == ENOENT && create && make_dirs(dir) == 0)
		fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		pk_error_set(err, errno, "%s", path);
	free(dir);
	return fd;
}

int pk_outpath_open_read(const char *path, struct stat *st, pk_error *err)
{
	const char *base;
	struct stat lst, dst;
	int dfd = open_parent(path, &base, 0, err), fd;

	if (dfd < 0)
		return -1;
	fd = openat(dfd, base, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP) {
		/* A final link: follow it only where nobody else could have put
		 * it or swapped it since the command ended. */
		if (fstatat(dfd, base, &lst, AT_SYMLINK_NOFOLLOW) < 0 || fstat(dfd, &dst) < 0) {
			pk_error_set(err, errno, "%s", path);
			goto out;
		}
		if (!pk_trust_uid(lst.st_uid)) {
			pk_error_set(err, EPERM,
			             "%s: a link owned by another user (uid %u), not followed",
			             path, (unsigned)lst.st_uid);
			goto out;
		}
		if (!pk_trust_dir(&dst)) {
			pk_error_set(err, EPERM,
			             "%s: a link in a directory another user can change, "
			             "not followed",
			             path);
			goto out;
		}
		fd = openat(dfd, base, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	}
	if (fd < 0) {
		pk_error_set(err, errno, "%s", path);
		goto out;
	}
	if (fstat(fd, st) < 0 || !(S_ISREG(st->st_mode) || S_ISDIR(st->st_mode))) {
		pk_error_set(err, 0, "%s: not a regular file or directory", path);
		close(fd);
		fd = -1;
	}
out:
	close(dfd);
	return fd;
}

/* Names a temporary in o->tmp, a random .pickled-XXXXXXXX. */
static int tmp_name(pk_outpath *o)
{
	static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[8];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	memcpy(o->tmp, ".pickled-", 9);
	for (size_t i = 0; i < sizeof(r); i++)
		o->tmp[9 + i] = digits[r[i] % (sizeof(digits) - 1)];
	o->tmp[9 + sizeof(r)] = '\0';
	return 0;
}

/* Opens a new temporary in dirfd with mode (the umask applies): unnamed
 * where the file system has O_TMPFILE and /proc lets it be linked in
 * later, else named. */
static int make_tmp(pk_outpath *o, mode_t mode)
{
	o->fd = openat(o->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
	if (o->fd >= 0) {
		if (access("/proc/self/fd", X_OK) == 0) {
			o->anon = 1;
			return o->fd;
		}
		close(o->fd);
	}
	for (int tries = 0; tries < 100; tries++) {
		if (tmp_name(o) < 0)
			return -1;
		o->fd = openat(o->dirfd, o->tmp,
		               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (o->fd >= 0 || errno != EEXIST)
			return o->fd;
	}
	errno = EEXIST;
	return -1;
}

/* For an existing file reached through a link: opens the directory that
 * holds it, by the name the kernel resolved, and checks that name is still
 * that very file.  Returns 0 (o->dirfd, o->name set) or -1. */
static int target_dir(pk_outpath *o, int fd, const struct stat *st)
{
	char proc[64], real[4096];
	struct stat now;
	ssize_t n;
	char *slash;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, real, sizeof(real) - 1);
	if (n <= 0 || (size_t)n >= sizeof(real) - 1 || real[0] != '/')
		return -1;
	real[n] = '\0';
	slash = strrchr(real, '/');
	if ((o->name = strdup(slash + 1)) == NULL)
		return -1;
	*slash = '\0';
	o->dirfd = open(real[0] ? real : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (o->dirfd < 0)
		return -1;
	if (fstatat(o->dirfd, o->name, &now, AT_SYMLINK_NOFOLLOW) < 0 || now.st_dev != st->st_dev ||
	    now.st_ino != st->st_ino)
		return -1;
	return 0;
}

/* Rewrites the existing file (open as fd, O_PATH) in place. */
static int begin_inplace(pk_outpath *o, int fd, pk_error *err)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	/* Re-opening the descriptor, not the name: the inode we resolved,
	 * with the permission checks the command would meet. */
	o->fd = open(proc, O_WRONLY | O_TRUNC | O_NONBLOCK | O_CLOEXEC);
	if (o->fd < 0)
		return pk_error_set(err, errno, "cannot restore %s", o->path);
	o->inplace = 1;
	return 0;
}

/* 1 when the regular file open as fd (O_PATH, status st) already holds
 * what want describes. */
static int holds(int fd, const struct stat *st, const pk_outpath_want *want, const char *path)
{
	char proc[64];
	unsigned char sum[16];
	pk_error err = { 0 };
	int rfd, same;

	if (want == NULL || want->sum == NULL || (uint64_t)st->st_size != want->size)
		return 0;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if ((rfd = open(proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return 0;
	/* Through the stat cache: a file hashed before (as the next step's
	 * input, or by the last hit) is not read again. */
	same = pk_hash_fd(want->statdir, rfd, st, path, sum, &err) == 0 &&
	       memcmp(sum, want->sum, 16) == 0;
	close(rfd);
	return same;
}

int pk_outpath_begin(pk_outpath *o, const char *path, uint32_t mode, const pk_outpath_want *want,
                     pk_error *err)
{
	const char *base;
	struct stat st, lst;
	int dfd, fd = -1, ret = -1;

	memset(o, 0, sizeof(*o));
	o->path = path;
	o->dirfd = o->fd = -1;
	if ((dfd = open_parent(path, &base, 1, err)) < 0)
		return -1;
	/* As the command's open(2) resolves it: the kernel follows a final
	 * link where fs.protected_symlinks lets it. */
	fd = openat(dfd, base, O_PATH | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && fstatat(dfd, base, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(lst.st_mode)) {
		/* A dangling link: the command would create its target. */
		int cfd = openat(dfd, base, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC,
		                 (mode_t)(mode & 0777));
		if (cfd < 0) {
			pk_error_set(err, errno, "cannot restore %s", path);
			goto out;
		}
		close(cfd);
		fd = openat(dfd, base, O_PATH | O_CLOEXEC);
	}
	if (fd < 0 && errno == ENOENT) {
		/* A new file: no set-id or sticky bits, and the umask applies, as
		 * to a file the command creates. */
		o->dirfd = dfd;
		dfd = -1;
		o->fresh = 1;
		if ((o->name = strdup(base)) == NULL || make_tmp(o, (mode_t)(mode & 0777)) < 0) {
			pk_error_set(err, errno, "cannot restore %s", path);
			goto out;
		}
		ret = 0;
		goto out;
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		pk_error_set(err, errno, "cannot restore %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		pk_error_set(err, 0, "cannot restore %s: not a regular file", path);
		goto out;
	}
	if (holds(fd, &st, want, path)) {
		o->unchanged = 1;
		ret = 0;
		goto out;
	}
	/* Where the file is: its own directory, or the target's of a link. */
	if (fstatat(dfd, base, &lst, AT_SYMLINK_NOFOLLOW) == 0 && lst.st_dev == st.st_dev &&
	    lst.st_ino == st.st_ino) {
		o->dirfd = dfd;
		dfd = -1;
		o->name = strdup(base);
	} else if (target_dir(o, fd, &st) < 0) {
		free(o->name);
		o->name = NULL;
	}
	/* Atomically when the directory allows it: a temporary we can write,
	 * given the file's owner, group and mode.  Otherwise in place. */
	if (o->name != NULL && st.st_nlink == 1 && make_tmp(o, 0600) >= 0) {
		if ((st.st_uid == geteuid() && st.st_gid == getegid()) ||
		    fchown(o->fd, st.st_uid, st.st_gid) == 0) {
			if (fchmod(o->fd, st.st_mode & 07777) == 0) {
				ret = 0;
				goto out;
			}
		}
		close(o->fd);
		if (!o->anon)
			unlinkat(o->dirfd, o->tmp, 0);
		o->fd = -1;
		o->anon = 0;
	}
	o->tmp[0] = '\0';
	ret = begin_inplace(o, fd, err);
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (ret < 0)
		pk_outpath_abort(o);
	return ret;
}

int pk_outpath_open_dir(const char *path, uint32_t mode, pk_error *err)
{
	const char *base;
	int dfd = open_parent(path, &base, 1, err), fd;

	if (dfd < 0)
		return -1;
	fd = openat(dfd, base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && mkdirat(dfd, base, (mode_t)(mode & 0777)) == 0)
		fd = openat(dfd, base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		pk_error_set(err, errno, "cannot restore %s", path);
	close(dfd);
	return fd;
}

int pk_outpath_begin_at(pk_outpath *o, int dirfd, const char *name, const char *path, uint32_t mode,
                        const pk_outpath_want *want, pk_error *err)
{
	char proc[64];
	struct stat st;
	int fd, ret = -1;

	memset(o, 0, sizeof(*o));
	o->path = path;
	o->fd = -1;
	if ((o->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) < 0 || (o->name = strdup(name)) == NULL) {
		pk_error_set(err, errno, "cannot restore %s", path);
		goto out;
	}
	fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && holds(fd, &st, want, path)) {
		o->unchanged = 1;
		/* The content is right; the mode is made so too. */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if ((st.st_mode & 0777) != (mode & 0777) && chmod(proc, (mode_t)(mode & 0777)) < 0)
			pk_error_set(err, errno, "cannot restore %s", path);
		else
			ret = 0;
		close(fd);
		goto out;
	}
	if (fd >= 0)
		close(fd);
	else
		o->fresh = errno == ENOENT;
	if (make_tmp(o, 0600) < 0 || fchmod(o->fd, (mode_t)(mode & 0777)) < 0) {
		pk_error_set(err, errno, "cannot restore %s", path);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		pk_outpath_abort(o);
	return ret;
}

int pk_outpath_write(pk_outpath *o, const void *buf, size_t len, pk_error *err)
{
	if (o->unchanged)
		return 0;
	if (pk_write_all(o->fd, buf, len) < 0)
		return pk_error_set(err, errno, "cannot restore %s", o->path);
	return 0;
}

/* Gives the unnamed temporary its place: linked in under the file's name
 * when there was none, else under a temporary name renamed over it (a link
 * cannot replace a file).  Returns 0, or -1 with errno. */
static int link_anon(pk_outpath *o)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", o->fd);
	if (o->fresh && linkat(AT_FDCWD, proc, o->dirfd, o->name, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (o->fresh && errno != EEXIST)
		return -1;
	for (int tries = 0; tries < 100; tries++) {
		if (tmp_name(o) < 0)
			return -1;
		if (linkat(AT_FDCWD, proc, o->dirfd, o->tmp, AT_SYMLINK_FOLLOW) == 0)
			break;
		o->tmp[0] = '\0';
		if (errno != EEXIST)
			return -1;
	}
	if (o->tmp[0] == '\0')
		return -1;
	if (renameat(o->dirfd, o->tmp, o->dirfd, o->name) < 0)
		return -1; /* abort removes the temporary */
	o->tmp[0] = '\0';
	return 0;
}

int pk_outpath_commit(pk_outpath *o, pk_error *err)
{
	int ret = 0;

	if (o->unchanged) {
		pk_outpath_abort(o);
		return 0;
	}
	if (o->anon) {
		if (link_anon(o) < 0)
			ret = pk_error_set(err, errno, "cannot restore %s", o->path);
		if (close(o->fd) < 0 && ret == 0)
			ret = pk_error_set(err, errno, "cannot restore %s", o->path);
		o->fd = -1;
		pk_outpath_abort(o);
		return ret;
	}
	if (close(o->fd) < 0)
		ret = pk_error_set(err, errno, "cannot restore %s", o->path);
	o->fd = -1;
	if (ret == 0 && !o->inplace && renameat(o->dirfd, o->tmp, o->dirfd, o->name) < 0)
		ret = pk_error_set(err, errno, "cannot restore %s", o->path);
	if (ret == 0)
		o->tmp[0] = '\0';
	pk_outpath_abort(o);
	return ret;
}

void pk_outpath_abort(pk_outpath *o)
{
	if (o->path == NULL)
		return;
	if (o->fd >= 0)
		close(o->fd);
	if (!o->inplace && o->tmp[0] != '\0' && o->dirfd >= 0)
		unlinkat(o->dirfd, o->tmp, 0);
	if (o->dirfd >= 0)
		close(o->dirfd);
	free(o->name);
	memset(o, 0, sizeof(*o));
	o->dirfd = o->fd = -1;
}
