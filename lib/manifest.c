/* manifest.c: traced input records, and the manifest of input sets. */
#include "manifest.h"

#include "buf.h"
#include "bytes.h"
#include "hash.h"
#include "inputs.h"
#include "io.h"
#include "region.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


const char *pk_mkind_name(int kind)
{
	switch (kind) {
	case PK_MK_FILE: return "file";
	case PK_MK_ABSENT: return "absent";
	case PK_MK_DIR: return "listing";
	case PK_MK_LINK: return "link";
	case PK_MK_STAT: return "exists";
	}
	return "?";
}

void pk_mrec_free(pk_mrec *r)
{
	if (r == NULL)
		return;
	if (!r->in_block)
		free(r->path);
	r->path = NULL;
}

/* The hash of a directory's listing: its names, sorted, each with its
 * type, so that a file replaced by a folder of the same name counts. */
static int listing_hash(const char *path, unsigned char hash[16])
{
	DIR *d = opendir(path);
	char **names;
	size_t n;
	XXH3_state_t xs;
	XXH128_canonical_t c;
	int ret;

	if (d == NULL)
		return -1;
	ret = pk_dir_names(d, 1, &names, &n);
	closedir(d);
	if (ret < 0)
		return -1;
	XXH3_128bits_reset(&xs);
	for (size_t i = 0; i < n; i++)
		pk_hash_update(&xs, names[i], strlen(names[i]) + 2);
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&xs));
	memcpy(hash, c.digest, 16);
	pk_dir_names_free(names, n);
	return 0;
}

static int link_hash(const char *path, unsigned char hash[16])
{
	char target[PATH_MAX];
	ssize_t len = readlink(path, target, sizeof(target));
	XXH128_canonical_t c;

	if (len < 0)
		return -1;
	XXH128_canonicalFromHash(&c, XXH3_128bits(target, (size_t)len));
	memcpy(hash, c.digest, 16);
	return 0;
}

static void take_stat(pk_mrec *r, const struct stat *st)
{
	r->mode = (uint32_t)st->st_mode;
	r->dev = (uint64_t)st->st_dev;
	r->ino = (uint64_t)st->st_ino;
	r->size = (uint64_t)st->st_size;
	r->mtime_ns = pk_ns(st->st_mtim);
	r->ctime_ns = pk_ns(st->st_ctim);
	r->settled = pk_stat_settled(st);
}

/* Fills r's kind and content from the file system, path and want given. */
static int observe(pk_mrec *r, int want, const char *statdir, pk_error *err)
{
	struct stat st;
	int rc = want == PK_MK_LINK ? lstat(r->path, &st) : stat(r->path, &st);

	memset(r->hash, 0, sizeof(r->hash));
	if (rc < 0) {
		if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP && errno != EACCES)
			return pk_error_set(err, errno, "cannot read %s", r->path);
		r->kind = PK_MK_ABSENT;
		r->mode = 0;
		r->dev = r->ino = r->size = 0;
		r->mtime_ns = r->ctime_ns = 0;
		r->settled = 1;
		return 0;
	}
	take_stat(r, &st);
	if (want == PK_MK_FILE && S_ISREG(st.st_mode)) {
		r->kind = PK_MK_FILE;
		rc = pk_hash_file(statdir, r->path, r->hash, err);
		if (rc == 1)
			return pk_error_set(err, ENOENT, "went away while hashed: %s", r->path);
		return rc;
	}
	if (want == PK_MK_DIR && S_ISDIR(st.st_mode)) {
		r->kind = PK_MK_DIR;
		if (listing_hash(r->path, r->hash) < 0)
			return pk_error_set(err, errno, "cannot list %s", r->path);
		return 0;
	}
	if (want == PK_MK_LINK && S_ISLNK(st.st_mode)) {
		r->kind = PK_MK_LINK;
		if (link_hash(r->path, r->hash) < 0)
			return pk_error_set(err, errno, "cannot read link %s", r->path);
		return 0;
	}
	r->kind = PK_MK_STAT;
	return 0;
}

