/* manifest_file.c: a manifest's bytes and its file in the cache (see
 * manifest.h for the layout). */
#include "manifest.h"

#include "buf.h"
#include "bytes.h"
#include "hash.h"
#include "io.h"
#include "region.h"

#include <zstd.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "PKLDMAN" /* with its NUL: 8 bytes */
#define VERSION 1
#define MAX_BYTES (256u * 1024 * 1024) /* larger is damage */
/* A manifest's records, unpacked: 20,000 records of a long path each. */
#define MAX_RAW (128u * 1024 * 1024)
#define REC_FIXED (4 + 1 + 4 + 16 + 5 * 8 + 1)

static void put_bytes(pk_buf *b, const void *p, size_t n)
{
	if (pk_buf_reserve(b, n) < 0)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

int pk_manifest_zip(const unsigned char *raw, size_t n, pk_buf *out)
{
	size_t bound = ZSTD_compressBound(n), got;

	pk_buf_put_le(out, n, 8);
	if (pk_buf_reserve(out, bound) < 0)
		return -1;
	/* Level 3: paths share most of their bytes; a few thousand records
	 * pack to a tenth in well under a millisecond. */
	got = ZSTD_compress(out->p + out->len, bound, raw, n, 3);
	if (ZSTD_isError(got)) {
		out->failed = 1;
		return -1;
	}
	out->len += got;
	return 0;
}

/* The unpacked size of n packed bytes at p, or -1 when it cannot be. */
static long long unzipped_size(const unsigned char *p, size_t n)
{
	uint64_t want;

	if (n < 8 || (want = pk_get_le(p, 8)) > MAX_RAW)
		return -1;
	return (long long)want;
}

/* Unpacks n bytes at p, of unpacked size want, into raw.  0 or -1. */
static int unzip_into(const unsigned char *p, size_t n, unsigned char *raw, size_t want)
{
	size_t got = ZSTD_decompress(raw, want, p + 8, n - 8);

	return ZSTD_isError(got) || got != want ? -1 : 0;
}

int pk_manifest_unzip(const unsigned char *p, size_t n, unsigned char **raw, size_t *rawlen)
{
	long long want = unzipped_size(p, n);

	*raw = NULL;
	if (want < 0 || (*raw = malloc((size_t)want + 1)) == NULL)
		return -1;
	if (unzip_into(p, n, *raw, (size_t)want) < 0) {
		free(*raw);
		*raw = NULL;
		return -1;
	}
	*rawlen = (size_t)want;
	return 0;
}

/* The records and the sets, as the layout in manifest.h orders them. */
static void encode_body(const pk_manifest *m, pk_buf *b)
{
	pk_buf_put_le(b, m->nrecs, 4);
	for (size_t i = 0; i < m->nrecs; i++) {
		const pk_mrec *r = &m->recs[i];
		size_t plen = strlen(r->path);
		pk_buf_put_le(b, plen, 4);
		put_bytes(b, r->path, plen);
		pk_buf_put_le(b, (uint64_t)r->kind, 1);
		pk_buf_put_le(b, r->mode, 4);
		put_bytes(b, r->hash, 16);
		pk_buf_put_le(b, r->dev, 8);
		pk_buf_put_le(b, r->ino, 8);
		pk_buf_put_le(b, r->size, 8);
		pk_buf_put_le(b, (uint64_t)r->mtime_ns, 8);
		pk_buf_put_le(b, (uint64_t)r->ctime_ns, 8);
		pk_buf_put_le(b, r->settled != 0, 1);
	}
	pk_buf_put_le(b, m->nvariants, 4);
	for (size_t v = 0; v < m->nvariants; v++) {
		const pk_variant *var = &m->variants[v];
		put_bytes(b, var->result.bytes, 16);
		pk_buf_put_le(b, (uint64_t)var->created_ms, 8);
		pk_buf_put_le(b, (uint64_t)var->flags, 1);
		pk_buf_put_le(b, var->n, 4);
		for (size_t i = 0; i < var->n; i++)
			pk_buf_put_le(b, var->idx[i], 4);
	}
}

int pk_manifest_encode(const pk_manifest *m, unsigned char **buf, size_t *len)
{
	pk_buf raw = { 0 }, b = { 0 };

	encode_body(m, &raw);
	put_bytes(&b, MAGIC, 8);
	pk_buf_put_le(&b, VERSION, 4);
	pk_buf_put_le(&b, 0, 4);
	if (raw.failed || pk_manifest_zip(raw.p, raw.len, &b) < 0)
		b.failed = 1;
	free(raw.p);
	if (!b.failed)
		pk_buf_put_le(&b, XXH3_64bits(b.p, b.len), 8);
	if (b.failed) {
		free(b.p);
		errno = ENOMEM;
		return -1;
	}
	*buf = b.p;
	*len = b.len;
	return 0;
}

static int damaged(pk_manifest *m, pk_error *err, const char *what)
{
	pk_manifest_free(m);
	return pk_error_set(err, 0, "%s", what);
}

static int decode_body(pk_reader *rd, pk_manifest *m, pk_error *err);

int pk_manifest_decode(const unsigned char *buf, size_t len, pk_manifest *m, pk_error *err)
{
	pk_reader r = { buf, len, 0, 0 };
	long long want;
	size_t rawlen, nmax;
	int ret;

	memset(m, 0, sizeof(*m));
	if (len < 8 + 8 + 4 + 4 + 8 || memcmp(buf, MAGIC, 8) != 0)
		return damaged(m, err, "not a manifest");
	if (XXH3_64bits(buf, len - 8) != pk_get_le(buf + len - 8, 8))
		return damaged(m, err, "checksum mismatch");
	r.len = len - 8;
	r.at = 8;
	if (pk_read_le(&r, 4) != VERSION)
		return damaged(m, err, "unknown version");
	pk_read_le(&r, 4);
	/* Checked, then unpacked: what follows is read from the records.
	 * The records' bytes and the array decoded from them share one
	 * region, which the manifest keeps: paths are used in place. */
	if ((want = unzipped_size(buf + r.at, r.len - r.at)) < 0)
		return damaged(m, err, "records do not unpack");
	rawlen = ((size_t)want + 1 + 15) / 16 * 16;
	nmax = (size_t)want / REC_FIXED;
	m->region_len = rawlen + nmax * sizeof(pk_mrec);
	if ((m->region = pk_region_alloc(m->region_len)) == NULL)
		return pk_error_set(err, ENOMEM, "out of memory");
	if (unzip_into(buf + r.at, r.len - r.at, m->region, (size_t)want) < 0)
		return damaged(m, err, "records do not unpack");
	m->recs = nmax > 0 ? (pk_mrec *)((unsigned char *)m->region + rawlen) : NULL;
	m->recs_in_region = 1;
	r.p = m->region;
	r.len = (size_t)want;
	r.at = 0;
	ret = decode_body(&r, m, err);
	return ret;
}

/* The records and sets of a manifest, unpacked in m->paths (rd reads
 * it), into *m. */
static int decode_body(pk_reader *rd, pk_manifest *m, pk_error *err)
{
	uint64_t n;

	/* (m->recs, zeroed, has room for as many records as fit) */
	n = pk_read_le(rd, 4);
	if (n > (rd->len - rd->at) / REC_FIXED)
		return damaged(m, err, "record count");
	/* A hit decodes thousands of records: each path is used where it
	 * was unpacked, ended by a NUL over its kind's byte once that is
	 * read, not copied. */
	for (uint64_t i = 0; i < n; i++) {
		pk_mrec *rec = &m->recs[i];
		uint64_t plen = pk_read_le(rd, 4);
		const unsigned char *path = pk_read_take(rd, plen);
		if (path == NULL || plen == 0 || memchr(path, '\0', plen) != NULL)
			return damaged(m, err, "record path");
		rec->kind = (int)pk_read_le(rd, 1);
		if (rd->bad)
			return damaged(m, err, "record");
		rec->path = (char *)m->region + (path - rd->p);
		rec->path[plen] = '\0';
		rec->in_block = 1;
		m->nrecs++;
		rec->mode = (uint32_t)pk_read_le(rd, 4);
		const unsigned char *h = pk_read_take(rd, 16);
		if (h != NULL)
			memcpy(rec->hash, h, 16);
		rec->dev = pk_read_le(rd, 8);
		rec->ino = pk_read_le(rd, 8);
		rec->size = pk_read_le(rd, 8);
		rec->mtime_ns = (int64_t)pk_read_le(rd, 8);
		rec->ctime_ns = (int64_t)pk_read_le(rd, 8);
		rec->settled = (int)pk_read_le(rd, 1);
		if (rd->bad || rec->kind < PK_MK_FILE || rec->kind > PK_MK_STAT)
			return damaged(m, err, "record");
	}
	n = pk_read_le(rd, 4);
	if (rd->bad || n > PK_MANIFEST_VARIANTS || n > (rd->len - rd->at) / (16 + 8 + 1 + 4))
		return damaged(m, err, "variant count");
	if (n > 0 && (m->variants = calloc(n, sizeof(*m->variants))) == NULL)
		return pk_error_set(err, ENOMEM, "out of memory");
	for (uint64_t v = 0; v < n; v++) {
		pk_variant *var = &m->variants[v];
		const unsigned char *k = pk_read_take(rd, 16);
		if (k != NULL)
			memcpy(var->result.bytes, k, 16);
		var->created_ms = (int64_t)pk_read_le(rd, 8);
		var->flags = (int)pk_read_le(rd, 1);
		uint64_t cnt = pk_read_le(rd, 4);
		m->nvariants++;
		if (rd->bad || cnt > (rd->len - rd->at) / 4)
			return damaged(m, err, "variant");
		if (cnt > 0 && (var->idx = malloc(cnt * sizeof(*var->idx))) == NULL)
			return pk_error_set(err, ENOMEM, "out of memory");
		for (uint64_t i = 0; i < cnt; i++) {
			uint64_t ix = pk_read_le(rd, 4);
			if (ix >= m->nrecs)
				return damaged(m, err, "record index");
			var->idx[var->n++] = (uint32_t)ix;
		}
	}
	if (rd->bad || rd->at != rd->len)
		return damaged(m, err, "trailing bytes");
	return 0;
}

static int rel_path(const pk_store *s, const pk_key *key, char *rel, size_t len)
{
	char hex[PK_KEY_HEX + 1];

	pk_key_hex(key, hex);
	return pk_store_path(s, rel, len, "manifests/%.2s/%s", hex, hex) == 0 ? 0 : -1;
}

/* pk_store_path gives DIR/REL: the part after DIR. */
static const char *relative(const pk_store *s, const char *full)
{
	return full + strlen(s->dir) + 1;
}

int pk_manifest_load(const pk_store *s, const pk_key *key, pk_manifest *m, pk_error *err)
{
	char full[4200];
	unsigned char *buf = NULL;
	struct stat st;
	int fd, ret = -1;

	memset(m, 0, sizeof(*m));
	if (rel_path(s, key, full, sizeof(full)) < 0)
		return pk_error_set(err, ENAMETOOLONG, "%s/manifests", s->dir);
	if ((fd = pk_store_openat(s, relative(s, full), O_RDONLY, 0)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 1;
		return pk_error_set(err, errno, "%s", full);
	}
	if (fstat(fd, &st) < 0) {
		pk_error_set(err, errno, "%s", full);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > MAX_BYTES) {
		pk_error_set(err, 0, "%s",
		             S_ISREG(st.st_mode) ? "too large" : "not a regular file");
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		pk_error_set(err, ENOMEM, "out of memory");
		goto out;
	}
	ssize_t got = pk_read_full(fd, buf, (size_t)st.st_size);
	if (got != st.st_size) {
		pk_error_set(err, got < 0 ? errno : 0, "%s", full);
		goto out;
	}
	ret = pk_manifest_decode(buf, (size_t)got, m, err);
out:
	free(buf);
	close(fd);
	return ret;
}

int pk_manifest_save(const pk_store *s, const pk_key *key, const pk_manifest *m, pk_error *err)
{
	char full[4200], tmp[256], hex[PK_KEY_HEX + 1], shard[16];
	unsigned char *buf = NULL;
	size_t len;
	int fd = -1, ret = -1;

	pk_key_hex(key, hex);
	snprintf(shard, sizeof(shard), "manifests/%.2s", hex);
	if (rel_path(s, key, full, sizeof(full)) < 0)
		return pk_error_set(err, ENAMETOOLONG, "%s/manifests", s->dir);
	if (pk_manifest_encode(m, &buf, &len) < 0)
		return pk_error_set(err, ENOMEM, "out of memory");
	if ((fd = pk_store_tmp_create(s, tmp, sizeof(tmp), err)) < 0)
		goto out;
	if (pk_write_all(fd, buf, len) < 0 || fsync(fd) < 0) {
		pk_error_set(err, errno, "%s/%s", s->dir, tmp);
		goto out;
	}
	/* Both checked: a rename through a planted link would put the
	 * manifest outside the cache. */
	if (pk_store_subdir(s, "manifests", err) < 0 || pk_store_subdir(s, shard, err) < 0)
		goto out;
	if (renameat(s->dirfd, tmp, s->dirfd, relative(s, full)) < 0) {
		pk_error_set(err, errno, "%s", full);
		goto out;
	}
	tmp[0] = '\0';
	ret = 0;
out:
	if (fd >= 0) {
		if (tmp[0] != '\0')
			unlinkat(s->dirfd, tmp, 0);
		close(fd);
	}
	free(buf);
	return ret;
}

int pk_manifest_remove(const pk_store *s, const pk_key *key)
{
	char full[4200];

	if (rel_path(s, key, full, sizeof(full)) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return unlinkat(s->dirfd, relative(s, full), 0);
}

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Every file of one shard folder. */
static int each_in_shard(const pk_store *s, const char *shard,
                         int (*fn)(void *, const pk_key *, const char *), void *ctx, pk_error *err)
{
	char rel[300];
	int fd, ret = 0;
	DIR *d;
	struct dirent *de;

	snprintf(rel, sizeof(rel), "manifests/%s", shard);
	fd = openat(s->dirfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		/* A link or a file in a shard's place: foreign. */
		if (errno == ENOTDIR || errno == ELOOP)
			return fn(ctx, NULL, rel);
		return pk_error_set(err, errno, "%s/%s", s->dir, rel);
	}
	while (ret == 0 && (de = readdir(d)) != NULL) {
		pk_key key;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(rel, sizeof(rel), "manifests/%s/%s", shard, de->d_name);
		if (strlen(de->d_name) == PK_KEY_HEX && is_hex(de->d_name, PK_KEY_HEX) &&
		    strncmp(de->d_name, shard, 2) == 0 && pk_key_from_hex(de->d_name, &key) == 0)
			ret = fn(ctx, &key, rel);
		else
			ret = fn(ctx, NULL, rel);
	}
	closedir(d);
	return ret;
}

int pk_manifest_each(const pk_store *s, int (*fn)(void *ctx, const pk_key *key, const char *rel),
                     void *ctx, pk_error *err)
{
	int fd = openat(s->dirfd, "manifests", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int ret = 0;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return pk_error_set(err, errno, "%s/manifests", s->dir);
	}
	while (ret == 0 && (de = readdir(d)) != NULL) {
		char rel[300];
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strlen(de->d_name) == 2 && is_hex(de->d_name, 2)) {
			ret = each_in_shard(s, de->d_name, fn, ctx, err);
		} else {
			snprintf(rel, sizeof(rel), "manifests/%s", de->d_name);
			ret = fn(ctx, NULL, rel);
		}
	}
	closedir(d);
	return ret < 0 ? -1 : 0;
}
