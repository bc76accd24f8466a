/* relay.c: the bounded buffer between the pipe reader and the recorder.
 *
 * The bytes live in a ring of cap bytes, in the order they were put;
 * segs, a ring of its own, says which stream each run of them belongs to.
 * A segment never wraps: a chunk that does not fit before the end of the
 * ring is put in two.  The reader copies into the free part outside the
 * lock (only it writes there); the relay's thread gives the oldest segment
 * to the sink outside the lock (only it reads there, and nothing is freed
 * until the sink returns). */
#include "relay.h"

#include "io.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* Segments held at most: a command alternating small writes on stdout and
 * stderr makes one per write; past this many the reader waits as for
 * bytes. */
#define NSEG 4096
/* The most the sink is given at once, so that room is freed as it goes. */
#define PIECE (1024 * 1024)

struct seg {
	int stream;
	size_t off, len;
};

struct pk_relay {
	pthread_mutex_t mu;
	pthread_cond_t work; /* the thread: a segment came, or the end */
	pthread_cond_t room; /* the reader: bytes were freed */
	unsigned char *buf;
	size_t cap;
	size_t head, used; /* the oldest byte, and how many are held */
	struct seg segs[NSEG];
	size_t shead, nseg;
	size_t peak;
	int started, joined;
	int closing; /* pk_relay_finish: end once all is given */
	int abandon; /* pk_relay_free: end now */
	int failed;  /* the sink failed: all is dropped */
	pthread_t thread;
	pk_relay_sink sink;
	void *ctx;
};

pk_relay *pk_relay_new(size_t capacity, pk_relay_sink sink, void *ctx, pk_error *err)
{
	pk_relay *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->buf = pk_io_alloc(capacity)) == NULL) {
		free(r);
		pk_error_set(err, ENOMEM, "cannot make the output buffer");
		return NULL;
	}
	r->cap = capacity;
	r->sink = sink;
	r->ctx = ctx;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->work, NULL);
	pthread_cond_init(&r->room, NULL);
	return r;
}

static void *relay_main(void *arg)
{
	pk_relay *r = arg;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (r->nseg == 0 && !r->closing && !r->abandon)
			pthread_cond_wait(&r->work, &r->mu);
		if (r->abandon || r->nseg == 0)
			break;
		struct seg s = r->segs[r->shead];
		size_t take = s.len < PIECE ? s.len : PIECE;
		pthread_mutex_unlock(&r->mu);
		int rc = r->sink(r->ctx, s.stream, r->buf + s.off, take);
		pthread_mutex_lock(&r->mu);
		if (rc != 0) {
			/* Nothing more can be recorded: drop it all, and let the
			 * reader go on at once (its next put says so). */
			r->failed = 1;
			r->nseg = r->used = 0;
			pthread_cond_broadcast(&r->room);
			continue;
		}
		/* The segment may have grown meanwhile (the reader appends to
		 * the newest one): only what was given is freed. */
		struct seg *h = &r->segs[r->shead];
		h->off += take;
		h->len -= take;
		if (h->len == 0) {
			r->shead = (r->shead + 1) % NSEG;
			r->nseg--;
		}
		r->head = (r->head + take) % r->cap;
		r->used -= take;
		pthread_cond_broadcast(&r->room);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Starts the thread with every signal blocked: a signal for pickled must
 * reach the thread that reads the pipes, whose poll it interrupts.  (zstd's
 * workers, started from this thread, inherit the mask.) */
static int start(pk_relay *r, pk_error *err)
{
	sigset_t all, old;
	int e;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&r->thread, NULL, relay_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0)
		return pk_error_set(err, e, "cannot start the recording thread");
	r->started = 1;
	return 0;
}

/* Whether a chunk of stream put at tail can extend the newest segment. */
static int extends_last(const pk_relay *r, int stream, size_t tail)
{
	const struct seg *l;

	if (r->nseg == 0)
		return 0;
	l = &r->segs[(r->shead + r->nseg - 1) % NSEG];
	return l->stream == stream && l->off + l->len == tail;
}

int pk_relay_put(pk_relay *r, int stream, const void *buf, size_t len, pk_error *err)
{
	const unsigned char *p = buf;

	if (!r->started && len > 0 && start(r, err) < 0) {
		r->failed = 1;
		return -1;
	}
	pthread_mutex_lock(&r->mu);
	while (len > 0 && !r->failed) {
		size_t tail;
		for (;;) {
			tail = (r->head + r->used) % r->cap;
			if (r->failed ||
			    (r->used < r->cap && (r->nseg < NSEG || extends_last(r, stream, tail))))
				break;
			pthread_cond_wait(&r->room, &r->mu);
		}
		if (r->failed)
			break;
		/* Empty: start again at the front, so that a command the sink
		 * keeps up with uses the same few pages, warm in the cache. */
		if (r->used == 0)
			r->head = tail = 0;
		size_t k = tail >= r->head ? r->cap - tail : r->head - tail;
		if (k > len)
			k = len;
		pthread_mutex_unlock(&r->mu);
		memcpy(r->buf + tail, p, k);
		pthread_mutex_lock(&r->mu);
		if (r->failed)
			break;
		if (extends_last(r, stream, tail)) {
			r->segs[(r->shead + r->nseg - 1) % NSEG].len += k;
		} else {
			r->segs[(r->shead + r->nseg) % NSEG] = (struct seg){ stream, tail, k };
			r->nseg++;
		}
		r->used += k;
		if (r->used > r->peak)
			r->peak = r->used;
		pthread_cond_signal(&r->work);
		p += k;
		len -= k;
	}
	int failed = r->failed;
	pthread_mutex_unlock(&r->mu);
	return failed ? -1 : 0;
}

/* Tells the thread to end (after the rest, or at once) and waits for it. */
static void stop(pk_relay *r, int now)
{
	if (!r->started || r->joined)
		return;
	pthread_mutex_lock(&r->mu);
	if (now)
		r->abandon = 1;
	r->closing = 1;
	pthread_cond_signal(&r->work);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	r->joined = 1;
}

int pk_relay_finish(pk_relay *r)
{
	stop(r, 0);
	return r->failed ? -1 : 0;
}

size_t pk_relay_peak(const pk_relay *r)
{
	return r->peak;
}

void pk_relay_free(pk_relay *r)
{
	if (r == NULL)
		return;
	stop(r, 1);
	pthread_cond_destroy(&r->room);
	pthread_cond_destroy(&r->work);
	pthread_mutex_destroy(&r->mu);
	pk_io_free(r->buf);
	free(r);
}
