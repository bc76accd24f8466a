/* remote.c: entries in the Redis tier: connecting, fetching, uploading,
 * removing and listing them (the run lock is remote_lock.c, connections
 * and cluster routing rconn.c). */
#include "remote.h"
#include "defaults.h"

#include "rconn.h"
#include "redis_url.h"
#include "remote_layout.h"
#include "remote_lock.h"
#include "seal.h"

#include "bytes.h"
#include "entry.h"
#include "io.h"
#include "trust.h"
#include "units.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define CHUNK PK_RLAYOUT_CHUNK    /* bounded memory for any entry size */
#define MIN_CHUNK (64u * 1024)    /* an upload's chunks fit the link: */
#define FIRST_CHUNK (256u * 1024) /* from here, doubled or halved */

/* Room for a key: the prefix, "{", 32 hex digits, "}:t:" and a token. */
#define PK_REMOTE_KEY_MAX PK_RLAYOUT_KEY_MAX
_Static_assert(PK_REMOTE_MAX_PREFIX + 128 <= PK_RLAYOUT_KEY_MAX, "key buffers too small");

struct pk_remote {
	pk_remote_opts o;
	pk_redis_url u;
	char shown[600]; /* the URL, redacted */
	int sealed;
	unsigned char seal_key[PK_SEAL_KEY];
	pk_rconn *c;
	pk_rlock lock; /* the run lock (remote_lock.c) */
	int64_t upload_expiry_ms;
	char upload_expiry[24]; /* the same, for PX and PEXPIRE */
};

int pk_remote_parse_check(const char *url, pk_error *err)
{
	pk_redis_url u;
	return pk_redis_url_parse(url, &u, "", err);
}

/* The Redis key of kind kind ("e", "l", "t:TOKEN"...) of key:
 * PREFIX{HEX}:KIND, all of one entry in one cluster slot. */
static void remote_key(const pk_remote *r, char *buf, size_t len, const char *kind,
                       const pk_key *key)
{
	pk_rlayout_key(r->o.prefix, key, kind, buf, len);
}

/* The command's arguments' lengths, all C strings. */
static redisReply *cmd_s(pk_remote *r, const char *key, pk_error *err, int argc, const char **argv)
{
	return pk_rconn_cmd(r->c, key, argc, argv, NULL, err);
}

/* The password from its file (one line; a final newline is not part of
 * it), checked as the secret file is.  Returns 0, or -1 with err set. */
static int read_password(const char *path, char *pass, size_t cap, pk_error *err)
{
	unsigned char buf[258];
	size_t n;

	if (pk_trust_read_secret(path, buf, 1, sizeof(buf), &n, err) < 0)
		return -1;
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n == 0 || n >= cap || memchr(buf, '\0', n) != NULL || memchr(buf, '\n', n) != NULL) {
		memset(buf, 0, sizeof(buf));
		return pk_error_set(err, 0, "%s: not one line of 1 to %zu bytes, refused", path,
		                    cap - 1);
	}
	memcpy(pass, buf, n);
	pass[n] = '\0';
	memset(buf, 0, sizeof(buf));
	return 0;
}

