/* rconn.h: connections to the shared tier's Redis: one server, or a Redis
 * Cluster whose nodes are found as it answers.  Every connection is made,
 * authenticated and given its database by one routine; commands naming a
 * key go to the node that holds the key's slot (CRC16 of the key, or of
 * its {hash tag}, mod 16384), learnt from CLUSTER SLOTS and refreshed on a
 * MOVED reply; MOVED and ASK are followed at most PK_RCONN_MAX_REDIRECTS
 * times per command.  Connections are cached per node for the life of the
 * pk_rconn (one run).
 *
 * The timeout bounds a stall, not a command: a reply may take longer as
 * long as bytes keep moving (ours leaving the socket, or the reply
 * arriving).  After an I/O error or a stall every later call fails at
 * once, so a broken Redis costs one timeout at most.  A pk_rconn is used
 * by one thread at a time. */
#ifndef PK_RCONN_H
#define PK_RCONN_H

#include "error.h"
#include "redis_url.h"

#include <hiredis.h>
#include <stddef.h>
#include <stdint.h>

#define PK_RCONN_MAX_REDIRECTS 5

typedef struct pk_rconn pk_rconn;

/* Connects to the URL's node, or when it does not answer to each node of
 * seeds in turn ("host:port" words separated by commas or blanks; NULL:
 * none), with u's credentials and database.  u is copied.  Returns NULL
 * with err set (err->errnum ETIMEDOUT for a timeout; the message shows the
 * URL redacted as url_shown). */
pk_rconn *pk_rconn_open(const pk_redis_url *u, const char *url_shown, const char *seeds,
                        int64_t timeout_ms, pk_error *err);

/* Checks a seed list's syntax.  Returns 0, or -1 with err set. */
int pk_rconn_seeds_check(const char *seeds, pk_error *err);

/* Runs one command on the node holding key's slot (key NULL: the first
 * node).  Returns the reply, which the caller frees (freeReplyObject), or
 * NULL with err set: for an error reply err->msg is "remote cache: " and
 * the server's words, errnum 0 (see pk_rconn_wrongtype). */
redisReply *pk_rconn_cmd(pk_rconn *c, const char *key, int argc, const char **argv,
                         const size_t *lens, pk_error *err);

/* Where a batch went: the node, and whether it was sent ASKING (the key's
 * slot being moved there).  A transaction's later batches must go the
 * same way as its WATCH. */
typedef struct pk_rconn_route {
	int set, node, asking;
} pk_rconn_route;

/* Runs n commands in one round trip on the node holding key's slot and
 * puts their replies in out (the caller frees each; error replies are
 * returned as replies).  A MOVED or ASK for the first command is
 * followed for the whole batch.  lens: each command's argument lengths
 * (NULL, or a NULL element: C strings).  With rt (may be NULL): when rt->set, the
 * batch goes where rt says and no redirection is followed; else rt is
 * set to where it went.  Returns 0, or -1 with err set (then no reply is
 * left in out). */
int pk_rconn_pipe(pk_rconn *c, const char *key, pk_rconn_route *rt, int n, const int *argc,
                  const char **const argv[], const size_t *const *lens, redisReply **out,
                  pk_error *err);

/* The primaries to SCAN: 1 for a single server, else every primary of
 * the cluster (its slot map loaded).  Returns the count, or -1 with err
 * set. */
int pk_rconn_primaries(pk_rconn *c, pk_error *err);

/* As pk_rconn_cmd, on the i-th primary (0 <= i < pk_rconn_primaries). */
redisReply *pk_rconn_cmd_at(pk_rconn *c, int i, int argc, const char **argv, const size_t *lens,
                            pk_error *err);

/* Non-zero once an I/O error or a stall made every call fail. */
int pk_rconn_broken(const pk_rconn *c);

/* Non-zero when err is a WRONGTYPE reply (a value of another type). */
int pk_rconn_wrongtype(const pk_error *err);

/* The slot of a key (its hash tag's, if it has one), for tests. */
unsigned pk_rconn_slot(const char *key, size_t len);

/* Closes every connection; NULL is fine. */
void pk_rconn_close(pk_rconn *c);

#endif
