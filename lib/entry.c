/* entry.c: writing and reading entry files. */
#include "entry.h"
#include "entry_impl.h"

#include "bytes.h"
#include "hash.h"
#include "io.h"
#include "outpath.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

_Static_assert(PK_ENTRY_HEADER == 64, "entry_impl.h's header size");

static const unsigned char MAGIC[8] = { 'P', 'K', 'L', 'D', 'E', 'N', 'T', 0 };

#define OUT_BUF (256 * 1024)
#define WRITEBACK_STEP (8u * 1024 * 1024)
#define IO_BUF (1024 * 1024)
/* No single metadata block is this large; a bigger length is corruption. */
#define MAX_META (64 * 1024 * 1024)

struct pk_entry_writer {
	int fd;
	ZSTD_CCtx *cctx;
	unsigned char *out;
	XXH3_state_t xs;
	uint64_t stdio_len, files_len;
	int in_files;              /* the stdio frame has been ended */
	uint64_t written, flushed; /* bytes written, and handed to writeback */
	int failed;
	uint64_t limit; /* the entry file's bound, header included; 0: none */
	uint64_t over;  /* non-zero: the size that passed it */
	uint64_t stdout_bytes, stderr_bytes;
};

static int writer_fail(pk_entry_writer *w, pk_error *err, int errnum, const char *what)
{
	w->failed = 1;
	return pk_error_set(err, errnum, "%s", what);
}

static int emit(pk_entry_writer *w, const void *buf, size_t len, pk_error *err)
{
	/* Checked before the write: a result too large for the cache must not
	 * fill the disk on its way to being refused. */
	if (w->limit > 0 && PK_ENTRY_HEADER + w->written + len > w->limit) {
		w->over = PK_ENTRY_HEADER + w->written + len;
		return writer_fail(w, err, EFBIG, "entry larger than its limit");
	}
	if (pk_write_all(w->fd, buf, len) < 0)
		return writer_fail(w, err, errno, "cannot write entry");
	/* Start writeback as we go, so the fsync before the rename has little
	 * left to wait for. */
	w->written += len;
	if (w->written - w->flushed >= WRITEBACK_STEP) {
		sync_file_range(w->fd, (off_t)(PK_ENTRY_HEADER + w->flushed),
		                (off_t)(w->written - w->flushed), SYNC_FILE_RANGE_WRITE);
		w->flushed = w->written;
	}
	pk_hash_update(&w->xs, buf, len);
	if (w->in_files)
		w->files_len += len;
	else
		w->stdio_len += len;
	return 0;
}

static int compress(pk_entry_writer *w, const void *src, size_t len, ZSTD_EndDirective mode,
                    pk_error *err)
{
	ZSTD_inBuffer in = { src, len, 0 };

	if (w->failed)
		return pk_error_set(err, 0, "entry writer already failed");
	for (;;) {
		ZSTD_outBuffer out = { w->out, OUT_BUF, 0 };
		size_t r = ZSTD_compressStream2(w->cctx, &out, &in, mode);
		if (ZSTD_isError(r))
			return writer_fail(w, err, 0, ZSTD_getErrorName(r));
		if (out.pos > 0 && emit(w, w->out, out.pos, err) < 0)
			return -1;
		if (mode == ZSTD_e_continue ? in.pos == in.size : r == 0)
			return 0;
	}
}

pk_entry_writer *pk_entry_writer_new(int fd, int level, int threads, pk_error *err)
{
	static const unsigned char zero[PK_ENTRY_HEADER];
	pk_entry_writer *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		pk_error_set(err, ENOMEM, "cannot start entry");
		return NULL;
	}
	w->fd = fd;
	w->cctx = ZSTD_createCCtx();
	w->out = pk_io_alloc(OUT_BUF);
	if (w->cctx == NULL || w->out == NULL) {
		pk_error_set(err, ENOMEM, "cannot start entry");
		goto fail;
	}
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 0);
	if (threads > 0)
		ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_nbWorkers, threads);
	XXH3_64bits_reset(&w->xs);
	if (pk_write_all(fd, zero, sizeof(zero)) < 0) {
		pk_error_set(err, errno, "cannot write entry");
		goto fail;
	}
	return w;