pk_remote *pk_remote_connect(const pk_remote_opts *o, pk_error *err)
{
	pk_remote *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		pk_error_set(err, ENOMEM, "remote cache");
		return NULL;
	}
	r->o = *o;
	pk_rlock_init(&r->lock);
	r->upload_expiry_ms =
		o->upload_expiry_ms > 0 ? o->upload_expiry_ms : PK_DEFAULT_REMOTE_UPLOAD_EXPIRY_MS;
	snprintf(r->upload_expiry, sizeof(r->upload_expiry), "%lld",
	         (long long)r->upload_expiry_ms);
	/* Keys are built in fixed buffers sized for this; a brace would put
	 * the entry's keys in different cluster slots. */
	if (o->prefix != NULL && strlen(o->prefix) > PK_REMOTE_MAX_PREFIX) {
		pk_error_set(err, EINVAL, "remote prefix longer than %d bytes",
		             PK_REMOTE_MAX_PREFIX);
		goto fail;
	}
	if (o->prefix != NULL && strpbrk(o->prefix, "{}") != NULL) {
		pk_error_set(err, EINVAL,
		             "remote prefix holds '{' or '}' (they choose cluster slots)");
		goto fail;
	}
	if (pk_redis_url_parse(o->url, &r->u, "remote url: ", err) < 0)
		goto fail;
	pk_redis_url_redact(o->url, r->shown, sizeof(r->shown));
	if (o->password_file != NULL &&
	    read_password(o->password_file, r->u.pass, sizeof(r->u.pass), err) < 0)
		goto fail;
	if (o->password_file == NULL && o->password != NULL) {
		if (strlen(o->password) >= sizeof(r->u.pass)) {
			pk_error_set(err, 0, "remote password longer than %zu bytes",
			             sizeof(r->u.pass) - 1);
			goto fail;
		}
		snprintf(r->u.pass, sizeof(r->u.pass), "%s", o->password);
	}
	/* Never unauthenticated instead: a secret that cannot be used leaves
	 * the remote tier out. */
	if (o->secret_file != NULL) {
		if (pk_seal_key_load(o->secret_file, r->seal_key, err) < 0)
			goto fail;
		r->sealed = 1;
	}
	if ((r->c = pk_rconn_open(&r->u, r->shown, o->seeds, o->timeout_ms, err)) == NULL)
		goto fail;
	return r;
fail:
	pk_remote_close(r);
	return NULL;
}

static int to_fd(void *ctx, const char *p, size_t n)
{
	return pk_write_all(*(int *)ctx, p, n);
}

/* What a value whose bytes were not all there is: 0 (a miss) when it
 * expired or was replaced meanwhile, 2 with err set when its manifest is
 * still there but names a part that is not (an upload published with a
 * part gone: no host should take it for a plain miss).  -1 when Redis
 * failed. */
static int incomplete(pk_remote *r, const char *kind, const pk_key *key, const pk_rlayout *l,
                      pk_error *err)
{
	pk_rlayout now;
	int got;

	if (l->nparts == 0)
		return 0;
	if ((got = pk_rlayout_read(r->c, r->o.prefix, key, kind, &now, NULL, err)) <= 0)
		return got;
	if (strcmp(now.token, l->token) != 0)
		return 0;
	pk_error_set(err, 0, "incomplete: a part of its %d is missing", l->nparts);
	return 2;
}

/* pk_remote_get for a value of kind ("e" an entry, "m" a manifest). */
static int get_value(pk_remote *r, const char *kind, const pk_key *key, int fd, int64_t *left_ms,
                     pk_error *err)
{
	pk_rlayout l;
	int got;

	*left_ms = -1;
	if ((got = pk_rlayout_read(r->c, r->o.prefix, key, kind, &l, left_ms, err)) <= 0)
		return got;
	/* The size first: a value larger than this host would ever upload is
	 * not fetched at all. */
	if ((uint64_t)l.size > r->o.max_entry + (r->sealed ? PK_SEAL_TRAILER : 0)) {
		pk_error_set(err, 0, "%lld bytes, more than remote.max_entry (%llu)", l.size,
		             (unsigned long long)r->o.max_entry);
		return 2;
	}
	/* In ranges, so memory stays bounded; a value replaced meanwhile shows
	 * up as a checksum failure, never as a wrong replay. */
	if ((got = pk_rlayout_read_bytes(&l, 0, l.size, to_fd, &fd, err)) < 0)
		return got;
	if (got == 0)
		return incomplete(r, kind, key, &l, err);
	/* Checked before anything reads the entry. */
	if (r->sealed && pk_seal_open(fd, (uint64_t)l.size, r->seal_key, err) < 0)
		return err->errnum == 0 ? 2 : -1;
	return 1;
}

int pk_remote_get(pk_remote *r, const pk_key *key, int fd, int64_t *left_ms, pk_error *err)
{
	return get_value(r, "e", key, fd, left_ms, err);
}

int pk_remote_get_manifest(pk_remote *r, const pk_key *key, int fd, pk_error *err)
{
	int64_t left;
	return get_value(r, "m", key, fd, &left, err);
}

int pk_remote_sealed(const pk_remote *r)
{
	return r->sealed;
}


static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The next chunk's size: one takes about a fifth of the timeout, so that a
 * slow link never has a whole timeout's worth of bytes in flight. */
