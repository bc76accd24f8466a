/* rconn.c: Redis connections, cluster routing and stall-bounded round
 * trips (hiredis, blocking sockets). */
#include "rconn.h"
#include "defaults.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#define SLOTS 16384
#define MAX_NODES 250   /* slot_node holds index + 1 in a byte */
#define MAX_TRYAGAIN 20 /* a multi-key command in a slot being moved */

struct node {
	char host[256];
	int port;
	redisContext *ctx;
};

struct pk_rconn {
	pk_redis_url u;
	char shown[600]; /* the URL as messages show it */
	int64_t timeout_ms;
	struct node nodes[MAX_NODES];
	int nnodes, first; /* first: the node that answered at open */
	unsigned char slot_node[SLOTS];
	int cluster; /* the server said it is one */
	int map_loaded;
	int primaries[MAX_NODES], nprimaries;
	int broken, timed_out;
};

/* CRC16-CCITT (XMODEM), the cluster's key hash. */
static uint16_t crc16(const char *s, size_t n)
{
	uint16_t crc = 0;

	for (size_t i = 0; i < n; i++) {
		crc ^= (uint16_t)((unsigned char)s[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
	}
	return crc;
}

unsigned pk_rconn_slot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len);

	if (open != NULL) {
		const char *close = memchr(open + 1, '}', len - (size_t)(open + 1 - key));
		if (close != NULL && close > open + 1)
			return crc16(open + 1, (size_t)(close - open - 1)) & (SLOTS - 1);
	}
	return crc16(key, len) & (SLOTS - 1);
}

int pk_rconn_broken(const pk_rconn *c)
{
	return c->broken;
}

int pk_rconn_wrongtype(const pk_error *err)
{
	return err->errnum == 0 && strstr(err->msg, ": WRONGTYPE") != NULL;
}

static struct timeval tv_of(int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
	return tv;
}

/* The node's index, added when new; -1 when the table is full. */
static int node_index(pk_rconn *c, const char *host, int port)
{
	for (int i = 0; i < c->nnodes; i++)
		if (c->nodes[i].port == port && strcmp(c->nodes[i].host, host) == 0)
			return i;
	if (c->nnodes == MAX_NODES || strlen(host) >= sizeof(c->nodes[0].host))
		return -1;
	snprintf(c->nodes[c->nnodes].host, sizeof(c->nodes[0].host), "%s", host);
	c->nodes[c->nnodes].port = port;
	return c->nnodes++;
}

static const char *node_name(const pk_rconn *c, int i, char *buf, size_t len)
{
	if (i == 0)
		return c->shown;
	snprintf(buf, len, strchr(c->nodes[i].host, ':') ? "[%s]:%d" : "%s:%d", c->nodes[i].host,
	         c->nodes[i].port);
	return buf;
}

/* An I/O failure on node i: every later call fails at once. */
static int io_failed(pk_rconn *c, int i, int timeout, pk_error *err)
{
	char name[300];
	redisContext *x = c->nodes[i].ctx;

	c->broken = 1;
	c->timed_out = timeout;
	if (timeout)
		pk_error_set(err, ETIMEDOUT, "remote cache %s",
		             node_name(c, i, name, sizeof(name)));
	else
		pk_error_set(err, 0, "remote cache %s: %s", node_name(c, i, name, sizeof(name)),
		             x != NULL && x->errstr[0] ? x->errstr : "connection lost");
	return -1;
}

/* Bytes we sent that the peer has not taken yet. */
static int outq(int fd)
{
	int n = 0;

	return ioctl(fd, TIOCOUTQ, &n) == 0 ? n : -1;
}

/* Sends what is queued on node i and reads one reply.  A stall (nothing
 * moving either way for the timeout) fails; a slow link that keeps moving
 * does not. */