int pk_mrec_observe(pk_mrec *r, const char *path, int want, const char *statdir, pk_error *err)
{
	memset(r, 0, sizeof(*r));
	if ((r->path = strdup(path)) == NULL)
		return pk_error_set(err, ENOMEM, "out of memory");
	if (observe(r, want, statdir, err) < 0) {
		pk_mrec_free(r);
		return -1;
	}
	return 0;
}

static int same_stat(const pk_mrec *r, const struct stat *st)
{
	return r->mode == (uint32_t)st->st_mode && r->dev == (uint64_t)st->st_dev &&
	       r->ino == (uint64_t)st->st_ino && r->size == (uint64_t)st->st_size &&
	       r->mtime_ns == pk_ns(st->st_mtim) && r->ctime_ns == pk_ns(st->st_ctim);
}

/* The folder of the records being checked, open: a hit stats every record,
 * and records are sorted by path, so the files of one folder come together
 * and each stat need not walk the whole path again. */
struct folder {
	int fd; /* -1: none */
	size_t len;
	char path[PATH_MAX];
};

/* Stats r's path, through f's folder when it is r's, or when the next
 * record to check (next, may be NULL) is in r's folder too (then f is
 * opened there).  As stat(2) or lstat(2) would: the folder is opened along
 * the same path. */