static size_t next_chunk(const pk_remote *r, size_t chunk, int64_t took_ms)
{
	int64_t t = r->o.timeout_ms > 0 ? r->o.timeout_ms : PK_DEFAULT_REMOTE_TIMEOUT_MS;

	if (took_ms * 10 < t && chunk < CHUNK)
		return chunk * 2;
	if (took_ms * 3 > t && chunk > MIN_CHUNK)
		return chunk / 2;
	return chunk;
}

/* One command, its reply checked and dropped.  Returns 0 or -1. */
static int run1(pk_remote *r, const char *key, int argc, const char **argv, const size_t *lens,
                pk_error *err)
{
	redisReply *rep = pk_rconn_cmd(r->c, key, argc, argv, lens, err);

	if (rep == NULL)
		return -1;
	freeReplyObject(rep);
	return 0;
}

/* The expiry argument of PEXPIRE for the entry's expiry (ttl_ms, at
 * least a second, so that an entry is not gone before the hosts waiting
 * for it look) plus extra, into buf; NULL for PK_FOREVER (PERSIST). */
static const char *expiry_arg(int64_t ttl_ms, int64_t extra, char *buf, size_t len)
{
	if (ttl_ms == PK_FOREVER)
		return NULL;
	snprintf(buf, len, "%lld", (long long)((ttl_ms > 1000 ? ttl_ms : 1000) + extra));
	return buf;
}

/* Gives key the entry's expiry (expiry_arg).  Returns 0, or -1 with err
 * set. */
static int set_expiry(pk_remote *r, const char *key, int64_t ttl_ms, int64_t extra, pk_error *err)
{
	char buf[24];
	const char *ms = expiry_arg(ttl_ms, extra, buf, sizeof(buf));

	if (ms == NULL)
		return run1(r, key, 2, (const char *[]){ "PERSIST", key }, NULL, err);
	return run1(r, key, 3, (const char *[]){ "PEXPIRE", key, ms }, NULL, err);
}

/* Writes n bytes at off of the upload: SET on a value's first bytes, then
 * APPEND, each renewing the value's short expiry, in one round trip. */
static int upload_piece(pk_remote *r, const char *key, int first, const void *p, size_t n,
                        pk_error *err)
{
	redisReply *rep[2];
	const char *set[5] = { "SET", key, p, "PX", r->upload_expiry };
	const char *app[3] = { "APPEND", key, p }, *exp[3] = { "PEXPIRE", key, r->upload_expiry };
	size_t setl[5] = { 3, strlen(key), n, 2, strlen(r->upload_expiry) };
	size_t appl[3] = { 6, strlen(key), n };
	const char **argv[2] = { first ? set : app, exp };
	const size_t *lens[2] = { first ? setl : appl, NULL };
	int argc[2] = { first ? 5 : 3, 3 };

	if (pk_rconn_pipe(r->c, key, NULL, first ? 1 : 2, argc, argv, lens, rep, err) < 0)
		return -1;
	int bad = rep[0]->type == REDIS_REPLY_ERROR             ? 0
	          : !first && rep[1]->type == REDIS_REPLY_ERROR ? 1
	                                                        : -1;
	if (bad >= 0)
		pk_error_set(err, 0, "remote cache: %s", rep[bad]->str);
	freeReplyObject(rep[0]);
	if (!first)
		freeReplyObject(rep[1]);
	return bad >= 0 ? -1 : 0;
}

