/* run_store.c: recording and storing a miss's result (see run_store.h). */
#include "run_store.h"

#include "gc.h"
#include "inputs.h"
#include "meta.h"
#include "outpath.h"
#include "outtree.h"
#include "stats.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The output buffered between the pipes and the compression (see relay.h):
 * a burst this large is taken in at memory speed while the command runs,
 * and compressed during its next pause.  Weighed against the 32 MiB a miss
 * may use at most: without the buffer a miss peaks at about 15 MiB, most
 * of it zstd's buffers for its two workers at level 1 (bench/README.md);
 * a buffer filled by a fast producer adds its whole size, so 12 MiB brings
 * the peak to about 27 MiB, leaving 5 MiB for another zstd version or
 * more workers.  (16 MiB measured 31 MiB: too close.)  A 10 MiB burst fits
 * with room to spare, compression draining it as it comes.  A command the
 * compression keeps up with uses only the buffer's first pages. */
#define RELAY_BYTES (12u * 1024 * 1024)

void run_not_stored(const run_store_sink *s, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	run_warn(s->m, "result not stored: %s", msg);
	s->rec->store_failures++;
	if (s->store != NULL)
		pk_stats_add(s->store, PK_STAT_STORE_FAIL, 0);
}

/* The entry cannot be completed (a full disk, a file size limit, a result
 * larger than the cache allows): its temporary goes at once, emptied
 * first since an open file keeps its blocks, so that a command still
 * printing does not keep the disk full until it ends. */
static void recording_failed(run_store *s)
{
	s->failed = 1;
	if (s->fd >= 0 && ftruncate(s->fd, 0) < 0) {
		/* unlinked below all the same; closed at the end of the run */
	}
	if (s->fd >= 0 && !s->unlinked)
		unlinkat(s->sink.store->dirfd, s->tmp, 0);
	s->unlinked = 1;
}

/* The relay's sink, on its thread: compresses into the entry.  A failure
 * frees the disk at once; the reader learns of it at its next put. */
static int record_sink(void *ctx, int stream, const void *buf, size_t len)
{
	run_store *s = ctx;

	if (pk_entry_writer_stdio(s->w, stream, buf, len, &s->err) < 0) {
		recording_failed(s);
		return -1;
	}
	return 0;
}

int run_store_chunk(void *ctx, int stream, const void *buf, size_t len)
{
	run_store *s = ctx;

	if (s->relay != NULL && !s->put_failed &&
	    pk_relay_put(s->relay, stream, buf, len, &s->put_err) < 0)
		s->put_failed = 1;
	return 0;
}

/* Waits until all the output is compressed.  Returns 0, or -1 with
 * s->failed set and s->err saying why. */
static int record_finish(run_store *s)
{
	if (pk_relay_finish(s->relay) == 0)
		return 0;
	if (!s->failed) {
		/* the thread could not be started */
		s->err = s->put_err;
		recording_failed(s);
	}
	return -1;
}

/* The largest entry this run may store: max_entry, and never more than the
 * whole cache (an entry over max_size would make gc evict every other
 * one, then it).  Sets *which to the setting's name; 0: no bound. */
static uint64_t entry_limit(const pk_run_opts *o, const char **which)
{
	*which = "max_entry";
	if (o->max_size > 0 && (o->max_entry == 0 || o->max_size <= o->max_entry)) {
		*which = "max_size";
		return o->max_size;
	}
	return o->max_entry;
}

/* Says why the entry could not be written. */
static void entry_not_stored(run_store *s, const pk_error *err)
{
	char buf[PK_ERROR_STR_LEN];
	const char *which;
	uint64_t size, limit = entry_limit(s->o, &which);

	if (pk_entry_writer_over_limit(s->w, &size))
		run_not_stored(&s->sink, "%llu bytes is more than %s %llu",
		               (unsigned long long)size, which, (unsigned long long)limit);
	else
		run_not_stored(&s->sink, "%s", pk_error_str(err, buf, sizeof(buf)));
}

/* Asked only on a miss: a hit never needs it. */
static int auto_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	/* One core: compress inline; more: zstd workers keep the pipes drained. */
	return n <= 1 ? 0 : (n > 4 ? 4 : (int)n);
}

int run_store_begin(run_store *s, const run_store_sink *sink, const pk_run_opts *o,
                    const pk_key *key, const pk_key_parts *parts, pk_error *err)
{
	const char *which;

	memset(s, 0, sizeof(*s));
	s->sink = *sink;
	s->o = o;
	s->key = key;
	s->parts = parts;
	s->created_ms = pk_now_ms();
	s->fd = pk_store_tmp_create(sink->store, s->tmp, sizeof(s->tmp), err);
	if (s->fd < 0)
		return -1;
	s->w = pk_entry_writer_new(s->fd, o->level, o->threads > 0 ? o->threads : auto_threads(),
	                           &s->err);
	if (s->w == NULL || (s->relay = pk_relay_new(RELAY_BYTES, record_sink, s, &s->err)) == NULL)
		recording_failed(s);
	else
		pk_entry_writer_limit(s->w, entry_limit(o, &which));
	return 0;
}

/* Records in m where the command left the stdin it read from a file: the
 * caller's regular file (read in place, or left to the command), or the
 * spool holding a pipe's bytes, which tells as much.  A pipe the command
 * read itself (--no-stdin) leaves nothing to record. */
static void note_stdin(pk_meta *m, int fd, off_t start)
{
	struct stat st;
	off_t pos;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (pos = lseek(fd, 0, SEEK_CUR)) < 0)
		return;
	m->stdin_known = 1;
	m->stdin_at_end = pos >= st.st_size;
	m->stdin_read = pos > start ? (uint64_t)(pos - start) : 0;
}

