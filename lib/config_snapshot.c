/* config_snapshot.c: the parsed copy of the configuration files.
 *
 * The copy, all integers little-endian:
 *   "pkconf" 0 1               magic and format
 *   u64 checksum               XXH3-64 of all that follows
 *   u32 length, fingerprint    format, pickled's version, the binary's
 *                              build-id, the user, $HOME, then each
 *                              file: path, optional, present, owner, mode,
 *                              size and an XXH3-128 of its content
 *   body                       the files looked at, the top-level settings
 *                              (in the key table's order, config_keys.c)
 *                              and their origins, the jobs (name, origin,
 *                              keys set, origins, settings)
 * A string is u32 length then its bytes (length 0xffffffff: NULL); a list
 * is u32 count then its strings; an origin is u32 file (0: built-in, else
 * 1 + index in the files), u32 line, u32 column.
 *
 * The fingerprint is compared byte for byte with one made from the files
 * as they are now, so every difference (a file edited, chmod'ed, created
 * where there was none, another user, another pickled binary) means
 * "parse again".  Reading and hashing a few kilobytes costs little next
 * to libyaml; it also checks that the user may still read each file.
 * Decoding checks every length and count against the bytes left, and
 * every value as the reader would: a damaged copy is a miss, never a
 * crash. */
#include "config_snapshot.h"

#include "buf.h"
#include "bytes.h"
#include "config_keys.h"
#include "io.h"
#include "remote.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#define FORMAT 2                   /* 2: settings in the key table's order */
#define MAGIC "pkconf\0\1"
#define HEADER 16                  /* magic, checksum */
#define MAX_COPY (4u << 20)        /* the files are at most 1M each */
#define NO_STRING 0xffffffffu

/* --- writing -------------------------------------------------------------- */

static void put_u32(pk_buf *o, uint64_t v)
{
	unsigned char b[4];

	pk_put_le(b, v, 4);
	pk_buf_add(o, b, 4);
}

static void put_u64(pk_buf *o, uint64_t v)
{
	unsigned char b[8];

	pk_put_le(b, v, 8);
	pk_buf_add(o, b, 8);
}

static void put_str(pk_buf *o, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n >= NO_STRING) {
		o->failed = 1;
		return;
	}
	put_u32(o, s ? n : NO_STRING);
	if (s != NULL)
		pk_buf_add(o, s, n);
}

static void put_strv(pk_buf *o, const pk_strv *l)
{
	put_u32(o, l->n);
	for (size_t i = 0; i < l->n; i++)
		put_str(o, l->v[i]);
}

/* Origins point into c->files; anything else (an environment variable's
 * name) did not come from a file and has no place in the copy. */
static void put_origin(pk_buf *o, const pk_config *c, const pk_origin *or)
{
	size_t i = 0;

	if (or->where != NULL) {
		while (i < c->nfiles && c->files[i] != or->where)
			i++;
		if (i == c->nfiles) {
			o->failed = 1;
			return;
		}
		i++;
	}
	put_u32(o, i);
	put_u32(o, or->line);
	put_u32(o, or->column);
}

/* The settings of base (a pk_config or a pk_config_job) in the order of
 * the key table: a key added to the table is in the copy with no more
 * code. */
static void put_fields(pk_buf *o, const struct field *f, size_t n, const void *base)
{
	for (size_t i = 0; i < n; i++) {
		const char *p = (const char *)base + f[i].off;
		uint64_t u;
		int v;

		switch (f[i].type) {
		case T_MAP:
			put_fields(o, f[i].sub, f[i].nsub, base);
			break;
		case T_JOBS:
			break;   /* after the top level's origins */
		case T_DURATION:
		case T_SIZE:
			memcpy(&u, p, sizeof(u));
			put_u64(o, u);
			break;
		case T_INT:
		case T_BOOL:
		case T_ENUM:
			memcpy(&v, p, sizeof(v));
			put_u32(o, (uint32_t)v);
			break;
		case T_STRING:
		case T_PATH:
		case T_URL:
			put_str(o, *(char *const *)(const void *)p);
			break;
		case T_LIST:
		case T_COMMAND:
			put_strv(o, (const pk_strv *)(const void *)p);
			break;
		}
	}
}

