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

#define FORMAT 2 /* 2: settings in the key table's order */
#define MAGIC "pkconf\0\1"
#define HEADER 16           /* magic, checksum */
#define MAX_COPY (4u << 20) /* the files are at most 1M each */
#define NO_STRING 0xffffffffu

/* --- the body, both ways ---------------------------------------------------- */

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

/* The body is written and read by the same walk, over the key table: a key
 * added to the table is in the copy with no more code, and the two
 * directions cannot drift apart.  Writing, o is set and the walk only
 * reads the config; reading, [p, end) are the bytes left, bad says they
 * are damaged, and the walk fills a zeroed config. */
struct codec {
	pk_buf *o;
	const unsigned char *p, *end;
	int bad;
	void *base; /* the pk_config or pk_config_job of the fields */
};

static inline uint64_t get(struct codec *k, int n)
{
	uint64_t v;

	if (k->bad || k->end - k->p < n) {
		k->bad = 1;
		return 0;
	}
	v = pk_get_le(k->p, n);
	k->p += n;
	return v;
}

/* An integer of w bytes at p: 4 (an int, an unsigned) or 8. */
static inline void fixed(struct codec *k, void *p, int w)
{
	uint32_t v32;
	uint64_t v;

	if (k->o != NULL && w == 4) {
		memcpy(&v32, p, 4);
		put_u32(k->o, v32);
	} else if (k->o != NULL) {
		memcpy(&v, p, 8);
		put_u64(k->o, v);
	} else if (w == 4) {
		v32 = (uint32_t)get(k, 4);
		memcpy(p, &v32, 4);
	} else {
		v = get(k, 8);
		memcpy(p, &v, 8);
	}
}

/* A count of n items of at least min bytes each: read, it is checked
 * against what is left, so that damage cannot ask for a huge allocation. */
static size_t count(struct codec *k, size_t n, size_t min)
{
	uint32_t v = (uint32_t)n;

	if (k->o != NULL) {
		if (n > UINT32_MAX)
			k->o->failed = 1;
		put_u32(k->o, n);
		return n;
	}
	v = (uint32_t)get(k, 4);
	if (!k->bad && (size_t)(k->end - k->p) / min < v)
		k->bad = 1;
	return k->bad ? 0 : v;
}

/* A string (NULL allowed unless required: then NULL is damage). */
static void str(struct codec *k, char **s, int required)
{
	uint32_t n;

	if (k->o != NULL) {
		put_str(k->o, *s);
		return;
	}
	n = (uint32_t)get(k, 4);
	if (k->bad || (n == NO_STRING && !required)) {
		return;
	} else if (n == NO_STRING || (size_t)(k->end - k->p) < n || memchr(k->p, '\0', n) != NULL ||
	           (*s = malloc((size_t)n + 1)) == NULL) {
		k->bad = 1;
		return;
	}
	memcpy(*s, k->p, n);
	(*s)[n] = '\0';
	k->p += n;
}

static void strv(struct codec *k, pk_strv *l)
{
	size_t n = count(k, l->n, 4);

	if (k->o == NULL && !k->bad && n > 0 && (l->v = calloc(n + 1, sizeof(*l->v))) == NULL)
		k->bad = 1;
	for (size_t i = 0; i < n && !k->bad; i++) {
		if (k->o == NULL)
			l->n = i + 1;
		str(k, &l->v[i], 1);
	}
}

/* Origins point into c->files, kept as 0 (built-in) or 1 + the index;
 * anything else (an environment variable's name) did not come from a
 * file and has no place in the copy. */
static void origin(struct codec *k, const pk_config *c, pk_origin * or)
{
	uint32_t i = 0;

	if (k->o != NULL && or->where != NULL) {
		while (i < c->nfiles && c->files[i] != or->where)
			i++;
		if (i++ == c->nfiles)
			k->o->failed = 1;
	}
	fixed(k, &i, 4);
	if (k->o == NULL && !k->bad && i > c->nfiles)
		k->bad = 1;
	if (k->o == NULL && !k->bad)
		or->where = i == 0 ? NULL : c->files[i - 1];
	fixed(k, & or->line, 4);
	fixed(k, & or->column, 4);
}

static int field(const struct field *f, const char *section, void *ctx)
{
	struct codec *k = ctx;
	char *p = (char *)k->base + f->off;

	(void)section;
	switch (f->type) {
	case T_DURATION:
	case T_SIZE: fixed(k, p, 8); break;
	case T_INT:
	case T_BOOL:
	case T_ENUM: fixed(k, p, 4); break;
	case T_STRING:
	case T_PATH:
	case T_URL: str(k, (char **)(void *)p, 0); break;
	case T_LIST:
	case T_COMMAND: strv(k, (pk_strv *)(void *)p); break;
	default: break;
	}
	return k->bad;
}

