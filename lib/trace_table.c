/* trace_table.c: the tracer's records, one per path (a hash table over
 * an arena of path strings, bounded in bytes), the network peers, and their
 * trip through the memory file from the tracer to pickled.  The file is
 * written and read by the same build of pickled, so it holds the structs
 * as they are, between a header and a trailer that say it is whole. */
#include "trace_table.h"

#include "io.h"
#include "trace_path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define MAGIC "PKTRACE1"
#define TRAILER "PKTREND1"

struct wire_head {
	char magic[8];
	uint32_t state;
	int32_t no_new_privs;
	uint64_t calls, stops, processes;
	int32_t wait_status;
	int32_t peers_truncated;
	int64_t started_sec, started_nsec;
	uint64_t nrecs, arena_len, npeers;
	char why[256];
};

struct wire_tail {
	char magic[8];
	uint64_t nrecs;
};

int trace_table_init(struct trace_table *t, size_t max_bytes)
{
	memset(t, 0, sizeof(*t));
	t->max_bytes = max_bytes != 0 ? max_bytes : PK_TRACE_MAX_BYTES;
	t->nslots = 1024;
	t->slots = calloc(t->nslots, sizeof(*t->slots));
	if (t->slots == NULL)
		return -1;
	return 0;
}

void trace_table_destroy(struct trace_table *t)
{
	free(t->recs);
	free(t->slots);
	free(t->arena);
	memset(t, 0, sizeof(*t));
}

void trace_table_fail(struct trace_table *t, pk_trace_state state, const char *fmt, ...)
{
	va_list ap;

	if (t->state != PK_TRACE_COMPLETE)
		return;
	t->state = state;
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap); /* a cut reason still reads */
	va_end(ap);
}

/* Bytes the table holds now. */
static size_t held(const struct trace_table *t)
{
	return t->caprecs * sizeof(*t->recs) + t->nslots * sizeof(*t->slots) + t->arena_cap;
}

/* Whether growing one part to want bytes, while its old size is still
 * held (realloc may copy), stays within the bound. */
static int may_grow(const struct trace_table *t, size_t want)
{
	return held(t) + want <= t->max_bytes;
}

static int refuse(struct trace_table *t)
{
	if (!t->full)
		trace_table_fail(t, PK_TRACE_INCOMPLETE,
		                 "the tree looked at more paths than %zu KiB of records hold",
		                 t->max_bytes >> 10);
	t->full = 1;
	return -1;
}

/* Makes room for one more record and len + 1 bytes of path. */
static int reserve(struct trace_table *t, size_t len)
{
	if (t->nrecs == t->caprecs) {
		size_t cap = t->caprecs ? t->caprecs * 2 : 256;
		if (!may_grow(t, cap * sizeof(*t->recs)))
			return refuse(t);
		struct trace_rec *r = realloc(t->recs, cap * sizeof(*r));
		if (r == NULL)
			return refuse(t);
		t->recs = r;
		t->caprecs = cap;
	}
	if (t->arena_len + len + 1 > t->arena_cap) {
		size_t cap = t->arena_cap ? t->arena_cap * 2 : 64 * 1024;
		while (cap < t->arena_len + len + 1)
			cap *= 2;
		if (!may_grow(t, cap))
			return refuse(t);
		char *a = realloc(t->arena, cap);
		if (a == NULL)
			return refuse(t);
		t->arena = a;
		t->arena_cap = cap;
	}
	if ((t->nrecs + 1) * 2 > t->nslots) {
		size_t n = t->nslots * 2;
		if (!may_grow(t, n * sizeof(*t->slots)))
			return refuse(t);
		uint32_t *s = calloc(n, sizeof(*s));
		if (s == NULL)
			return refuse(t);
		for (size_t i = 0; i < t->nrecs; i++) {
			size_t j = t->recs[i].hash & (n - 1);
			while (s[j] != 0)
				j = (j + 1) & (n - 1);
			s[j] = (uint32_t)(i + 1);
		}
		free(t->slots);
		t->slots = s;
		t->nslots = n;
	}
	return 0;
}

static void first_stat(pk_trace_stat *ps, const char *path, int nofollow)
{
	struct stat st;

	memset(ps, 0, sizeof(*ps));
	if (fstatat(AT_FDCWD, path, &st, nofollow ? AT_SYMLINK_NOFOLLOW : 0) < 0) {
		/* Anything but a clear absence (EACCES on a parent: the tracer is
		 * not root) counts as there: the caller will look again. */
		ps->exists = errno != ENOENT && errno != ENOTDIR;
		return;
	}
	pk_trace_stat_from(ps, &st);
}

