/* catalog.c: walking the entry shards. */
#include "catalog.h"

#include "entry.h"
#include "remote.h"
#include "units.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Room for one more element of size bytes in v, which holds n and has room
 * for *cap.  Returns v, moved or not, or NULL (v untouched) out of memory. */
static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
	size_t ncap;

	if (n < *cap)
		return v;
	ncap = *cap ? *cap * 2 : 256;
	if ((v = realloc(v, ncap * size)) != NULL)
		*cap = ncap;
	return v;
}

/* Deepest a foreign directory is walked: a tree deeper than this is left
 * (and said so) rather than risk the stack. */
#define TREE_MAX_DEPTH 32

/* Adds the size of name in dirfd to *bytes (a directory: of all it holds)
 * and, when remove is set, removes it.  Links are never followed, and a
 * directory not the user's is not emptied.  Returns 0, or -1 with errno
 * when something could not be read or removed. */
static int tree(int dirfd, const char *name, int remove, uint64_t *bytes, int depth)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int fd, ret = 0, saved = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode)) {
		*bytes += (uint64_t)st.st_size;
		return remove && unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
	}
	/* Another user's directory is counted, never emptied. */
	if ((remove && st.st_uid != geteuid()) || depth >= TREE_MAX_DEPTH)
		return errno = EPERM, -1;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (tree(fd, de->d_name, remove, bytes, depth + 1) < 0 && ret == 0) {
			ret = -1;
			saved = errno;
		}
	}
	closedir(d);
	if (ret == 0 && remove && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
		ret = -1;
		saved = errno;
	}
	errno = saved;
	return ret;
}

/* What a foreign name in dirfd is, for a message. */
static const char *kind_of(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return "file";
	if (S_ISLNK(st.st_mode))
		return "symbolic link";
	if (S_ISDIR(st.st_mode))
		return "directory";
	return S_ISREG(st.st_mode) ? "file" : "special file";
}

/* Called for each foreign name in dirfd, the folder dir of the cache. */
typedef int (*foreign_fn)(void *ctx, int dirfd, const char *dir, const char *name);

/* Whether the hit counter name in shardfd (found by readdir as de) is a
 * regular file, as pickled makes it. */