/* pk_remote_put for a value of vkind ("e" an entry, "m" a manifest). */
static int put_value(pk_remote *r, const char *vkind, const pk_key *key, int fd, uint64_t size,
                     int64_t ttl_ms, pk_error *err)
{
	char k[PK_REMOTE_KEY_MAX], tmp[PK_REMOTE_KEY_MAX], kind[40], token[33],
		target[PK_REMOTE_KEY_MAX];
	unsigned char *buf = NULL, trailer[PK_SEAL_TRAILER];
	size_t chunk = FIRST_CHUNK;
	pk_rlayout l = { 0 }, old;
	off_t off = 0;
	int64_t renewed = mono_ms();
	int ret = -1;

	if (r->o.read_only || size > r->o.max_entry)
		return 0;
	remote_key(r, k, sizeof(k), vkind, key);
	if (pk_rlock_token(token) < 0)
		return pk_error_set(err, errno, "cannot make an upload name");
	snprintf(kind, sizeof(kind), "t:%s", token);
	remote_key(r, tmp, sizeof(tmp), kind, key);
	/* Larger than a part: parts under the entry's tag, then a manifest
	 * naming them in the entry's key. */
	l.c = r->c;
	l.prefix = r->o.prefix;
	l.key = key;
	l.size = (long long)size + (r->sealed ? PK_SEAL_TRAILER : 0);
	if (l.size > PK_RLAYOUT_PART) {
		memcpy(l.token, token, sizeof(token));
		l.nparts = (int)((size + PK_RLAYOUT_PART - 1) / PK_RLAYOUT_PART);
	}
	if (r->sealed && pk_seal_trailer(fd, size, r->seal_key, trailer, err) < 0)
		return -1;
	if ((buf = pk_io_alloc(CHUNK)) == NULL)
		return pk_error_set(err, ENOMEM, "remote upload");
	/* Uploaded under temporary names in the entry's slot, then published
	 * by one RENAME: readers see all or none.  Each temporary (the value,
	 * or every part) is born with a short expiry (SET PX,
	 * remote.upload_expiry), renewed by each chunk and, for the parts
	 * already written, every third of it, so that an upload cut short
	 * leaves nothing for longer than that, whatever the entry's ttl, and
	 * one that keeps moving keeps every part however long it takes. */
	do {
		int part = l.nparts > 0 ? (int)(off / PK_RLAYOUT_PART < l.nparts - 1
		                                        ? off / PK_RLAYOUT_PART
		                                        : l.nparts - 1)
		                        : -1;
		uint64_t stop = part < 0 || part == l.nparts - 1
		                        ? size
		                        : (uint64_t)(part + 1) * PK_RLAYOUT_PART;
		size_t want = stop - (uint64_t)off < chunk ? (size_t)(stop - (uint64_t)off) : chunk;
		ssize_t n = pk_pread_full(fd, buf, want, off);
		int64_t t0 = mono_ms();
		if (n < 0 || (size_t)n != want) {
			pk_error_set(err, n < 0 ? errno : EIO, "cannot read entry for upload");
			goto out;
		}
		if (part > 0 && mono_ms() - renewed >= r->upload_expiry_ms / 3) {
			if (pk_rlayout_renew_parts(&l, part, r->upload_expiry, NULL, err) < 0)
				goto out;
			renewed = mono_ms();
		}
		if (part >= 0)
			pk_rlayout_part_key(&l, part, target, sizeof(target));
		else
			snprintf(target, sizeof(target), "%s", tmp);
		if (upload_piece(r, target, off == (part < 0 ? 0 : (off_t)part * PK_RLAYOUT_PART),
		                 buf, want, err) < 0)
			goto out;
		off += n;
		chunk = next_chunk(r, chunk, mono_ms() - t0);
	} while ((uint64_t)off < size);
	if (r->sealed && upload_piece(r, target, 0, trailer, sizeof(trailer), err) < 0)
		goto out;
	if (l.nparts > 0) {
		char m[128];
		pk_rlayout_manifest(&l, m, sizeof(m));
		if (upload_piece(r, tmp, 1, m, strlen(m), err) < 0)
			goto out;
	}
	/* The value it replaces, whose parts go once it is replaced. */
	if (pk_rlayout_read(r->c, r->o.prefix, key, vkind, &old, NULL, err) < 0)
		goto out;
	if (l.nparts > 0) {
		/* Every part checked there, with a fresh expiry, then all
		 * published at once, on the node that answered. */
		pk_rconn_route rt = { 0 };
		char part_ms[24], entry_ms[24];
		snprintf(l.k, sizeof(l.k), "%s", k);
		/* The parts outlive the manifest a little: a reader that
		 * found it finds them. */
		if (pk_rlayout_renew_parts(&l, l.nparts, r->upload_expiry, &rt, err) < 0 ||
		    pk_rlayout_publish(&l, tmp, expiry_arg(ttl_ms, 60000, part_ms, sizeof(part_ms)),
		                       expiry_arg(ttl_ms, 0, entry_ms, sizeof(entry_ms)), &rt,
		                       err) < 0)
			goto out;
	} else if (run1(r, k, 3, (const char *[]){ "RENAME", tmp, k }, NULL, err) < 0 ||
	           set_expiry(r, k, ttl_ms, 0, err) < 0) {
		/* Published, then given the entry's own expiry.  A host dying
		 * in between leaves an entry that expires with the
		 * temporary's: early, never late. */
		goto out;
	}
	if (old.nparts > 0 && strcmp(old.token, l.token) != 0)
		pk_rlayout_drop_parts(&old);
	ret = 1;
out:
	pk_io_free(buf);
	return ret;
}