fail:
	pk_entry_writer_free(w);
	return NULL;
}

int pk_entry_writer_failed(const pk_entry_writer *w)
{
	return w->failed;
}

void pk_entry_writer_limit(pk_entry_writer *w, uint64_t limit)
{
	w->limit = limit;
}

int pk_entry_writer_over_limit(const pk_entry_writer *w, uint64_t *size)
{
	if (w == NULL || w->over == 0)
		return 0;
	*size = w->over;
	return 1;
}

int pk_entry_writer_stdio(pk_entry_writer *w, int stream, const void *buf, size_t len,
                          pk_error *err)
{
	unsigned char hdr[PK_RECORD_HEAD];

	if (w->in_files)
		return pk_error_set(err, EINVAL, "output after files");
	while (len > 0) {
		size_t n = len > 0x40000000 ? 0x40000000 : len;
		hdr[0] = (unsigned char)stream;
		pk_put_le(hdr + PK_RECORD_AT_LEN, n, 4);
		if (compress(w, hdr, sizeof(hdr), ZSTD_e_continue, err) < 0 ||
		    compress(w, buf, n, ZSTD_e_continue, err) < 0)
			return -1;
		if (stream == PK_STDOUT)
			w->stdout_bytes += n;
		else
			w->stderr_bytes += n;
		buf = (const char *)buf + n;
		len -= n;
	}
	return 0;
}

/* Ends the stdio frame and starts the files frame, once. */
static int start_files(pk_entry_writer *w, pk_error *err)
{
	if (w->in_files)
		return 0;
	if (compress(w, NULL, 0, ZSTD_e_end, err) < 0)
		return -1;
	w->in_files = 1;
	return 0;
}

int pk_entry_writer_file(pk_entry_writer *w, int fd, uint64_t *size, unsigned char sum[16],
                         pk_error *err)
{
	unsigned char *buf;
	uint64_t total = 0;
	off_t off = 0;
	XXH3_state_t xs;
	XXH128_canonical_t c;
	int ret = -1;

	if (start_files(w, err) < 0)
		return -1;
	if ((buf = pk_io_alloc(IO_BUF)) == NULL)
		return writer_fail(w, err, ENOMEM, "cannot store output file");
	/* Hashed on the way: a hit that finds the file still holding this
	 * content leaves it alone (see pk_entry_restore_files). */
	XXH3_128bits_reset(&xs);
	for (;;) {
		ssize_t n = pread(fd, buf, IO_BUF, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pk_error_set(err, errno, "cannot read output file");
			goto out;
		}
		if (n == 0)
			break;
		if (compress(w, buf, (size_t)n, ZSTD_e_continue, err) < 0)
			goto out;
		pk_hash_update(&xs, buf, (size_t)n);
		off += n;
		total += (uint64_t)n;
	}
	*size = total;
	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&xs));
	memcpy(sum, c.digest, 16);
	ret = 0;
out:
	pk_io_free(buf);
	return ret;
}