static int read_reply(pk_rconn *c, int i, redisReply **out, pk_error *err)
{
	redisContext *x = c->nodes[i].ctx;
	void *rep = NULL;
	int done = 0, last;

	*out = NULL;
	if (redisGetReplyFromReader(x, &rep) != REDIS_OK)
		return io_failed(c, i, 0, err);
	if (rep != NULL) {
		*out = rep;
		return 0;
	}
	/* Each write blocks at most the timeout (SO_SNDTIMEO) and returns
	 * what it could send: only a write moving nothing fails. */
	while (!done)
		if (redisBufferWrite(x, &done) != REDIS_OK)
			return io_failed(c, i, errno == EAGAIN || errno == EWOULDBLOCK, err);
	last = outq(x->fd);
	for (;;) {
		struct pollfd p = { .fd = x->fd, .events = POLLIN };
		int r = poll(&p, 1, (int)c->timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return io_failed(c, i, 0, err);
		if (r == 0) {
			/* Still draining our bytes: a slow link, not a stall. */
			int q = outq(x->fd);
			if (q > 0 && q < last) {
				last = q;
				continue;
			}
			return io_failed(c, i, 1, err);
		}
		if (redisBufferRead(x) != REDIS_OK || redisGetReplyFromReader(x, &rep) != REDIS_OK)
			return io_failed(c, i, errno == EAGAIN || errno == EWOULDBLOCK, err);
		if (rep != NULL) {
			*out = rep;
			return 0;
		}
	}
}

/* One command on node i, waited for. */
static redisReply *simple(pk_rconn *c, int i, int argc, const char **argv, pk_error *err)
{
	redisReply *rep;

	if (redisAppendCommandArgv(c->nodes[i].ctx, argc, argv, NULL) != REDIS_OK) {
		io_failed(c, i, 0, err);
		return NULL;
	}
	return read_reply(c, i, &rep, err) < 0 ? NULL : rep;
}

/* One command of a connection's set-up on node i (AUTH, SELECT): an error
 * reply fails it.  Returns 0, or -1 with err set. */
static int setup_cmd(pk_rconn *c, int i, int argc, const char **argv, pk_error *err)
{
	char name[300];
	redisReply *rep = simple(c, i, argc, argv, err);

	if (rep == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_ERROR) {
		pk_error_set(err, 0, "remote cache %s: %s", node_name(c, i, name, sizeof(name)),
		             rep->str);
		freeReplyObject(rep);
		return -1;
	}
	freeReplyObject(rep);
	return 0;
}

/* Connects node i, authenticates and selects the database: the one place
 * a connection is made.  Returns 0, or -1 with err set. */
static int node_connect(pk_rconn *c, int i, pk_error *err)
{
	struct node *n = &c->nodes[i];
	struct timeval tv = tv_of(c->timeout_ms);
	char name[300];

	if (n->ctx != NULL)
		return 0;
	n->ctx = c->u.is_unix && i == 0 ? redisConnectUnixWithTimeout(c->u.path, tv)
	                                : redisConnectWithTimeout(n->host, n->port, tv);
	if (n->ctx == NULL)
		return pk_error_set(err, ENOMEM, "remote cache");
	if (n->ctx->err) {
		int timeout = n->ctx->err == REDIS_ERR_IO &&
		              (errno == EAGAIN || errno == EINPROGRESS || errno == ETIMEDOUT);
		const char *shown = node_name(c, i, name, sizeof(name));
		if (timeout)
			pk_error_set(err, ETIMEDOUT, "remote cache %s", shown);
		else
			pk_error_set(err, 0, "remote cache %s: %s", shown, n->ctx->errstr);
		redisFree(n->ctx);
		n->ctx = NULL;
		return -1;
	}
	redisSetTimeout(n->ctx, tv);
	/* A user without a password: one with nopass takes any. */
	if (c->u.user[0] != '\0' &&
	    setup_cmd(c, i, 3, (const char *[]){ "AUTH", c->u.user, c->u.pass }, err) < 0)
		goto fail;
	if (c->u.user[0] == '\0' && c->u.pass[0] != '\0' &&
	    setup_cmd(c, i, 2, (const char *[]){ "AUTH", c->u.pass }, err) < 0)
		goto fail;
	if (c->u.db != 0) {
		char db[16];
		snprintf(db, sizeof(db), "%d", c->u.db);
		if (setup_cmd(c, i, 2, (const char *[]){ "SELECT", db }, err) < 0)
			goto fail;
	}
	return 0;
fail:
	redisFree(n->ctx);
	n->ctx = NULL;
	return -1;
}

/* "host:port" (or "[v6]:port") of n bytes into host and port.  Returns 0,
 * or -1 when it is not one. */
static int parse_hostport(const char *s, size_t n, char *host, size_t cap, int *port)
{
	const char *end = s + n, *h = s, *colon = NULL, *ps;
	size_t hlen;
	long v = 0;

	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (close == NULL || close + 1 >= end || close[1] != ':')
			return -1;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		for (const char *p = s; p < end; p++)
			if (*p == ':')
				colon = p;
		if (colon == NULL)
			return -1;
		hlen = (size_t)(colon - s);
	}
	ps = colon + 1;
	if (hlen == 0 || hlen >= cap || ps == end || end - ps > 5)
		return -1;
	for (const char *p = ps; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (int)v;
	return 0;
}

/* Calls fn for each word of a seed list; stops at the first bad one. */
static int each_seed(const char *seeds, int (*fn)(void *ctx, const char *host, int port), void *ctx,
                     pk_error *err)
{
	const char *p = seeds;

	while (p != NULL && *p != '\0') {
		p += strspn(p, ", \t");
		size_t n = strcspn(p, ", \t");
		char host[256];
		int port;
		if (n == 0)
			break;
		if (parse_hostport(p, n, host, sizeof(host), &port) < 0)
			return pk_error_set(err, 0,
			                    "remote seeds: bad node '%.*s' (expected host:port)",
			                    (int)(n < 80 ? n : 80), p);
		if (fn != NULL && fn(ctx, host, port) < 0)
			return pk_error_set(err, 0, "remote seeds: too many nodes");
		p += n;
	}
	return 0;
}

int pk_rconn_seeds_check(const char *seeds, pk_error *err)
{
	return each_seed(seeds, NULL, NULL, err);
}

static int add_seed(void *ctx, const char *host, int port)
{
	return node_index(ctx, host, port) < 0 ? -1 : 0;
}

pk_rconn *pk_rconn_open(const pk_redis_url *u, const char *url_shown, const char *seeds,
                        int64_t timeout_ms, pk_error *err)
{
	pk_rconn *c = calloc(1, sizeof(*c));
	pk_error first = { 0 };

	if (c == NULL) {
		pk_error_set(err, ENOMEM, "remote cache");
		return NULL;
	}
	c->u = *u;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : PK_DEFAULT_REMOTE_TIMEOUT_MS;
	snprintf(c->shown, sizeof(c->shown), "%s", url_shown);
	/* Node 0 is the URL's (for a socket, its path stands for the host). */
	snprintf(c->nodes[0].host, sizeof(c->nodes[0].host), "%s", u->is_unix ? "" : u->host);
	c->nodes[0].port = u->is_unix ? 0 : u->port;
	c->nnodes = 1;
	if (each_seed(seeds, add_seed, c, err) < 0)
		goto fail;
	for (int i = 0; i < c->nnodes; i++) {
		if (node_connect(c, i, i == 0 ? &first : err) == 0) {
			c->first = i;
			return c;
		}
	}
	*err = first; /* the URL's failure says most */
fail:
	pk_rconn_close(c);
	return NULL;
}

/* Loads the slot map from CLUSTER SLOTS on node i.  Returns 1 when the
 * server is a cluster, 0 when it is a single server, -1 with err set. */
static int load_map(pk_rconn *c, int i, pk_error *err)
{
	redisReply *rep;
	int ret = -1;

	if (node_connect(c, i, err) < 0)
		return -1;
	if ((rep = simple(c, i, 2, (const char *[]){ "CLUSTER", "SLOTS" }, err)) == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_ERROR) {
		if (strstr(rep->str, "cluster support disabled") != NULL) {
			ret = 0;
			c->map_loaded = 1;
			c->nprimaries = 1;
			c->primaries[0] = c->first;
		} else {
			pk_error_set(err, 0, "remote cache: %s", rep->str);
		}
		goto out;
	}
	if (rep->type != REDIS_REPLY_ARRAY) {
		pk_error_set(err, 0, "remote cache: unexpected CLUSTER SLOTS reply");
		goto out;
	}
	memset(c->slot_node, 0, sizeof(c->slot_node));
	c->nprimaries = 0;
	for (size_t k = 0; k < rep->elements; k++) {
		redisReply *r = rep->element[k];
		if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
		    r->element[0]->type != REDIS_REPLY_INTEGER ||
		    r->element[1]->type != REDIS_REPLY_INTEGER ||
		    r->element[2]->type != REDIS_REPLY_ARRAY || r->element[2]->elements < 2 ||
		    r->element[2]->element[0]->type != REDIS_REPLY_STRING ||
		    r->element[2]->element[1]->type != REDIS_REPLY_INTEGER)
			continue;
		long long lo = r->element[0]->integer, hi = r->element[1]->integer;
		const char *host = r->element[2]->element[0]->str;
		/* An empty address: the node we asked. */
		int n = node_index(c, host[0] ? host : c->nodes[i].host,
		                   (int)r->element[2]->element[1]->integer);
		if (n < 0 || lo < 0 || hi >= SLOTS || lo > hi)
			continue;
		for (long long s = lo; s <= hi; s++)
			c->slot_node[s] = (unsigned char)(n + 1);
		int seen = 0;
		for (int p = 0; p < c->nprimaries; p++)
			seen |= c->primaries[p] == n;
		if (!seen)
			c->primaries[c->nprimaries++] = n;
	}
	c->cluster = 1;
	c->map_loaded = 1;
	ret = 1;
out:
	freeReplyObject(rep);
	return ret;
}