static int stat_rec(const pk_mrec *r, struct stat *st, struct folder *f, const char *next)
{
	int flags = r->kind == PK_MK_LINK ? AT_SYMLINK_NOFOLLOW : 0;
	const char *slash = f != NULL ? strrchr(r->path, '/') : NULL;

	if (slash != NULL && slash != r->path && slash[1] != '\0') {
		size_t len = (size_t)(slash - r->path);
		int here = f->fd >= 0 && f->len == len && memcmp(f->path, r->path, len) == 0;
		if (!here && next != NULL && len < sizeof(f->path) &&
		    strncmp(next, r->path, len + 1) == 0 && strchr(next + len + 1, '/') == NULL) {
			if (f->fd >= 0)
				close(f->fd);
			memcpy(f->path, r->path, len);
			f->path[len] = '\0';
			f->len = len;
			f->fd = open(f->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
			here = f->fd >= 0;
		}
		if (here)
			return fstatat(f->fd, slash + 1, st, flags);
	}
	return flags ? lstat(r->path, st) : stat(r->path, st);
}

static int check_rec(pk_mrec *r, const char *statdir, const char **why, int *refreshed,
                     struct folder *f, const char *next);

int pk_mrec_check(pk_mrec *r, const char *statdir, const char **why, int *refreshed)
{
	return check_rec(r, statdir, why, refreshed, NULL, NULL);
}

/* The stat moved (a touch, a copy put back, another inode) or proves
 * nothing: what the command saw decides.  Apart from check_rec, whose
 * every call (one per recorded path on a hit) would otherwise clear these
 * locals. */
static int recheck(pk_mrec *r, const struct stat *st, const char *statdir, int *refreshed)
{
	pk_mrec now = { 0 };
	pk_error err = { 0 };
	int differs;

	now.path = r->path;
	if (observe(&now, r->kind, statdir, &err) < 0)
		return 1;
	differs = now.kind != r->kind || memcmp(now.hash, r->hash, 16) != 0;
	/* What it holds is the same: the new stat stands for it from now on
	 * (the observation's own, taken with the hash). */
	if (!differs && now.settled && !(r->settled && same_stat(r, st))) {
		r->mode = now.mode;
		r->dev = now.dev;
		r->ino = now.ino;
		r->size = now.size;
		r->mtime_ns = now.mtime_ns;
		r->ctime_ns = now.ctime_ns;
		r->settled = 1;
		if (refreshed != NULL)
			*refreshed = 1;
	}
	return differs;
}

static int check_rec(pk_mrec *r, const char *statdir, const char **why, int *refreshed,
                     struct folder *f, const char *next)
{
	struct stat st;
	int rc = stat_rec(r, &st, f, next);

	*why = "input changed";
	if (rc < 0) {
		if (r->kind == PK_MK_ABSENT)
			return 0;
		*why = "now absent";
		return 1;
	}
	if (r->kind == PK_MK_ABSENT) {
		*why = "now present";
		return 1;
	}
	if ((st.st_mode & S_IFMT) != (r->mode & S_IFMT))
		return 1;
	if (r->kind == PK_MK_STAT)
		return S_ISREG(st.st_mode) &&
		       ((uint64_t)st.st_size != r->size || pk_ns(st.st_mtim) != r->mtime_ns);
	if (r->settled && same_stat(r, &st))
		return 0;
	return recheck(r, &st, statdir, refreshed);
}

static int cmp_rec(const void *a, const void *b)
{
	return strcmp(((const pk_mrec *)a)->path, ((const pk_mrec *)b)->path);
}

void pk_mrecs_sort(pk_mrec *recs, size_t *n)
{
	size_t w = 0;

	if (*n > 1)
		qsort(recs, *n, sizeof(*recs), cmp_rec);
	for (size_t i = 0; i < *n; i++) {
		if (w > 0 && strcmp(recs[w - 1].path, recs[i].path) == 0) {
			pk_mrec_free(&recs[i]);
			continue;
		}
		recs[w++] = recs[i];
	}
	*n = w;
}

/* What of a record is the input: the stat is only how it is checked,
 * except for STAT, whose type, size and mtime are all there is. */
static void rec_digest(XXH3_state_t *xs, const pk_mrec *r)
{
	unsigned char b[8 + 1 + 4 + 16 + 8 + 8];
	size_t len = strlen(r->path);
	uint64_t size = 0;
	int64_t mtime = 0;

	if (r->kind == PK_MK_STAT && S_ISREG(r->mode)) {
		size = r->size;
		mtime = r->mtime_ns;
	}
	pk_put_le(b, len, 8);
	b[8] = (unsigned char)r->kind;
	pk_put_le(b + 9, r->kind == PK_MK_ABSENT ? 0 : (r->mode & S_IFMT), 4);
	memcpy(b + 13, r->hash, 16);
	pk_put_le(b + 29, size, 8);
	pk_put_le(b + 37, (uint64_t)mtime, 8);
	pk_hash_update(xs, b, 8);
	pk_hash_update(xs, r->path, len);
	pk_hash_update(xs, b + 8, sizeof(b) - 8);
}

void pk_manifest_key(const pk_key *run_key, pk_key *out)
{
	XXH3_state_t xs;
	XXH128_canonical_t c;

	XXH3_128bits_reset(&xs);
	pk_hash_update(&xs, "pickled manifest 1", 18);
	pk_hash_update(&xs, run_key->bytes, 16);
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&xs));
	memcpy(out->bytes, c.digest, 16);
}

void pk_mrecs_result_key(const pk_key *key, const pk_mrec *recs, size_t n, pk_key *out)
{
	XXH3_state_t xs;
	XXH128_canonical_t c;

	XXH3_128bits_reset(&xs);
	pk_hash_update(&xs, "pickled traced result 1", 24);
	pk_hash_update(&xs, key->bytes, 16);
	for (size_t i = 0; i < n; i++)
		rec_digest(&xs, &recs[i]);
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&xs));
	memcpy(out->bytes, c.digest, 16);
}

void pk_manifest_free(pk_manifest *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->nrecs; i++)
		pk_mrec_free(&m->recs[i]);
	if (!m->recs_in_region)
		free(m->recs);
	for (size_t i = 0; i < m->nvariants; i++)
		free(m->variants[i].idx);
	free(m->variants);
	pk_region_free(m->region, m->region_len);
	memset(m, 0, sizeof(*m));
}