int pk_entry_writer_finish(pk_entry_writer *w, pk_meta *meta, pk_error *err)
{
	unsigned char hdr[PK_ENTRY_HEADER] = { 0 };
	unsigned char *mbuf = NULL;
	size_t mlen = 0;
	int ret = -1;

	if (w->failed)
		return pk_error_set(err, 0, "entry writer already failed");
	if (!w->in_files) {
		if (compress(w, NULL, 0, ZSTD_e_end, err) < 0)
			return -1;
		w->in_files = 1;
	} else if (w->files_len > 0 || meta->nfiles > 0) {
		if (compress(w, NULL, 0, ZSTD_e_end, err) < 0)
			return -1;
	}
	meta->stdout_bytes = w->stdout_bytes;
	meta->stderr_bytes = w->stderr_bytes;
	if (pk_meta_encode(meta, &mbuf, &mlen) < 0)
		return pk_error_set(err, ENOMEM, "cannot encode metadata");
	if (w->limit > 0 && PK_ENTRY_HEADER + w->written + mlen > w->limit) {
		w->over = PK_ENTRY_HEADER + w->written + mlen;
		writer_fail(w, err, EFBIG, "entry larger than its limit");
		goto out;
	}
	if (pk_write_all(w->fd, mbuf, mlen) < 0) {
		writer_fail(w, err, errno, "cannot write entry");
		goto out;
	}
	pk_hash_update(&w->xs, mbuf, mlen);
	memcpy(hdr + PK_ENTRY_AT_MAGIC, MAGIC, sizeof(MAGIC));
	pk_put_le(hdr + PK_ENTRY_AT_VERSION, PK_ENTRY_VERSION, 4);
	pk_put_le(hdr + PK_ENTRY_AT_HEADER_SIZE, PK_ENTRY_HEADER, 4);
	pk_put_le(hdr + PK_ENTRY_AT_STDIO_LEN, w->stdio_len, 8);
	pk_put_le(hdr + PK_ENTRY_AT_FILES_LEN, w->files_len, 8);
	pk_put_le(hdr + PK_ENTRY_AT_META_LEN, mlen, 8);
	pk_put_le(hdr + PK_ENTRY_AT_CHECKSUM,
	          XXH3_64bits_withSeed(hdr, PK_ENTRY_AT_CHECKSUM, XXH3_64bits_digest(&w->xs)), 8);
	if (pwrite(w->fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr)) {
		writer_fail(w, err, errno ? errno : EIO, "cannot write entry");
		goto out;
	}
	ret = 0;
out:
	free(mbuf);
	return ret;
}

void pk_entry_writer_free(pk_entry_writer *w)
{
	if (w == NULL)
		return;
	ZSTD_freeCCtx(w->cctx);
	pk_io_free(w->out);
	free(w);
}


/* Reads exactly len bytes at off.  Returns 0, or -1 with err set: the
 * system's error, or "entry truncated" (errnum 0) when the file ends
 * sooner, as it does when it shrank since its size was taken; never an
 * errno some earlier call left behind. */
static int read_exact(int fd, void *buf, size_t len, off_t off, pk_error *err)
{
	ssize_t n = pk_pread_full(fd, buf, len, off);

	if (n == (ssize_t)len)
		return 0;
	if (n < 0)
		return pk_error_set(err, errno, "cannot read entry");
	return pk_error_set(err, 0, "entry truncated");
}

/* Checks a header against the file size; fills the region lengths. */
static int parse_header(const unsigned char *h, uint64_t size, uint64_t len[3], pk_error *err)
{
	if (memcmp(h + PK_ENTRY_AT_MAGIC, MAGIC, sizeof(MAGIC)) != 0)
		return pk_error_set(err, 0, "not a pickled entry");
	if (pk_get_le(h + PK_ENTRY_AT_VERSION, 4) != PK_ENTRY_VERSION ||
	    pk_get_le(h + PK_ENTRY_AT_HEADER_SIZE, 4) != PK_ENTRY_HEADER)
		return pk_error_set(err, 0, "entry version %u not supported",
		                    (unsigned)pk_get_le(h + PK_ENTRY_AT_VERSION, 4));
	len[0] = pk_get_le(h + PK_ENTRY_AT_STDIO_LEN, 8);
	len[1] = pk_get_le(h + PK_ENTRY_AT_FILES_LEN, 8);
	len[2] = pk_get_le(h + PK_ENTRY_AT_META_LEN, 8);
	if (len[2] > MAX_META || len[0] > size || len[1] > size ||
	    PK_ENTRY_HEADER + len[0] + len[1] + len[2] != size)
		return pk_error_set(err, 0, "entry truncated or damaged");
	return 0;
}

