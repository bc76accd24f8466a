/* gc.c: foreign files, expiry, LRU eviction and crash leftovers. */
#include "gc.h"

#include "defaults.h"
#include "io.h"
#include "lock.h"
#include "manifest.h"
#include "runlog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STAMP "gc.stamp"            /* mtime: last gc; content: u64 bytes kept */
#define PENDING "gc.pending"        /* u64 per entry stored since */
#define LEFTOVER_MS (3600LL * 1000) /* temporaries older than this are dead */
/* Parsed configuration copies not written for this long: their files may
 * be gone; if not, the next run parses them and writes the copy again. */
#define COPY_MAX_AGE_MS (30LL * 24 * 3600 * 1000)

/* Hash records of declared inputs (DIR/inputs) not written for this long:
 * inputs come and go (a glob over daily files), and records of files long
 * gone would pile up; one still in use costs one hashing of its file. */
#define RECORD_MAX_AGE_MS (30LL * 24 * 3600 * 1000)

void pk_gc_note_store(const pk_store *s, uint64_t bytes)
{
	int fd = pk_store_openat(s, PENDING, O_WRONLY | O_APPEND | O_CREAT, 0600);
	if (fd < 0)
		return;
	if (write(fd, &bytes, sizeof(bytes)) < 0) {
		/* only an estimate */
	}
	close(fd);
}

int pk_gc_due(const pk_store *s, uint64_t max_size, int64_t interval_ms)
{
	struct stat st;
	uint64_t kept = 0, pending = 0, buf[512];
	int fd;

	fd = pk_store_openat(s, STAMP, O_RDONLY, 0);
	if (fd < 0)
		return 1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    pk_read_full(fd, &kept, sizeof(kept)) != (ssize_t)sizeof(kept)) {
		close(fd);
		return 1;
	}
	close(fd);
	if (pk_now_ms() - ((int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000) >=
	    interval_ms)
		return 1;
	if (max_size == 0)
		return 0;
	fd = pk_store_openat(s, PENDING, O_RDONLY, 0);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return kept > max_size;
	}
	for (;;) {
		ssize_t n = pk_read_full(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (size_t i = 0; i < (size_t)n / sizeof(buf[0]); i++)
			pending += buf[i];
		if ((size_t)n < sizeof(buf))
			break;
	}
	close(fd);
	return kept + pending > max_size;
}

/* Non-zero when name has the shape of one pickled gives its files: in
 * shape, 'x' stands for one or more lower-case hex digits, '9' for one or
 * more decimal digits, any other byte for itself. */
static int name_fits(const char *name, const char *shape)
{
	for (; *shape != '\0'; shape++) {
		const char *set = *shape == 'x'   ? "0123456789abcdef"
		                  : *shape == '9' ? "0123456789"
		                                  : NULL;
		if (set != NULL) {
			size_t n = strspn(name, set);
			if (n == 0)
				return 0;
			name += n;
		} else if (*name++ != *shape) {
			return 0;
		}
	}
	return *name == '\0';
}

static int name_is_ours(const char *name, const char *const *shapes)
{
	for (; *shapes != NULL; shapes++)
		if (name_fits(name, *shapes))
			return 1;
	return 0;
}

/* What pickled names its leftovers in each folder gc clears. */
static const char *const TMP_NAMES[] = { "9.9.9", "gc.stamp.9", NULL };
static const char *const LOCK_NAMES[] = { "x", "out-x", NULL };
static const char *const COPY_NAMES[] = { "config-x.cache", NULL };
static const char *const RECORD_NAMES[] = { "x-x", "x-x.9.tmp", NULL };

/* What remove_old does with each old file of ours. */
enum { COUNT, REMOVE, LIST };

/* Removes the files in dir (relative to the cache) named as pickled names
 * them (shapes) and owned by us, not modified for max_age_ms, that nobody
 * holds locked.  Nothing else is touched: whatever else is there is not
 * ours to remove.  COUNT only counts the old ones (a dry run); LIST counts
 * and passes to fn those nobody holds, removing nothing.  Returns how many
 * (were removed). */
