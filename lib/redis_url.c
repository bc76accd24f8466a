/* redis_url.c: parsing and redacting the shared tier's URL. */
#include "redis_url.h"

#include "bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int copy(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/* n bytes of src, percent-decoded, into dst.  Returns 0, or -1 for a bad
 * escape, an encoded NUL, or when it does not fit. */
static int decode(char *dst, size_t cap, const char *src, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = src[i];
		if (c == '%') {
			int hi = i + 2 < n ? pk_hex_digit(src[i + 1]) : -1;
			int lo = i + 2 < n ? pk_hex_digit(src[i + 2]) : -1;
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (o + 1 >= cap)
			return -1;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return 0;
}

static int parse_db(const char *s, size_t n, int *db)
{
	char buf[16];
	char *end;

	if (n == 0 || copy(buf, sizeof(buf), s, n) < 0 || strspn(buf, "0123456789") != n)
		return -1;
	long v = strtol(buf, &end, 10);
	if (v > 100000)
		return -1;
	*db = (int)v;
	return 0;
}

/* A socket URL's "?db=N&user=U&password=P". */
static int parse_query(const char *q, pk_redis_url *u, const char *label, pk_error *err)
{
	while (*q != '\0') {
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		size_t klen = eq ? (size_t)(eq - q) : n;
		const char *v = eq ? eq + 1 : q + n;
		size_t vlen = (size_t)(q + n - v);

		if (klen == 2 && strncmp(q, "db", 2) == 0) {
			if (parse_db(v, vlen, &u->db) < 0)
				return pk_error_set(err, 0, "%sbad database number", label);
		} else if (klen == 8 && strncmp(q, "password", 8) == 0) {
			if (decode(u->pass, sizeof(u->pass), v, vlen) < 0)
				return pk_error_set(err, 0, "%sbad password parameter", label);
		} else if (klen == 4 && strncmp(q, "user", 4) == 0) {
			if (decode(u->user, sizeof(u->user), v, vlen) < 0)
				return pk_error_set(err, 0, "%sbad user parameter", label);
		} else {
			return pk_error_set(err, 0,
			                    "%sunknown parameter '%.*s' (expected db, "
			                    "user or password)",
			                    label, (int)(klen < 40 ? klen : 40), q);
		}
		q += n;
		if (*q == '&')
			q++;
	}
	return 0;
}

int pk_redis_url_parse(const char *url, pk_redis_url *u, const char *label, pk_error *err)
{
	const char *p;

	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (strncmp(url, "redis+unix://", 13) == 0 || strncmp(url, "unix://", 7) == 0) {
		const char *q;
		u->is_unix = 1;
		p = strstr(url, "://") + 3;
		if (*p != '/')
			return pk_error_set(err, 0, "%sa socket URL needs an absolute path", label);
		q = strchr(p, '?');
		if (copy(u->path, sizeof(u->path), p, q ? (size_t)(q - p) : strlen(p)) < 0)
			return pk_error_set(err, 0, "%ssocket path too long", label);
		return q != NULL ? parse_query(q + 1, u, label, err) : 0;
	}
	if (strncmp(url, "redis://", 8) != 0)
		return pk_error_set(
			err, 0, "remote url must start with redis://, redis+unix:// or unix://");
	p = url + 8;
	const char *at = strrchr(p, '@');
	if (at != NULL) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		size_t ulen = colon ? (size_t)(colon - p) : (size_t)(at - p);
		if (decode(u->user, sizeof(u->user), p, ulen) < 0)
			return pk_error_set(err, 0, "%sbad user (too long, or a bad %%-escape)",
			                    label);
		if (colon != NULL &&
		    decode(u->pass, sizeof(u->pass), colon + 1, (size_t)(at - colon - 1)) < 0)
			return pk_error_set(err, 0, "%sbad password (too long, or a bad %%-escape)",
			                    label);
		p = at + 1;
	}
	size_t hostlen = strcspn(p, "/");
	const char *hostend = p + hostlen, *portp = NULL;
	if (*p == '[') { /* [v6]:port */
		const char *close = memchr(p, ']', hostlen);
		if (close == NULL || close == p + 1)
			return pk_error_set(err, 0, "%sbad IPv6 address (expected [address])",
			                    label);
		if (copy(u->host, sizeof(u->host), p + 1, (size_t)(close - p - 1)) < 0)
			return pk_error_set(err, 0, "%shost too long", label);
		if (close + 1 < hostend && close[1] != ':')
			return pk_error_set(err, 0, "%sexpected ':' after ']'", label);
		portp = close + 1 < hostend ? close + 2 : NULL;
	} else {
		const char *colon = memchr(p, ':', hostlen);
		size_t n = colon ? (size_t)(colon - p) : hostlen;
		if (n == 0 || copy(u->host, sizeof(u->host), p, n) < 0)
			return pk_error_set(err, 0, "%smissing host", label);
		portp = colon ? colon + 1 : NULL;
	}
	if (portp != NULL) {
		char port[16];
		size_t n = (size_t)(hostend - portp);
		/* Not digits: maybe a password typed without its '@'; not shown. */
		if (n == 0 || copy(port, sizeof(port), portp, n) < 0 ||
		    strspn(port, "0123456789") != n)
			return pk_error_set(err, 0, "%sbad port", label);
		long v = strtol(port, NULL, 10);
		if (v < 1 || v > 65535)
			return pk_error_set(err, 0, "%sbad port '%s'", label, port);
		u->port = (int)v;
	}
	if (*hostend == '/' && hostend[1] != '\0' &&
	    parse_db(hostend + 1, strlen(hostend + 1), &u->db) < 0)
		return pk_error_set(err, 0, "%sbad database number '%.20s'", label, hostend + 1);
	return 0;
}