int pk_entry_read_meta(int fd, pk_meta *meta, uint64_t *stored, pk_error *err)
{
	unsigned char h[PK_ENTRY_HEADER], small[4096], *mbuf = small;
	uint64_t len[3];
	struct stat st;
	int ret = -1;

	memset(meta, 0, sizeof(*meta));
	if (fstat(fd, &st) < 0)
		return pk_error_set(err, errno, "cannot read entry");
	if (!S_ISREG(st.st_mode))
		return pk_error_set(err, 0, "entry is not a regular file");
	*stored = (uint64_t)st.st_size;
	if (st.st_size < PK_ENTRY_HEADER)
		return pk_error_set(err, 0, "entry truncated");
	/* A small entry in one read: listing a large cache is mostly this. */
	if (*stored <= sizeof(small)) {
		if (read_exact(fd, small, (size_t)*stored, 0, err) < 0)
			return -1;
		memcpy(h, small, sizeof(h));
		if (parse_header(h, *stored, len, err) < 0)
			return -1;
		return pk_meta_decode(small + (*stored - len[2]), len[2], meta, err);
	}
	if (read_exact(fd, h, sizeof(h), 0, err) < 0)
		return -1;
	if (parse_header(h, *stored, len, err) < 0)
		return -1;
	if (len[2] > sizeof(small) && (mbuf = malloc(len[2])) == NULL)
		return pk_error_set(err, ENOMEM, "cannot read entry");
	if (read_exact(fd, mbuf, len[2], (off_t)(*stored - len[2]), err) == 0)
		ret = pk_meta_decode(mbuf, len[2], meta, err);
	if (mbuf != small)
		free(mbuf);
	return ret;
}

int pk_entry_read_meta_key(int fd, const pk_key *key, pk_meta *meta, uint64_t *stored,
                           pk_error *err)
{
	if (pk_entry_read_meta(fd, meta, stored, err) < 0)
		goto fail;
	if (pk_key_equal(&meta->key, key))
		return 0;
	pk_error_set(err, 0, "entry holds another key");
fail:
	pk_meta_free(meta);
	return -1;
}

pk_entry *pk_entry_open_key(int fd, const pk_key *key, int deep, pk_error *err)
{
	pk_entry *e = pk_entry_open(fd, err);

	/* The checksum first: a damaged field must not pass for another
	 * key's entry, or for an expired one, and go unreported. */
	if (e == NULL || pk_entry_verify(e, deep, err) < 0 || pk_entry_check_key(e, key, err) < 0) {
		pk_entry_close(e);
		return NULL;
	}
	return e;
}

int pk_entry_check_key(const pk_entry *e, const pk_key *key, pk_error *err)
{
	if (pk_key_equal(&e->meta.key, key))
		return 0;
	return pk_error_set(err, 0, "entry holds another key");
}

pk_entry *pk_entry_open(int fd, pk_error *err)
{
	uint64_t len[3];
	pk_entry *e = calloc(1, sizeof(*e));
	struct stat st;
	unsigned char *mbuf = NULL;

	if (e == NULL) {
		pk_error_set(err, ENOMEM, "cannot open entry");
		return NULL;
	}
	e->fd = fd;
	if (fstat(fd, &st) < 0) {
		pk_error_set(err, errno, "cannot read entry");
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		pk_error_set(err, 0, "entry is not a regular file");
		goto fail;
	}
	e->size = (uint64_t)st.st_size;
	if (e->size < PK_ENTRY_HEADER) {
		pk_error_set(err, 0, "entry truncated");
		goto fail;
	}
	if (e->size <= SMALL_ENTRY) {
		if ((e->whole = pk_io_alloc(e->size)) == NULL) {
			pk_error_set(err, ENOMEM, "cannot read entry");
			goto fail;
		}
		if (read_exact(fd, e->whole, e->size, 0, err) < 0)
			goto fail;
		memcpy(e->header, e->whole, PK_ENTRY_HEADER);
	} else if (read_exact(fd, e->header, PK_ENTRY_HEADER, 0, err) < 0) {
		goto fail;
	}
	if (parse_header(e->header, e->size, len, err) < 0)
		goto fail;
	e->stdio_len = len[0];
	e->files_len = len[1];
	e->meta_len = len[2];
	e->checksum = pk_get_le(e->header + PK_ENTRY_AT_CHECKSUM, 8);
	if (e->whole) {
		mbuf = e->whole + (e->size - e->meta_len);
	} else {
		if ((mbuf = malloc(e->meta_len ? e->meta_len : 1)) == NULL) {
			pk_error_set(err, ENOMEM, "cannot read entry");
			goto fail;
		}
		if (read_exact(fd, mbuf, e->meta_len, (off_t)(e->size - e->meta_len), err) < 0) {
			free(mbuf);
			goto fail;
		}
	}
	if (pk_meta_decode(mbuf, e->meta_len, &e->meta, err) < 0) {
		if (!e->whole)
			free(mbuf);
		goto fail;
	}
	if (!e->whole)
		free(mbuf);
	return e;
fail:
	pk_entry_close(e);
	return NULL;
}