static size_t old_files(const pk_store *s, const char *dir, const char *const *shapes,
                        int64_t max_age_ms, int mode,
                        void (*fn)(void *ctx, const char *dir, const char *name, uint64_t bytes),
                        void *ctx)
{
	int fd = openat(s->dirfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	int64_t now = pk_now_ms();
	size_t n = 0;

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (!name_is_ours(de->d_name, shapes))
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
		    st.st_uid != geteuid())
			continue;
		if (now - ((int64_t)st.st_mtim.tv_sec * 1000) < max_age_ms)
			continue;
		if (mode == COUNT) {
			n++;
			continue;
		}
		/* Only what nobody holds: a lock a waiter has, or the temporary
		 * of a run that is still going (quiet for an hour, as a nightly
		 * job printing only at the end is).  Unlinked while held by us:
		 * a waiter re-checks the lock file's inode. */
		int lf = openat(fd, de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (lf < 0)
			continue;
		if (flock(lf, LOCK_EX | LOCK_NB) == 0 &&
		    (mode == LIST || unlinkat(fd, de->d_name, 0) == 0)) {
			n++;
			if (fn != NULL)
				fn(ctx, dir, de->d_name, (uint64_t)st.st_size);
		}
		close(lf);
	}
	closedir(d);
	return n;
}

static size_t remove_old(const pk_store *s, const char *dir, const char *const *shapes,
                         int64_t max_age_ms, int dry_run)
{
	return old_files(s, dir, shapes, max_age_ms, dry_run ? COUNT : REMOVE, NULL, NULL);
}

size_t pk_gc_stray_temps(const pk_store *s, int remove,
                         void (*fn)(void *ctx, const char *dir, const char *name, uint64_t bytes),
                         void *ctx)
{
	return old_files(s, "tmp", TMP_NAMES, LEFTOVER_MS, remove ? REMOVE : LIST, fn, ctx);
}

/* 1 for an entry stored already expired (its run took longer than its
 * ttl) less than PK_JUST_STORED_MS ago (one created in the future is not). */
static int just_stored(const pk_item *it, int64_t now)
{
	int64_t since_end = now - (it->meta.created_ms + it->meta.duration_ms);
	return it->meta.duration_ms >= it->meta.ttl_ms && since_end >= 0 &&
	       since_end < PK_JUST_STORED_MS;
}

/* 1 for a traced result that no manifest names: no run can reach it any
 * more (its input set was pushed out by newer ones).  One stored in the
 * last PK_JUST_STORED_MS may not be in its manifest yet. */