/* Equal as inputs and as checked: the same record may be shared by sets. */
static int rec_equal(const pk_mrec *a, const pk_mrec *b)
{
	return a->kind == b->kind && a->mode == b->mode && a->dev == b->dev && a->ino == b->ino &&
	       a->size == b->size && a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns &&
	       a->settled == b->settled && memcmp(a->hash, b->hash, 16) == 0 &&
	       strcmp(a->path, b->path) == 0;
}

/* Keeps only the records some variant uses, renumbering the indexes. */
static void drop_unused(pk_manifest *m)
{
	uint32_t *map;
	size_t w = 0;

	if ((map = calloc(m->nrecs + 1, sizeof(*map))) == NULL)
		return; /* unused records only cost room */
	for (size_t v = 0; v < m->nvariants; v++)
		for (size_t i = 0; i < m->variants[v].n; i++)
			map[m->variants[v].idx[i]] = 1;
	for (size_t i = 0; i < m->nrecs; i++) {
		if (!map[i]) {
			pk_mrec_free(&m->recs[i]);
			continue;
		}
		map[i] = (uint32_t)w;
		m->recs[w++] = m->recs[i];
	}
	m->nrecs = w;
	for (size_t v = 0; v < m->nvariants; v++)
		for (size_t i = 0; i < m->variants[v].n; i++)
			m->variants[v].idx[i] = map[m->variants[v].idx[i]];
	free(map);
}

static void drop_variant(pk_manifest *m, size_t v)
{
	free(m->variants[v].idx);
	memmove(&m->variants[v], &m->variants[v + 1],
	        (m->nvariants - v - 1) * sizeof(*m->variants));
	m->nvariants--;
}

/* Finds or adds rec; returns its index, or -1 (ENOMEM).  Sets are a few
 * thousand records: a linear scan over the path-sorted table would be
 * quadratic, so the first record of each path is found by bisection over
 * an index sorted as it is built. */
struct rec_index {
	uint32_t *by_path; /* record indexes sorted by path */
	size_t n, cap;
};

