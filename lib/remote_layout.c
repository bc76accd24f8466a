/* remote_layout.c: an entry's bytes in Redis: one value, or parts behind
 * a manifest (see remote_layout.h). */
#include "remote_layout.h"

#include "seal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char MANIFEST[] = "PKLDPARTS1 ";

/* A failed command: a value of another type under an entry's key is no
 * entry (0); anything else, a refusal included, is the tier failing (-1). */
int pk_rlayout_failed(const pk_error *err)
{
	return pk_rconn_wrongtype(err) ? 0 : -1;
}


/* The key of part i of l. */
void pk_rlayout_key(const char *prefix, const pk_key *key, const char *kind, char *buf, size_t len)
{
	char hex[PK_KEY_HEX + 1];
	pk_key_hex(key, hex);
	snprintf(buf, len, "%s{%s}:%s", prefix ? prefix : "", hex, kind);
}

void pk_rlayout_part_key(const pk_rlayout *l, int i, char *buf, size_t len)
{
	char kind[64];

	snprintf(kind, sizeof(kind), "p:%s:%d", l->token, i);
	pk_rlayout_key(l->prefix, l->key, kind, buf, len);
}

void pk_rlayout_manifest(const pk_rlayout *l, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s %d %lld", MANIFEST, l->token, l->nparts, l->size);
}

/* Parses a manifest: "PKLDPK_RLAYOUT_PARTS1 TOKEN NPK_RLAYOUT_PARTS SIZE".  Returns 1 when s
 * is one, 0 when not. */
static int parse_manifest(const char *s, size_t n, pk_rlayout *l)
{
	char buf[128], tok[40];
	long long size;
	int np;

	if (n >= sizeof(buf) || n < sizeof(MANIFEST) - 1 ||
	    memcmp(s, MANIFEST, sizeof(MANIFEST) - 1) != 0)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (sscanf(buf + sizeof(MANIFEST) - 1, "%39s %d %lld", tok, &np, &size) != 3 ||
	    strlen(tok) != 32 || strspn(tok, "0123456789abcdef") != 32 || np < 1 || np > 1000000 ||
	    size < 0 ||
	    (unsigned long long)size > (unsigned long long)np * (PK_RLAYOUT_PART + PK_SEAL_TRAILER))
		return 0;
	memcpy(l->token, tok, 33);
	l->nparts = np;
	l->size = size;
	return 1;
}

/* Reads key's layout, and the expiry its entry key has left (-1: none).
 * Returns 1, 0 when there is no entry (a value of another type neither),
 * -1 with err set. */
int pk_rlayout_read(pk_rconn *c, const char *prefix, const pk_key *key, const char *kind,
                    pk_rlayout *l, int64_t *left_ms, pk_error *err)
{
	redisReply *rep[3];
	int ret = 1;

	memset(l, 0, sizeof(*l));
	l->c = c;
	l->prefix = prefix;
	l->key = key;
	pk_rlayout_key(prefix, key, kind, l->k, sizeof(l->k));
	const char *a[2] = { "STRLEN", l->k }, *b[2] = { "PTTL", l->k };
	const char *g[4] = { "GETRANGE", l->k, "0", "127" };
	const char **argv[3] = { a, b, g };
	int argc[3] = { 2, 2, 4 };
	if (pk_rconn_pipe(c, l->k, NULL, 3, argc, argv, NULL, rep, err) < 0)
		return -1;
	for (int i = 0; i < 3 && ret == 1; i++)
		if (rep[i]->type == REDIS_REPLY_ERROR) {
			pk_error_set(err, 0, "remote cache: %s", rep[i]->str);
			ret = pk_rlayout_failed(err);
		}
	if (ret == 1) {
		l->size = rep[0]->type == REDIS_REPLY_INTEGER ? rep[0]->integer : 0;
		if (left_ms != NULL)
			*left_ms = rep[1]->type == REDIS_REPLY_INTEGER && rep[1]->integer >= 0
			                   ? rep[1]->integer
			                   : -1;
		if (l->size <= 0)
			ret = 0;
		else if (rep[2]->type == REDIS_REPLY_STRING)
			parse_manifest(rep[2]->str, rep[2]->len, l);
	}
	for (int i = 0; i < 3; i++)
		freeReplyObject(rep[i]);
	return ret;
}

/* Bytes [off, end] of l, within one value (never across parts): at most
 * PK_RLAYOUT_CHUNK of them.  Returns the reply (a string; empty when the value went
 * meanwhile), or NULL with err set. */