static int regular(int shardfd, const struct dirent *de)
{
	struct stat st;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_REG;
	return fstatat(shardfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

/* Calls fn for each entry file name (32 hex digits) in the shards whose
 * names start with the prefix's first two digits (all shards for a
 * shorter prefix), telling whether its hit counter exists, so that no
 * entry costs a failing stat.  fn returns non-zero to stop.  With
 * on_foreign, also calls it for every other name under v1/ (prefix must
 * then be empty): a shard is a directory of two lower-case hex digits,
 * holding KEY and KEY.hits files whose KEY starts with them. */
static int each_name(const pk_store *s, const char *prefix,
                     int (*fn)(void *, int shardfd, const char *name, int has_hits),
                     foreign_fn on_foreign, void *ctx, pk_error *err)
{
	DIR *top;
	struct dirent *sd;
	size_t plen = strlen(prefix);
	char **names = NULL;
	size_t cap = 0;
	int v1, ret = 0;

	if (s->dirfd < 0)
		return 0; /* a closed store: no cache, no entries */
	v1 = openat(s->dirfd, "v1", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (v1 < 0)
		return errno == ENOENT
		               ? 0
		               : pk_error_set(err, errno, "cannot list the cache: %s/v1", s->dir);
	if ((top = fdopendir(v1)) == NULL) {
		close(v1);
		return pk_error_set(err, errno, "cannot list the cache: %s/v1", s->dir);
	}
	while (ret == 0 && (sd = readdir(top)) != NULL) {
		char dir[8];
		if (strcmp(sd->d_name, ".") == 0 || strcmp(sd->d_name, "..") == 0)
			continue;
		if (strlen(sd->d_name) != 2 || !is_hex(sd->d_name, 2)) {
			if (on_foreign != NULL)
				ret = on_foreign(ctx, v1, "v1", sd->d_name);
			continue;
		}
		if (strncmp(sd->d_name, prefix, plen < 2 ? plen : 2) != 0)
			continue;
		int fd = openat(v1, sd->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *shard = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *de;
		size_t n = 0;
		if (shard == NULL) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			/* A link or a file where a shard should be. */
			if (on_foreign != NULL && (e == ENOTDIR || e == ELOOP))
				ret = on_foreign(ctx, v1, "v1", sd->d_name);
			continue;
		}
		snprintf(dir, sizeof(dir), "v1/%s", sd->d_name);
		while (ret == 0 && (de = readdir(shard)) != NULL) {
			size_t len = strlen(de->d_name);
			/* KEY.fail (a failed refresh, see store.h) is pickled's
			 * own, read by show alone: neither foreign nor listed. */
			int fail = len == PK_KEY_HEX + 5 &&
			           strcmp(de->d_name + PK_KEY_HEX, ".fail") == 0;
			int named = (len == PK_KEY_HEX || fail ||
			             (len == PK_KEY_HEX + 5 &&
			              strcmp(de->d_name + PK_KEY_HEX, ".hits") == 0)) &&
			            is_hex(de->d_name, PK_KEY_HEX) &&
			            strncmp(de->d_name, sd->d_name, 2) == 0;
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (on_foreign != NULL &&
			    (!named || (len > PK_KEY_HEX && !regular(dirfd(shard), de)))) {
				ret = on_foreign(ctx, dirfd(shard), dir, de->d_name);
				continue;
			}
			if (!named || fail || strncmp(de->d_name, prefix, plen) != 0)
				continue;
			char **nn = grow(names, &cap, n, sizeof(*names));
			if (nn == NULL) {
				ret = pk_error_set(err, ENOMEM, "cannot list the cache");
				break;
			}
			names = nn;
			if ((names[n] = strdup(de->d_name)) == NULL) {
				ret = pk_error_set(err, ENOMEM, "cannot list the cache");
				break;
			}
			n++;
		}
		/* Sorted, "KEY.hits" comes right after "KEY". */
		if (n > 1)
			qsort(names, n, sizeof(*names), cmp_str);
		for (size_t i = 0; ret == 0 && i < n; i++) {
			if (strlen(names[i]) != PK_KEY_HEX)
				continue;
			int has_hits =
				i + 1 < n && strncmp(names[i + 1], names[i], PK_KEY_HEX) == 0;
			ret = fn(ctx, dirfd(shard), names[i], has_hits);
		}
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		closedir(shard);
	}
	free(names);
	closedir(top);
	return ret < 0 ? -1 : 0;
}

struct loader {
	const pk_store *s;
	pk_catalog *c;
	size_t cap, fcap;
	pk_error *err;
};

static int load_foreign(void *ctx, int dirfd, const char *dir, const char *name)
{
	struct loader *l = ctx;
	pk_foreign *f = grow(l->c->foreign, &l->fcap, l->c->nforeign, sizeof(*f));

	if (f == NULL)
		return pk_error_set(l->err, ENOMEM, "cannot list the cache");
	l->c->foreign = f;
	f += l->c->nforeign;
	memset(f, 0, sizeof(*f));
	if (snprintf(f->rel, sizeof(f->rel), "%s/%s", dir, name) >= (int)sizeof(f->rel))
		return 0; /* longer than any name: cannot be there */
	f->what = kind_of(dirfd, name);
	tree(dirfd, name, 0, &f->bytes, 0); /* what can be read of it counts */
	l->c->nforeign++;
	return 0;
}

int pk_catalog_remove_foreign(const pk_store *s, const pk_foreign *f)
{
	const char *slash = strrchr(f->rel, '/');
	char dir[272];
	uint64_t bytes = 0;
	int fd, ret, saved;

	if (slash == NULL || (size_t)(slash - f->rel) >= sizeof(dir))
		return errno = EINVAL, -1;
	memcpy(dir, f->rel, (size_t)(slash - f->rel));
	dir[slash - f->rel] = '\0';
	/* v1 and the shard as directories of the cache, never through links. */
	if ((fd = pk_store_openat(s, dir, O_RDONLY | O_DIRECTORY, 0)) < 0)
		return errno == ENOENT ? 0 : -1;
	ret = tree(fd, slash + 1, 1, &bytes, 0);
	saved = errno;
	close(fd);
	errno = saved;
	return ret;
}

/* A new zeroed item at the end of the list, named by its hex key. */
static pk_item *add_item(struct loader *l, const char *name)
{
	pk_item *it = grow(l->c->items, &l->cap, l->c->n, sizeof(*it));

	if (it == NULL) {
		pk_error_set(l->err, ENOMEM, "cannot list the cache");
		return NULL;
	}
	l->c->items = it;
	it += l->c->n;
	memset(it, 0, sizeof(*it));
	memcpy(it->hex, name, PK_KEY_HEX + 1);
	pk_key_from_hex(name, &it->key);
	return it;
}

static void set_damaged(pk_item *it, const char *why)
{
	size_t k = strnlen(why, sizeof(it->reason) - 1);

	pk_meta_free(&it->meta);
	it->damaged = 1;
	memcpy(it->reason, why, k);
	it->reason[k] = '\0';
}

static int load_one(void *ctx, int shardfd, const char *name, int has_hits)
{
	struct loader *l = ctx;
	pk_item *it = add_item(l, name);
	pk_error e = { 0 };
	int fd;

	if (it == NULL)
		return -1;
	fd = openat(shardfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0; /* removed while we looked */
	if (fd < 0) {
		struct stat st;
		int why = errno;
		/* A link under an entry's name: listed, so that it is seen and
		 * removed, never followed. */
		if (fstatat(shardfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			it->stored = (uint64_t)st.st_size;
		set_damaged(it, why == ELOOP ? "entry is a symbolic link" : strerror(why));
		l->c->n++;
		return 0;
	}
	if (pk_entry_read_meta_key(fd, &it->key, &it->meta, &it->stored, &e) < 0)
		set_damaged(it, e.msg);
	close(fd);
	if (has_hits)
		pk_store_hits(l->s, &it->key, &it->hits, &it->last_hit_ms);
	l->c->n++;
	return 0;
}

int pk_catalog_load(const pk_store *s, pk_catalog *c, pk_error *err)
{
	struct loader l = { s, c, 0, 0, err };

	memset(c, 0, sizeof(*c));
	return each_name(s, "", load_one, load_foreign, &l, err);
}

static int load_remote_one(void *ctx, const char *hex, const unsigned char *meta, size_t meta_len,
                           uint64_t size)
{
	struct loader *l = ctx;
	pk_item *it = add_item(l, hex);
	pk_error e = { 0 };

	if (it == NULL)
		return -1;
	it->stored = size;
	if (meta == NULL)
		set_damaged(it, "not a pickled entry");
	else if (pk_meta_decode(meta, meta_len, &it->meta, &e) < 0 ||
	         !pk_key_equal(&it->meta.key, &it->key))
		set_damaged(it, e.msg[0] ? e.msg : "entry holds another key");
	l->c->n++;
	return 0;
}

int pk_catalog_load_remote(pk_remote *r, pk_catalog *c, pk_error *err)
{
	struct loader l = { NULL, c, 0, 0, err };

	memset(c, 0, sizeof(*c));
	return pk_remote_each(r, load_remote_one, &l, err);
}

void pk_catalog_free(pk_catalog *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		pk_meta_free(&c->items[i].meta);
	free(c->items);
	free(c->foreign);
	memset(c, 0, sizeof(*c));
}

/* The keys found for a prefix: every match of each tier, so a key that
 * both tiers hold is there twice. */
struct finder {
	char (*hex)[PK_KEY_HEX + 1];
	size_t n, cap;
	pk_error *err;
	int oom;
};

static int add_match(void *ctx, const char *hex)
{
	struct finder *f = ctx;
	char(*nh)[PK_KEY_HEX + 1] = grow(f->hex, &f->cap, f->n, sizeof(*nh));

	if (nh == NULL) {
		f->oom = 1;
		return pk_error_set(f->err, ENOMEM, "cannot look up a key");
	}
	f->hex = nh;
	memcpy(f->hex[f->n++], hex, PK_KEY_HEX + 1);
	return 0;
}

static int add_local_match(void *ctx, int shardfd, const char *name, int has_hits)
{
	(void)shardfd;
	(void)has_hits;
	return add_match(ctx, name);
}

static int cmp_hex(const void *a, const void *b)
{
	return memcmp(a, b, PK_KEY_HEX);
}

int pk_catalog_find(const pk_store *s, const char *prefix, pk_key *key, pk_error *err)
{
	return pk_catalog_find_shared(s, NULL, prefix, key, err, NULL);
}

int pk_catalog_find_shared(const pk_store *s, pk_remote *r, const char *prefix, pk_key *key,
                           pk_error *err, pk_error *remote_err)
{
	struct finder f = { NULL, 0, 0, err, 0 };
	char lower[PK_KEY_HEX + 1];
	size_t n = strlen(prefix), found = 0;
	int ret = -1;

	if (remote_err != NULL)
		*remote_err = (pk_error){ 0, "" };
	if (!pk_key_is_prefix(prefix))
		return pk_error_set(err, EINVAL, "not a key: '%s'", prefix);
	for (size_t i = 0; i <= n; i++)
		lower[i] =
			(char)(prefix[i] >= 'A' && prefix[i] <= 'F' ? prefix[i] + 32 : prefix[i]);
	if (each_name(s, lower, add_local_match, NULL, &f, err) < 0)
		goto out;
	if (r != NULL) {
		size_t local = f.n;
		if (pk_remote_keys(r, lower, add_match, &f, remote_err) < 0) {
			if (f.oom)
				goto out; /* err says so; remote_err is empty */
			f.n = local;      /* the local cache alone decides */
		}
	}
	if (f.n > 1)
		qsort(f.hex, f.n, sizeof(*f.hex), cmp_hex);
	for (size_t i = 0; i < f.n; i++)
		found += i == 0 || cmp_hex(f.hex[i], f.hex[i - 1]) != 0;
	if (found == 0)
		pk_error_set(err, ENOENT, "no entry with key %s", lower);
	else if (found > 1)
		pk_error_set(err, 0, "ambiguous key %s: %zu entries match", lower, found);
	else {
		pk_key_from_hex(f.hex[0], key);
		ret = 0;
	}
out:
	free(f.hex);
	return ret;
}

int64_t pk_item_last_use(const pk_item *it)
{
	return it->last_hit_ms > it->meta.created_ms ? it->last_hit_ms : it->meta.created_ms;
}

int64_t pk_item_age(const pk_item *it, int64_t now_ms)
{
	int64_t age = pk_meta_age(it->meta.created_ms, now_ms);
	return age < 0 ? 0 : age;
}

enum pk_freshness pk_item_freshness(const pk_item *it, int64_t now_ms)
{
	return pk_meta_freshness(pk_meta_age(it->meta.created_ms, now_ms), it->meta.ttl_ms,
	                         it->meta.stale_ms);
}

int pk_item_expired(const pk_item *it, int64_t now_ms)
{
	return pk_item_freshness(it, now_ms) == PK_EXPIRED;
}

int pk_item_stale(const pk_item *it, int64_t now_ms)
{
	return pk_item_freshness(it, now_ms) == PK_STALE;
}