static long index_find(const pk_manifest *m, const struct rec_index *ix, const pk_mrec *r,
                       size_t *at)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (strcmp(m->recs[ix->by_path[mid]].path, r->path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	for (size_t i = lo; i < ix->n && strcmp(m->recs[ix->by_path[i]].path, r->path) == 0; i++)
		if (rec_equal(&m->recs[ix->by_path[i]], r))
			return (long)ix->by_path[i];
	return -1;
}

static long intern(pk_manifest *m, struct rec_index *ix, const pk_mrec *r, size_t *cap)
{
	size_t at;
	long found = index_find(m, ix, r, &at);

	if (found >= 0)
		return found;
	if (m->nrecs == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		pk_mrec *nr = m->recs_in_region ? malloc(ncap * sizeof(*nr))
		                                : realloc(m->recs, ncap * sizeof(*nr));
		if (nr == NULL)
			return -1;
		if (m->recs_in_region && m->nrecs > 0)
			memcpy(nr, m->recs, m->nrecs * sizeof(*nr));
		m->recs_in_region = 0;
		m->recs = nr;
		*cap = ncap;
	}
	if (ix->n == ix->cap) {
		size_t ncap = ix->cap ? ix->cap * 2 : 256;
		uint32_t *nb = realloc(ix->by_path, ncap * sizeof(*nb));
		if (nb == NULL)
			return -1;
		ix->by_path = nb;
		ix->cap = ncap;
	}
	m->recs[m->nrecs] = *r;
	m->recs[m->nrecs].in_block = 0;
	if ((m->recs[m->nrecs].path = strdup(r->path)) == NULL)
		return -1;
	memmove(&ix->by_path[at + 1], &ix->by_path[at], (ix->n - at) * sizeof(*ix->by_path));
	ix->by_path[at] = (uint32_t)m->nrecs;
	ix->n++;
	return (long)m->nrecs++;
}

static int cmp_ix(const void *a, const void *b, void *ctx)
{
	const pk_manifest *m = ctx;
	return strcmp(m->recs[*(const uint32_t *)a].path, m->recs[*(const uint32_t *)b].path);
}

int pk_manifest_add(pk_manifest *m, const pk_key *result, int64_t created_ms, int flags,
                    const pk_mrec *recs, size_t n)
{
	struct rec_index ix = { 0 };
	pk_variant v = { 0 }, *nv;
	size_t cap = m->nrecs;
	int ret = -1;

	for (size_t i = 0; i < m->nvariants; i++) {
		if (pk_key_equal(&m->variants[i].result, result)) {
			drop_variant(m, i);
			break;
		}
	}
	if (m->nrecs > 0) {
		if ((ix.by_path = malloc(m->nrecs * sizeof(*ix.by_path))) == NULL)
			goto out;
		for (size_t i = 0; i < m->nrecs; i++)
			ix.by_path[i] = (uint32_t)i;
		ix.n = ix.cap = m->nrecs;
		qsort_r(ix.by_path, ix.n, sizeof(*ix.by_path), cmp_ix, m);
	}
	v.result = *result;
	v.created_ms = created_ms;
	v.flags = flags;
	if (n > 0 && (v.idx = malloc(n * sizeof(*v.idx))) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		long at = intern(m, &ix, &recs[i], &cap);
		if (at < 0)
			goto out;
		v.idx[v.n++] = (uint32_t)at;
	}
	if ((nv = realloc(m->variants, (m->nvariants + 1) * sizeof(*nv))) == NULL)
		goto out;
	m->variants = nv;
	memmove(&m->variants[1], &m->variants[0], m->nvariants * sizeof(*nv));
	m->variants[0] = v;
	m->nvariants++;
	v.idx = NULL;
	while (m->nvariants > PK_MANIFEST_VARIANTS)
		drop_variant(m, m->nvariants - 1);
	drop_unused(m);
	while (m->nvariants > 1 && m->nrecs > PK_MANIFEST_RECORDS) {
		drop_variant(m, m->nvariants - 1);
		drop_unused(m);
	}
	ret = 0;
out:
	free(v.idx);
	free(ix.by_path);
	if (ret < 0)
		errno = ENOMEM;
	return ret;
}

size_t pk_manifest_prune(pk_manifest *m, int (*keep)(void *ctx, const pk_key *result), void *ctx)
{
	size_t dropped = 0;

	for (size_t v = m->nvariants; v-- > 0;) {
		if (keep(ctx, &m->variants[v].result))
			continue;
		drop_variant(m, v);
		dropped++;
	}
	if (dropped)
		drop_unused(m);
	return dropped;
}

long pk_manifest_match(pk_manifest *m, const char *statdir, const pk_mrec **first, const char **why,
                       int *refreshed)
{
	/* 0: not checked yet, 1: holds, 2: does not */
	unsigned char *seen = calloc(m->nrecs + 1, 1);
	struct folder f = { .fd = -1 };
	long found = -1;

	if (seen == NULL)
		return -1; /* cannot check: a miss */
	for (size_t v = 0; v < m->nvariants && found < 0; v++) {
		const pk_variant *var = &m->variants[v];
		size_t i;

		for (i = 0; i < var->n; i++) {
			uint32_t k = var->idx[i];
			const char *w = "input changed";

			/* The newest set checks each of its records first. */
			if (seen[k] == 0) {
				const char *next =
					i + 1 < var->n ? m->recs[var->idx[i + 1]].path : NULL;
				seen[k] = check_rec(&m->recs[k], statdir, &w, refreshed, &f, next)
				                  ? 2
				                  : 1;
			}
			if (seen[k] == 1)
				continue;
			if (v == 0) {
				if (first != NULL)
					*first = &m->recs[k];
				if (why != NULL)
					*why = w;
			}
			break;
		}
		if (i == var->n)
			found = (long)v;
	}
	free(seen);
	if (f.fd >= 0)
		close(f.fd);
	return found;
}