static void put_body(pk_buf *o, const pk_config *c)
{
	put_u32(o, c->nfiles);
	for (size_t i = 0; i < c->nfiles; i++) {
		put_str(o, c->files[i]);
		put_u32(o, (uint32_t)c->read[i]);
	}
	put_fields(o, pk_config_top_fields, pk_config_ntop, c);
	for (int k = 0; k < PK_CFG_NKEYS; k++)
		put_origin(o, c, &c->origins[k]);

	put_u32(o, c->njobs);
	for (size_t i = 0; i < c->njobs; i++) {
		const pk_config_job *j = &c->jobs[i];

		put_str(o, j->name);
		put_origin(o, c, &j->origin);
		put_u32(o, j->set);
		for (int k = 0; k < PK_JOB_NKEYS; k++)
			put_origin(o, c, &j->origins[k]);
		put_fields(o, pk_config_job_fields, pk_config_njob, j);
	}
}

static void put_stat(pk_buf *o, const struct stat *st)
{
	put_u64(o, st->st_dev);
	put_u64(o, st->st_ino);
	put_u64(o, (uint64_t)st->st_size);
	put_u64(o, (uint64_t)pk_ns(st->st_mtim));
	put_u64(o, (uint64_t)pk_ns(st->st_ctim));
}

struct build_id {
	unsigned char id[64];
	size_t len;
};

/* The GNU build-id note of the program (the first object listed), read
 * from memory: no system call. */
static int find_build_id(struct dl_phdr_info *info, size_t size, void *data)
{
	struct build_id *b = data;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const unsigned char *p, *end;
		size_t align = ph->p_align > 4 ? 8 : 4;

		if (ph->p_type != PT_NOTE)
			continue;
		p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while ((size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)(const void *)p;
			size_t name = (nh->n_namesz + align - 1) & ~(align - 1);
			size_t desc = (nh->n_descsz + align - 1) & ~(align - 1);

			p += sizeof(*nh);
			if ((size_t)(end - p) < name + desc)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    memcmp(p, "GNU", 4) == 0 && nh->n_descsz <= sizeof(b->id)) {
				memcpy(b->id, p + name, nh->n_descsz);
				b->len = nh->n_descsz;
				return 1;
			}
			p += name + desc;
		}
	}
	return 1;   /* only the program itself */
}

/* Another build may parse otherwise (a new check, a new default) with the
 * same version: the binary itself is in the fingerprint, by its build-id,
 * else by the stat of /proc/self/exe. */
static void put_binary(pk_buf *o)
{
	static struct build_id b;
	static int looked;
	struct stat self;

	if (!looked) {
		dl_iterate_phdr(find_build_id, &b);
		looked = 1;
	}
	if (b.len > 0) {
		put_u32(o, b.len);
		pk_buf_add(o, b.id, b.len);
	} else if (stat("/proc/self/exe", &self) == 0) {
		put_u32(o, 0);
		put_stat(o, &self);
	} else {
		o->failed = 1;
	}
}

static void put_fingerprint(pk_buf *o, const struct pk_config_source *src, size_t n)
{
	put_u32(o, FORMAT);
	put_str(o, PK_VERSION);
	put_binary(o);
	put_u32(o, geteuid());
	put_str(o, getenv("HOME"));   /* "~/" in a path was expanded with it */
	put_u32(o, n);
	for (size_t i = 0; i < n; i++) {
		put_str(o, src[i].path);
		put_u32(o, src[i].optional != 0);
		put_u32(o, src[i].present != 0);
		if (!src[i].present)
			continue;
		/* Owner and mode decide whether the file is refused. */
		put_u32(o, src[i].st.st_uid);
		put_u32(o, src[i].st.st_mode);
		put_u64(o, (uint64_t)src[i].st.st_size);
		pk_buf_add(o, src[i].hash, sizeof(src[i].hash));
	}
}

int pk_config_snapshot_encode(const pk_config *c, const struct pk_config_source *src,
                              size_t n, unsigned char **out, size_t *len)
{
	pk_buf o = { 0 };
	size_t fp;

	pk_buf_add(&o, MAGIC, 8);
	put_u64(&o, 0);   /* the checksum, once the rest is known */
	put_u32(&o, 0);   /* the fingerprint's length */
	fp = o.len;
	put_fingerprint(&o, src, n);
	if (!o.failed)
		pk_put_le(o.p + fp - 4, o.len - fp, 4);
	put_body(&o, c);
	if (o.failed || o.len > MAX_COPY) {
		free(o.p);
		return -1;
	}
	pk_put_le(o.p + 8, XXH3_64bits(o.p + HEADER, o.len - HEADER), 8);
	*out = o.p;
	*len = o.len;
	return 0;
}

