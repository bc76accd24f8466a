/* outtree.c: reading back and restoring declared output directories (see
 * outtree.h).  Everything below the top directory is reached by descriptor
 * with O_NOFOLLOW: no link in the tree is ever followed. */
#include "outtree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Deeper trees are refused rather than walked without end. */
#define MAX_DEPTH 256

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in the directory open as dfd, sorted (malloc'd array of
 * malloc'd names, *n of them).  Returns 0, or -1 with errno. */
static int list_dir(int dfd, char ***names, size_t *n)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (*n == cap) {
			char **nn = realloc(*names, (cap = cap ? 2 * cap : 16) * sizeof(*nn));
			if (nn == NULL)
				goto fail;
			*names = nn;
		}
		if (((*names)[*n] = strdup(de->d_name)) == NULL)
			goto fail;
		(*n)++;
	}
	if (errno != 0)
		goto fail;
	closedir(d);
	if (*n > 1)
		qsort(*names, *n, sizeof(**names), by_name);
	return 0;
fail:;
	int saved = errno ? errno : ENOMEM;
	closedir(d);
	for (size_t i = 0; i < *n; i++)
		free((*names)[i]);
	free(*names);
	*names = NULL;
	*n = 0;
	errno = saved;
	return -1;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* prefix/name, or name alone (malloc'd). */
static char *join(const char *prefix, const char *name)
{
	size_t lp = prefix ? strlen(prefix) : 0, ln = strlen(name);
	char *s = malloc(lp + ln + 2);

	if (s == NULL)
		return NULL;
	if (prefix) {
		memcpy(s, prefix, lp);
		s[lp++] = '/';
	}
	memcpy(s + lp, name, ln + 1);
	return s;
}

struct reader {
	pk_outfile *f;
	const char *path;
	int (*file)(void *, int, pk_outmember *, pk_error *);
	void *ctx;
	pk_error *err;
	size_t cap;
};

/* Adds a member rel (taken over) with mode; NULL on failure. */
static pk_outmember *add_member(struct reader *r, char *rel, uint32_t mode)
{
	pk_outfile *f = r->f;
	pk_outmember *m;

	if (f->nmembers == r->cap) {
		size_t ncap = r->cap ? 2 * r->cap : 16;
		pk_outmember *nm = realloc(f->members, ncap * sizeof(*nm));
		if (nm == NULL) {
			free(rel);
			pk_error_set(r->err, ENOMEM, "cannot read %s", r->path);
			return NULL;
		}
		f->members = nm;
		r->cap = ncap;
	}
	m = &f->members[f->nmembers++];
	memset(m, 0, sizeof(*m));
	m->rel = rel;
	m->mode = mode;
	return m;
}

/* A link's text (malloc'd), or NULL with errno. */
static char *read_link(int dfd, const char *name, size_t hint)
{
	for (size_t len = hint + 2;; len *= 2) {
		char *t = malloc(len);
		ssize_t n;
		if (t == NULL)
			return NULL;
		if ((n = readlinkat(dfd, name, t, len)) < 0) {
			free(t);
			return NULL;
		}
		if ((size_t)n < len) {
			t[n] = '\0';
			return t;
		}
		free(t);
	}
}

static int walk(struct reader *r, int dfd, const char *prefix, int depth)
{
	char **names;
	size_t n;
	int ret = -1;

	if (depth > MAX_DEPTH)
		return pk_error_set(r->err, 0, "%s/%s: deeper than %d directories", r->path, prefix,
		                    MAX_DEPTH);
	if (list_dir(dfd, &names, &n) < 0)
		return pk_error_set(r->err, errno, "cannot read %s%s%s", r->path, prefix ? "/" : "",
		                    prefix ? prefix : "");
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		char *rel = join(prefix, names[i]);
		pk_outmember *m;
		int fd;

		if (rel == NULL) {
			pk_error_set(r->err, ENOMEM, "cannot read %s", r->path);
			goto out;
		}
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			pk_error_set(r->err, errno, "cannot read %s/%s", r->path, rel);
			free(rel);
			goto out;
		}
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
			pk_error_set(r->err, 0, "%s/%s is not a regular file, directory or link",
			             r->path, rel);
			free(rel);
			goto out;
		}
		if ((m = add_member(r, rel, (uint32_t)(st.st_mode & (S_IFMT | 0777)))) == NULL)
			goto out;
		if (S_ISLNK(st.st_mode)) {
			if ((m->target = read_link(dfd, names[i], (size_t)st.st_size)) == NULL) {
				pk_error_set(r->err, errno, "cannot read %s/%s", r->path, rel);
				goto out;
			}
			continue;
		}
		fd = openat(dfd, names[i],
		            (S_ISDIR(st.st_mode) ? O_DIRECTORY : O_NONBLOCK) | O_RDONLY |
		                    O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			pk_error_set(r->err, errno, "cannot read %s/%s", r->path, rel);
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			int rc = walk(r, fd, rel, depth + 1);
			close(fd);
			if (rc < 0)
				goto out;
			continue;
		}
		/* m moves when the array grows: the file is done before. */
		size_t k = (size_t)(m - r->f->members);
		int rc = r->file(r->ctx, fd, m, r->err);
		close(fd);
		if (rc < 0)
			goto out;
		r->f->size += r->f->members[k].size;
	}
	ret = 0;
