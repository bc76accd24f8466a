/* remote_lock.c: the per-key run lock in Redis, without scripting: hardened
 * servers often refuse EVAL (ACL without @scripting).  Taking is SET NX PX;
 * renewing and releasing are compare-and-act transactions: WATCH the lock,
 * GET it, and only when it still holds our token, MULTI / PEXPIRE or DEL /
 * EXEC.  A change by anyone between the WATCH and the EXEC makes the EXEC
 * do nothing, so a lock another host took over is never touched. */
#include "remote_lock.h"

#include "key.h"

#include <stdio.h>
#include <sys/random.h>
#include <unistd.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The error a reply is, in err; -1. */
static int refused(const redisReply *rep, pk_error *err)
{
	return pk_error_set(err, 0, "remote cache: %s",
	                    rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
}

static int holds(const redisReply *rep, const char *token)
{
	return rep->type == REDIS_REPLY_STRING && strcmp(rep->str, token) == 0;
}

static int no_expiry(const redisReply *rep, const char *unused)
{
	(void)unused;
	return rep->type == REDIS_REPLY_INTEGER && rep->integer == -1;
}

/* On one connection: WATCH lk, ASK lk, and when ok(that reply, arg), runs
 * what (argc words) in MULTI/EXEC, which does nothing if lk changed after
 * the WATCH.  Returns 1 when it ran, 0 when not, -1 with err set (a
 * refused command included). */
static int watched(pk_rconn *c, const char *lk, const char *ask,
                   int (*ok)(const redisReply *, const char *), const char *arg, int argc,
                   const char **what, pk_error *err)
{
	pk_rconn_route rt = { 0 };
	redisReply *rep[3];
	int ret = -1, go;

	const char *watch[2] = { "WATCH", lk }, *q[2] = { ask, lk };
	const char *unwatch[1] = { "UNWATCH" }, *multi[1] = { "MULTI" }, *exec[1] = { "EXEC" };
	const char **first[2] = { watch, q }, **second[3] = { multi, what, exec };
	const char **none[1] = { unwatch };
	int firstc[2] = { 2, 2 }, secondc[3] = { 1, argc, 1 }, nonec = 1;

	if (pk_rconn_pipe(c, lk, &rt, 2, firstc, first, NULL, rep, err) < 0)
		return -1;
	if (rep[0]->type == REDIS_REPLY_ERROR || rep[1]->type == REDIS_REPLY_ERROR)
		go = refused(rep[rep[0]->type == REDIS_REPLY_ERROR ? 0 : 1], err);
	else
		go = ok(rep[1], arg);
	freeReplyObject(rep[0]);
	freeReplyObject(rep[1]);
	if (go <= 0) {
		/* the connection must not go on watching the key */
		pk_error ignored;
		if (pk_rconn_pipe(c, lk, &rt, 1, &nonec, none, NULL, rep, &ignored) == 0)
			freeReplyObject(rep[0]);
		return go;
	}
	if (pk_rconn_pipe(c, lk, &rt, 3, secondc, second, NULL, rep, err) < 0)
		return -1;
	/* EXEC: an array when it ran, nil when lk changed meanwhile, an error
	 * when the server refused a command of it. */
	if (rep[2]->type == REDIS_REPLY_ARRAY)
		ret = 1;
	else if (rep[2]->type == REDIS_REPLY_NIL)
		ret = 0;
	else
		refused(rep[rep[1]->type == REDIS_REPLY_ERROR   ? 1
		            : rep[0]->type == REDIS_REPLY_ERROR ? 0
		                                                : 2],
		        err);
	for (int i = 0; i < 3; i++)
		freeReplyObject(rep[i]);
	return ret;
}

/* The renewal thread has its own connections: hiredis contexts are not
 * shared between threads.  Its first failure stops it (the lease then
 * lapses by itself) and is said at unlock. */
static void *renew_loop(void *arg)
{
	pk_rlock *r = arg;
	pk_error err = { 0 };
	pk_rconn *c = NULL;
	char lease[24];
	int failed = 0;

	snprintf(lease, sizeof(lease), "%lld", (long long)r->lease_ms);
	pthread_mutex_lock(&r->mu);
	while (!r->stop) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		int64_t ns = (int64_t)ts.tv_nsec + (r->lease_ms / 3) * 1000000;
		ts.tv_sec += (time_t)(ns / 1000000000);
		ts.tv_nsec = (long)(ns % 1000000000);
		pthread_cond_timedwait(&r->cv, &r->mu, &ts);
		if (r->stop || failed)
			continue;
		pthread_mutex_unlock(&r->mu);
		if (c == NULL)
			c = pk_rconn_open(r->u, r->shown, r->seeds, r->timeout_ms, &err);
		const char *what[3] = { "PEXPIRE", r->key, lease };
		if (c == NULL || watched(c, r->key, "GET", holds, r->token, 3, what, &err) < 0)
			failed = 1;
		pthread_mutex_lock(&r->mu);
		if (failed && !r->failed) {
			r->err = err;
			r->failed = 1;
		}
	}
	pthread_mutex_unlock(&r->mu);
	pk_rconn_close(c);
	return NULL;
}