int pk_remote_put(pk_remote *r, const pk_key *key, int fd, uint64_t size, int64_t ttl_ms,
                  pk_error *err)
{
	return put_value(r, "e", key, fd, size, ttl_ms, err);
}

int pk_remote_put_manifest(pk_remote *r, const pk_key *key, int fd, uint64_t size, int64_t ttl_ms,
                           pk_error *err)
{
	return put_value(r, "m", key, fd, size, ttl_ms, err);
}

/* Two commands on key's node in one round trip, their replies checked
 * (an error reply fails) and left in out.  Returns 0, or -1 with err set. */
static int run2(pk_remote *r, const char *key, const char **a, int na, const char **b, int nb,
                redisReply **out, pk_error *err)
{
	const char **argv[2] = { a, b };
	int argc[2] = { na, nb };

	if (pk_rconn_pipe(r->c, key, NULL, 2, argc, argv, NULL, out, err) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (out[i]->type == REDIS_REPLY_ERROR) {
			pk_error_set(err, 0, "remote cache: %s", out[i]->str);
			freeReplyObject(out[0]);
			freeReplyObject(out[1]);
			return -1;
		}
	}
	return 0;
}

/* The server's clock, in Unix ms, from a TIME reply; -1 if not one. */
static int64_t server_ms(const redisReply *t)
{
	if (t->type != REDIS_REPLY_ARRAY || t->elements != 2 ||
	    t->element[0]->type != REDIS_REPLY_STRING || t->element[1]->type != REDIS_REPLY_STRING)
		return -1;
	return strtoll(t->element[0]->str, NULL, 10) * 1000 +
	       strtoll(t->element[1]->str, NULL, 10) / 1000;
}

int pk_remote_del(pk_remote *r, const pk_key *key, pk_error *err)
{
	char k[PK_REMOTE_KEY_MAX], x[PK_REMOTE_KEY_MAX], now[24], px[24];
	redisReply *rep[2];
	long long left;
	int64_t t;

	if (r->o.read_only)
		return 0;
	remote_key(r, k, sizeof(k), "e", key);
	remote_key(r, x, sizeof(x), "x", key);
	if (run2(r, k, (const char *[]){ "PTTL", k }, 2, (const char *[]){ "TIME" }, 1, rep, err) <
	    0)
		return -1;
	left = rep[0]->type == REDIS_REPLY_INTEGER ? rep[0]->integer : -2;
	t = server_ms(rep[1]);
	freeReplyObject(rep[0]);
	freeReplyObject(rep[1]);
	if (left == -2)
		return 0; /* not in Redis: every copy of it has expired too */
	pk_rlayout l;
	if (pk_rlayout_read(r->c, r->o.prefix, key, "e", &l, NULL, err) < 0)
		return -1;
	/* The tombstone: when, by the server's clock, the entry went; it
	 * lasts as long as the entry would have, so as long as any host may
	 * hold a copy (see pk_remote_removed). */
	snprintf(now, sizeof(now), "%lld", (long long)t);
	snprintf(px, sizeof(px), "%lld", left > 0 ? left : 1);
	if (run2(r, k, (const char *[]){ "DEL", k }, 2, (const char *[]){ "SET", x, now, "PX", px },
	         left == -1 ? 3 : 5, rep, err) < 0)
		return -1;
	freeReplyObject(rep[0]);
	freeReplyObject(rep[1]);
	pk_rlayout_drop_parts(&l);
	return 0;
}