/* --- reading -------------------------------------------------------------- */

struct in {
	const unsigned char *p, *end;
	int bad;
};

static uint64_t get(struct in *in, int n)
{
	uint64_t v;

	if (in->bad || in->end - in->p < n) {
		in->bad = 1;
		return 0;
	}
	v = pk_get_le(in->p, n);
	in->p += n;
	return v;
}

static uint32_t get_u32(struct in *in) { return (uint32_t)get(in, 4); }
static uint64_t get_u64(struct in *in) { return get(in, 8); }
static int get_int(struct in *in) { return (int)(int32_t)get_u32(in); }

/* A count of items of at least min bytes each, checked against what is
 * left, so that damage cannot ask for a huge allocation. */
static size_t get_count(struct in *in, size_t min)
{
	uint32_t n = get_u32(in);

	if (!in->bad && (size_t)(in->end - in->p) / min < n)
		in->bad = 1;
	return in->bad ? 0 : n;
}

static char *get_str(struct in *in)
{
	uint32_t n = get_u32(in);
	char *s;

	if (in->bad || n == NO_STRING)
		return NULL;
	if ((size_t)(in->end - in->p) < n || memchr(in->p, '\0', n) != NULL ||
	    (s = malloc((size_t)n + 1)) == NULL) {
		in->bad = 1;
		return NULL;
	}
	memcpy(s, in->p, n);
	s[n] = '\0';
	in->p += n;
	return s;
}

/* A string that must be there: NULL is damage. */
static char *get_some_str(struct in *in)
{
	char *s = get_str(in);

	if (s == NULL)
		in->bad = 1;
	return s;
}

static void get_strv(struct in *in, pk_strv *l)
{
	size_t n = get_count(in, 4);

	if (in->bad || n == 0)
		return;
	if ((l->v = calloc(n + 1, sizeof(*l->v))) == NULL) {
		in->bad = 1;
		return;
	}
	for (; l->n < n && !in->bad; l->n++)
		l->v[l->n] = get_some_str(in);
}

static void get_origin(struct in *in, const pk_config *c, pk_origin *or)
{
	uint32_t i = get_u32(in);

	if (i > c->nfiles) {
		in->bad = 1;
		return;
	}
	or->where = i == 0 ? NULL : c->files[i - 1];
	or->line = get_u32(in);
	or->column = get_u32(in);
}

static void get_fields(struct in *in, const struct field *f, size_t n, void *base)
{
	for (size_t i = 0; i < n && !in->bad; i++) {
		char *p = (char *)base + f[i].off;
		uint64_t u;
		int v;

		switch (f[i].type) {
		case T_MAP:
			get_fields(in, f[i].sub, f[i].nsub, base);
			break;
		case T_JOBS:
			break;
		case T_DURATION:
		case T_SIZE:
			u = get_u64(in);
			memcpy(p, &u, sizeof(u));
			break;
		case T_INT:
		case T_BOOL:
		case T_ENUM:
			v = get_int(in);
			memcpy(p, &v, sizeof(v));
			break;
		case T_STRING:
		case T_PATH:
		case T_URL:
			*(char **)(void *)p = get_str(in);
			break;
		case T_LIST:
		case T_COMMAND:
			get_strv(in, (pk_strv *)(void *)p);
			break;
		}
	}
}

static void get_body(struct in *in, pk_config *c)
{
	size_t n = get_count(in, 8);

	if (n > 0) {
		c->files = calloc(n, sizeof(*c->files));
		c->read = calloc(n, sizeof(*c->read));
		if (c->files == NULL || c->read == NULL)
			in->bad = 1;
	}
	for (; c->nfiles < n && !in->bad; c->nfiles++) {
		c->files[c->nfiles] = get_some_str(in);
		c->read[c->nfiles] = get_int(in);
	}
	get_fields(in, pk_config_top_fields, pk_config_ntop, c);
	for (int k = 0; k < PK_CFG_NKEYS; k++)
		get_origin(in, c, &c->origins[k]);

	n = get_count(in, 200);   /* a job takes over 200 bytes (its origins alone 156) */
	if (n > 0 && (c->jobs = calloc(n, sizeof(*c->jobs))) == NULL)
		in->bad = 1;
	for (; c->njobs < n && !in->bad; c->njobs++) {
		pk_config_job *j = &c->jobs[c->njobs];

		j->name = get_some_str(in);
		get_origin(in, c, &j->origin);
		j->set = get_u32(in);
		for (int k = 0; k < PK_JOB_NKEYS; k++)
			get_origin(in, c, &j->origins[k]);
		get_fields(in, pk_config_job_fields, pk_config_njob, j);
	}
	if (in->p != in->end)
		in->bad = 1;
}