static int unreachable(const pk_item *it, const pk_key *named, size_t n, int64_t now)
{
	if (it->meta.trace == NULL ||
	    now - (it->meta.created_ms + it->meta.duration_ms) < PK_JUST_STORED_MS)
		return 0;
	for (size_t lo = 0, hi = n; lo < hi;) {
		size_t mid = (lo + hi) / 2;
		int c = memcmp(named[mid].bytes, it->key.bytes, 16);
		if (c == 0)
			return 0;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 1;
}

static int cmp_last_use(const void *a, const void *b)
{
	int64_t x = pk_item_last_use(*(pk_item *const *)a);
	int64_t y = pk_item_last_use(*(pk_item *const *)b);
	if (x != y)
		return x < y ? -1 : 1;
	return strcmp((*(pk_item *const *)a)->hex, (*(pk_item *const *)b)->hex);
}

/* Removes one entry.  Returns 0, or -1 when it is still there. */
static int drop(const pk_store *s, const pk_gc_opts *o, pk_gc_report *rep, pk_item *it,
                const char *why)
{
	if (!o->dry_run && pk_store_remove(s, &it->key) < 0 && errno != ENOENT) {
		if (rep->entries_failed++ == 0)
			pk_error_set(&rep->failure, errno, "cannot remove %s", it->hex);
		rep->entries_kept++;
		rep->bytes_kept += it->stored;
		return -1;
	}
	if (o->on_remove)
		o->on_remove(o->ctx, it, why);
	rep->entries_removed++;
	rep->bytes_freed += it->stored;
	return 0;
}

static void write_stamp(const pk_store *s, uint64_t kept)
{
	char tmp[64];
	int fd;

	snprintf(tmp, sizeof(tmp), "tmp/gc.stamp.%ld", (long)getpid());
	fd = pk_store_openat(s, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return;
	if (pk_write_all(fd, &kept, sizeof(kept)) < 0 || close(fd) < 0 ||
	    renameat(s->dirfd, tmp, s->dirfd, STAMP) < 0) {
		unlinkat(s->dirfd, tmp, 0);
		return;
	}
	unlinkat(s->dirfd, PENDING, 0);
}

int pk_gc_run(const pk_store *s, const pk_gc_opts *o, pk_gc_report *rep, pk_error *err)
{
	pk_catalog c = { 0 };
	pk_item **live = NULL;
	pk_key *named = NULL;
	size_t nlive = 0, nnamed = 0;
	uint64_t total = 0, foreign_kept = 0;
	int64_t now = pk_now_ms();
	char path[4200];
	int lock, ret = -1;

	memset(rep, 0, sizeof(*rep));
	if (pk_store_path(s, path, sizeof(path), "gc.lock") < 0)
		return pk_error_set(err, ENAMETOOLONG, "%s/gc.lock", s->dir);
	if ((lock = pk_lock_acquire(path, o->wait_ms, err)) < 0) {
		if (err->errnum == EWOULDBLOCK)
			pk_error_set(err, EWOULDBLOCK, "another gc is running in %s", s->dir);
		return -1;
	}
	if (pk_catalog_load(s, &c, err) < 0 || pk_manifest_results(s, &named, &nnamed, err) < 0)
		goto out;
	if ((live = calloc(c.n ? c.n : 1, sizeof(*live))) == NULL) {
		pk_error_set(err, ENOMEM, "gc");
		goto out;
	}
	/* Files pickled never makes: first, and while one stays it takes room
	 * from the entries. */
	for (size_t i = 0; i < c.nforeign; i++) {
		const pk_foreign *f = &c.foreign[i];
		if (!o->dry_run && pk_catalog_remove_foreign(s, f) < 0) {
			if (rep->entries_failed++ == 0)
				pk_error_set(&rep->failure, errno, "cannot remove %s", f->rel);
			foreign_kept += f->bytes;
			continue;
		}
		if (o->on_foreign)
			o->on_foreign(o->ctx, f);
		rep->foreign_removed++;
	}
	total = foreign_kept;
	for (size_t i = 0; i < c.n; i++) {
		pk_item *it = &c.items[i];
		if (it->damaged)
			drop(s, o, rep, it, "damaged");
		else if (pk_item_expired(it, now) && !just_stored(it, now))
			drop(s, o, rep, it, "expired");
		else if (o->max_age_ms > 0 && pk_item_age(it, now) >= o->max_age_ms)
			drop(s, o, rep, it, "max-age");
		else if (unreachable(it, named, nnamed, now))
			drop(s, o, rep, it, "unreachable");
		else {
			live[nlive++] = it;
			total += it->stored;
		}
	}
	qsort(live, nlive, sizeof(*live), cmp_last_use);
	for (size_t i = 0; i < nlive; i++) {
		if (o->max_size == 0 || total <= o->max_size) {
			rep->entries_kept++;
			rep->bytes_kept += live[i]->stored;
			continue;
		}
		if (drop(s, o, rep, live[i], "size") == 0)
			total -= live[i]->stored;
	}
	rep->manifests_removed = pk_manifest_tidy(s, o->dry_run, o->on_manifest, o->ctx);
	rep->temps_removed = remove_old(s, "tmp", TMP_NAMES, LEFTOVER_MS, o->dry_run) +
	                     remove_old(s, "locks", LOCK_NAMES, LEFTOVER_MS, o->dry_run) +
	                     remove_old(s, ".", COPY_NAMES, COPY_MAX_AGE_MS, o->dry_run) +
	                     remove_old(s, "inputs", RECORD_NAMES, RECORD_MAX_AGE_MS, o->dry_run);
	if (!o->dry_run) {
		pk_error lerr = { 0 };
		/* Best effort: a run log that cannot be trimmed now is trimmed
		 * by the run that takes it past its bound. */
		pk_runlog_trim(s, &lerr);
		write_stamp(s, rep->bytes_kept + foreign_kept);
	}
	ret = 0;
out:
	free(live);
	free(named);
	pk_catalog_free(&c);
	pk_lock_release(lock);
	return ret;
}