static int route(const pk_rconn *c, const char *key)
{
	if (!c->cluster || key == NULL)
		return c->first;
	int n = c->slot_node[pk_rconn_slot(key, strlen(key))];
	return n > 0 ? n - 1 : c->first;
}

enum redirect { NONE, MOVED, ASK, TRYAGAIN };

/* What an error reply asks for; *node the node named, added when new. */
static enum redirect redirect_of(pk_rconn *c, int from, const redisReply *rep, int *node,
                                 unsigned *slot)
{
	enum redirect kind;
	char host[256];
	int port;

	if (rep == NULL || rep->type != REDIS_REPLY_ERROR)
		return NONE;
	if (strncmp(rep->str, "TRYAGAIN", 8) == 0)
		return TRYAGAIN;
	if (strncmp(rep->str, "MOVED ", 6) == 0)
		kind = MOVED;
	else if (strncmp(rep->str, "ASK ", 4) == 0)
		kind = ASK;
	else
		return NONE;
	/* "MOVED 3999 127.0.0.1:6381" */
	const char *p = strchr(rep->str, ' ') + 1;
	char *end;
	unsigned long s = strtoul(p, &end, 10);
	if (*end != ' ' || s >= SLOTS)
		return NONE;
	p = end + 1;
	if (*p == ':') { /* the node does not know its address: ours for it */
		snprintf(host, sizeof(host), "%s", c->nodes[from].host);
		port = atoi(p + 1);
	} else if (parse_hostport(p, strlen(p), host, sizeof(host), &port) < 0) {
		return NONE;
	}
	if ((*node = node_index(c, host, port)) < 0)
		return NONE;
	*slot = (unsigned)s;
	return kind;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Runs n commands in one round trip on node (the one routed to, or a
 * primary for a scan), following MOVED, ASK and TRYAGAIN for the whole
 * batch as the first reply asks.  Returns 0 with every reply in out, or
 * -1 with err set and none. */
static int batch(pk_rconn *c, int node, pk_rconn_route *rt, int n, const int *argc,
                 const char **const argv[], const size_t *const *lens, redisReply **out,
                 pk_error *err)
{
	int asking = 0, hops = 0, tries = 0;

	if (rt != NULL && rt->set) {
		node = rt->node;
		asking = rt->asking;
	}

	for (int k = 0; k < n; k++)
		out[k] = NULL;
	for (;;) {
		redisContext *x;
		redisReply *skip;
		int to, k;
		unsigned slot;

		if (c->broken)
			return pk_error_set(err, c->timed_out ? ETIMEDOUT : 0,
			                    "remote cache unavailable");
		if (node_connect(c, node, err) < 0) {
			c->broken = 1;
			return -1;
		}
		x = c->nodes[node].ctx;
		for (k = 0; k < n; k++) {
			if (asking && redisAppendCommand(x, "ASKING") != REDIS_OK)
				return io_failed(c, node, 0, err);
			if (redisAppendCommandArgv(x, argc[k], argv[k], lens ? lens[k] : NULL) !=
			    REDIS_OK)
				return io_failed(c, node, 0, err);
		}
		for (k = 0; k < n; k++) {
			if (asking) {
				if (read_reply(c, node, &skip, err) < 0)
					goto fail;
				freeReplyObject(skip);
			}
			if (read_reply(c, node, &out[k], err) < 0)
				goto fail;
		}
		enum redirect r = redirect_of(c, node, out[0], &to, &slot);
		if (r == NONE || (r == TRYAGAIN && tries >= MAX_TRYAGAIN) || (rt && rt->set)) {
			if (rt != NULL) {
				rt->node = node;
				rt->asking = asking;
				rt->set = 1;
			}
			return 0;
		}
		for (k = 0; k < n; k++) {
			freeReplyObject(out[k]);
			out[k] = NULL;
		}
		if (r == TRYAGAIN) {
			/* Keys of one entry split by a slot migration: it ends soon. */
			tries++;
			sleep_ms(50);
			continue;
		}
		if (++hops > PK_RCONN_MAX_REDIRECTS)
			return pk_error_set(err, 0, "remote cache: more than %d redirections",
			                    PK_RCONN_MAX_REDIRECTS);
		c->cluster = 1;
		asking = r == ASK;
		if (r == MOVED) {
			/* The map changed: learn the rest of it now, not one
			 * MOVED at a time.  A node that cannot tell is no
			 * reason to fail the command. */
			pk_error ignored;
			if (load_map(c, to, &ignored) < 0 && c->broken) {
				*err = ignored;
				return -1;
			}
			c->slot_node[slot] = (unsigned char)(to + 1);
		}
		node = to;
	}
fail:
	for (int k = 0; k < n; k++) {
		if (out[k] != NULL)
			freeReplyObject(out[k]);
		out[k] = NULL;
	}
	return -1;
}

int pk_rconn_pipe(pk_rconn *c, const char *key, pk_rconn_route *rt, int n, const int *argc,
                  const char **const argv[], const size_t *const *lens, redisReply **out,
                  pk_error *err)
{
	return batch(c, route(c, key), rt, n, argc, argv, lens, out, err);
}

/* A reply of type ERROR as a failure. */
static redisReply *checked(redisReply *rep, pk_error *err)
{
	if (rep != NULL && rep->type == REDIS_REPLY_ERROR) {
		pk_error_set(err, 0, "remote cache: %s", rep->str);
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

redisReply *pk_rconn_cmd(pk_rconn *c, const char *key, int argc, const char **argv,
                         const size_t *lens, pk_error *err)
{
	redisReply *rep;
	const char **av[1] = { argv };

	if (batch(c, route(c, key), NULL, 1, &argc, av, &lens, &rep, err) < 0)
		return NULL;
	return checked(rep, err);
}

int pk_rconn_primaries(pk_rconn *c, pk_error *err)
{
	if (c->broken)
		return pk_error_set(err, c->timed_out ? ETIMEDOUT : 0, "remote cache unavailable");
	/* Asked each time for a cluster: a scan must not miss a primary
	 * added since. */
	if ((!c->map_loaded || c->cluster) && load_map(c, c->first, err) < 0)
		return -1;
	return c->nprimaries;
}

redisReply *pk_rconn_cmd_at(pk_rconn *c, int i, int argc, const char **argv, const size_t *lens,
                            pk_error *err)
{
	redisReply *rep;
	const char **av[1] = { argv };

	if (batch(c, c->primaries[i], NULL, 1, &argc, av, &lens, &rep, err) < 0)
		return NULL;
	return checked(rep, err);
}

void pk_rconn_close(pk_rconn *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < c->nnodes; i++)
		if (c->nodes[i].ctx != NULL)
			redisFree(c->nodes[i].ctx);
	free(c);
}
