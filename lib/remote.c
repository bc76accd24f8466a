/* remote.c: the Redis tier (hiredis, blocking calls with timeouts). */
#include "remote.h"

#include "bytes.h"
#include "entry.h"
#include "io.h"
#include "seal.h"
#include "trust.h"
#include "units.h"

#include <errno.h>
#include <hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (4u * 1024 * 1024)   /* bounded memory for any entry size */

struct url {
	char host[256], path[1024], user[256], pass[256];
	int port, db, is_unix;
};

struct pk_remote {
	pk_remote_opts o;
	struct url u;
	int sealed;
	unsigned char seal_key[PK_SEAL_KEY];
	redisContext *c;
	int broken, timed_out;
	/* lock renewal */
	char lock_key[300], token[33];
	int locked;
	pthread_t renewer;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
};

/* Compare-and-delete and compare-and-extend: only the owner's token acts. */
static const char UNLOCK_LUA[] =
	"if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
/* Takes the lock when it is free, or held with no expiry: a lock that
 * cannot lapse is not one a live host holds (they are all set with PX and
 * renewed), only one that would make every host wait its whole
 * --lock-timeout. */
static const char TAKE_LUA[] =
	"local t = redis.call('pttl', KEYS[1]) "
	"if t == -2 or t == -1 then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end "
	"return 0";
static const char RENEW_LUA[] =
	"if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

static int copy(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

static int parse_db(const char *s, int *db)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0 || v > 100000)
		return -1;
	*db = (int)v;
	return 0;
}

/* label prefixes each reason ("remote url: "), or is "" for a caller that
 * names the setting itself (pk_remote_parse_check). */
static int parse_url(const char *url, struct url *u, const char *label, pk_error *err)
{
	const char *p;

	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (strncmp(url, "redis+unix://", 13) == 0) {
		const char *q;
		u->is_unix = 1;
		p = url + 13;
		if (*p != '/')
			return pk_error_set(err, 0, "%sredis+unix:// needs an absolute socket path", label);
		q = strchr(p, '?');
		if (copy(u->path, sizeof(u->path), p, q ? (size_t)(q - p) : strlen(p)) < 0)
			return pk_error_set(err, 0, "%ssocket path too long", label);
		if (q != NULL) {
			if (strncmp(q, "?db=", 4) != 0 || parse_db(q + 4, &u->db) < 0)
				return pk_error_set(err, 0, "%sexpected ?db=N after the socket path", label);
		}
		return 0;
	}
	if (strncmp(url, "redis://", 8) != 0)
		return pk_error_set(err, 0, "remote url must start with redis:// or redis+unix://");
	p = url + 8;
	const char *at = strrchr(p, '@');
	if (at != NULL) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (colon != NULL) {
			if (copy(u->user, sizeof(u->user), p, (size_t)(colon - p)) < 0 ||
			    copy(u->pass, sizeof(u->pass), colon + 1, (size_t)(at - colon - 1)) < 0)
				return pk_error_set(err, 0, "%scredentials too long", label);
		} else if (copy(u->pass, sizeof(u->pass), p, (size_t)(at - p)) < 0) {
			return pk_error_set(err, 0, "%spassword too long", label);
		}
		p = at + 1;
	}
	const char *slash = strchr(p, '/');
	size_t hostlen = slash ? (size_t)(slash - p) : strlen(p);
	const char *colon = memchr(p, ':', hostlen);
	if (colon != NULL) {
		char port[16];
		char *end;
		if (copy(port, sizeof(port), colon + 1, hostlen - (size_t)(colon + 1 - p)) < 0)
			return pk_error_set(err, 0, "%sbad port", label);
		long v = strtol(port, &end, 10);
		/* Not digits: maybe a password typed without its '@'; not shown. */
		if (port[0] == '\0' || *end != '\0' || strspn(port, "0123456789") != strlen(port))
			return pk_error_set(err, 0, "%sbad port", label);
		if (v < 1 || v > 65535)
			return pk_error_set(err, 0, "%sbad port '%s'", label, port);
		u->port = (int)v;
		hostlen = (size_t)(colon - p);
	}
	if (hostlen == 0 || copy(u->host, sizeof(u->host), p, hostlen) < 0)
		return pk_error_set(err, 0, "%smissing host", label);
	if (slash != NULL && slash[1] != '\0' && parse_db(slash + 1, &u->db) < 0)
		return pk_error_set(err, 0, "%sbad database number '%s'", label, slash + 1);
	return 0;
}