static redisReply *layout_range(const pk_rlayout *l, long long off, long long end, pk_error *err)
{
	char k[PK_RLAYOUT_KEY_MAX], from[24], to[24];
	const char *key = l->k;
	long long base = 0;

	if (l->token[0] != '\0') {
		int i = (int)(off / PK_RLAYOUT_PART < l->nparts - 1 ? off / PK_RLAYOUT_PART
		                                                    : l->nparts - 1);
		pk_rlayout_part_key(l, i, k, sizeof(k));
		key = k;
		base = (long long)i * PK_RLAYOUT_PART;
	}
	snprintf(from, sizeof(from), "%lld", off - base);
	snprintf(to, sizeof(to), "%lld", end - base);
	return pk_rconn_cmd(l->c, key, 4, (const char *[]){ "GETRANGE", key, from, to }, NULL, err);
}

/* The end of the next range from off: a chunk, cut at the part's end. */
static long long range_end(const pk_rlayout *l, long long off)
{
	long long end = off + PK_RLAYOUT_CHUNK - 1;

	if (l->token[0] != '\0' && off / PK_RLAYOUT_PART < l->nparts - 1 &&
	    end >= (off / PK_RLAYOUT_PART + 1) * PK_RLAYOUT_PART)
		end = (off / PK_RLAYOUT_PART + 1) * PK_RLAYOUT_PART - 1;
	return end < l->size - 1 ? end : l->size - 1;
}

/* Calls fn with the bytes [off, off + len) of l, range by range.  Returns
 * 1, 0 when they are not all there (expired or replaced meanwhile), -1
 * with err set. */
int pk_rlayout_read_bytes(const pk_rlayout *l, long long off, long long len,
                          int (*fn)(void *ctx, const char *p, size_t n), void *ctx, pk_error *err)
{
	long long stop = off + len;

	while (off < stop) {
		long long end = range_end(l, off);
		redisReply *rep;
		if (end > stop - 1)
			end = stop - 1;
		if ((rep = layout_range(l, off, end, err)) == NULL)
			return pk_rlayout_failed(err);
		if (rep->type != REDIS_REPLY_STRING || (long long)rep->len != end - off + 1) {
			freeReplyObject(rep);
			return 0;
		}
		int ok = fn(ctx, rep->str, rep->len);
		freeReplyObject(rep);
		if (ok < 0)
			return pk_error_set(err, errno, "cannot write remote entry");
		off = end + 1;
	}
	return 1;
}

struct mem {
	unsigned char *p;
	size_t n;
};

static int to_mem(void *ctx, const char *p, size_t n)
{
	struct mem *m = ctx;
	memcpy(m->p + m->n, p, n);
	m->n += n;
	return 0;
}


unsigned char *pk_rlayout_bytes_at(const pk_rlayout *l, long long off, size_t len, int *failed,
                                   pk_error *err)
{
	struct mem m = { malloc(len ? len : 1), 0 };
	int got;

	*failed = 0;
	if (m.p == NULL)
		return NULL;
	if ((got = pk_rlayout_read_bytes(l, off, (long long)len, to_mem, &m, err)) <= 0) {
		*failed = got;
		free(m.p);
		return NULL;
	}
	return m.p;
}

/* The commands of a batch on an upload's parts: each part's key and its
 * argument vector, so that one round trip carries them all. */
struct part_cmds {
	int n;
	char (*keys)[PK_RLAYOUT_KEY_MAX];
	const char *(*argv)[3];
	const char ***v;
	int *argc;
	redisReply **rep;
};

static void part_cmds_free(struct part_cmds *b)
{
	free(b->keys);
	free(b->argv);
	free(b->v);
	free(b->argc);
	free(b->rep);
}

/* Room for n part commands and extra more; each part's command is
 * word ms (or PERSIST when ms is NULL) on its key. */
static int part_cmds_init(struct part_cmds *b, const pk_rlayout *l, int n, int extra,
                          const char *word, const char *ms, pk_error *err)
{
	size_t total = (size_t)n + (size_t)extra;

	b->n = n;
	b->keys = calloc((size_t)n + 1, sizeof(*b->keys));
	b->argv = calloc((size_t)n + 1, sizeof(*b->argv));
	b->v = calloc(total, sizeof(*b->v));
	b->argc = calloc(total, sizeof(*b->argc));
	b->rep = calloc(total, sizeof(*b->rep));
	if (b->keys == NULL || b->argv == NULL || b->v == NULL || b->argc == NULL ||
	    b->rep == NULL) {
		part_cmds_free(b);
		return pk_error_set(err, ENOMEM, "remote upload");
	}
	for (int i = 0; i < n; i++) {
		pk_rlayout_part_key(l, i, b->keys[i], sizeof(b->keys[i]));
		b->argv[i][0] = ms != NULL ? word : "PERSIST";
		b->argv[i][1] = b->keys[i];
		b->argv[i][2] = ms;
		b->v[i] = b->argv[i];
		b->argc[i] = ms != NULL ? 3 : 2;
	}
	return 0;
}

/* Whether the replies to part commands say every part was there (1 from
 * PEXPIRE or PERSIST); else err says which was not. */