const pk_meta *pk_entry_meta(const pk_entry *e)
{
	return &e->meta;
}

uint64_t pk_entry_stored_bytes(const pk_entry *e)
{
	return e->size;
}

/* Calls fn on successive pieces of the file region [off, off+len). */
int entry_read_region(pk_entry *e, uint64_t off, uint64_t len,
                      int (*fn)(void *, const unsigned char *, size_t, pk_error *), void *ctx,
                      pk_error *err)
{
	if (e->whole)
		return fn(ctx, e->whole + off, (size_t)len, err);
	if (e->inbuf == NULL && (e->inbuf = pk_io_alloc(IO_BUF)) == NULL)
		return pk_error_set(err, ENOMEM, "cannot read entry");
	while (len > 0) {
		size_t want = len > IO_BUF ? IO_BUF : (size_t)len;
		if (read_exact(e->fd, e->inbuf, want, (off_t)off, err) < 0)
			return -1;
		if (fn(ctx, e->inbuf, want, err) < 0)
			return -1;
		off += want;
		len -= want;
	}
	return 0;
}

int entry_hash_piece(void *ctx, const unsigned char *p, size_t n, pk_error *err)
{
	(void)err;
	pk_hash_update(ctx, p, n);
	return 0;
}

int pk_entry_redate(pk_entry *e, int64_t created_ms, pk_error *err)
{
	unsigned char *mbuf = NULL;
	uint64_t off = e->size - e->meta_len;
	XXH3_state_t xs;
	size_t mlen;
	int ret = -1;

	e->meta.created_ms = created_ms;
	if (pk_meta_encode(&e->meta, &mbuf, &mlen) < 0)
		return pk_error_set(err, ENOMEM, "cannot encode metadata");
	XXH3_64bits_reset(&xs);
	if (entry_read_region(e, PK_ENTRY_HEADER, off - PK_ENTRY_HEADER, entry_hash_piece, &xs,
	                      err) < 0)
		goto out;
	pk_hash_update(&xs, mbuf, mlen);
	pk_put_le(e->header + 32, mlen, 8);
	pk_put_le(e->header + 56, XXH3_64bits_withSeed(e->header, 56, XXH3_64bits_digest(&xs)), 8);
	if (ftruncate(e->fd, (off_t)off) < 0 ||
	    pwrite(e->fd, mbuf, mlen, (off_t)off) != (ssize_t)mlen ||
	    pwrite(e->fd, e->header, PK_ENTRY_HEADER, 0) != PK_ENTRY_HEADER) {
		pk_error_set(err, errno ? errno : EIO, "cannot rewrite entry");
		goto out;
	}
	ret = 0;
out:
	free(mbuf);
	return ret;
}

/* Decompression: feeds compressed pieces through a DCtx and hands every
 * decompressed piece to a sink. */
struct inflate {
	pk_entry *e;
	ZSTD_DCtx *dctx;
	int (*sink)(void *, const unsigned char *, size_t, pk_error *);
	void *sink_ctx;
	size_t last;      /* last ZSTD_decompressStream result: 0 at frame end */
	XXH3_state_t *xs; /* non-NULL: the compressed pieces are hashed too */
};