/* Appends n bytes of s to buf (len bytes, *o used), cut short when full. */
static void put(char *buf, size_t len, size_t *o, const char *s, size_t n)
{
	if (*o >= len)
		return;
	if (n >= len - *o)
		n = len - *o - 1;
	memcpy(buf + *o, s, n);
	*o += n;
	buf[*o] = '\0';
}

/* The part of url from s on, with the value of every "password=" in its
 * query replaced by "***" (or dropped with its parameter when mask is 0). */
static void put_query(char *buf, size_t len, size_t *o, const char *s, int mask)
{
	const char *q = strchr(s, '?');

	if (q == NULL) {
		put(buf, len, o, s, strlen(s));
		return;
	}
	put(buf, len, o, s, (size_t)(q - s));
	int first = 1;
	for (q++;;) {
		size_t n = strcspn(q, "&");
		int pw = strncmp(q, "password=", 9) == 0 && n >= 9;
		if (!pw || mask) {
			put(buf, len, o, first ? "?" : "&", 1);
			if (pw)
				put(buf, len, o, "password=***", 12);
			else
				put(buf, len, o, q, n);
			first = 0;
		}
		if (q[n] == '\0')
			break;
		q += n + 1;
	}
}

const char *pk_redis_url_redact(const char *url, char *buf, size_t len)
{
	const char *sep = strstr(url, "://");
	const char *auth = sep ? sep + 3 : url;
	const char *at = strrchr(auth, '@');
	size_t o = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (at != NULL) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));
		/* mistyped scheme: all before the '@' may be secret; a lone
		 * "word@" is a user now, once a password: hidden all the same */
		if (sep == NULL)
			put(buf, len, &o, "***", 3);
		else {
			put(buf, len, &o, url, (size_t)((colon ? colon + 1 : auth) - url));
			put(buf, len, &o, "***", 3);
		}
		put_query(buf, len, &o, at, 1);
		return buf;
	}
	/* No '@': a password typed without one sits where a port would. */
	const char *end = auth + strcspn(auth, "/?");
	const char *colon = auth[0] == '[' ? NULL : memchr(auth, ':', (size_t)(end - auth));
	if (colon != NULL && strspn(colon + 1, "0123456789") != (size_t)(end - colon - 1)) {
		put(buf, len, &o, url, (size_t)(colon + 1 - url));
		put(buf, len, &o, "***", 3);
		put_query(buf, len, &o, end, 1);
	} else {
		put_query(buf, len, &o, url, 1);
	}
	return buf;
}

int pk_redis_url_strip_password(const char *url, char *buf, size_t len)
{
	const char *sep = strstr(url, "://");
	const char *at = sep ? strrchr(sep + 3, '@') : NULL;
	size_t o = 0;

	if (len == 0)
		return -1;
	buf[0] = '\0';
	if (at == NULL) {
		put_query(buf, len, &o, url, 0);
	} else {
		const char *colon = memchr(sep + 3, ':', (size_t)(at - sep - 3));
		/* "user:" is kept (a password file goes with it); ":pw@" goes
		 * whole; "user@" is a user and stays. */
		if (colon == NULL)
			put(buf, len, &o, url, (size_t)(at - url));
		else if (colon > sep + 3)
			put(buf, len, &o, url, (size_t)(colon + 1 - url));
		else
			put(buf, len, &o, url, (size_t)(sep + 3 - url));
		put_query(buf, len, &o, colon == NULL || colon > sep + 3 ? at : at + 1, 0);
	}
	return o + 1 >= len ? -1 : 0;
}
