/* meta.c: encoding and decoding entry metadata. */
#include "meta.h"

#include "buf.h"
#include "bytes.h"
#include "defaults.h"
#include "units.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
	M_KEY = 1,
	M_ARG,
	M_PROGRAM,
	M_PROGRAM_CHECK,
	M_PROGRAM_SIZE,
	M_PROGRAM_MTIME,
	M_PROGRAM_HASH,
	M_INPUT,
	M_ENV,
	M_CWD,
	M_STDIN,
	M_EXTRA,
	M_OUTPUT,
	M_CACHE_FAILURES,
	M_RUN_CWD,
	M_EXIT,
	M_CREATED,
	M_DURATION,
	M_TTL,
	M_STALE,
	M_STDOUT_BYTES,
	M_STDERR_BYTES,
	M_TAG,
	M_FILE,
	M_END,
	M_STDIN_LEFT, /* after M_END's value: older entries stay as they were */
	M_NAME,
	M_ENV_DIGEST, /* u8 set, u32 digest, name: one per M_ENV, in order */
	M_TRACE,      /* a traced run's note (manifest.h), opaque here */
	M_FILE_SUM,   /* the content hash of the M_FILE before it */
	M_FILE_DIR,   /* the M_FILE before it is a directory... */
	M_MEMBER,     /* ...and this is one member of its tree */
};

/* A traced run's note lists its few thousand paths: bounded all the
 * same, as every field a forged entry could inflate. */
#define MAX_TRACE (64u * 1024 * 1024)

/* A field: tag (1 byte), length (4 bytes), then a head and a tail. */
static void field2(pk_buf *b, int tag, const void *head, size_t hlen, const void *tail, size_t tlen)
{
	if (pk_buf_reserve(b, 5 + hlen + tlen) < 0)
		return;
	b->p[b->len] = (unsigned char)tag;
	pk_put_le(b->p + b->len + 1, hlen + tlen, 4);
	if (hlen)
		memcpy(b->p + b->len + 5, head, hlen);
	if (tlen)
		memcpy(b->p + b->len + 5 + hlen, tail, tlen);
	b->len += 5 + hlen + tlen;
}

static void field_str(pk_buf *b, int tag, const char *s)
{
	field2(b, tag, s, strlen(s), NULL, 0);
}

static void field_num(pk_buf *b, int tag, uint64_t v)
{
	unsigned char n[8];
	pk_put_le(n, v, 8);
	field2(b, tag, n, 8, NULL, 0);
}

/* M_MEMBER: u32 mode, u64 size, 16-byte sum, u32 length of rel, rel, then
 * a link's target. */
static void member_field(pk_buf *b, const pk_outmember *mb)
{
	size_t rl = strlen(mb->rel);
	unsigned char *h = malloc(32 + rl);

	if (h == NULL) {
		b->failed = 1;
		return;
	}
	pk_put_le(h, mb->mode, 4);
	pk_put_le(h + 4, mb->size, 8);
	memcpy(h + 12, mb->sum, 16);
	pk_put_le(h + 28, rl, 4);
	memcpy(h + 32, mb->rel, rl);
	field2(b, M_MEMBER, h, 32 + rl, mb->target, mb->target ? strlen(mb->target) : 0);
	free(h);
}