uint64_t trace_table_next(struct trace_table *t)
{
	if (t->shared_seq != NULL)
		return t->seq = __atomic_add_fetch(t->shared_seq, 1, __ATOMIC_RELAXED);
	return ++t->seq;
}

/* Lowers *at to seq (0: not set yet). */
static void earliest(uint64_t *at, uint64_t seq)
{
	if (*at == 0 || seq < *at)
		*at = seq;
}

void trace_table_add(struct trace_table *t, uint64_t seq, const char *path, size_t len,
                     uint32_t flags, int nofollow, const pk_trace_stat *first)
{
	uint64_t h;
	size_t j;
	struct trace_rec *r;

	if (pk_trace_pseudo(path, len))
		return;
	if (t->skip != NULL) {
		size_t n = strlen(t->skip);
		if (len > n && memcmp(path, t->skip, n) == 0 && path[n] == '/')
			return;
	}
	h = XXH3_64bits(path, len);
	for (j = h & (t->nslots - 1); t->slots[j] != 0; j = (j + 1) & (t->nslots - 1)) {
		r = &t->recs[t->slots[j] - 1];
		if (r->hash == h && r->len == len && memcmp(t->arena + r->off, path, len) == 0) {
			if (seq < r->first_seq) {
				r->first_seq = seq;
				if (first != NULL)
					r->first = *first;
			}
			goto update;
		}
	}
	if (t->full || reserve(t, len) < 0)
		return;
	/* reserve may have grown the slots: find the free one again. */
	for (j = h & (t->nslots - 1); t->slots[j] != 0; j = (j + 1) & (t->nslots - 1))
		;
	r = &t->recs[t->nrecs];
	memset(r, 0, sizeof(*r));
	r->hash = h;
	r->off = (uint32_t)t->arena_len;
	r->len = (uint32_t)len;
	memcpy(t->arena + t->arena_len, path, len);
	t->arena[t->arena_len + len] = '\0';
	t->arena_len += len + 1;
	r->first_seq = seq;
	if (first != NULL)
		r->first = *first;
	else
		first_stat(&r->first, t->arena + r->off, nofollow);
	t->slots[j] = (uint32_t)(++t->nrecs);
update:
	r->flags |= flags;
	if (flags & PK_TRACE_READS)
		earliest(&r->first_read_seq, seq);
	if (flags & PK_TRACE_WRITES)
		earliest(&r->first_write_seq, seq);
}

void trace_table_peer(struct trace_table *t, const char *addr)
{
	for (size_t i = 0; i < t->npeers; i++)
		if (strcmp(t->peers[i].addr, addr) == 0)
			return;
	if (t->npeers == PK_TRACE_MAX_PEERS) {
		t->peers_truncated = 1;
		return;
	}
	snprintf(t->peers[t->npeers++].addr, sizeof(t->peers[0].addr), "%s", addr);
}

static int by_first_seq(const void *a, const void *b)
{
	const struct trace_rec *x = a, *y = b;
	return (x->first_seq > y->first_seq) - (x->first_seq < y->first_seq);
}

int trace_table_write(struct trace_table *t, int fd)
{
	struct wire_head h;
	struct wire_tail tail;

	/* In first-touch order (the fast path's records came in late).  The
	 * hash slots point into recs: the table is not used after this. */
	if (t->nrecs > 1)
		qsort(t->recs, t->nrecs, sizeof(*t->recs), by_first_seq);

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, MAGIC, sizeof(h.magic));
	h.state = (uint32_t)t->state;
	h.no_new_privs = t->no_new_privs;
	h.calls = t->seq;
	h.stops = t->stops;
	h.processes = t->processes;
	h.wait_status = t->wait_status;
	h.peers_truncated = t->peers_truncated;
	h.started_sec = t->started.tv_sec;
	h.started_nsec = t->started.tv_nsec;
	h.nrecs = t->nrecs;
	h.arena_len = t->arena_len;
	h.npeers = t->npeers;
	memcpy(h.why, t->why, sizeof(h.why));
	memset(&tail, 0, sizeof(tail));
	memcpy(tail.magic, TRAILER, sizeof(tail.magic));
	tail.nrecs = t->nrecs;
	if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	if (pk_write_all(fd, &h, sizeof(h)) < 0 ||
	    pk_write_all(fd, t->recs, t->nrecs * sizeof(*t->recs)) < 0 ||
	    pk_write_all(fd, t->arena, t->arena_len) < 0 ||
	    pk_write_all(fd, t->peers, t->npeers * sizeof(t->peers[0])) < 0 ||
	    pk_write_all(fd, &tail, sizeof(tail)) < 0)
		return -1;
	return 0;
}

