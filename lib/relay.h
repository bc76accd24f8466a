/* relay.h: a bounded buffer between the thread that reads the command's
 * pipes and a thread of its own that records what was read (compresses it
 * into the entry).  Reading and compressing are decoupled: a burst of
 * output up to the buffer's size is taken in at memory speed and recorded
 * while the command goes on (or computes its next burst); only when the
 * buffer is full does the reader wait, and the command with it, as on a
 * slow disk.  Chunks reach the sink in the order they were put, each
 * with its stream: the stored order of stdout and stderr is the order
 * they were read in.  One thread puts; the sink runs on the relay's own
 * thread, started at the first put, with every signal blocked (signals
 * are for the thread that reads the pipes). */
#ifndef PK_RELAY_H
#define PK_RELAY_H

#include "error.h"

#include <stddef.h>

/* What the sink is given: len bytes of stream (1 stdout, 2 stderr).  A
 * chunk put may reach it in several pieces, and consecutive chunks of one
 * stream as one piece.  Returns 0, or non-zero when it failed: the relay
 * then drops everything, and pk_relay_put returns -1 from then on. */
typedef int (*pk_relay_sink)(void *ctx, int stream, const void *buf, size_t len);

typedef struct pk_relay pk_relay;

/* A relay holding up to capacity bytes before
 * pk_relay_put waits.  Returns NULL with err set (no memory). */
pk_relay *pk_relay_new(size_t capacity, pk_relay_sink sink, void *ctx, pk_error *err);

/* Copies len bytes of stream in, waiting for room while the relay is full.
 * Returns 0, or -1 when the sink failed (or the relay's thread could not
 * be started, err set then): nothing more is taken. */
int pk_relay_put(pk_relay *r, int stream, const void *buf, size_t len, pk_error *err);

/* Waits until every byte put has been given to the sink, then ends the
 * relay's thread.  Returns 0, or -1 when the sink failed at some point.
 * No put may follow. */
int pk_relay_finish(pk_relay *r);

/* Ends the relay's thread, dropping what the sink has not been given yet
 * (the piece it is working on is finished first), and frees the relay;
 * NULL is fine. */
void pk_relay_free(pk_relay *r);

/* The largest number of bytes the relay held at once: what a test or the
 * bench can check against its capacity. */
size_t pk_relay_peak(const pk_relay *r);

#endif