int pk_remote_removed(pk_remote *r, const pk_key *key, int64_t *age_ms, pk_error *err)
{
	char x[PK_REMOTE_KEY_MAX];
	redisReply *rep[2];
	int ret = 0;

	remote_key(r, x, sizeof(x), "x", key);
	if (run2(r, x, (const char *[]){ "GET", x }, 2, (const char *[]){ "TIME" }, 1, rep, err) <
	    0)
		return -1;
	if (rep[0]->type == REDIS_REPLY_STRING) {
		int64_t now = server_ms(rep[1]), when = strtoll(rep[0]->str, NULL, 10);
		*age_ms = now > when ? now - when : 0;
		ret = 1;
	}
	freeReplyObject(rep[0]);
	freeReplyObject(rep[1]);
	return ret;
}

/* Appends s to buf (len bytes, *n used) with the glob characters of Redis
 * patterns escaped, so that it matches only itself.  Returns 0, or -1 when
 * it does not fit. */
static int glob_literal(char *buf, size_t len, size_t *n, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*n + 2 >= len)
			return -1;
		if (strchr("*?[]\\", *s) != NULL)
			buf[(*n)++] = '\\';
		buf[(*n)++] = *s;
	}
	buf[*n] = '\0';
	return 0;
}

/* SCANs one primary for keys matching match, calling fn with the hex of
 * each entry key of the exact shape.  Returns 0, 1 when fn stopped, or -1. */
static int scan_node(pk_remote *r, int node, const char *match,
                     int (*fn)(void *ctx, const char *hex), void *ctx, pk_error *err)
{
	char cursor[32] = "0";
	const char *pre = r->o.prefix ? r->o.prefix : "";
	size_t plen = strlen(pre);
	int ret = 0;

	do {
		redisReply *rep = pk_rconn_cmd_at(
			r->c, node, 6,
			(const char *[]){ "SCAN", cursor, "MATCH", match, "COUNT", "1000" }, NULL,
			err);
		if (rep == NULL)
			return -1;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			return pk_error_set(err, 0, "remote cache: unexpected SCAN reply");
		}
		snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
		redisReply *keys = rep->element[1];
		for (size_t i = 0; ret == 0 && i < keys->elements; i++) {
			const char *k = keys->element[i]->str;
			char hex[PK_KEY_HEX + 1];
			/* The pattern chose them; only the exact shape is used. */
			if (keys->element[i]->type != REDIS_REPLY_STRING ||
			    strlen(k) != plen + PK_KEY_HEX + 4 || strncmp(k, pre, plen) != 0 ||
			    k[plen] != '{' || strcmp(k + plen + 1 + PK_KEY_HEX, "}:e") != 0)
				continue;
			memcpy(hex, k + plen + 1, PK_KEY_HEX);
			hex[PK_KEY_HEX] = '\0';
			if (!pk_key_is_prefix(hex))
				continue;
			ret = fn(ctx, hex);
		}
		freeReplyObject(rep);
	} while (ret == 0 && strcmp(cursor, "0") != 0);
	return ret;
}

int pk_remote_keys(pk_remote *r, const char *prefix, int (*fn)(void *ctx, const char *hex),
                   void *ctx, pk_error *err)
{
	char match[700];
	size_t n = 0;
	int ret = 0, nodes;

	/* A whole key names one Redis key: no need to walk the keyspace. */
	if (strlen(prefix) == PK_KEY_HEX && pk_key_is_prefix(prefix)) {
		pk_key key;
		long long exists;
		redisReply *rep;

		pk_key_from_hex(prefix, &key);
		remote_key(r, match, sizeof(match), "e", &key);
		if ((rep = cmd_s(r, match, err, 2, (const char *[]){ "EXISTS", match })) == NULL)
			return -1;
		exists = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
		freeReplyObject(rep);
		return exists > 0 && fn(ctx, prefix) < 0 ? -1 : 0;
	}
	if (glob_literal(match, sizeof(match), &n, r->o.prefix ? r->o.prefix : "") < 0 ||
	    glob_literal(match, sizeof(match), &n, "{") < 0 ||
	    glob_literal(match, sizeof(match), &n, prefix) < 0 || n + 5 > sizeof(match))
		return pk_error_set(err, 0, "remote cache: prefix too long");
	memcpy(match + n, "*}:e", 5);
	/* A cluster's keys are spread over its primaries: each is walked. */
	if ((nodes = pk_rconn_primaries(r->c, err)) < 0)
		return -1;
	for (int i = 0; ret == 0 && i < nodes; i++)
		ret = scan_node(r, i, match, fn, ctx, err);
	return ret < 0 ? -1 : 0;
}