static int parts_there(redisReply **rep, int n, int nparts, pk_error *err)
{
	for (int i = 0; i < n; i++) {
		if (rep[i]->type == REDIS_REPLY_ERROR)
			return pk_error_set(err, 0, "remote cache: %s", rep[i]->str);
		if (rep[i]->type != REDIS_REPLY_INTEGER || rep[i]->integer != 1)
			return pk_error_set(
				err, 0,
				"remote cache: part %d of %d of the upload expired before "
				"it was published (see remote.upload_expiry)",
				i + 1, nparts);
	}
	return 0;
}

int pk_rlayout_renew_parts(const pk_rlayout *l, int n, const char *expiry_ms, pk_rconn_route *rt,
                           pk_error *err)
{
	struct part_cmds b;
	int ret;

	if (n == 0)
		return 0;
	if (part_cmds_init(&b, l, n, 0, "PEXPIRE", expiry_ms, err) < 0)
		return -1;
	if (pk_rconn_pipe(l->c, b.keys[0], rt, n, b.argc, (const char **const *)b.v, NULL, b.rep,
	                  err) < 0) {
		part_cmds_free(&b);
		return -1;
	}
	ret = parts_there(b.rep, n, l->nparts, err);
	for (int i = 0; i < n; i++)
		freeReplyObject(b.rep[i]);
	part_cmds_free(&b);
	return ret;
}

int pk_rlayout_publish(const pk_rlayout *l, const char *tmp, const char *part_ms,
                       const char *entry_ms, pk_rconn_route *rt, pk_error *err)
{
	const char *pms = part_ms, *ems = entry_ms, *k = l->k;
	const char *multi[1] = { "MULTI" }, *exec[1] = { "EXEC" };
	const char *ren[3] = { "RENAME", tmp, k },
		   *exp[3] = { ems ? "PEXPIRE" : "PERSIST", k, ems };
	struct part_cmds b;
	int n = l->nparts, total = n + 4, ret = -1;

	if (part_cmds_init(&b, l, n, 4, "PEXPIRE", pms, err) < 0)
		return -1;
	/* MULTI first: the parts' commands move up one. */
	memmove(b.v + 1, b.v, (size_t)n * sizeof(*b.v));
	memmove(b.argc + 1, b.argc, (size_t)n * sizeof(*b.argc));
	b.v[0] = multi;
	b.argc[0] = 1;
	b.v[n + 1] = ren;
	b.argc[n + 1] = 3;
	b.v[n + 2] = exp;
	b.argc[n + 2] = ems ? 3 : 2;
	b.v[n + 3] = exec;
	b.argc[n + 3] = 1;
	if (pk_rconn_pipe(l->c, k, rt, total, b.argc, (const char **const *)b.v, NULL, b.rep, err) <
	    0) {
		part_cmds_free(&b);
		return -1;
	}
	/* Sent ASKING (its slot moving here), each command had an ASKING
	 * before it, queued too after MULTI's: every other result, and the
	 * last, are theirs. */
	redisReply *x = b.rep[total - 1], **res = NULL;
	if (x->type == REDIS_REPLY_ARRAY && x->elements == (size_t)n + 2)
		res = x->element;
	else if (x->type == REDIS_REPLY_ARRAY && x->elements == 2 * ((size_t)n + 2) + 1 &&
	         (res = calloc((size_t)n + 2, sizeof(*res))) != NULL)
		for (int i = 0; i < n + 2; i++)
			res[i] = x->element[2 * i + 1];
	if (res != NULL) {
		ret = parts_there(res, n, n, err);
		if (ret == 0 && res[n]->type == REDIS_REPLY_ERROR)
			ret = pk_error_set(err, 0, "remote cache: %s", res[n]->str);
		if (res != x->element)
			free(res);
	} else {
		/* A command refused as it was queued says why; else EXEC. */
		int bad = total - 1;
		for (int i = 0; i < total - 1; i++)
			if (b.rep[i]->type == REDIS_REPLY_ERROR) {
				bad = i;
				break;
			}
		pk_error_set(err, 0, "remote cache: %s",
		             b.rep[bad]->type == REDIS_REPLY_ERROR ? b.rep[bad]->str
		                                                   : "publication not run");
	}
	for (int i = 0; i < total; i++)
		freeReplyObject(b.rep[i]);
	part_cmds_free(&b);
	return ret;
}

void pk_rlayout_drop_parts(const pk_rlayout *l)
{
	char k[PK_RLAYOUT_KEY_MAX];
	pk_error ignored;

	for (int i = 0; i < l->nparts && !pk_rconn_broken(l->c); i++) {
		pk_rlayout_part_key(l, i, k, sizeof(k));
		redisReply *rep =
			pk_rconn_cmd(l->c, k, 2, (const char *[]){ "DEL", k }, NULL, &ignored);
		if (rep == NULL)
			break;
		freeReplyObject(rep);
	}
}