int pk_meta_encode(const pk_meta *m, unsigned char **out, size_t *outlen)
{
	pk_buf b = { 0 };
	const pk_key_parts *p = &m->parts;

	field2(&b, M_KEY, m->key.bytes, 16, NULL, 0);
	for (size_t i = 0; i < p->argc; i++)
		field_str(&b, M_ARG, p->argv[i]);
	if (p->program)
		field_str(&b, M_PROGRAM, p->program);
	field_num(&b, M_PROGRAM_CHECK, (uint64_t)p->program_check);
	field_num(&b, M_PROGRAM_SIZE, p->program_size);
	field_num(&b, M_PROGRAM_MTIME, (uint64_t)p->program_mtime_ns);
	if (p->program_check == PK_PROGRAM_CONTENT)
		field2(&b, M_PROGRAM_HASH, p->program_hash, 16, NULL, 0);
	for (size_t i = 0; i < p->ninputs; i++) {
		unsigned char h[17];
		h[0] = (unsigned char)(p->inputs[i].present != 0);
		memcpy(h + 1, p->inputs[i].hash, 16);
		field2(&b, M_INPUT, h, 17, p->inputs[i].path, strlen(p->inputs[i].path));
	}
	for (size_t i = 0; i < p->nenv; i++)
		field_str(&b, M_ENV, p->env[i].name);
	if (p->cwd)
		field_str(&b, M_CWD, p->cwd);
	if (p->has_stdin)
		field2(&b, M_STDIN, p->stdin_hash, 16, NULL, 0);
	if (p->extra)
		field_str(&b, M_EXTRA, p->extra);
	for (size_t i = 0; i < p->noutputs; i++)
		field_str(&b, M_OUTPUT, p->outputs[i]);
	field_num(&b, M_CACHE_FAILURES, (uint64_t)(p->cache_failures != 0));
	if (m->run_cwd)
		field_str(&b, M_RUN_CWD, m->run_cwd);
	field_num(&b, M_EXIT, (uint64_t)m->exit_status);
	field_num(&b, M_CREATED, (uint64_t)m->created_ms);
	field_num(&b, M_DURATION, (uint64_t)m->duration_ms);
	field_num(&b, M_TTL, (uint64_t)m->ttl_ms);
	field_num(&b, M_STALE, (uint64_t)m->stale_ms);
	field_num(&b, M_STDOUT_BYTES, m->stdout_bytes);
	field_num(&b, M_STDERR_BYTES, m->stderr_bytes);
	for (size_t i = 0; i < m->ntags; i++)
		field_str(&b, M_TAG, m->tags[i]);
	for (size_t i = 0; i < m->nfiles; i++) {
		unsigned char h[12];
		pk_put_le(h, m->files[i].mode, 4);
		/* 0 for a directory: a reader that predates them finds more file
		 * data than declared, and runs the command. */
		pk_put_le(h + 4, m->files[i].is_dir ? 0 : m->files[i].size, 8);
		field2(&b, M_FILE, h, 12, m->files[i].path, strlen(m->files[i].path));
		if (m->files[i].has_sum)
			field2(&b, M_FILE_SUM, m->files[i].sum, 16, NULL, 0);
		if (m->files[i].is_dir)
			field2(&b, M_FILE_DIR, NULL, 0, NULL, 0);
		for (size_t k = 0; m->files[i].is_dir && k < m->files[i].nmembers; k++)
			member_field(&b, &m->files[i].members[k]);
	}
	if (m->stdin_known) {
		unsigned char h[9];
		h[0] = (unsigned char)(m->stdin_at_end != 0);
		pk_put_le(h + 1, m->stdin_read, 8);
		field2(&b, M_STDIN_LEFT, h, 9, NULL, 0);
	}
	if (m->name)
		field_str(&b, M_NAME, m->name);
	for (size_t i = 0; i < p->nenv; i++) {
		unsigned char h[5];
		if (!p->env[i].has_digest)
			continue;
		h[0] = (unsigned char)(p->env[i].was_set != 0);
		pk_put_le(h + 1, p->env[i].digest, 4);
		field2(&b, M_ENV_DIGEST, h, 5, p->env[i].name, strlen(p->env[i].name));
	}
	if (m->trace)
		field2(&b, M_TRACE, m->trace, m->trace_len, NULL, 0);
	/* Last: a cut between two fields is then still detected. */
	field2(&b, M_END, NULL, 0, NULL, 0);
	if (b.failed) {
		free(b.p);
		errno = ENOMEM;
		return -1;
	}
	*out = b.p;
	*outlen = b.len;
	return 0;
}

/* Caps on what one entry may hold, beyond what any command pickled can
 * run could record (Linux passes at most a few MB of arguments, each at
 * most 128 KiB): a forged entry must not make a reader allocate without
 * end, whatever its size. */