int pk_remote_parse_check(const char *url, pk_error *err)
{
	struct url u;
	return parse_url(url, &u, "", err);
}

const char *pk_remote_redact(const char *url, char *buf, size_t len)
{
	const char *sep = strstr(url, "://");
	const char *auth = sep ? sep + 3 : url;
	const char *at = strrchr(auth, '@');

	if (at != NULL) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));
		if (sep == NULL)   /* mistyped scheme: all before the '@' may be secret */
			snprintf(buf, len, "***%s", at);
		else
			snprintf(buf, len, "%.*s***%s", (int)((colon ? colon + 1 : auth) - url), url, at);
		return buf;
	}
	/* No '@': a password typed without one sits where a port would. */
	const char *end = auth + strcspn(auth, "/?");
	const char *colon = memchr(auth, ':', (size_t)(end - auth));
	if (colon != NULL && strspn(colon + 1, "0123456789") != (size_t)(end - colon - 1))
		snprintf(buf, len, "%.*s***%s", (int)(colon + 1 - url), url, end);
	else
		snprintf(buf, len, "%s", url);
	return buf;
}

int pk_remote_strip_password(const char *url, char *buf, size_t len)
{
	const char *sep = strstr(url, "://");
	const char *at = sep ? strrchr(sep + 3, '@') : NULL;
	int n;

	if (at == NULL)
		n = snprintf(buf, len, "%s", url);
	else {
		const char *colon = memchr(sep + 3, ':', (size_t)(at - sep - 3));
		/* "user:" is kept (a password file goes with it); a lone
		 * "password@" goes whole. */
		n = colon && colon > sep + 3
		        ? snprintf(buf, len, "%.*s%s", (int)(colon + 1 - url), url, at)
		        : snprintf(buf, len, "%.*s%s", (int)(sep + 3 - url), url, at + 1);
	}
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static struct timeval tv_of(int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
	return tv;
}

static int fail(pk_remote *r, pk_error *err, const char *what)
{
	if (r->c != NULL && r->c->err != 0) {
		int timeout = r->c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
		r->timed_out = timeout;
		r->broken = 1;
		if (timeout)
			return pk_error_set(err, ETIMEDOUT, "%s", what);
		return pk_error_set(err, 0, "%s: %s", what, r->c->errstr);
	}
	return pk_error_set(err, 0, "%s", what);
}

/* Runs a command; a reply of type ERROR is returned as a failure. */
static redisReply *cmd(pk_remote *r, pk_error *err, int argc, const char **argv,
                       const size_t *lens)
{
	redisReply *rep;

	if (r->broken) {
		pk_error_set(err, r->timed_out ? ETIMEDOUT : 0, "remote cache unavailable");
		return NULL;
	}
	rep = redisCommandArgv(r->c, argc, argv, lens);
	if (rep == NULL) {
		fail(r, err, "remote cache");
		return NULL;
	}
	if (rep->type == REDIS_REPLY_ERROR) {
		pk_error_set(err, 0, "remote cache: %s", rep->str);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

static redisReply *cmd_s(pk_remote *r, pk_error *err, int argc, const char **argv)
{
	size_t lens[8];
	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	return cmd(r, err, argc, argv, lens);
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
		return pk_error_set(err, 0, "%s: not one line of 1 to %zu bytes, refused", path, cap - 1);
	}
	memcpy(pass, buf, n);
	pass[n] = '\0';
	memset(buf, 0, sizeof(buf));
	return 0;
}

pk_remote *pk_remote_connect(const pk_remote_opts *o, pk_error *err)
{
	pk_remote *r = calloc(1, sizeof(*r));
	struct timeval tv = tv_of(o->timeout_ms > 0 ? o->timeout_ms : 1000);
	redisReply *rep;

	if (r == NULL) {
		pk_error_set(err, ENOMEM, "remote cache");
		return NULL;
	}
	r->o = *o;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	/* Keys are built in fixed buffers sized for this. */
	if (o->prefix != NULL && strlen(o->prefix) > PK_REMOTE_MAX_PREFIX) {
		pk_error_set(err, EINVAL, "remote prefix longer than %d bytes", PK_REMOTE_MAX_PREFIX);
		goto fail;
	}
	if (parse_url(o->url, &r->u, "remote url: ", err) < 0)
		goto fail;
	if (o->password_file != NULL && read_password(o->password_file, r->u.pass,
	                                              sizeof(r->u.pass), err) < 0)
		goto fail;
	/* Never unauthenticated instead: a secret that cannot be used leaves
	 * the remote tier out. */
	if (o->secret_file != NULL) {
		if (pk_seal_key_load(o->secret_file, r->seal_key, err) < 0)
			goto fail;
		r->sealed = 1;
	}
	r->c = r->u.is_unix ? redisConnectUnixWithTimeout(r->u.path, tv)
	                    : redisConnectWithTimeout(r->u.host, r->u.port, tv);
	if (r->c == NULL) {
		pk_error_set(err, ENOMEM, "remote cache");
		goto fail;
	}
	if (r->c->err) {
		char shown[600];
		int timeout = r->c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EINPROGRESS ||
		                                            errno == ETIMEDOUT);
		pk_remote_redact(o->url, shown, sizeof(shown));
		if (timeout)
			pk_error_set(err, ETIMEDOUT, "remote cache %s", shown);
		else
			pk_error_set(err, 0, "remote cache %s: %s", shown, r->c->errstr);
		goto fail;
	}
	redisSetTimeout(r->c, tv);
	if (r->u.pass[0] != '\0') {
		const char *a[3] = { "AUTH", r->u.user, r->u.pass };
		rep = r->u.user[0] ? cmd_s(r, err, 3, a) : cmd_s(r, err, 2, (const char *[]){ "AUTH", r->u.pass });
		if (rep == NULL)
			goto fail;
		freeReplyObject(rep);
	}
	if (r->u.db != 0) {
		char db[16];
		snprintf(db, sizeof(db), "%d", r->u.db);
		if ((rep = cmd_s(r, err, 2, (const char *[]){ "SELECT", db })) == NULL)
			goto fail;
		freeReplyObject(rep);
	}
	return r;
fail:
	pk_remote_close(r);
	return NULL;
}

static void rkey(const pk_remote *r, char *buf, size_t len, char kind, const pk_key *key)
{
	char hex[PK_KEY_HEX + 1];
	pk_key_hex(key, hex);
	snprintf(buf, len, "%s%c:%s", r->o.prefix ? r->o.prefix : "", kind, hex);
}

/* pk_remote_get for a value of kind ('e' an entry, 'm' a manifest). */
static int get_value(pk_remote *r, char kind, const pk_key *key, int fd, pk_error *err)
{
	char k[300], from[24], to[24];
	redisReply *rep;
	long long size, off = 0;

	rkey(r, k, sizeof(k), kind, key);
	if ((rep = cmd_s(r, err, 2, (const char *[]){ "STRLEN", k })) == NULL)
		return r->broken ? -1 : 0;   /* a value of another type: no entry */
	size = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
	freeReplyObject(rep);
	if (size <= 0)
		return 0;
	/* The size first: a value larger than this host would ever upload is
	 * not fetched at all. */
	if ((uint64_t)size > r->o.max_entry + (r->sealed ? PK_SEAL_TRAILER : 0)) {
		pk_error_set(err, 0, "%lld bytes, more than remote.max_entry (%llu)",
		             size, (unsigned long long)r->o.max_entry);
		return 2;
	}
	/* In ranges, so memory stays bounded; a value replaced meanwhile shows
	 * up as a checksum failure, never as a wrong replay. */
	while (off < size) {
		long long end = off + CHUNK - 1 < size - 1 ? off + CHUNK - 1 : size - 1;
		snprintf(from, sizeof(from), "%lld", off);
		snprintf(to, sizeof(to), "%lld", end);
		if ((rep = cmd_s(r, err, 4, (const char *[]){ "GETRANGE", k, from, to })) == NULL)
			return r->broken ? -1 : 0;
		if (rep->type != REDIS_REPLY_STRING || rep->len == 0) {
			freeReplyObject(rep);
			return 0;   /* expired or removed between calls */
		}
		if (pk_write_all(fd, rep->str, rep->len) < 0) {
			freeReplyObject(rep);
			return pk_error_set(err, errno, "cannot write remote entry");
		}
		off += (long long)rep->len;
		freeReplyObject(rep);
	}
	/* Checked before anything reads the entry. */
	if (r->sealed && pk_seal_open(fd, (uint64_t)size, r->seal_key, err) < 0)
		return err->errnum == 0 ? 2 : -1;
	return 1;
}

int pk_remote_get(pk_remote *r, const pk_key *key, int fd, pk_error *err)
{
	return get_value(r, 'e', key, fd, err);
}

int pk_remote_get_manifest(pk_remote *r, const pk_key *key, int fd, pk_error *err)
{
	return get_value(r, 'm', key, fd, err);
}

int pk_remote_sealed(const pk_remote *r)
{
	return r->sealed;
}

/* 32 random hex digits: a name or a lock that no other host can share,
 * whatever its pid (containers repeat them) and clock. */
static int random_token(char out[33])
{
	unsigned char raw[16];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -1;
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

/* pk_remote_put for a value of kind ('e' an entry, 'm' a manifest). */
static int put_value(pk_remote *r, char kind, const pk_key *key, int fd, uint64_t size,
                     int64_t ttl_ms, pk_error *err)
{
	char k[300], tmp[400], ms[24], token[33];
	unsigned char *buf = NULL, trailer[PK_SEAL_TRAILER];
	redisReply *rep;
	off_t off = 0;
	int ret = -1;

	if (r->o.read_only || size > r->o.max_entry)
		return 0;
	rkey(r, k, sizeof(k), kind, key);
	if (random_token(token) < 0)
		return pk_error_set(err, errno, "cannot make an upload name");
	snprintf(tmp, sizeof(tmp), "%st:%s:%s", r->o.prefix ? r->o.prefix : "",
	         k + strlen(r->o.prefix ? r->o.prefix : "") + 2, token);
	if (r->sealed && pk_seal_trailer(fd, size, r->seal_key, trailer, err) < 0)
		return -1;
	if ((buf = pk_io_alloc(CHUNK)) == NULL)
		return pk_error_set(err, ENOMEM, "remote upload");
	/* Upload under a temporary name, then RENAME: readers see all or none.
	 * The temporary expires by itself if this host dies mid-upload: it is
	 * born with its expiry (SET PX), so no timeout can leave it without. */
	do {
		size_t want = size - (uint64_t)off < CHUNK ? (size_t)(size - (uint64_t)off) : CHUNK;
		ssize_t n = pk_pread_full(fd, buf, want, off);
		if (n < 0 || (size_t)n != want) {
			pk_error_set(err, n < 0 ? errno : EIO, "cannot read entry for upload");
			goto out;
		}
		const char *argv[5] = { off == 0 ? "SET" : "APPEND", tmp, (const char *)buf, "PX", "600000" };
		size_t lens[5] = { strlen(argv[0]), strlen(tmp), want, 2, 6 };
		if ((rep = cmd(r, err, off == 0 ? 5 : 3, argv, lens)) == NULL)
			goto out;
		freeReplyObject(rep);
		off += n;
	} while ((uint64_t)off < size);
	if (r->sealed) {
		const char *argv[3] = { "APPEND", tmp, (const char *)trailer };
		size_t lens[3] = { 6, strlen(tmp), sizeof(trailer) };
		if ((rep = cmd(r, err, 3, argv, lens)) == NULL)
			goto out;
		freeReplyObject(rep);
	}
	/* The entry's own expiry before the RENAME, which keeps it: the entry
	 * appears with it.  (forever: PERSIST after, so that a host dying in
	 * between leaves a temporary that still expires.)  At least a second,
	 * so that the temporary cannot lapse before the RENAME; a reader
	 * checks an entry's age itself. */
	if (ttl_ms != PK_FOREVER) {
		snprintf(ms, sizeof(ms), "%lld", (long long)(ttl_ms > 1000 ? ttl_ms : 1000));
		if ((rep = cmd_s(r, err, 3, (const char *[]){ "PEXPIRE", tmp, ms })) == NULL)
			goto out;
		freeReplyObject(rep);
	}
	if ((rep = cmd_s(r, err, 3, (const char *[]){ "RENAME", tmp, k })) == NULL)
		goto out;
	freeReplyObject(rep);
	if (ttl_ms == PK_FOREVER) {
		if ((rep = cmd_s(r, err, 2, (const char *[]){ "PERSIST", k })) == NULL)
			goto out;
		freeReplyObject(rep);
	}
	ret = 1;
out:
	pk_io_free(buf);
	return ret;
}

int pk_remote_put(pk_remote *r, const pk_key *key, int fd, uint64_t size,
                  int64_t ttl_ms, pk_error *err)
{
	return put_value(r, 'e', key, fd, size, ttl_ms, err);
}

int pk_remote_put_manifest(pk_remote *r, const pk_key *key, int fd, uint64_t size,
                           int64_t ttl_ms, pk_error *err)
{
	return put_value(r, 'm', key, fd, size, ttl_ms, err);
}

int pk_remote_del(pk_remote *r, const pk_key *key, pk_error *err)
{
	char k[300];
	redisReply *rep;

	if (r->o.read_only)
		return 0;
	rkey(r, k, sizeof(k), 'e', key);
	if ((rep = cmd_s(r, err, 2, (const char *[]){ "DEL", k })) == NULL)
		return -1;
	freeReplyObject(rep);
	return 0;
}

/* The renewal thread has its own connection: hiredis contexts are not
 * shared between threads. */
static void *renew_loop(void *arg)
{
	pk_remote *r = arg;
	struct timeval tv = tv_of(r->o.timeout_ms > 0 ? r->o.timeout_ms : 1000);
	redisContext *c = r->u.is_unix ? redisConnectUnixWithTimeout(r->u.path, tv)
	                               : redisConnectWithTimeout(r->u.host, r->u.port, tv);
	char lease[24];
	int ok = c != NULL && c->err == 0;

	if (ok) {
		redisSetTimeout(c, tv);
		if (r->u.pass[0]) {
			redisReply *rep = r->u.user[0] ? redisCommand(c, "AUTH %s %s", r->u.user, r->u.pass)
			                               : redisCommand(c, "AUTH %s", r->u.pass);
			if (rep)
				freeReplyObject(rep);
		}
		if (r->u.db) {
			redisReply *rep = redisCommand(c, "SELECT %d", r->u.db);
			if (rep)
				freeReplyObject(rep);
		}
	}
	snprintf(lease, sizeof(lease), "%lld", (long long)r->o.lease_ms);
	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t ns = (int64_t)ts.tv_nsec + (r->o.lease_ms / 3) * 1000000;
		ts.tv_sec += (time_t)(ns / 1000000000);
		ts.tv_nsec = (long)(ns % 1000000000);
		pthread_cond_timedwait(&r->cv, &r->mu, &ts);
		if (r->stop || !ok)
			continue;
		pthread_mutex_unlock(&r->mu);
		redisReply *rep = redisCommand(c, "EVAL %s 1 %s %s %s", RENEW_LUA, r->lock_key,
		                               r->token, lease);
		if (rep)
			freeReplyObject(rep);
		else
			ok = 0;   /* the lease then lapses by itself */
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	if (c)
		redisFree(c);
	return NULL;
}

int pk_remote_lock(pk_remote *r, const pk_key *key, pk_error *err)
{
	char lease[24];
	redisReply *rep;

	if (r->o.read_only)
		return pk_error_set(err, 0, "remote cache is read-only");
	if (r->locked)
		return 1;
	rkey(r, r->lock_key, sizeof(r->lock_key), 'l', key);
	/* A token unique to this holder, so only it can renew or release. */
	if (random_token(r->token) < 0)
		return pk_error_set(err, errno, "cannot make a lock token");
	snprintf(lease, sizeof(lease), "%lld", (long long)r->o.lease_ms);
	rep = cmd_s(r, err, 6, (const char *[]){ "EVAL", TAKE_LUA, "1", r->lock_key, r->token, lease });
	if (rep == NULL)
		return -1;
	int taken = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
	freeReplyObject(rep);
	if (!taken)
		return 0;
	r->locked = 1;
	r->stop = 0;
	if (pthread_create(&r->renewer, NULL, renew_loop, r) != 0)
		r->locked = 2;   /* held without renewal: it lapses after the lease */
	return 1;
}

void pk_remote_unlock(pk_remote *r)
{
	redisReply *rep;

	if (r == NULL || !r->locked)
		return;
	if (r->locked == 1) {
		pthread_mutex_lock(&r->mu);
		r->stop = 1;
		pthread_cond_signal(&r->cv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->renewer, NULL);
	}
	r->locked = 0;
	if (r->broken)
		return;
	rep = redisCommand(r->c, "EVAL %s 1 %s %s", UNLOCK_LUA, r->lock_key, r->token);
	if (rep)
		freeReplyObject(rep);
	else
		r->broken = 1;
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

int pk_remote_keys(pk_remote *r, const char *prefix, int (*fn)(void *ctx, const char *hex),
                   void *ctx, pk_error *err)
{
	char cursor[32] = "0", match[700];
	const char *pre = r->o.prefix ? r->o.prefix : "";
	size_t plen = strlen(pre), n = 0;
	int ret = 0;

	/* A whole key names one Redis key: no need to walk the keyspace. */
	if (strlen(prefix) == PK_KEY_HEX && pk_key_is_prefix(prefix)) {
		pk_key key;
		long long exists;
		redisReply *rep;

		pk_key_from_hex(prefix, &key);
		rkey(r, match, sizeof(match), 'e', &key);
		if ((rep = cmd_s(r, err, 2, (const char *[]){ "EXISTS", match })) == NULL)
			return -1;
		exists = rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
		freeReplyObject(rep);
		return exists > 0 && fn(ctx, prefix) < 0 ? -1 : 0;
	}
	if (glob_literal(match, sizeof(match), &n, pre) < 0 ||
	    glob_literal(match, sizeof(match), &n, "e:") < 0 ||
	    glob_literal(match, sizeof(match), &n, prefix) < 0 || n + 2 > sizeof(match))
		return pk_error_set(err, 0, "remote cache: prefix too long");
	match[n++] = '*';
	match[n] = '\0';
	do {
		redisReply *rep = cmd_s(r, err, 6, (const char *[]){ "SCAN", cursor, "MATCH", match,
		                                                     "COUNT", "1000" });
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
			/* The pattern chose them; only the exact shape is used. */
			if (keys->element[i]->type != REDIS_REPLY_STRING ||
			    strlen(k) != plen + 2 + PK_KEY_HEX || strncmp(k, pre, plen) != 0 ||
			    strncmp(k + plen, "e:", 2) != 0 || !pk_key_is_prefix(k + plen + 2))
				continue;
			ret = fn(ctx, k + plen + 2);
		}
		freeReplyObject(rep);
	} while (ret == 0 && strcmp(cursor, "0") != 0);
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
	char k[700];
	unsigned char *meta = NULL;
	size_t meta_len = 0;
	uint64_t size = 0;
	redisReply *h;
	int ret;

	if (snprintf(k, sizeof(k), "%se:%s", r->o.prefix ? r->o.prefix : "", hex) >= (int)sizeof(k))
		return pk_error_set(e->err, 0, "remote cache: prefix too long");
	h = cmd_s(r, e->err, 4, (const char *[]){ "GETRANGE", k, "0", "63" });
	if (h == NULL)   /* a value of another type is listed as damaged */
		return r->broken ? -1 : e->fn(e->ctx, hex, NULL, 0, 0);
	redisReply *sz = cmd_s(r, e->err, 2, (const char *[]){ "STRLEN", k });
	if (sz != NULL && sz->type == REDIS_REPLY_INTEGER)
		size = (uint64_t)sz->integer;
	if (sz)
		freeReplyObject(sz);
	/* Sealed: the entry is what comes before the trailer, and only
	 * metadata its seal covers is shown. */
	unsigned char trailer[PK_SEAL_TRAILER];
	int trailer_ok = !r->sealed;
	if (r->sealed && size >= PK_ENTRY_HEADER + PK_SEAL_TRAILER) {
		char from[24], to[24];
		size -= PK_SEAL_TRAILER;
		snprintf(from, sizeof(from), "%llu", (unsigned long long)size);
		snprintf(to, sizeof(to), "%llu", (unsigned long long)(size + PK_SEAL_TRAILER - 1));
		redisReply *t = cmd_s(r, e->err, 4, (const char *[]){ "GETRANGE", k, from, to });
		if (t != NULL && t->type == REDIS_REPLY_STRING && t->len == PK_SEAL_TRAILER) {
			memcpy(trailer, t->str, PK_SEAL_TRAILER);
			trailer_ok = 1;
		}
		if (t)
			freeReplyObject(t);
	}
	if (trailer_ok && h->type == REDIS_REPLY_STRING && h->len == PK_ENTRY_HEADER) {
		uint64_t ml = pk_get_le((const unsigned char *)h->str + 32, 8);
		if (ml > 0 && ml < size && ml < (64u << 20)) {
			char from[24], to[24];
			snprintf(from, sizeof(from), "%llu", (unsigned long long)(size - ml));
			snprintf(to, sizeof(to), "%llu", (unsigned long long)(size - 1));
			redisReply *m = cmd_s(r, e->err, 4, (const char *[]){ "GETRANGE", k, from, to });
			if (m != NULL && m->type == REDIS_REPLY_STRING && m->len == ml &&
			    (!r->sealed || pk_seal_check_meta((const unsigned char *)h->str,
			                                      (const unsigned char *)m->str, ml,
			                                      trailer, r->seal_key) == 0) &&
			    (meta = malloc(ml)) != NULL) {
				memcpy(meta, m->str, ml);
				meta_len = ml;
			}
			if (m)
				freeReplyObject(m);
		}
	}
	freeReplyObject(h);
	ret = e->fn(e->ctx, hex, meta, meta_len, size);
	free(meta);
	return ret;
}

int pk_remote_each(pk_remote *r,
                   int (*fn)(void *ctx, const char *hex, const unsigned char *meta,
                             size_t meta_len, uint64_t size),
                   void *ctx, pk_error *err)
{
	struct each e = { r, fn, ctx, err };

	return pk_remote_keys(r, "", each_one, &e, err);
}

void pk_remote_close(pk_remote *r)
{
	if (r == NULL)
		return;
	pk_remote_unlock(r);
	if (r->c)
		redisFree(r->c);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}
