/* run.c: one memoized run: hit, stale hit, or miss with single-flight. */
#include "run_impl.h"

#include "capture.h"
#include "entry.h"
#include "error.h"
#include "gc.h"
#include "inputs.h"
#include "lock.h"
#include "outpath.h"
#include "relay.h"
#include "remote.h"
#include "share.h"
#include "spool.h"
#include "stats.h"
#include "store.h"
#include "units.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum lookup { HIT, STALE, MISS };

void run_warn(struct run *u, const char *fmt, ...)
{
	va_list ap;

	if (u->r->warning[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(u->r->warning, sizeof(u->r->warning), fmt, ap);
	va_end(ap);
}

static void not_stored(struct run *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A result that could not be stored: said once, and counted. */
static void not_stored(struct run *u, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	run_warn(u, "result not stored: %s", msg);
	u->rec.store_failures++;
	if (u->have_store)
		pk_stats_add(&u->store, PK_STAT_STORE_FAIL, 0);
}

void run_explain(struct run *u, const char *fmt, ...)
{
	char line[4200];
	va_list ap;

	if (u->o->explain == NULL || u->detached ||
	    (u->quiet && strncmp(fmt, "hit", 3) != 0 && strncmp(fmt, "stale", 5) != 0))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	u->o->explain(u->o->explain_ctx, line);
}

/* Some output could not be delivered (EPIPE aside): the exit status says
 * so, as a bare command's failed write would. */
static void output_lost(struct run *u)
{
	if (u->r->status == 0)
		u->r->status = 1;
}

/* The command's stdin: the spool when there is one, else inherited. */
static int command_stdin(struct run *u, pid_t *feeder)
{
	pk_error err = { 0 };

	*feeder = -1;
	if (!u->have_spool)
		return u->detached ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
	if (u->spool.complete || u->spool.in_place) {
		pk_spool_rewind(&u->spool);
		return u->spool.fd;
	}
	return pk_spool_feed(&u->spool, feeder, &err);
}

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

/* While the command runs, everything below but relay and put_err belongs
 * to the relay's thread (the sink); the reader looks again only once
 * pk_relay_finish or pk_relay_free has ended that thread. */
struct recorder {
	pk_entry_writer *w;
	pk_relay *relay;           /* NULL: only count the bytes */
	pk_error err;
	pk_error put_err;          /* the reader's */
	int failed;
	const pk_store *store;
	int fd;                    /* the temporary entry */
	const char *tmp;           /* its name in the store */
	int unlinked;              /* the temporary is already gone */
	/* The reader's too: */
	uint64_t bytes;            /* the command's output, for the run log */
	int put_failed;            /* the relay refused: record no more */
};

/* The entry cannot be completed (a full disk, a file size limit, a result
 * larger than the cache allows): its temporary goes at once, emptied
 * first since an open file keeps its blocks, so that a command still
 * printing does not keep the disk full until it ends. */
static void recording_failed(struct recorder *rec)
{
	rec->failed = 1;
	if (rec->fd >= 0 && ftruncate(rec->fd, 0) < 0) {
		/* unlinked below all the same; closed at the end of the run */
	}
	if (rec->fd >= 0 && !rec->unlinked)
		unlinkat(rec->store->dirfd, rec->tmp, 0);
	rec->unlinked = 1;
}

/* The relay's sink, on its thread: compresses into the entry.  A failure
 * frees the disk at once; the reader learns of it at its next put. */
static int record_sink(void *ctx, int stream, const void *buf, size_t len)
{
	struct recorder *rec = ctx;

	if (pk_entry_writer_stdio(rec->w, stream, buf, len, &rec->err) < 0) {
		recording_failed(rec);
		return -1;
	}
	return 0;
}

/* The capture's recorder, on the thread that reads the pipes. */
static int record_chunk(void *ctx, int stream, const void *buf, size_t len)
{
	struct recorder *rec = ctx;

	/* Counted whatever becomes of the recording: the run log's bytes. */
	rec->bytes += len;
	if (rec->relay != NULL && !rec->put_failed &&
	    pk_relay_put(rec->relay, stream, buf, len, &rec->put_err) < 0)
		rec->put_failed = 1;
	return 0;
}

/* Waits until all the output is compressed.  Returns 0, or -1 with
 * rec->failed set and rec->err saying why. */
static int record_finish(struct recorder *rec)
{
	if (pk_relay_finish(rec->relay) == 0)
		return 0;
	if (!rec->failed) {
		/* the thread could not be started */
		rec->err = rec->put_err;
		recording_failed(rec);
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

/* Says why the entry in rec could not be written. */
static void entry_not_stored(struct run *u, struct recorder *rec, const pk_error *err)
{
	char buf[700];
	const char *which;
	uint64_t size, limit = entry_limit(u->o, &which);

	if (pk_entry_writer_over_limit(rec->w, &size))
		not_stored(u, "%llu bytes is more than %s %llu", (unsigned long long)size, which,
		           (unsigned long long)limit);
	else
		not_stored(u, "%s", pk_error_str(err, buf, sizeof(buf)));
}

/* Runs the command, recording into rec when it is non-NULL.  Sets the
 * result's status.  Returns 0 when the command ran to an end worth
 * storing (not interrupted), else -1. */
static int execute(struct run *u, struct recorder *rec, pk_capture_result *cr)
{
	struct recorder count = { .fd = -1 };
	pk_capture_opts co = { 0 };
	pk_error err = { 0 };
	pid_t feeder;
	int in_fd = command_stdin(u, &feeder);
	int ret = -1;

	co.path = u->parts.program ? u->parts.program : u->o->argv[0];
	co.argv = u->o->argv;
	co.stdin_fd = in_fd;
	co.ignored = &u->o->ignored;
	co.out_fd = u->detached ? -1 : 1;
	co.err_fd = u->detached ? -1 : 2;
	co.record = record_chunk;
	co.record_ctx = rec != NULL ? rec : &count;
	int rc = pk_capture_run(&co, cr, &err);
	u->rec.out_bytes = rec != NULL ? rec->bytes : count.bytes;
	if (rc < 0) {
		char buf[700];
		u->r->status = 125;
		snprintf(u->r->error, sizeof(u->r->error), "%s", pk_error_str(&err, buf, sizeof(buf)));
		goto out;
	}
	u->r->status = pk_capture_status(cr);
	u->r->stop_signal = cr->signal_received;
	/* A command killed by a signal makes pickled end by the same signal,
	 * whatever the path that ran it: a shell loop around pickled must see
	 * what it would see around the bare command (bash stops a script
	 * whose child died of SIGINT, not one whose child exited 130). */
	if (cr->exec_errno == 0 && WIFSIGNALED(cr->wait_status))
		u->r->raise_signal = WTERMSIG(cr->wait_status);
	if (cr->exec_errno != 0) {
		snprintf(u->r->error, sizeof(u->r->error), "%s: %s", u->o->argv[0],
		         strerror(cr->exec_errno));
		goto out;
	}
	/* A reader that went away (`| head`) is the caller's choice, not a
	 * failure: the status is the command's own, as in a bare run; what it
	 * printed was not all read, so nothing is stored. */
	if (cr->forward_errno == EPIPE)
		goto out;
	/* Not every byte reached the caller: pickled fails as the bare
	 * command would have (its own status when it failed, else 1), while
	 * the result, captured whole, may still be stored. */
	if (cr->forward_errno == ETIMEDOUT && cr->signal_received) {
		run_warn(u, "cannot write output: the reader did not read after the stop signal");
		output_lost(u);
	} else if (cr->forward_errno != 0) {
		run_warn(u, "cannot write output: %s", strerror(cr->forward_errno));
		output_lost(u);
	}
	if (cr->signal_received || WIFSIGNALED(cr->wait_status))
		goto out;
	ret = 0;
out:
	if (feeder > 0) {
		/* The feeder may be stuck writing what the command did not read:
		 * the pipe closed, and SIGKILL, which it cannot have ignored. */
		close(in_fd);
		kill(feeder, SIGKILL);
		while (waitpid(feeder, NULL, 0) < 0 && errno == EINTR)
			;
	} else if (in_fd >= 0 && !u->have_spool) {
		close(in_fd);
	}
	return ret;
}

/* Adds the declared output files to the entry.  Returns 0, or -1 after a
 * warning. */
static int add_outputs(struct run *u, struct recorder *rec, pk_meta *m)
{
	pk_entry_writer *w = rec->w;
	pk_error err = { 0 };
	char buf[700];

	if (u->o->noutputs == 0)
		return 0;
	if ((m->files = calloc(u->o->noutputs, sizeof(*m->files))) == NULL) {
		not_stored(u, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < u->o->noutputs; i++) {
		const char *path = u->o->outputs[i];
		struct stat st;
		/* By descriptor, and not through a link another user could
		 * have planted: see outpath.h. */
		int fd = pk_outpath_open_read(path, &st, &err);

		if (fd < 0) {
			/* A failed run that wrote no output file did what failed
			 * runs do: not stored (a hit could not recreate the file's
			 * absence), and nothing to warn about. */
			if (err.errnum == ENOENT && m->exit_status != 0)
				run_explain(u, "not stored: the failed run produced no %s", path);
			else if (err.errnum == ENOENT)
				not_stored(u, "output not produced: %s", path);
			else if (err.errnum == 0)
				not_stored(u, "output is not a regular file: %s", path);
			else
				not_stored(u, "cannot read output: %s", pk_error_str(&err, buf, sizeof(buf)));
			return -1;
		}
		m->files[i].path = u->o->outputs[i];
		m->files[i].mode = (uint32_t)(st.st_mode & 0777);
		m->nfiles = i + 1;
		int rc = pk_entry_writer_file(w, fd, &m->files[i].size, &err);
		close(fd);
		if (rc < 0) {
			entry_not_stored(u, rec, &err);
			return -1;
		}
	}
	return 0;
}

static void detach(struct run *u, void (*fn)(struct run *));
static void maybe_gc(struct run *u);

/* Asked only on a miss: a hit never needs it. */
static int auto_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	/* One core: compress inline; more: zstd workers keep the pipes drained. */
	return n <= 1 ? 0 : (n > 4 ? 4 : (int)n);
}

/* A remote failure is said once; the run goes on with the local cache. */
static void remote_failed(struct run *u, const pk_error *err)
{
	char buf[700];

	u->rec.remote_errors++;
	pk_stats_add(&u->store, err->errnum == ETIMEDOUT ? PK_STAT_REMOTE_TIMEOUT
	                                                 : PK_STAT_REMOTE_ERROR, 0);
	run_warn(u, "remote cache unavailable, using the local cache: %s",
	         pk_error_str(err, buf, sizeof(buf)));
	run_explain(u, "remote unavailable");
	u->remote_down = 1;
	pk_remote_close(u->remote);
	u->remote = NULL;
}

static pk_remote *remote(struct run *u)
{
	pk_error err = { 0 };

	if (u->remote != NULL || u->remote_down || u->o->remote.url == NULL)
		return u->remote;
	if ((u->remote = pk_remote_connect(&u->o->remote, &err)) == NULL)
		remote_failed(u, &err);
	return u->remote;
}

/* Fetches the remote entry into the local store when it is younger than
 * max_age_ms.  Returns 1 when one was stored locally. */
static int fetch_remote(struct run *u, int64_t max_age_ms)
{
	pk_error err = { 0 };
	char why[600];
	pk_remote *r = remote(u);
	int got;

	if (r == NULL)
		return 0;
	got = pk_share_fetch(&u->store, r, &u->key, max_age_ms, why, sizeof(why), &err);
	if (got < 0) {
		remote_failed(u, &err);
		return 0;
	}
	/* A value no host would upload: someone else wrote it, or it broke.
	 * Said once per run, since a poll while waiting may meet it again. */
	if (got == 2) {
		if (!u->remote_rejected)
			run_warn(u, "remote entry not used (%s)", why);
		u->remote_rejected = 1;
		got = 0;
	}
	/* A poll while waiting for another host is not a lookup of its own. */
	if (got || !u->quiet)
		pk_stats_add(&u->store, got ? PK_STAT_REMOTE_HIT : PK_STAT_REMOTE_MISS, 0);
	if (!got)
		run_explain(u, "remote miss (%s)", why);
	return got;
}

/* After a local store: the same bytes to the remote tier. */
static void push_remote(struct run *u, int fd, uint64_t size, int64_t created)
{
	pk_error err = { 0 };
	pk_remote *r;

	if (u->o->remote.read_only || (r = remote(u)) == NULL)
		return;
	if (pk_share_push(r, &u->key, fd, size, created, u->o->ttl_ms, &err) < 0)
		remote_failed(u, &err);
}

/* A background collection after a store; skipped when one is running. */
static void auto_gc(struct run *u)
{
	pk_gc_opts go = { 0 };
	pk_gc_report rep;
	pk_error err = { 0 };

	go.max_size = u->o->max_size;
	pk_gc_run(&u->store, &go, &rep, &err);
}

/* Records in m where the command left the stdin it read from a file: the
 * caller's regular file (read in place, or left to the command), or the
 * spool holding a pipe's bytes, which tells as much.  A pipe the command
 * read itself (--no-stdin) leaves nothing to record. */
static void note_stdin(struct run *u, pk_meta *m)
{
	int fd = u->have_spool ? u->spool.fd : u->stdin_file ? 0 : -1;
	off_t start = u->have_spool ? u->spool.start : u->stdin_start;
	struct stat st;
	off_t pos;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (pos = lseek(fd, 0, SEEK_CUR)) < 0)
		return;
	m->stdin_known = 1;
	m->stdin_at_end = pos >= st.st_size;
	m->stdin_read = pos > start ? (uint64_t)(pos - start) : 0;
}

/* On a hit, leaves a regular-file stdin where the command left it on the
 * miss that stored m, so that what the caller reads next is the same
 * whether the command ran or not. */
static void leave_stdin(const struct run *u, const pk_meta *m)
{
	if (!u->stdin_file || !m->stdin_known)
		return;
	if (m->stdin_at_end)
		lseek(0, 0, SEEK_END);
	else
		lseek(0, u->stdin_start + (off_t)m->stdin_read, SEEK_SET);
}

/* A --warm run or a stale refresh that failed prints nothing anyone sees:
 * it is counted in stats and noted on the entry it did not replace (which
 * stays), for `show`. */
static void refresh_failed(struct run *u, int status)
{
	int fd;

	if (!u->refreshing)
		return;
	pk_stats_add(&u->store, PK_STAT_REFRESH_FAIL, status);
	if ((fd = pk_store_open_entry(&u->store, &u->key)) >= 0) {
		close(fd);
		pk_store_note_failure(&u->store, &u->key, status);
	}
}

/* Age counts from the start of the run (its output is no older than
 * that): a run longer than its ttl stores a result that is already expired,
 * which serves only the runs that waited for it.  Said once. */
static void longer_than_ttl(struct run *u, int64_t duration_ms)
{
	char d[32], t[32];

	if (u->o->ttl_ms == PK_FOREVER || duration_ms < u->o->ttl_ms)
		return;
	pk_duration_format(duration_ms, d, sizeof(d));
	pk_duration_format(u->o->ttl_ms, t, sizeof(t));
	run_explain(u, "the run took %s, longer than its ttl %s: stored for the runs that waited", d, t);
	run_warn(u, "the run took %s, longer than its ttl %s: its result serves only the runs "
	         "that waited for it", d, t);
}

/* Runs the command and stores its result.  The command's output reaches
 * the caller in full whatever happens to the store. */
static void miss(struct run *u)
{
	const pk_run_opts *o = u->o;
	struct recorder rec = { 0 };
	pk_capture_result cr;
	pk_meta m;
	pk_error err = { 0 };
	char tmp[256], buf[700];
	const char *which;
	int fd;
	int64_t created = pk_now_ms();

	fd = pk_store_tmp_create(&u->store, tmp, sizeof(tmp), &err);
	if (fd < 0) {
		not_stored(u, "%s", pk_error_str(&err, buf, sizeof(buf)));
		run_decide(u, PK_DECISION_MISS, "");
		execute(u, NULL, &cr);
		return;
	}
	rec.store = &u->store;
	rec.fd = fd;
	rec.tmp = tmp;
	rec.w = pk_entry_writer_new(fd, o->level, o->threads > 0 ? o->threads : auto_threads(),
	                            &rec.err);
	if (rec.w == NULL ||
	    (rec.relay = pk_relay_new(RELAY_BYTES, record_sink, &rec, &rec.err)) == NULL)
		recording_failed(&rec);
	else
		pk_entry_writer_limit(rec.w, entry_limit(o, &which));
	pk_stats_add(&u->store, PK_STAT_MISS, 0);
	run_decide(u, PK_DECISION_MISS, "");
	if (execute(u, &rec, &cr) < 0) {
		refresh_failed(u, u->r->status);
		goto discard;
	}
	if (!rec.failed)
		record_finish(&rec);
	if (WEXITSTATUS(cr.wait_status) != 0 && !o->cache_failures) {
		refresh_failed(u, WEXITSTATUS(cr.wait_status));
		goto discard;
	}
	/* The key holds the inputs as they were hashed: one that changed
	 * while the command ran may have given it other content, whose output
	 * must not be stored under the old content's key. */
	size_t changed;
	if (pk_inputs_changed(u->parts.inputs, u->parts.ninputs, o->outputs, o->noutputs, &changed)) {
		run_explain(u, "not stored: input changed during the run: %s",
		            u->parts.inputs[changed].path);
		not_stored(u, "input changed during the run: %s", u->parts.inputs[changed].path);
		goto discard;
	}
	if (rec.failed) {
		entry_not_stored(u, &rec, &rec.err);
		goto discard;
	}
	memset(&m, 0, sizeof(m));
	m.key = u->key;
	m.parts = u->parts;
	m.run_cwd = getcwd(NULL, 0);
	m.exit_status = WEXITSTATUS(cr.wait_status);
	m.created_ms = created;
	m.duration_ms = cr.duration_ms;
	m.ttl_ms = o->ttl_ms;
	m.stale_ms = o->stale_ms;
	m.tags = o->tags;
	m.ntags = o->ntags;
	note_stdin(u, &m);
	m.name = (char *)(uintptr_t)o->name;
	int ok = add_outputs(u, &rec, &m) == 0;
	if (ok && pk_entry_writer_finish(rec.w, &m, &err) < 0) {
		entry_not_stored(u, &rec, &err);
		ok = 0;
	}
	free(m.files);
	free(m.run_cwd);
	if (!ok)
		goto discard;
	pk_relay_free(rec.relay);
	pk_entry_writer_free(rec.w);
	struct stat st;
	uint64_t stored = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	if (pk_store_commit(&u->store, fd, tmp, &u->key, &err) < 0) {
		not_stored(u, "%s", pk_error_str(&err, buf, sizeof(buf)));
	} else {
		longer_than_ttl(u, cr.duration_ms);
		push_remote(u, fd, stored, created);
		pk_gc_note_store(&u->store, stored);
		/* Started once the remote lock is released (see maybe_gc):
		 * a fork must not copy a process with a renewal thread. */
		u->gc_due = o->auto_gc && pk_gc_due(&u->store, o->max_size, o->gc_interval_ms);
	}
	close(fd);
	return;
discard:
	pk_relay_free(rec.relay);   /* first: its thread uses the writer */
	pk_entry_writer_free(rec.w);
	close(fd);
	if (!rec.unlinked)
		unlinkat(u->store.dirfd, tmp, 0);
}

static void refresh_in_background(struct run *u);

/* Restores the output files with the stop signals held back: SIGTERM in
 * the middle would leave a partial temporary next to the user's file, which
 * nothing removes.  A signal that came meanwhile acts once they are in
 * place (a restore is as fast as the disk: a fraction of a second for
 * hundreds of megabytes). */
static int restore_files(pk_entry *e, pk_error *err)
{
	sigset_t stop, old;
	int ret;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	ret = pk_entry_restore_files(e, err);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

static int outputs_match(const struct run *u, const pk_meta *m)
{
	if (m->nfiles != u->o->noutputs)
		return 0;
	for (size_t i = 0; i < m->nfiles; i++)
		if (strcmp(m->files[i].path, u->o->outputs[i]) != 0)
			return 0;
	return 1;
}

/* Looks for a usable local entry and replays it.  Returns HIT or STALE
 * when the entry was replayed, MISS otherwise (with the reason explained). */
static enum lookup lookup_local(struct run *u, int replay)
{
	const pk_run_opts *o = u->o;
	pk_error err = { 0 };
	pk_entry *e = NULL;
	const pk_meta *m;
	char age_s[32], buf[700];
	enum lookup ret = MISS;
	int64_t age;
	int fd;

	fd = pk_store_open_entry(&u->store, &u->key);
	if (fd < 0) {
		run_explain(u, "miss (no entry)");
		run_decide(u, -1, "no entry");
		return MISS;
	}
	if ((e = pk_entry_open(fd, &err)) == NULL)
		goto corrupt;
	/* The checksum first: a damaged creation time must not pass for an
	 * expired entry and go unreported. */
	if (pk_entry_verify(e, 0, &err) < 0)
		goto corrupt;
	m = pk_entry_meta(e);
	if (!pk_key_equal(&m->key, &u->key)) {
		pk_error_set(&err, 0, "entry holds another key");
		goto corrupt;
	}
	/* The files a hit writes are the ones this run declares, never what
	 * an entry says: an entry forged in a shared tier must not be able to
	 * write anywhere it likes. */
	if (!outputs_match(u, m)) {
		pk_error_set(&err, 0, "entry restores files this run does not declare");
		goto corrupt;
	}
	age = pk_meta_age(m->created_ms, pk_now_ms());
	if (age < 0) {
		run_explain(u, "miss (expired: created in the future, the clock was ahead)");
		run_decide(u, -1, "expired");
		goto out;
	}
	pk_duration_format(age, age_s, sizeof(age_s));
	/* Stored by a run that ended while this one waited for it: taken
	 * whatever its age, since age counts from the start of the run it
	 * describes, and a run longer than the ttl would otherwise run again
	 * for every waiter, one after the other. */
	int waited_for = u->after_wait && m->created_ms + m->duration_ms >= u->since_ms;
	if (o->warm && !waited_for) {
		run_explain(u, "miss (warm: refreshing, age %s)", age_s);
		run_decide(u, -1, "warm");
		goto out;
	}
	if (o->ttl_ms != PK_FOREVER && age >= o->ttl_ms && !waited_for) {
		run_explain(u, "miss (expired, age %s)", age_s);
		run_decide(u, -1, "expired");
		goto out;
	}
	ret = o->stale_ms > 0 && age >= o->stale_ms && !waited_for ? STALE : HIT;
	/* A background refresh would rewrite the declared output files after
	 * pickled has returned, under a caller that may be reading them: with
	 * outputs, a stale entry is refreshed in the foreground instead. */
	if (ret == STALE && o->noutputs > 0) {
		run_explain(u, "miss (stale, age %s: output files are declared, refreshing now)",
		            age_s);
		run_decide(u, -1, "stale, outputs refreshed now");
		ret = MISS;
		goto out;
	}
	if (!replay)
		goto out;
	if (m->nfiles > 0 && restore_files(e, &err) < 0) {
		run_warn(u, "cannot restore output, running the command: %s",
		         pk_error_str(&err, buf, sizeof(buf)));
		run_explain(u, "miss (output not restored)");
		ret = MISS;
		run_decide(u, -1, "output not restored");
		goto out;
	}
	if (ret == STALE)
		run_explain(u, "stale hit (age %s, refreshing in background)", age_s);
	else if (waited_for && o->ttl_ms != PK_FOREVER && age >= o->ttl_ms)
		run_explain(u, "hit (stored by the run waited for, age %s)", age_s);
	else
		run_explain(u, "hit (age %s)", age_s);
	pk_store_count_hit(&u->store, &u->key);
	pk_stats_add(&u->store, PK_STAT_HIT, m->duration_ms);
	/* A hit's reason is where it came from, not the misses before it. */
	if (strcmp(u->rec.why, "remote") != 0)
		snprintf(u->rec.why, sizeof(u->rec.why), "%s",
		         u->quiet || u->after_wait ? "after waiting" : "");
	run_decide(u, ret == STALE ? PK_DECISION_STALE : PK_DECISION_HIT, "");
	u->rec.saved_ms = m->duration_ms;
	u->rec.out_bytes = m->stdout_bytes + m->stderr_bytes;
	u->r->status = m->exit_status;
	leave_stdin(u, m);
	if (pk_entry_replay(e, 1, 2, &err) < 0) {
		/* A reader that went away ends pickled as SIGPIPE ends a bare
		 * command; where SIGPIPE was ignored when pickled started, such a
		 * command gets EPIPE and fails instead, and so does pickled. */
		if (err.errnum == EPIPE && sigismember(&o->ignored, SIGPIPE) == 1)
			output_lost(u);
		else if (err.errnum == EPIPE)
			u->r->raise_signal = SIGPIPE;
		else {
			run_warn(u, "cannot replay output: %s", pk_error_str(&err, buf, sizeof(buf)));
			output_lost(u);
		}
	}
	goto out;
corrupt:
	if (!u->quiet)
		pk_stats_add(&u->store, PK_STAT_CORRUPT, 0);
	run_explain(u, "miss (corrupt: %s)", pk_error_str(&err, buf, sizeof(buf)));
	run_decide(u, -1, "corrupt");
	run_warn(u, "corrupt cache entry %.12s (%s), running the command", u->hex,
	         pk_error_str(&err, buf, sizeof(buf)));
out:
	pk_entry_close(e);
	close(fd);
	return ret;
}

/* Local first, then the remote tier, whose entry is stored locally and
 * replayed from there like any local one. */
static enum lookup lookup(struct run *u, int replay)
{
	enum lookup l = lookup_local(u, replay);

	/* After waiting, a remote entry of any age may be the one waited for
	 * (lookup_local decides). */
	if (l != MISS || !fetch_remote(u, u->after_wait ? PK_FOREVER : u->o->ttl_ms))
		return l;
	run_explain(u, "remote hit");
	u->rec.why[0] = '\0';
	run_decide(u, -1, "remote");
	return lookup_local(u, replay);
}

/* Distributed single-flight: hold the key's lock in Redis while running,
 * or wait for the host that holds it and replay its result.  Returns 1
 * when the result was replayed, 0 when this host must run the command
 * (*held says whether it holds the remote lock). */
/* A quiet lookup after waiting for an identical run: its result is taken
 * whatever its age (see lookup_local). */
static enum lookup waited_lookup(struct run *u)
{
	enum lookup l;

	u->quiet = 1;
	u->after_wait = 1;
	l = lookup(u, 1);
	u->after_wait = 0;
	u->quiet = 0;
	return l;
}

static int remote_single_flight(struct run *u, int *held)
{
	pk_error err = { 0 };
	pk_remote *r;
	int64_t start = pk_now_ms();
	int said = 0;

	*held = 0;
	if (u->o->remote.read_only || (r = remote(u)) == NULL)
		return 0;
	for (;;) {
		int got = pk_remote_lock(r, &u->key, &err);
		if (got < 0) {
			remote_failed(u, &err);
			return 0;
		}
		if (got == 1) {
			/* The host waited for may have stored its result and let
			 * go of the lock since the last look. */
			enum lookup l = said ? waited_lookup(u) : MISS;
			if (l == MISS) {
				*held = 1;
				return 0;
			}
			pk_remote_unlock(r);
			if (l == STALE)
				refresh_in_background(u);
			return 1;
		}
		if (!said++)
			run_explain(u, "waiting for an identical run on another host");
		struct timespec ts = { 0, 100 * 1000000 };
		nanosleep(&ts, NULL);
		enum lookup l = waited_lookup(u);
		if (l != MISS) {
			if (l == STALE)
				refresh_in_background(u);
			return 1;
		}
		if (u->remote == NULL || pk_now_ms() - start >= u->o->lock_timeout_ms)
			return 0;
	}
}

static void locked_miss(struct run *u)
{
	pk_error err = { 0 };
	char path[4200];
	int lock = -1;

	if (pk_store_subdir(&u->store, "locks", &err) == 0 &&
	    pk_store_path(&u->store, path, sizeof(path), "locks/%s", u->hex) == 0) {
		lock = pk_lock_acquire(path, 0, &err);
		if (lock < 0 && err.errnum == EWOULDBLOCK) {
			/* An identical run is in progress: wait for its result. */
			run_explain(u, "waiting for an identical run");
			lock = pk_lock_acquire(path, u->o->lock_timeout_ms, &err);
		}
		/* The run we waited for, or one that ended between our lookup
		 * and the lock, may have stored the result. */
		if (lock >= 0 && !u->o->force) {
			enum lookup l = waited_lookup(u);
			if (l != MISS) {
				pk_lock_release(lock);
				if (l == STALE)
					refresh_in_background(u);
				return;
			}
		}
	}
	int held = 0;
	if (!u->o->force && remote_single_flight(u, &held)) {
		pk_lock_release(lock);
		return;
	}
	miss(u);
	if (held)
		pk_remote_unlock(u->remote);
	pk_lock_release(lock);
	maybe_gc(u);
}

/* Starts a detached pickled that runs fn; the caller goes on at once. */
static void detach(struct run *u, void (*fn)(struct run *))
{
	pid_t pid = fork();
	int null;

	if (pid != 0)
		return;    /* parent, or fork failed: nothing more to do */
	setsid();
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 1);
		dup2(null, 2);
		if (!u->have_spool)
			dup2(null, 0);
	}
	u->detached = 1;
	/* The parent's Redis connection is the parent's: closing this copy of
	 * its socket sends nothing.  A child that needs the remote tier
	 * connects anew.  (No renewal thread exists here: detach is never
	 * called while the remote lock is held.) */
	pk_remote_close(u->remote);
	u->remote = NULL;
	/* The child's own record: the command it ran, if it ran one. */
	memset(&u->rec, 0, sizeof(u->rec));
	u->rec.decision = -1;
	run_decide(u, -1, u->o->warm ? "warm" : "refresh");
	u->start_ms = pk_now_ms();
	fn(u);
	if (u->rec.decision == PK_DECISION_MISS)
		run_record(u);
	pk_remote_close(u->remote);
	_exit(0);
}

/* The automatic gc a store made due, in the background. */
static void maybe_gc(struct run *u)
{
	if (u->gc_due) {
		u->gc_due = 0;
		detach(u, auto_gc);
	}
}

static void refresh(struct run *u)
{
	pk_error err = { 0 };
	char path[4200];
	int lock;

	u->refreshing = 1;
	/* At most one refresh per key: if the lock is taken, someone is on it. */
	if (pk_store_subdir(&u->store, "locks", &err) < 0 ||
	    pk_store_path(&u->store, path, sizeof(path), "locks/%s", u->hex) < 0)
		return;
	if ((lock = pk_lock_acquire(path, 0, &err)) < 0)
		return;
	/* A refresh that held the lock just before may have stored a fresh
	 * result already: then there is nothing left to do. */
	u->quiet = 1;
	if (lookup_local(u, 0) == HIT) {
		pk_lock_release(lock);
		return;
	}
	/* And one per fleet: another host may have refreshed it already, or be
	 * doing so now (its result then reaches us on a later run). */
	u->quiet = 1;
	if (fetch_remote(u, u->o->stale_ms)) {
		pk_lock_release(lock);
		return;
	}
	u->quiet = 0;
	pk_remote *r = u->o->remote.read_only ? NULL : remote(u);
	int held = r != NULL ? pk_remote_lock(r, &u->key, &err) : -1;
	if (held != 0) {
		/* Counted here, where it happens: ten stale hits at once start
		 * one refresh, not ten. */
		pk_stats_add(&u->store, PK_STAT_STALE, 0);
		miss(u);   /* the lock is ours, or Redis is out of the picture */
	}
	if (held == 1)
		pk_remote_unlock(r);
	pk_lock_release(lock);
	maybe_gc(u);
}

/* A detached run reads stdin after pickled has returned: a regular file
 * read in place could have changed by then, and the new content's output
 * be stored under the old content's key.  It gets a copy, checked against
 * the key's hash.  Returns 0, or -1 with err set. */
static int keep_stdin(struct run *u, pk_error *err)
{
	char path[4200];

	if (!u->have_spool)
		return 0;
	return pk_spool_own(&u->spool, u->have_store &&
	                    pk_store_path(&u->store, path, sizeof(path), "tmp") == 0 ? path : NULL, err);
}

static void refresh_in_background(struct run *u)
{
	pk_error err = { 0 };

	if (keep_stdin(u, &err) == 0)
		detach(u, refresh);
}

static void run_uncached(struct run *u)
{
	pk_capture_result cr;

	run_decide(u, PK_DECISION_UNCACHED, "");
	execute(u, NULL, &cr);
}

/* create: the cache directory is made when missing (a run); else (only a
 * key is wanted) a missing one is used as no cache, silently. */
static int prepare(struct run *u, const pk_run_opts *o, pk_run_result *r, int create)
{
	pk_error err = { 0 };
	char *dir = NULL;
	char buf[700];
	int rc;

	memset(u, 0, sizeof(*u));
	memset(r, 0, sizeof(*r));
	u->o = o;
	u->r = r;
	u->since_ms = pk_now_ms();
	u->rec.decision = -1;
	u->start_ms = pk_now_ms();
	u->store.dirfd = -1;
	u->spool.fd = -1;
	if (o->no_cache) {
		/* the caller has said why */
	} else if (o->cache_dir == NULL && pk_store_default_dir(&dir, &err) < 0) {
		run_warn(u, "cache unavailable, running uncached: %s", pk_error_str(&err, buf, sizeof(buf)));
	} else if ((create ? pk_store_open : pk_store_open_existing)(&u->store,
	                    o->cache_dir ? o->cache_dir : dir, &err) < 0) {
		if (create || err.errnum != ENOENT)
			run_warn(u, "cache unavailable, running uncached: %s",
			         pk_error_str(&err, buf, sizeof(buf)));
	} else if (pk_store_path(&u->store, u->statdir, sizeof(u->statdir), "inputs") == 0) {
		u->have_store = 1;
		u->store_open = 1;
	}
	free(dir);
	struct stat st;
	if (fstat(0, &st) == 0 && S_ISREG(st.st_mode) && (u->stdin_start = lseek(0, 0, SEEK_CUR)) >= 0)
		u->stdin_file = 1;
	if (run_take_stdin(u) < 0) {
		u->have_store = 0;
		run_decide(u, -1, "stdin");
	}
	rc = run_make_key(u);
	if (rc == -2)
		run_decide(u, -1, "no key");
	if (rc == -1) {
		run_decide(u, PK_DECISION_UNCACHED, u->r->status == 126 ? "not executable" : "not found");
		return -1;
	}
	u->cacheable = rc == 0 && u->have_store;
	if (rc == 0)
		run_explain_parts(u);
	return 0;
}

static void finish(struct run *u)
{
	pk_remote_close(u->remote);
	pk_key_parts_free(&u->parts);
	pk_spool_close(&u->spool);
	pk_store_close(&u->store);
}

void pk_run(const pk_run_opts *o, pk_run_result *r)
{
	struct run u;

	if (prepare(&u, o, r, 1) < 0)
		goto out;
	if (!u.cacheable) {
		run_explain(&u, "uncached%s%s", u.no_key[0] != '\0' ? ": " : "", u.no_key);
		run_uncached(&u);
		goto out;
	}
	if (o->warm) {
		pk_error err = { 0 };
		char buf[700];

		/* Always a new run, fresh entry or not (lookup_local takes only a
		 * result stored while this one waited for the lock). */
		r->status = 0;
		u.refreshing = 1;
		if (o->noutputs > 0) {
			/* In the background it would write the declared files after
			 * pickled returned: with outputs, warm in the foreground,
			 * printing nothing all the same. */
			u.detached = 1;
			run_decide(&u, -1, "warm");
			locked_miss(&u);
			r->status = 0;
			goto out;
		}
		if (keep_stdin(&u, &err) < 0) {
			not_stored(&u, "%s", pk_error_str(&err, buf, sizeof(buf)));
			goto out;
		}
		detach(&u, locked_miss);
		goto out;
	}
	if (o->force) {
		run_explain(&u, "miss (forced)");
		run_decide(&u, -1, "forced");
	} else {
		switch (lookup(&u, 1)) {
		case HIT:
			goto out;
		case STALE:
			refresh_in_background(&u);
			goto out;
		case MISS:
			break;
		}
	}
	locked_miss(&u);
out:
	run_record(&u);
	finish(&u);
}

int pk_run_key(const pk_run_opts *o, pk_key *key, pk_run_result *r)
{
	struct run u;
	int ret = -1;

	if (prepare(&u, o, r, 0) < 0)
		goto out;
	/* No key that a run would use: say so rather than print one that no
	 * run looks up. */
	if (u.hex[0] == '\0') {
		r->status = 1;
		snprintf(r->error, sizeof(r->error), "no key: the run would be uncached: %s",
		         u.no_key);
		goto out;
	}
	*key = u.key;
	ret = 0;
out:
	finish(&u);
	return ret;
}