out:
	free_names(names, n);
	return ret;
}

int pk_outtree_read(int fd, const char *path, pk_outfile *f,
                    int (*file)(void *ctx, int fd, pk_outmember *m, pk_error *err), void *ctx,
                    pk_error *err)
{
	struct reader r = { f, path, file, ctx, err, 0 };

	f->is_dir = 1;
	f->size = 0;
	f->members = NULL;
	f->nmembers = 0;
	return walk(&r, fd, NULL, 0);
}

/* --- restoring ------------------------------------------------------------ */

static int by_rel(const void *a, const void *b, void *ctx)
{
	const pk_outfile *f = ctx;

	return strcmp(f->members[*(const size_t *)a].rel, f->members[*(const size_t *)b].rel);
}

/* chmod of the directory name in dfd, not through a link swapped in. */
static int chmod_dir(int dfd, const char *name, uint32_t mode)
{
	char proc[64];
	int fd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	rc = chmod(proc, (mode_t)(mode & 0777));
	close(fd);
	return rc;
}

/* The member named rel, or NULL. */
static const pk_outmember *find(const pk_outtree *t, const char *rel)
{
	size_t lo = 0, hi = t->f->nmembers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const pk_outmember *m = &t->f->members[t->sorted[mid]];
		int c = strcmp(rel, m->rel);
		if (c == 0)
			return m;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Removes name in dfd, whatever it is, a directory with all it holds. */
static int remove_any(int dfd, const char *name, int depth)
{
	struct stat st;
	char **names;
	size_t n;
	int fd, ret = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0);
	if (depth > MAX_DEPTH) {
		errno = ELOOP;
		return -1;
	}
	if ((fd = openat(dfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if (list_dir(fd, &names, &n) < 0) {
		close(fd);
		return -1;
	}
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = remove_any(fd, names[i], depth + 1);
	free_names(names, n);
	close(fd);
	return ret == 0 ? unlinkat(dfd, name, AT_REMOVEDIR) : -1;
}

/* Sets t->path to "f->path/rel" for messages. */
static const char *member_path(pk_outtree *t, const char *rel)
{
	free(t->path);
	t->path = join(t->f->path, rel);
	return t->path ? t->path : t->f->path;
}

/* Removes from the directory dfd (holding prefix) what the tree does not
 * hold there, and goes down the member directories. */
static int prune(pk_outtree *t, int dfd, const char *prefix, int depth, pk_error *err)
{
	char **names;
	size_t n;
	int ret = 0;

	if (list_dir(dfd, &names, &n) < 0)
		return pk_error_set(err, errno, "cannot restore %s",
		                    member_path(t, prefix ? prefix : "."));
	for (size_t i = 0; i < n && ret == 0; i++) {
		char *rel = join(prefix, names[i]);
		const pk_outmember *m = rel ? find(t, rel) : NULL;
		struct stat st;

		if (rel == NULL) {
			ret = pk_error_set(err, ENOMEM, "cannot restore %s", t->f->path);
			break;
		}
		if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				ret = pk_error_set(err, errno, "cannot restore %s",
				                   member_path(t, rel));
		} else if (m == NULL || (st.st_mode & S_IFMT) != (m->mode & S_IFMT)) {
			if (remove_any(dfd, names[i], depth) < 0)
				ret = pk_error_set(err, errno, "cannot remove %s",
				                   member_path(t, rel));
		} else if (S_ISDIR(st.st_mode)) {
			int fd = openat(dfd, names[i],
			                O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				ret = pk_error_set(err, errno, "cannot restore %s",
				                   member_path(t, rel));
			else {
				ret = prune(t, fd, rel, depth + 1, err);
				close(fd);
			}
		}
		free(rel);
	}
	free_names(names, n);
	return ret;
}

/* Opens the directory holding member rel (O_PATH, through member
 * directories only) and sets *base to rel's last component.  Returns the
 * fd, or -1 with errno. */
static int member_parent(const pk_outtree *t, const char *rel, const char **base)
{
	const char *p = rel, *slash;
	int fd = fcntl(t->top, F_DUPFD_CLOEXEC, 0);

	while (fd >= 0 && (slash = strchr(p, '/')) != NULL) {
		char name[256];
		size_t len = (size_t)(slash - p);
		int next;
		if (len >= sizeof(name)) {
			close(fd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		next = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
		p = slash + 1;
	}
	*base = p;
	return fd;
}

/* Makes the link name in dfd hold target, replacing what is there
 * atomically (a link made under a temporary name, renamed over it). */
static int set_link(int dfd, const char *name, const char *target)
{
	char tmp[64], *cur;
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
	    (cur = read_link(dfd, name, (size_t)st.st_size)) != NULL) {
		int same = strcmp(cur, target) == 0;
		free(cur);
		if (same)
			return 0;
	}
	for (unsigned i = 0; i < 100; i++) {
		snprintf(tmp, sizeof(tmp), ".pickled-link-%ld-%u", (long)getpid(), i);
		if (symlinkat(target, dfd, tmp) == 0)
			break;
		if (errno != EEXIST)
			return -1;
	}
	if (renameat(dfd, tmp, dfd, name) < 0) {
		int saved = errno;
		unlinkat(dfd, tmp, 0);
		errno = saved;
		return -1;
	}
	return 0;
}

int pk_outtree_begin(pk_outtree *t, const pk_outfile *f, pk_error *err)
{
	memset(t, 0, sizeof(*t));
	t->f = f;
	t->top = -1;
	if ((t->sorted = malloc((f->nmembers ? f->nmembers : 1) * sizeof(*t->sorted))) == NULL) {
		pk_error_set(err, ENOMEM, "cannot restore %s", f->path);
		goto fail;
	}
	for (size_t k = 0; k < f->nmembers; k++)
		t->sorted[k] = k;
	qsort_r(t->sorted, f->nmembers, sizeof(*t->sorted), by_rel, (void *)(uintptr_t)f);
	for (size_t k = 1; k < f->nmembers; k++)
		if (strcmp(f->members[t->sorted[k - 1]].rel, f->members[t->sorted[k]].rel) == 0) {
			pk_error_set(err, 0, "entry damaged: %s listed twice",
			             f->members[t->sorted[k]].rel);
			goto fail;
		}
	/* Made with owner access: its mode is given at the end. */
	if ((t->top = pk_outpath_open_dir(f->path, 0700, err)) < 0)
		goto fail;
	if (prune(t, t->top, NULL, 0, err) < 0)
		goto fail;
	for (size_t k = 0; k < f->nmembers; k++) {
		const pk_outmember *m = &f->members[k];
		const char *base;
		int dfd, rc = 0;

		if (S_ISREG(m->mode))
			continue;
		if ((dfd = member_parent(t, m->rel, &base)) < 0) {
			/* A member below a link or a file: not what a walk gives. */
			pk_error_set(err, 0, "entry damaged: %s has no directory", m->rel);
			goto fail;
		}
		if (S_ISDIR(m->mode))
			rc = mkdirat(dfd, base, 0700) < 0 && errno != EEXIST ? -1 : 0;
		else
			rc = set_link(dfd, base, m->target);
		if (rc < 0)
			pk_error_set(err, errno, "cannot restore %s", member_path(t, m->rel));
		close(dfd);
		if (rc < 0)
			goto fail;
	}
	return 0;
fail:
	pk_outtree_abort(t);
	return -1;
}

int pk_outtree_file(pk_outtree *t, size_t k, pk_outpath *o, const char *statdir, pk_error *err)
{
	const pk_outmember *m = &t->f->members[k];
	pk_outpath_want want = { m->size, m->sum, statdir };
	const char *base, *path = member_path(t, m->rel);
	int dfd = member_parent(t, m->rel, &base), ret;

	if (dfd < 0)
		return pk_error_set(err, 0, "entry damaged: %s has no directory", m->rel);
	ret = pk_outpath_begin_at(o, dfd, base, path, m->mode & 0777, &want, err);
	close(dfd);
	return ret;
}

int pk_outtree_finish(pk_outtree *t, pk_error *err)
{
	int ret = 0;

	/* Deepest first: a directory's mode may forbid writing in it. */
	for (size_t k = t->f->nmembers; k-- > 0 && ret == 0;) {
		const pk_outmember *m = &t->f->members[k];
		const char *base;
		int dfd;
		if (!S_ISDIR(m->mode))
			continue;
		if ((dfd = member_parent(t, m->rel, &base)) < 0 ||
		    chmod_dir(dfd, base, m->mode) < 0)
			ret = pk_error_set(err, errno, "cannot restore %s", member_path(t, m->rel));
		if (dfd >= 0)
			close(dfd);
	}
	if (ret == 0) {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->top);
		if (chmod(proc, (mode_t)(t->f->mode & 0777)) < 0)
			ret = pk_error_set(err, errno, "cannot restore %s", t->f->path);
	}
	pk_outtree_abort(t);
	return ret;
}

void pk_outtree_abort(pk_outtree *t)
{
	if (t->f == NULL)
		return;
	if (t->top >= 0)
		close(t->top);
	free(t->sorted);
	free(t->path);
	memset(t, 0, sizeof(*t));
	t->top = -1;
}