/* Stores a regular file of a declared directory (see pk_outtree_read). */
static int store_member(void *ctx, int fd, pk_outmember *mb, pk_error *err)
{
	return pk_entry_writer_file(ctx, fd, &mb->size, mb->sum, err);
}

/* Adds the declared output files to the entry.  Returns 0, or -1 after a
 * warning. */
static int add_outputs(run_store *s, pk_meta *m)
{
	const pk_run_opts *o = s->o;
	pk_error err = { 0 };
	char buf[PK_ERROR_STR_LEN];

	if (o->noutputs == 0)
		return 0;
	if ((m->files = calloc(o->noutputs, sizeof(*m->files))) == NULL) {
		run_not_stored(&s->sink, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < o->noutputs; i++) {
		const char *path = o->outputs[i];
		struct stat st;
		/* By descriptor, and not through a link another user could
		 * have planted: see outpath.h. */
		int fd = pk_outpath_open_read(path, &st, &err);

		if (fd < 0) {
			/* A failed run that wrote no output file did what failed
			 * runs do: not stored (a hit could not recreate the file's
			 * absence), and nothing to warn about. */
			if (err.errnum == ENOENT && m->exit_status != 0)
				run_explain(s->sink.m, "not stored: the failed run produced no %s",
				            path);
			else if (err.errnum == ENOENT)
				run_not_stored(&s->sink, "output not produced: %s", path);
			else if (err.errnum == 0)
				run_not_stored(&s->sink,
				               "output is not a regular file or directory: %s",
				               path);
			else
				run_not_stored(&s->sink, "cannot read output: %s",
				               pk_error_str(&err, buf, sizeof(buf)));
			return -1;
		}
		m->files[i].path = o->outputs[i];
		m->files[i].mode = (uint32_t)(st.st_mode & 0777);
		m->nfiles = i + 1;
		int rc;
		if (S_ISDIR(st.st_mode)) {
			rc = pk_outtree_read(fd, path, &m->files[i], store_member, s->w, &err);
		} else {
			rc = pk_entry_writer_file(s->w, fd, &m->files[i].size, m->files[i].sum,
			                          &err);
			m->files[i].has_sum = 1;
		}
		close(fd);
		if (rc < 0 && err.errnum == 0 && !pk_entry_writer_failed(s->w)) {
			/* A FIFO, socket or device in the tree: a hit could not
			 * make it again. */
			run_not_stored(&s->sink, "output cannot be stored: %s", err.msg);
			return -1;
		}
		if (rc < 0) {
			entry_not_stored(s, &err);
			return -1;
		}
	}
	return 0;
}

int run_store_commit(run_store *s, const pk_capture_result *cr, int stdin_fd, off_t stdin_start,
                     uint64_t *stored)
{
	const pk_run_opts *o = s->o;
	pk_error err = { 0 };
	char buf[PK_ERROR_STR_LEN];
	pk_meta m;

	if (!s->failed)
		record_finish(s);
	/* The key holds the inputs as they were hashed: one that changed
	 * while the command ran may have given it other content, whose output
	 * must not be stored under the old content's key. */
	size_t changed;
	if (pk_inputs_changed(s->parts->inputs, s->parts->ninputs, o->outputs, o->noutputs,
	                      &changed)) {
		run_explain(s->sink.m, "not stored: input changed during the run: %s",
		            s->parts->inputs[changed].path);
		run_not_stored(&s->sink, "input changed during the run: %s",
		               s->parts->inputs[changed].path);
		return -1;
	}
	if (s->failed) {
		entry_not_stored(s, &s->err);
		return -1;
	}
	memset(&m, 0, sizeof(m));
	m.key = *s->key;
	m.parts = *s->parts;
	m.run_cwd = getcwd(NULL, 0);
	m.exit_status = WEXITSTATUS(cr->wait_status);
	m.created_ms = s->created_ms;
	m.duration_ms = cr->duration_ms;
	m.ttl_ms = o->ttl_ms;
	m.stale_ms = o->stale_ms;
	m.tags = o->tags;
	m.ntags = o->ntags;
	note_stdin(&m, stdin_fd, stdin_start);
	m.name = (char *)(uintptr_t)o->name;
	m.trace = (unsigned char *)(uintptr_t)s->trace;
	m.trace_len = s->trace_len;
	int ok = add_outputs(s, &m) == 0;
	if (ok && pk_entry_writer_finish(s->w, &m, &err) < 0) {
		entry_not_stored(s, &err);
		ok = 0;
	}
	for (size_t i = 0; i < m.nfiles; i++)
		pk_outfile_free_members(&m.files[i]);
	free(m.files);
	free(m.run_cwd);
	if (!ok)
		return -1;
	pk_relay_free(s->relay);
	s->relay = NULL;
	pk_entry_writer_free(s->w);
	s->w = NULL;
	struct stat st;
	*stored = fstat(s->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	/* Committed or not, the temporary is gone (pk_store_commit). */
	s->unlinked = 1;
	if (pk_store_commit(s->sink.store, s->fd, s->tmp, s->key, &err) < 0) {
		run_not_stored(&s->sink, "%s", pk_error_str(&err, buf, sizeof(buf)));
		return -1;
	}
	return 0;
}

void run_store_close(run_store *s)
{
	pk_relay_free(s->relay); /* first: its thread uses the writer */
	pk_entry_writer_free(s->w);
	if (s->fd >= 0)
		close(s->fd);
	if (!s->unlinked)
		unlinkat(s->sink.store->dirfd, s->tmp, 0);
}