static void lost(pk_trace_result *res)
{
	memset(res, 0, sizeof(*res));
	res->state = PK_TRACE_INCOMPLETE;
	snprintf(res->why, sizeof(res->why), "the tracer ended without handing over its records");
}

int trace_table_read(int fd, pk_trace_result *res)
{
	struct wire_head h;
	struct wire_tail tail;
	struct trace_rec *recs = NULL;
	char *arena = NULL;
	struct stat st;
	off_t off = sizeof(h);
	int ret = -1;

	lost(res);
	if (fstat(fd, &st) < 0 || st.st_size < (off_t)(sizeof(h) + sizeof(tail)) ||
	    pk_pread_full(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, MAGIC, sizeof(h.magic)) != 0 || h.npeers > PK_TRACE_MAX_PEERS ||
	    h.nrecs > (uint64_t)st.st_size / sizeof(*recs) || h.arena_len > (uint64_t)st.st_size ||
	    (off_t)(sizeof(h) + h.nrecs * sizeof(*recs) + h.arena_len +
	            h.npeers * sizeof(pk_trace_peer) + sizeof(tail)) != st.st_size)
		return 0;
	recs = malloc(h.nrecs * sizeof(*recs) + 1);
	arena = malloc(h.arena_len + 1);
	res->records = calloc(h.nrecs + 1, sizeof(*res->records));
	res->peers = calloc(h.npeers + 1, sizeof(*res->peers));
	if (recs == NULL || arena == NULL || res->records == NULL || res->peers == NULL)
		goto fail;
	if (pk_pread_full(fd, recs, h.nrecs * sizeof(*recs), off) !=
	            (ssize_t)(h.nrecs * sizeof(*recs)) ||
	    pk_pread_full(fd, arena, h.arena_len, off += h.nrecs * sizeof(*recs)) !=
	            (ssize_t)h.arena_len ||
	    pk_pread_full(fd, res->peers, h.npeers * sizeof(*res->peers), off += h.arena_len) !=
	            (ssize_t)(h.npeers * sizeof(*res->peers)) ||
	    pk_pread_full(fd, &tail, sizeof(tail), off += h.npeers * sizeof(*res->peers)) !=
	            (ssize_t)sizeof(tail) ||
	    memcmp(tail.magic, TRAILER, sizeof(tail.magic)) != 0 || tail.nrecs != h.nrecs)
		goto damaged;
	arena[h.arena_len] = '\0';
	for (size_t i = 0; i < h.nrecs; i++) {
		const struct trace_rec *r = &recs[i];
		pk_trace_record *o = &res->records[i];
		if ((uint64_t)r->off + r->len >= h.arena_len + 1 || arena[r->off + r->len] != '\0')
			goto damaged;
		o->path = arena + r->off;
		o->flags = r->flags;
		o->first_seq = r->first_seq;
		o->first_read_seq = r->first_read_seq;
		o->first_write_seq = r->first_write_seq;
		o->first = r->first;
	}
	for (size_t i = 0; i < h.npeers; i++)
		res->peers[i].addr[sizeof(res->peers[i].addr) - 1] = '\0';
	res->nrecords = h.nrecs;
	res->npeers = h.npeers;
	res->peers_truncated = h.peers_truncated;
	res->state = h.state <= PK_TRACE_UNTRACED ? (pk_trace_state)h.state : PK_TRACE_INCOMPLETE;
	memcpy(res->why, h.why, sizeof(res->why));
	res->why[sizeof(res->why) - 1] = '\0';
	res->no_new_privs = h.no_new_privs;
	res->calls = h.calls;
	res->stops = h.stops;
	res->processes = h.processes;
	res->wait_status = h.wait_status;
	res->started.tv_sec = (time_t)h.started_sec;
	res->started.tv_nsec = (long)h.started_nsec;
	/* The path strings live in one block, owned through records[0]'s
	 * allocation: see pk_trace_result_free. */
	res->records[h.nrecs].path = arena;
	arena = NULL;
	ret = 0;
	goto out;
damaged:
	free(res->records);
	free(res->peers);
	lost(res);
	ret = 0;
	goto out;
fail:
	free(res->records);
	free(res->peers);
	memset(res, 0, sizeof(*res));
	errno = ENOMEM;
out:
	free(recs);
	free(arena);
	return ret;
}