static int inflate_piece(void *ctx, const unsigned char *p, size_t n, pk_error *err)
{
	struct inflate *z = ctx;
	ZSTD_inBuffer in = { p, n, 0 };

	if (z->xs != NULL)
		pk_hash_update(z->xs, p, n);
	while (in.pos < in.size) {
		ZSTD_outBuffer out = { z->e->outbuf, z->e->outcap, 0 };
		size_t r = ZSTD_decompressStream(z->dctx, &out, &in);
		if (ZSTD_isError(r))
			return pk_error_set(err, 0, "entry damaged: %s", ZSTD_getErrorName(r));
		z->last = r;
		if (out.pos > 0 && z->sink(z->sink_ctx, z->e->outbuf, out.pos, err) < 0)
			return -1;
		if (r == 0 && in.pos < in.size)
			return pk_error_set(err, 0, "entry damaged: data after frame");
	}
	/* Drain what the decoder still holds without more input. */
	for (;;) {
		ZSTD_outBuffer out = { z->e->outbuf, z->e->outcap, 0 };
		ZSTD_inBuffer none = { NULL, 0, 0 };
		size_t r;
		if (z->last == 0)
			break;
		r = ZSTD_decompressStream(z->dctx, &out, &none);
		if (ZSTD_isError(r))
			return pk_error_set(err, 0, "entry damaged: %s", ZSTD_getErrorName(r));
		z->last = r;
		if (out.pos == 0)
			break;
		if (z->sink(z->sink_ctx, z->e->outbuf, out.pos, err) < 0)
			return -1;
	}
	return 0;
}

/* Decompresses [off, off+len) into sink; with xs, hashes what it reads
 * into xs on the way. */
int entry_inflate_region(pk_entry *e, uint64_t off, uint64_t len,
                         int (*sink)(void *, const unsigned char *, size_t, pk_error *),
                         void *sink_ctx, XXH3_state_t *xs, pk_error *err)
{
	struct inflate z = { e, NULL, sink, sink_ctx, 1, xs };
	int ret;

	if (len == 0)
		return 0;
	/* A small entry needs no large buffer: fewer pages to fault in. */
	if (e->outbuf == NULL) {
		e->outcap = e->whole ? 128 * 1024 : IO_BUF;
		if ((e->outbuf = pk_io_alloc(e->outcap)) == NULL)
			return pk_error_set(err, ENOMEM, "cannot read entry");
	}
	if ((z.dctx = ZSTD_createDCtx()) == NULL)
		return pk_error_set(err, ENOMEM, "cannot read entry");
	ret = entry_read_region(e, off, len, inflate_piece, &z, err);
	if (ret == 0 && z.last != 0)
		ret = pk_error_set(err, 0, "entry damaged: frame truncated");
	ZSTD_freeDCtx(z.dctx);
	return ret;
}

/* Parses stdio records across piece boundaries. */
struct records {
	int fds[3];
	unsigned char hdr[PK_RECORD_HEAD];
	size_t have;   /* header bytes collected */
	uint64_t left; /* payload bytes left in the current record */
	int stream;
	uint64_t rest[3]; /* bytes of each stream not yet replayed */
	int failed;       /* errno of the first write that failed */
};

/* 1 once a failed write leaves nothing more to replay anywhere. */
static int records_done(const struct records *r)
{
	for (int s = PK_STDOUT; s <= PK_STDERR; s++)
		if (r->fds[s] >= 0 && r->rest[s] > 0)
			return 0;
	return 1;
}