/* Values as the reader could have set them: a damaged copy whose checksum
 * happens to agree must not hand the rest of pickled an index out of range
 * or a job without a command. */
static int valid_fields(const struct field *f, size_t n, const void *base)
{
	for (size_t i = 0; i < n; i++) {
		const char *p = (const char *)base + f[i].off;
		int64_t d;
		uint64_t u;
		int v, words = 0;

		switch (f[i].type) {
		case T_MAP:
			if (!valid_fields(f[i].sub, f[i].nsub, base))
				return 0;
			break;
		case T_DURATION:
			memcpy(&d, p, sizeof(d));
			if (!pk_config_duration_ok(&f[i], d))
				return 0;
			break;
		case T_SIZE:
			memcpy(&u, p, sizeof(u));
			if (u < (uint64_t)f[i].min)
				return 0;
			break;
		case T_INT:
		case T_BOOL:
		case T_ENUM:
			memcpy(&v, p, sizeof(v));
			if (f[i].type == T_ENUM)
				while (f[i].words[words] != NULL)
					words++;
			if (f[i].type == T_INT ? v < f[i].min || v > f[i].max :
			    f[i].type == T_BOOL ? v != 0 && v != 1 : v < 0 || v >= words)
				return 0;
			break;
		case T_COMMAND: {
			const pk_strv *l = (const pk_strv *)(const void *)p;

			if (l->n == 0 || l->v[0][0] == '\0')
				return 0;
			break;
		}
		case T_STRING:
		case T_PATH:
		case T_URL: {
			const char *str = *(char *const *)(const void *)p;
			pk_error err;

			if (str == NULL)
				break;
			if ((f[i].type == T_STRING && f[i].max > 0 && strlen(str) > (size_t)f[i].max) ||
			    (f[i].type == T_PATH && str[0] != '/') ||
			    (f[i].type == T_URL && pk_remote_parse_check(str, &err) < 0))
				return 0;
			break;
		}
		default:
			break;
		}
	}
	return 1;
}

static int valid(const pk_config *c)
{
	if (!valid_fields(pk_config_top_fields, pk_config_ntop, c))
		return 0;
	for (size_t i = 0; i < c->njobs; i++)
		if (c->jobs[i].set >> PK_JOB_NKEYS != 0 ||
		    !valid_fields(pk_config_job_fields, pk_config_njob, &c->jobs[i]))
			return 0;
	return 1;
}

int pk_config_snapshot_decode(pk_config *c, const unsigned char *buf, size_t len,
                              const struct pk_config_source *src, size_t n)
{
	pk_buf fp = { 0 };
	struct in in;
	pk_config t;
	size_t fplen;
	int ret = -1;

	if (len < HEADER + 4 || memcmp(buf, MAGIC, 8) != 0 ||
	    pk_get_le(buf + 8, 8) != XXH3_64bits(buf + HEADER, len - HEADER))
		return -1;
	fplen = (size_t)pk_get_le(buf + HEADER, 4);
	put_fingerprint(&fp, src, n);
	if (fp.failed || fplen != fp.len || len - HEADER - 4 < fplen ||
	    memcmp(buf + HEADER + 4, fp.p, fplen) != 0)
		goto out;
	memset(&t, 0, sizeof(t));
	in.p = buf + HEADER + 4 + fplen;
	in.end = buf + len;
	in.bad = 0;
	get_body(&in, &t);
	if (in.bad || !valid(&t)) {
		pk_config_free(&t);
		goto out;
	}
	pk_config_free(c);
	*c = t;
	ret = 0;
out:
	free(fp.p);
	return ret;
}

/* --- the file ------------------------------------------------------------- */

/* One copy per chain of files, so that runs with different -c files
 * sharing a cache folder do not overwrite each other's. */