struct each {
	pk_remote *r;
	int (*fn)(void *ctx, const char *hex, const unsigned char *meta, size_t meta_len,
	          uint64_t size);
	void *ctx;
	pk_error *err;
};

/* pk_remote_each's step: reads one entry's size and metadata. */
static int each_one(void *ctx, const char *hex)
{
	struct each *e = ctx;
	pk_remote *r = e->r;
	unsigned char *h = NULL, *t = NULL, *meta = NULL;
	size_t meta_len = 0;
	pk_rlayout l;
	uint64_t size;
	pk_key key;
	int got, bad = 0, ret;

	pk_key_from_hex(hex, &key);
	if ((got = pk_rlayout_read(r->c, r->o.prefix, &key, "e", &l, NULL, e->err)) < 0)
		return -1;
	/* Gone since the scan, or a value of another type: listed as damaged. */
	if (got == 0)
		return e->fn(e->ctx, hex, NULL, 0, 0);
	size = (uint64_t)l.size;
	/* Sealed: the entry is what comes before the trailer, and only
	 * metadata its seal covers is shown. */
	if (r->sealed) {
		if (size < PK_ENTRY_HEADER + PK_SEAL_TRAILER)
			goto done;
		size -= PK_SEAL_TRAILER;
		if ((t = pk_rlayout_bytes_at(&l, (long long)size, PK_SEAL_TRAILER, &bad, e->err)) ==
		    NULL)
			goto done;
	}
	if (size < PK_ENTRY_HEADER ||
	    (h = pk_rlayout_bytes_at(&l, 0, PK_ENTRY_HEADER, &bad, e->err)) == NULL)
		goto done;
	uint64_t ml = pk_get_le(h + 32, 8);
	if (ml == 0 || ml >= size || ml >= (64u << 20) ||
	    (meta = pk_rlayout_bytes_at(&l, (long long)(size - ml), (size_t)ml, &bad, e->err)) ==
	            NULL)
		goto done;
	if (r->sealed && pk_seal_check_meta(h, meta, ml, t, r->seal_key) != 0) {
		free(meta);
		meta = NULL;
		goto done;
	}
	meta_len = ml;
done:
	free(h);
	free(t);
	if (bad < 0) {
		free(meta);
		return -1;
	}
	ret = e->fn(e->ctx, hex, meta, meta_len, size);
	free(meta);
	return ret;
}

int pk_remote_each(pk_remote *r,
                   int (*fn)(void *ctx, const char *hex, const unsigned char *meta, size_t meta_len,
                             uint64_t size),
                   void *ctx, pk_error *err)
{
	struct each e = { r, fn, ctx, err };

	return pk_remote_keys(r, "", each_one, &e, err);
}

int pk_remote_lock(pk_remote *r, const pk_key *key, pk_error *err)
{
	char k[PK_REMOTE_KEY_MAX];

	if (r->o.read_only)
		return pk_error_set(err, 0, "remote cache is read-only");
	remote_key(r, k, sizeof(k), "l", key);
	r->lock.c = r->c;
	r->lock.u = &r->u;
	r->lock.shown = r->shown;
	r->lock.seeds = r->o.seeds;
	r->lock.timeout_ms = r->o.timeout_ms;
	r->lock.lease_ms = r->o.lease_ms;
	return pk_rlock_take(&r->lock, k, err);
}

int pk_remote_unlock(pk_remote *r, pk_error *err)
{
	return r == NULL ? 0 : pk_rlock_release(&r->lock, err);
}

void pk_remote_close(pk_remote *r)
{
	if (r == NULL)
		return;
	pk_remote_unlock(r, NULL);
	pk_rconn_close(r->c);
	memset(r->u.pass, 0, sizeof(r->u.pass));
	pk_rlock_destroy(&r->lock);
	free(r);
}