static int records_piece(void *ctx, const unsigned char *p, size_t n, pk_error *err)
{
	struct records *r = ctx;

	while (n > 0) {
		if (r->left == 0) {
			size_t take = PK_RECORD_HEAD - r->have < n ? PK_RECORD_HEAD - r->have : n;
			memcpy(r->hdr + r->have, p, take);
			r->have += take;
			p += take;
			n -= take;
			if (r->have < PK_RECORD_HEAD)
				break;
			r->have = 0;
			r->stream = r->hdr[0];
			r->left = pk_get_le(r->hdr + PK_RECORD_AT_LEN, 4);
			if (r->stream != PK_STDOUT && r->stream != PK_STDERR)
				return pk_error_set(err, 0, "entry damaged: bad record");
			continue;
		}
		size_t k = r->left < n ? (size_t)r->left : n;
		int fd = r->fds[r->stream];
		/* Never more than the entry declares: a forged frame that
		 * expands without end stops here, before a byte too many. */
		if (k > r->rest[r->stream])
			return pk_error_set(err, 0, "entry damaged: more output than declared");
		/* A stream that cannot be written is given up alone: the other
		 * still gets every byte, as it would from the bare command. */
		if (fd >= 0 && pk_write_all(fd, p, k) < 0) {
			if (r->failed == 0)
				r->failed = errno;
			r->fds[r->stream] = -1;
		}
		r->rest[r->stream] -= k;
		if (r->failed != 0 && records_done(r))
			return pk_error_set(err, r->failed, "cannot write output");
		p += k;
		n -= k;
		r->left -= k;
	}
	return 0;
}

/* Counts down the file bytes the entry declares (ctx: uint64_t left). */
static int discard_piece(void *ctx, const unsigned char *p, size_t n, pk_error *err)
{
	uint64_t *left = ctx;

	(void)p;
	if (n > *left)
		return pk_error_set(err, 0, "entry damaged: more file data than declared");
	*left -= n;
	return 0;
}

int pk_entry_verify(pk_entry *e, int deep, pk_error *err)
{
	XXH3_state_t xs;
	uint64_t sum;

	if (!e->verified) {
		XXH3_64bits_reset(&xs);
		if (entry_read_region(e, PK_ENTRY_HEADER, e->size - PK_ENTRY_HEADER,
		                      entry_hash_piece, &xs, err) < 0)
			return -1;
		sum = XXH3_64bits_withSeed(e->header, PK_ENTRY_AT_CHECKSUM,
		                           XXH3_64bits_digest(&xs));
		if (sum != e->checksum)
			return pk_error_set(err, 0, "entry checksum mismatch");
		e->verified = 1;
	}
	if (deep) {
		struct records r = { .fds = { -1, -1, -1 },
			             .rest = { 0, e->meta.stdout_bytes, e->meta.stderr_bytes } };
		if (entry_inflate_region(e, PK_ENTRY_HEADER, e->stdio_len, records_piece, &r, NULL,
		                         err) < 0)
			return -1;
		if (r.have != 0 || r.left != 0)
			return pk_error_set(err, 0, "entry damaged: last record cut short");
		uint64_t files =
			pk_meta_raw_bytes(&e->meta) - e->meta.stdout_bytes - e->meta.stderr_bytes;
		if (entry_inflate_region(e, PK_ENTRY_HEADER + e->stdio_len, e->files_len,
		                         discard_piece, &files, NULL, err) < 0)
			return -1;
	}
	return 0;
}

int pk_entry_replay(pk_entry *e, int out_fd, int err_fd, pk_error *err)
{
	struct records r = { .fds = { -1, out_fd, err_fd } };

	if (!e->verified && pk_entry_verify(e, 0, err) < 0)
		return -1;
	r.rest[PK_STDOUT] = e->meta.stdout_bytes;
	r.rest[PK_STDERR] = e->meta.stderr_bytes;
	if (e->size > SMALL_ENTRY)
		posix_fadvise(e->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (entry_inflate_region(e, PK_ENTRY_HEADER, e->stdio_len, records_piece, &r, NULL, err) <
	    0)
		return -1;
	if (r.have != 0 || r.left != 0)
		return pk_error_set(err, 0, "entry damaged: last record cut short");
	if (r.failed != 0)
		return pk_error_set(err, r.failed, "cannot write output");
	return 0;
}

void pk_entry_close(pk_entry *e)
{
	if (e == NULL)
		return;
	pk_meta_free(&e->meta);
	pk_io_free(e->whole);
	pk_io_free(e->inbuf);
	pk_io_free(e->outbuf);
	free(e);
}