/* The files looked at, the top level's settings then origins, the jobs. */
static void body(struct codec *k, pk_config *c)
{
	int reading = k->o == NULL;
	size_t n = count(k, c->nfiles, 8);

	if (reading && n > 0 &&
	    ((c->files = calloc(n, sizeof(*c->files))) == NULL ||
	     (c->read = calloc(n, sizeof(*c->read))) == NULL))
		k->bad = 1;
	for (size_t i = 0; i < n && !k->bad; i++) {
		if (reading)
			c->nfiles = i + 1;
		str(k, &c->files[i], 1);
		fixed(k, &c->read[i], 4);
	}
	k->base = c;
	pk_config_fields_each(pk_config_top_fields, pk_config_ntop, NULL, field, k);
	for (int i = 0; i < PK_CFG_NKEYS; i++)
		origin(k, c, &c->origins[i]);
	n = count(k, c->njobs, 200); /* a job takes over 200 bytes (its origins alone 156) */
	if (reading && n > 0 && (c->jobs = calloc(n, sizeof(*c->jobs))) == NULL)
		k->bad = 1;
	for (size_t i = 0; i < n && !k->bad; i++) {
		pk_config_job *j = &c->jobs[i];

		if (reading)
			c->njobs = i + 1;
		str(k, &j->name, 1);
		origin(k, c, &j->origin);
		fixed(k, &j->ov.set, 4);
		for (int o = 0; o < PK_SET_NJOB; o++)
			origin(k, c, &j->origins[o]);
		k->base = j;
		pk_config_fields_each(pk_config_job_fields, pk_config_njob, NULL, field, k);
	}
	if (reading && k->p != k->end)
		k->bad = 1;
}

/* --- writing -------------------------------------------------------------- */

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
	return 1; /* only the program itself */
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
	put_str(o, getenv("HOME")); /* "~/" in a path was expanded with it */
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

int pk_config_snapshot_encode(const pk_config *c, const struct pk_config_source *src, size_t n,
                              unsigned char **out, size_t *len)
{
	pk_buf o = { 0 };
	struct codec k = { 0 };
	size_t fp;

	pk_buf_add(&o, MAGIC, 8);
	put_u64(&o, 0); /* the checksum, once the rest is known */
	put_u32(&o, 0); /* the fingerprint's length */
	fp = o.len;
	put_fingerprint(&o, src, n);
	if (!o.failed)
		pk_put_le(o.p + fp - 4, o.len - fp, 4);
	k.o = &o;
	body(&k, (pk_config *)(uintptr_t)c); /* writing: only read */
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

/* Values as the reader could have set them: a damaged copy whose checksum
 * happens to agree must not hand the rest of pickled an index out of range
 * or a job without a command. */
static int invalid_field(const struct field *f, const char *section, void *base)
{
	char why[300];

	(void)section;
	return pk_config_value_problem(f, (const char *)base + f->off, why, sizeof(why)) != NULL;
}

static int valid(pk_config *c)
{
	if (pk_config_fields_each(pk_config_top_fields, pk_config_ntop, NULL, invalid_field, c))
		return 0;
	for (size_t i = 0; i < c->njobs; i++)
		if (c->jobs[i].ov.set >> PK_SET_NJOB != 0 ||
		    pk_config_fields_each(pk_config_job_fields, pk_config_njob, NULL, invalid_field,
		                          &c->jobs[i]))
			return 0;
	return 1;
}

int pk_config_snapshot_decode(pk_config *c, const unsigned char *buf, size_t len,
                              const struct pk_config_source *src, size_t n)
{
	pk_buf fp = { 0 };
	struct codec k = { 0 };
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
	k.p = buf + HEADER + 4 + fplen;
	k.end = buf + len;
	body(&k, &t);
	if (k.bad || !valid(&t)) {
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

int pk_config_snapshot_load(pk_config *c, const char *dir, struct pk_config_source *src, size_t n)
{
	unsigned char *buf = NULL;
	char path[4096];
	struct stat st;
	ssize_t got;
	int fd, ret = -1, any = 0;

	for (size_t i = 0; i < n; i++) {
		char *text, why[600];
		size_t textlen;
		int refused, rc = pk_config_source_read(&src[i], &text, &textlen, why, sizeof(why),
		                                        &refused);
		if (rc < 0)
			return -1; /* reading it says what is wrong */
		if (rc == 0)
			free(text);
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