void pk_rlock_init(pk_rlock *l)
{
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
}

void pk_rlock_destroy(pk_rlock *l)
{
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
}

/* 32 random hex digits: a name or a lock that no other host can share,
 * whatever its pid (containers repeat them) and clock. */
int pk_rlock_token(char out[33])
{
	unsigned char raw[16];

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -1;
	pk_key_digest_hex(raw, out);
	return 0;
}

int pk_rlock_take(pk_rlock *r, const char *key, pk_error *err)
{
	char lease[24];
	redisReply *rep;
	int taken;

	if (r->locked)
		return 1;
	if (strlen(key) >= sizeof(r->key))
		return pk_error_set(err, EINVAL, "remote lock name too long");
	memcpy(r->key, key, strlen(key) + 1);
	/* A token unique to this holder, so only it can renew or release. */
	if (pk_rlock_token(r->token) < 0)
		return pk_error_set(err, errno, "cannot make a lock token");
	snprintf(lease, sizeof(lease), "%lld", (long long)r->lease_ms);
	rep = pk_rconn_cmd(r->c, r->key, 6,
	                   (const char *[]){ "SET", r->key, r->token, "NX", "PX", lease }, NULL,
	                   err);
	if (rep == NULL)
		return -1;
	taken = rep->type == REDIS_REPLY_STATUS; /* OK; nil when held */
	freeReplyObject(rep);
	/* Held with no expiry: not a live host's lock (they are all set with
	 * PX and renewed), one that would make every host wait its whole
	 * --lock-timeout.  Taken over. */
	const char *set[5] = { "SET", r->key, r->token, "PX", lease };
	if (!taken && (taken = watched(r->c, r->key, "PTTL", no_expiry, NULL, 5, set, err)) < 0)
		return -1;
	if (!taken)
		return 0;
	r->locked = 1;
	r->stop = 0;
	r->failed = 0;
	if (pthread_create(&r->renewer, NULL, renew_loop, r) != 0)
		r->locked = 2; /* held without renewal: it lapses after the lease */
	return 1;
}

int pk_rlock_release(pk_rlock *r, pk_error *err)
{
	pk_error mine = { 0 };
	int ret = 0;

	if (r == NULL || !r->locked)
		return 0;
	if (r->locked == 1) {
		pthread_mutex_lock(&r->mu);
		r->stop = 1;
		pthread_cond_signal(&r->cv);
		pthread_mutex_unlock(&r->mu);
		pthread_join(r->renewer, NULL);
	}
	r->locked = 0;
	if (r->failed) {
		mine = r->err;
		ret = -1;
	}
	const char *what[2] = { "DEL", r->key };
	pk_error ignored;
	if (!pk_rconn_broken(r->c) &&
	    watched(r->c, r->key, "GET", holds, r->token, 2, what, ret < 0 ? &ignored : &mine) < 0)
		ret = -1;
	if (ret < 0 && err != NULL)
		*err = mine;
	return ret;
}
