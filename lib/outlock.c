/* outlock.c: locks on declared output paths (see outlock.h). */
#include "outlock.h"

#include "hash.h"
#include "key.h"
#include "lock.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The canonical name of path (malloc'd), or NULL: realpath of the path,
 * else of its longest leading part that exists, the rest appended as
 * written (the command creates it). */
static char *canonical(const char *path)
{
	char *abs, *real, *cut, *out = NULL;
	size_t n;

	if (path[0] == '/') {
		abs = strdup(path);
	} else {
		char *cwd = getcwd(NULL, 0);
		if (cwd == NULL)
			return NULL;
		n = strlen(cwd) + strlen(path) + 2;
		if ((abs = malloc(n)) != NULL)
			snprintf(abs, n, "%s/%s", cwd, path);
		free(cwd);
	}
	if (abs == NULL)
		return NULL;
	if ((out = realpath(abs, NULL)) != NULL)
		goto done;
	for (cut = abs + strlen(abs); (cut = memrchr(abs, '/', (size_t)(cut - abs))) != NULL;) {
		char keep = cut[cut == abs];
		/* The leading part up to cut ("/" for the root itself). */
		cut[cut == abs] = '\0';
		real = realpath(abs, NULL);
		cut[cut == abs] = keep;
		if (real == NULL)
			continue;
		n = strlen(real) + strlen(cut) + 1;
		if ((out = malloc(n)) != NULL)
			snprintf(out, n, "%s%s", strcmp(real, "/") == 0 ? "" : real, cut);
		free(real);
		goto done;
	}
done:
	free(abs);
	return out;
}

struct name {
	char hex[PK_KEY_HEX + 1];
	const char *path;
};

static int by_hex(const void *a, const void *b)
{
	return strcmp(((const struct name *)a)->hex, ((const struct name *)b)->hex);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pk_outlock_acquire(pk_outlock *l, const pk_store *s, char *const *paths, size_t n,
                       int64_t timeout_ms, pk_error *err)
{
	struct name *names = NULL;
	char file[4200];
	int64_t start = mono_ms();
	size_t i;
	int ret = -1;

	memset(l, 0, sizeof(*l));
	if (n == 0)
		return 0;
	if ((names = calloc(n, sizeof(*names))) == NULL ||
	    (l->fds = calloc(n, sizeof(*l->fds))) == NULL) {
		pk_error_set(err, ENOMEM, "cannot lock output");
		goto out;
	}
	for (i = 0; i < n; i++) {
		char *c = canonical(paths[i]);
		XXH128_canonical_t h;
		if (c == NULL) {
			pk_error_set(err, errno, "cannot lock output %s", paths[i]);
			goto out;
		}
		XXH128_canonicalFromHash(&h, XXH3_128bits(c, strlen(c)));
		free(c);
		pk_key_digest_hex(h.digest, names[i].hex);
		names[i].path = paths[i];
	}
	/* One order for every run: no two runs each hold what the other waits
	 * for. */
	qsort(names, n, sizeof(*names), by_hex);
	if (pk_store_subdir(s, "locks", err) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(names[i].hex, names[i - 1].hex) == 0)
			continue; /* one file declared twice */
		int64_t left = timeout_ms - (mono_ms() - start);
		if (pk_store_path(s, file, sizeof(file), "locks/out-%s", names[i].hex) < 0) {
			pk_error_set(err, ENAMETOOLONG, "cannot lock output %s", names[i].path);
			goto out;
		}
		int fd = pk_lock_acquire(file, left > 0 ? left : 0, err);
		if (fd < 0) {
			if (err->errnum == EWOULDBLOCK)
				pk_error_set(err, EWOULDBLOCK, "%s", names[i].path);
			goto out;
		}
		l->fds[l->n++] = fd;
	}
	ret = 0;
out:
	free(names);
	if (ret < 0)
		pk_outlock_release(l);
	return ret;
}

void pk_outlock_release(pk_outlock *l)
{
	for (size_t i = 0; i < l->n; i++)
		pk_lock_release(l->fds[i]);
	free(l->fds);
	memset(l, 0, sizeof(*l));
}