static int copy_path(char *buf, size_t len, const char *dir, const struct pk_config_source *src,
                     size_t n)
{
	XXH3_state_t st;
	int w;

	XXH3_64bits_reset(&st);
	for (size_t i = 0; i < n; i++)
		XXH3_64bits_update(&st, src[i].path, strlen(src[i].path) + 1);
	w = snprintf(buf, len, "%s/config-%016llx.cache", dir,
	             (unsigned long long)XXH3_64bits_digest(&st));
	return w < 0 || (size_t)w >= len ? -1 : 0;
}

void pk_config_hash_content(const void *buf, size_t len, unsigned char hash[16])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(buf, len));
	memcpy(hash, c.digest, 16);
}

int pk_config_source_missing(const struct pk_config_source *src, int errnum)
{
	struct stat st;

	if (!src->optional)
		return 0;
	if (errnum == ENOENT || errnum == ENOTDIR)
		return 1;
	/* EACCES from the file itself (stat works) is a file to report. */
	return errnum == EACCES && stat(src->path, &st) < 0 && errno == EACCES;
}

/* Reads and hashes the file of src as the reader would see it.  Returns 0
 * (present set), or -1 when reading it would be an error. */
static int hash_source(struct pk_config_source *src)
{
	unsigned char *buf = NULL;
	ssize_t got = -1;
	int fd;

	src->present = 0;
	fd = open(src->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return pk_config_source_missing(src, errno) ? 0 : -1;
	if (fstat(fd, &src->st) == 0 && S_ISREG(src->st.st_mode) &&
	    src->st.st_size <= PK_CONFIG_MAX_FILE &&
	    (buf = malloc((size_t)src->st.st_size + 1)) != NULL)
		got = pk_read_full(fd, buf, (size_t)src->st.st_size);
	close(fd);
	if (got >= 0) {
		pk_config_hash_content(buf, (size_t)got, src->hash);
		src->present = 1;
	}
	free(buf);
	return got >= 0 ? 0 : -1;
}

int pk_config_snapshot_load(pk_config *c, const char *dir, struct pk_config_source *src,
                            size_t n)
{
	unsigned char *buf = NULL;
	char path[4096];
	struct stat st;
	ssize_t got;
	int fd, ret = -1, any = 0;

	for (size_t i = 0; i < n; i++) {
		if (hash_source(&src[i]) < 0)
			return -1;   /* reading it says what is wrong */
		any |= src[i].present;
	}
	if (!any)
		return 1;
	if (copy_path(path, sizeof(path), dir, src, n) < 0)
		return -1;
	/* O_NONBLOCK: a FIFO planted here must not hang the run. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) || st.st_size < HEADER || st.st_size > MAX_COPY)
		goto out;
	if ((buf = malloc((size_t)st.st_size)) == NULL)
		goto out;
	got = pk_read_full(fd, buf, (size_t)st.st_size);
	if (got == st.st_size)
		ret = pk_config_snapshot_decode(c, buf, (size_t)got, src, n);
out:
	free(buf);
	close(fd);
	return ret;
}

void pk_config_snapshot_save(const pk_config *c, const char *dir,
                             const struct pk_config_source *src, size_t n)
{
	unsigned char *buf = NULL;
	char path[4096], tmp[128];
	const char *name;
	pk_store store = { 0 };
	pk_error err;
	size_t len;
	int fd, any = 0;

	for (size_t i = 0; i < n; i++)
		any |= src[i].present;
	if (!any || copy_path(path, sizeof(path), dir, src, n) < 0 ||
	    pk_config_snapshot_encode(c, src, n, &buf, &len) < 0)
		return;
	name = strrchr(path, '/') + 1;
	/* The store's checks on the folder (ours, not writable by others), and
	 * its temporaries, which gc removes if a crash leaves one behind.  No
	 * folder is created: not where the cache is not (a cache_dir set in
	 * the configuration), nor as root in a home that sudo kept. */
	if (pk_store_open_existing(&store, dir, &err) < 0 ||
	    (fd = pk_store_tmp_create(&store, tmp, sizeof(tmp), &err)) < 0)
		goto out;
	if (pk_write_all(fd, buf, len) < 0) {
		close(fd);
		unlinkat(store.dirfd, tmp, 0);
	} else if (close(fd) < 0 || renameat(store.dirfd, tmp, store.dirfd, name) < 0) {
		unlinkat(store.dirfd, tmp, 0);
	}
out:
	pk_store_close(&store);
	free(buf);
}
