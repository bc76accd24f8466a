/* manifest_note.c: the trace note an entry's metadata carries (see
 * pk_trace_note in manifest.h).  Layout, little-endian: 16-byte manifest
 * key, u8 flags; u32 count and that many inputs (u8 kind, u32 mode,
 * 16-byte hash, u64 size, i64 mtime, u32 length, path); u32 count and that
 * many written paths, then peers (u32 length, bytes each); all of it packed
 * (pk_manifest_zip): a hit reads the entry's metadata whole. */
#include "manifest.h"

#include "buf.h"
#include "bytes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void put_str(pk_buf *b, const char *s)
{
	size_t n = strlen(s);

	pk_buf_put_le(b, n, 4);
	if (pk_buf_reserve(b, n) < 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

int pk_trace_note_encode(const pk_trace_note *n, unsigned char **buf, size_t *len)
{
	pk_buf b = { 0 };

	if (pk_buf_reserve(&b, 16) == 0) {
		memcpy(b.p, n->manifest.bytes, 16);
		b.len = 16;
	}
	pk_buf_put_le(&b, (uint64_t)n->flags, 1);
	pk_buf_put_le(&b, n->ninputs, 4);
	for (size_t i = 0; i < n->ninputs; i++) {
		const pk_mrec *r = &n->inputs[i];
		pk_buf_put_le(&b, (uint64_t)r->kind, 1);
		pk_buf_put_le(&b, r->mode, 4);
		if (pk_buf_reserve(&b, 16) == 0) {
			memcpy(b.p + b.len, r->hash, 16);
			b.len += 16;
		}
		pk_buf_put_le(&b, r->size, 8);
		pk_buf_put_le(&b, (uint64_t)r->mtime_ns, 8);
		put_str(&b, r->path);
	}
	pk_buf_put_le(&b, n->nwritten, 4);
	for (size_t i = 0; i < n->nwritten; i++)
		put_str(&b, n->written[i]);
	pk_buf_put_le(&b, n->npeers, 4);
	for (size_t i = 0; i < n->npeers; i++)
		put_str(&b, n->peers[i]);
	pk_buf z = { 0 };
	if (b.failed || pk_manifest_zip(b.p, b.len, &z) < 0) {
		free(b.p);
		free(z.p);
		errno = ENOMEM;
		return -1;
	}
	free(b.p);
	*buf = z.p;
	*len = z.len;
	return 0;
}

static char *get_str(pk_reader *r)
{
	size_t n = (size_t)pk_read_le(r, 4);
	char *s;

	if (r->bad || r->len - r->at < n || memchr(r->p + r->at, '\0', n) != NULL) {
		r->bad = 1;
		return NULL;
	}
	if ((s = strndup((const char *)r->p + r->at, n)) == NULL)
		r->bad = 1;
	r->at += n;
	return s;
}

/* A count of items of at least min bytes each, or 0 with r->bad. */
static size_t get_count(pk_reader *r, size_t min)
{
	size_t n = (size_t)pk_read_le(r, 4);

	if (n > (r->len - r->at) / min)
		r->bad = 1;
	return r->bad ? 0 : n;
}

static char **get_strs(pk_reader *r, size_t *count)
{
	size_t n = get_count(r, 4);
	char **v = n ? calloc(n, sizeof(*v)) : NULL;

	*count = 0;
	if (n && v == NULL)
		r->bad = 1;
	for (size_t i = 0; i < n && !r->bad; i++)
		if ((v[i] = get_str(r)) != NULL)
			(*count)++;
	return v;
}

int pk_trace_note_decode(const unsigned char *packed, size_t plen, pk_trace_note *n, pk_error *err)
{
	unsigned char *buf = NULL;
	size_t len = 0, count;

	memset(n, 0, sizeof(*n));
	if (pk_manifest_unzip(packed, plen, &buf, &len) < 0 || len < 17) {
		free(buf);
		return pk_error_set(err, 0, "damaged trace record");
	}
	pk_reader r = { buf, len, 0, 0 };
	memcpy(n->manifest.bytes, buf, 16);
	r.at = 16;
	n->flags = (int)pk_read_le(&r, 1);
	count = get_count(&r, 1 + 4 + 16 + 8 + 8 + 4);
	if (count && (n->inputs = calloc(count, sizeof(*n->inputs))) == NULL)
		r.bad = 1;
	for (size_t i = 0; i < count && !r.bad; i++) {
		pk_mrec *m = &n->inputs[i];
		m->kind = (int)pk_read_le(&r, 1);
		m->mode = (uint32_t)pk_read_le(&r, 4);
		if (r.bad || r.len - r.at < 16)
			r.bad = 1;
		else
			memcpy(m->hash, r.p + r.at, 16), r.at += 16;
		m->size = pk_read_le(&r, 8);
		m->mtime_ns = (int64_t)pk_read_le(&r, 8);
		if ((m->path = get_str(&r)) != NULL)
			n->ninputs++;
	}
	if (!r.bad)
		n->written = get_strs(&r, &n->nwritten);
	if (!r.bad)
		n->peers = get_strs(&r, &n->npeers);
	free(buf);
	if (r.bad || r.at != r.len) {
		pk_trace_note_free(n);
		return pk_error_set(err, 0, "damaged trace record");
	}
	return 0;
}

void pk_trace_note_free(pk_trace_note *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->ninputs; i++)
		pk_mrec_free(&n->inputs[i]);
	free(n->inputs);
	for (size_t i = 0; i < n->nwritten; i++)
		free(n->written[i]);
	free(n->written);
	for (size_t i = 0; i < n->npeers; i++)
		free(n->peers[i]);
	free(n->peers);
	memset(n, 0, sizeof(*n));
}