#define MAX_ARGS (1u << 20)       /* arguments */
#define MAX_LIST (1u << 20)       /* inputs */
#define MAX_SMALL_LIST (1u << 16) /* environment names, outputs, tags, files */
#define MAX_ARG_LEN (128u * 1024) /* one argument, --key text */
#define MAX_PATH_LEN (64u * 1024) /* a path, a name, a tag */

/* Room for one more element in an array of n (doubling as it grows, so
 * that a long list costs no quadratic copying). */
static int grow(void *arrp, size_t n, size_t size)
{
	void *arr, *na;

	if (n & (n - 1)) /* not a power of two: room was made before */
		return 0;
	memcpy(&arr, arrp, sizeof(arr));
	if ((na = realloc(arr, (n ? 2 * n : 1) * size)) == NULL)
		return -1;
	memcpy(arrp, &na, sizeof(na));
	return 0;
}

/* Appends a copy of (s, n) as a string to a growing array of strings. */
static int push_str(char ***arr, size_t *n, const unsigned char *s, size_t len)
{
	if (grow(arr, *n, sizeof(**arr)) < 0)
		return -1;
	char **na = *arr;
	if ((na[*n] = strndup((const char *)s, len)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

static char *dup_field(const unsigned char *s, size_t len)
{
	return strndup((const char *)s, len);
}

/* 1 when rel (len bytes) is a path below a directory: not empty, not
 * absolute, no empty, "." or ".." component, no NUL. */
static int rel_ok(const unsigned char *rel, size_t len)
{
	size_t i = 0;

	if (len == 0 || memchr(rel, '\0', len) != NULL)
		return 0;
	while (i <= len) {
		size_t j = i;
		while (j < len && rel[j] != '/')
			j++;
		if (j == i || (j - i == 1 && rel[i] == '.') ||
		    (j - i == 2 && rel[i] == '.' && rel[i + 1] == '.'))
			return 0;
		i = j + 1;
	}
	return 1;
}

/* 1 when f (flen bytes) is a well-formed M_MEMBER (see member_field). */
static int member_ok(const unsigned char *f, size_t flen)
{
	uint32_t mode;
	size_t rl;

	if (flen < 32)
		return 0;
	mode = (uint32_t)pk_get_le(f, 4);
	rl = (size_t)pk_get_le(f + 28, 4);
	if (rl > flen - 32 || !rel_ok(f + 32, rl))
		return 0;
	if (S_ISLNK(mode))
		return flen - 32 - rl > 0 && memchr(f + 32 + rl, '\0', flen - 32 - rl) == NULL;
	return (S_ISREG(mode) || S_ISDIR(mode)) && flen == 32 + rl &&
	       (S_ISREG(mode) || pk_get_le(f + 4, 8) == 0);
}

/* Appends the member in f (checked by member_ok) to file. */
static int push_member(pk_outfile *file, const unsigned char *f, size_t flen)
{
	size_t rl = (size_t)pk_get_le(f + 28, 4);
	pk_outmember *mb;

	if (grow(&file->members, file->nmembers, sizeof(*file->members)) < 0)
		return -1;
	mb = &file->members[file->nmembers];
	memset(mb, 0, sizeof(*mb));
	mb->mode = (uint32_t)pk_get_le(f, 4);
	mb->size = pk_get_le(f + 4, 8);
	memcpy(mb->sum, f + 12, 16);
	if ((mb->rel = dup_field(f + 32, rl)) == NULL)
		return -1;
	file->nmembers++;
	if (S_ISLNK(mb->mode) && (mb->target = dup_field(f + 32 + rl, flen - 32 - rl)) == NULL)
		return -1;
	file->size += mb->size;
	return 0;
}

int pk_meta_decode(const unsigned char *buf, size_t len, pk_meta *m, pk_error *err)
{
	pk_key_parts *p = &m->parts;
	size_t off = 0;
	int have_key = 0;
	size_t ndigest = 0;

	memset(m, 0, sizeof(*m));
	int ended = 0;

	while (off < len) {
		int tag;
		size_t flen;
		const unsigned char *f;
		char **slot = NULL;

		if (len - off < 5)
			return pk_error_set(err, 0, "truncated metadata");
		tag = buf[off];
		flen = (size_t)pk_get_le(buf + off + 1, 4);
		if (flen > len - off - 5)
			return pk_error_set(err, 0, "metadata field overruns");
		f = buf + off + 5;
		off += 5 + flen;
		if (tag == M_END) {
			if (flen != 0 || off != len)
				return pk_error_set(err, 0, "data after end of metadata");
			ended = 1;
			break;
		}
		/* Strings never hold NUL: one would cut them short silently. */
		switch (tag) {
		case M_ARG:
		case M_PROGRAM:
		case M_ENV:
		case M_CWD:
		case M_EXTRA:
		case M_OUTPUT:
		case M_RUN_CWD:
		case M_TAG:
		case M_NAME:
			if (memchr(f, '\0', flen) != NULL)
				return pk_error_set(err, 0, "NUL in metadata string");
			break;
		case M_PROGRAM_CHECK:
		case M_PROGRAM_SIZE:
		case M_PROGRAM_MTIME:
		case M_CACHE_FAILURES:
		case M_EXIT:
		case M_CREATED:
		case M_DURATION:
		case M_TTL:
		case M_STALE:
		case M_STDOUT_BYTES:
		case M_STDERR_BYTES:
			if (flen != 8)
				return pk_error_set(err, 0, "bad metadata number");
			break;
		case M_KEY:
		case M_PROGRAM_HASH:
		case M_STDIN:
			if (flen != 16)
				return pk_error_set(err, 0, "bad metadata hash");
			break;
		case M_FILE_SUM:
			if (flen != 16 || m->nfiles == 0)
				return pk_error_set(err, 0, "bad metadata file hash");
			break;
		case M_FILE_DIR:
			if (flen != 0 || m->nfiles == 0 || m->files[m->nfiles - 1].size != 0)
				return pk_error_set(err, 0, "bad metadata directory");
			break;
		case M_MEMBER:
			if (m->nfiles == 0 || !m->files[m->nfiles - 1].is_dir ||
			    !member_ok(f, flen))
				return pk_error_set(err, 0, "bad metadata directory member");
			break;
		case M_INPUT:
			if (flen < 17 || memchr(f + 17, '\0', flen - 17) != NULL)
				return pk_error_set(err, 0, "bad metadata input");
			break;
		case M_FILE:
			if (flen < 12 || memchr(f + 12, '\0', flen - 12) != NULL)
				return pk_error_set(err, 0, "bad metadata file");
			break;
		case M_STDIN_LEFT:
			if (flen != 9 || f[0] > 1)
				return pk_error_set(err, 0, "bad metadata stdin offset");
			break;
		case M_ENV_DIGEST:
			if (flen < 5 || f[0] > 1 || memchr(f + 5, '\0', flen - 5) != NULL)
				return pk_error_set(err, 0, "bad metadata environment digest");
			break;
		case M_TRACE:
			if (flen > MAX_TRACE || m->trace != NULL)
				return pk_error_set(err, 0, "bad metadata trace note");
			if ((m->trace = malloc(flen + 1)) == NULL)
				goto nomem;
			memcpy(m->trace, f, flen);
			m->trace_len = flen;
			continue;
		default: continue;
		}
		if (flen > (tag == M_ARG || tag == M_EXTRA ? MAX_ARG_LEN
		            : tag == M_MEMBER              ? 2 * MAX_PATH_LEN + 32
		                                           : MAX_PATH_LEN + 17))
			return pk_error_set(err, 0, "metadata field too long");
		if ((tag == M_ARG && p->argc >= MAX_ARGS) ||
		    (tag == M_INPUT && p->ninputs >= MAX_LIST) ||
		    (tag == M_ENV && p->nenv >= MAX_SMALL_LIST) ||
		    (tag == M_OUTPUT && p->noutputs >= MAX_SMALL_LIST) ||
		    (tag == M_TAG && m->ntags >= MAX_SMALL_LIST) ||
		    (tag == M_FILE && m->nfiles >= MAX_SMALL_LIST) ||
		    (tag == M_MEMBER && m->files[m->nfiles - 1].nmembers >= MAX_LIST))
			return pk_error_set(err, 0, "too many metadata fields");
		switch (tag) {
		case M_KEY:
			memcpy(m->key.bytes, f, 16);
			have_key = 1;
			break;
		case M_ARG:
			if (push_str(&p->argv, &p->argc, f, flen) < 0)
				goto nomem;
			break;
		case M_PROGRAM: slot = &p->program; break;
		case M_PROGRAM_CHECK: p->program_check = (int)(pk_get_le(f, 8) & 3); break;
		case M_PROGRAM_SIZE: p->program_size = pk_get_le(f, 8); break;
		case M_PROGRAM_MTIME: p->program_mtime_ns = (int64_t)pk_get_le(f, 8); break;
		case M_PROGRAM_HASH: memcpy(p->program_hash, f, 16); break;
		case M_INPUT: {
			if (grow(&p->inputs, p->ninputs, sizeof(*p->inputs)) < 0)
				goto nomem;
			pk_input *ni = p->inputs;
			memset(&ni[p->ninputs], 0, sizeof(ni[p->ninputs]));
			ni[p->ninputs].present = f[0] != 0;
			memcpy(ni[p->ninputs].hash, f + 1, 16);
			if ((ni[p->ninputs].path = dup_field(f + 17, flen - 17)) == NULL)
				goto nomem;
			p->ninputs++;
			break;
		}
		case M_ENV: {
			if (grow(&p->env, p->nenv, sizeof(*p->env)) < 0)
				goto nomem;
			pk_envvar *ne = p->env;
			memset(&ne[p->nenv], 0, sizeof(ne[p->nenv]));
			if ((ne[p->nenv].name = dup_field(f, flen)) == NULL)
				goto nomem;
			p->nenv++;
			break;
		}
		case M_CWD: slot = &p->cwd; break;
		case M_STDIN:
			p->has_stdin = 1;
			memcpy(p->stdin_hash, f, 16);
			break;
		case M_EXTRA: slot = &p->extra; break;
		case M_OUTPUT:
			if (push_str(&p->outputs, &p->noutputs, f, flen) < 0)
				goto nomem;
			break;
		case M_CACHE_FAILURES: p->cache_failures = pk_get_le(f, 8) != 0; break;
		case M_RUN_CWD: slot = &m->run_cwd; break;
		case M_NAME: slot = &m->name; break;
		case M_EXIT: m->exit_status = (int)(pk_get_le(f, 8) & 255); break;
		case M_CREATED: m->created_ms = (int64_t)pk_get_le(f, 8); break;
		case M_DURATION: m->duration_ms = (int64_t)pk_get_le(f, 8); break;
		case M_TTL: m->ttl_ms = (int64_t)pk_get_le(f, 8); break;
		case M_STALE: m->stale_ms = (int64_t)pk_get_le(f, 8); break;
		case M_STDOUT_BYTES: m->stdout_bytes = pk_get_le(f, 8); break;
		case M_STDERR_BYTES: m->stderr_bytes = pk_get_le(f, 8); break;
		case M_STDIN_LEFT:
			m->stdin_known = 1;
			m->stdin_at_end = f[0];
			m->stdin_read = pk_get_le(f + 1, 8);
			break;
		case M_ENV_DIGEST: {
			/* The digests follow the names, in their order; one that
			 * does not name the next variable is ignored. */
			pk_envvar *e = ndigest < p->nenv ? &p->env[ndigest] : NULL;
			if (e != NULL && strlen(e->name) == flen - 5 &&
			    memcmp(e->name, f + 5, flen - 5) == 0) {
				e->has_digest = 1;
				e->was_set = f[0];
				e->digest = (uint32_t)pk_get_le(f + 1, 4);
				ndigest++;
			}
			break;
		}
		case M_TAG:
			if (push_str(&m->tags, &m->ntags, f, flen) < 0)
				goto nomem;
			break;
		case M_FILE_DIR: m->files[m->nfiles - 1].is_dir = 1; break;
		case M_MEMBER:
			if (push_member(&m->files[m->nfiles - 1], f, flen) < 0)
				goto nomem;
			break;
		case M_FILE_SUM:
			m->files[m->nfiles - 1].has_sum = 1;
			memcpy(m->files[m->nfiles - 1].sum, f, 16);
			break;
		case M_FILE: {
			if (grow(&m->files, m->nfiles, sizeof(*m->files)) < 0)
				goto nomem;
			pk_outfile *nf = m->files;
			nf[m->nfiles].has_sum = 0;
			nf[m->nfiles].is_dir = 0;
			nf[m->nfiles].nmembers = 0;
			nf[m->nfiles].members = NULL;
			nf[m->nfiles].mode = (uint32_t)pk_get_le(f, 4) & 07777;
			nf[m->nfiles].size = pk_get_le(f + 4, 8);
			if ((nf[m->nfiles].path = dup_field(f + 12, flen - 12)) == NULL)
				goto nomem;
			m->nfiles++;
			break;
		}
		}
		if (slot != NULL) {
			free(*slot);
			if ((*slot = dup_field(f, flen)) == NULL)
				goto nomem;
		}
	}
	if (!ended)
		return pk_error_set(err, 0, "truncated metadata");
	if (!have_key || p->argc == 0)
		return pk_error_set(err, 0, "metadata lacks key or command");
	return 0;
nomem:
	return pk_error_set(err, ENOMEM, "cannot decode metadata");
}

const char *pk_meta_tag_problem(const char *tag)
{
	if (tag[0] == '\0')
		return "a tag cannot be empty";
	if (strchr(tag, ',') != NULL)
		return "a tag cannot contain a comma (give one tag at a time)";
	return NULL;
}

uint64_t pk_meta_raw_bytes(const pk_meta *m)
{
	uint64_t n = m->stdout_bytes + m->stderr_bytes;
	for (size_t i = 0; i < m->nfiles; i++)
		n += m->files[i].size;
	return n;
}

void pk_outfile_free_members(pk_outfile *f)
{
	for (size_t k = 0; k < f->nmembers; k++) {
		free(f->members[k].rel);
		free(f->members[k].target);
	}
	free(f->members);
	f->members = NULL;
	f->nmembers = 0;
}

void pk_meta_free(pk_meta *m)
{
	if (m == NULL)
		return;
	pk_key_parts_free(&m->parts);
	free(m->run_cwd);
	free(m->name);
	free(m->trace);
	for (size_t i = 0; i < m->ntags; i++)
		free(m->tags[i]);
	free(m->tags);
	for (size_t i = 0; i < m->nfiles; i++) {
		free(m->files[i].path);
		pk_outfile_free_members(&m->files[i]);
	}
	free(m->files);
	memset(m, 0, sizeof(*m));
}

int64_t pk_meta_age(int64_t created_ms, int64_t now_ms)
{
	int64_t age = now_ms - created_ms;

	if (age >= 0)
		return age;
	return -age <= PK_CLOCK_SKEW_MS ? 0 : -1;
}

enum pk_freshness pk_meta_freshness(int64_t age_ms, int64_t ttl_ms, int64_t stale_ms)
{
	if (age_ms < 0 || (ttl_ms != PK_FOREVER && age_ms >= ttl_ms))
		return PK_EXPIRED;
	return stale_ms > 0 && age_ms >= stale_ms ? PK_STALE : PK_FRESH;
}

const char *pk_meta_freshness_name(enum pk_freshness f)
{
	return f == PK_EXPIRED ? "expired" : f == PK_STALE ? "stale" : "fresh";
}
