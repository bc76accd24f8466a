/* run.c: one memoized run, the decision: look the key up (local, then the
 * remote tier), replay a hit, refresh a stale one in the background, or
 * run a miss once per key (single-flight, on this host and across the
 * fleet) and store it.  The work is in the modules below: run_key (the
 * key), run_exec (running the command), run_store (recording and storing
 * its result), run_replay (a hit's output and files), run_share (the
 * remote tier), run_record (the run log and metrics), run_msg (what a run
 * says), run_trace (a traced run's manifest, tracer and judgement).  The
 * lookup and the replay of what it finds are in run_lookup.c. */
#include "run.h"

#include "run_impl.h"
#include "error.h"
#include "exitstatus.h"
#include "gc.h"
#include "lock.h"
#include "run_exec.h"
#include "run_key.h"
#include "run_msg.h"
#include "run_outputs.h"
#include "run_record.h"
#include "run_share.h"
#include "run_store.h"
#include "run_trace.h"
#include "spool.h"
#include "stats.h"
#include "store.h"
#include "units.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


/* Where what cannot be stored is said and counted. */
static run_store_sink store_sink(struct run *u)
{
	run_store_sink s = { &u->msg, &u->rec, u->have_store ? &u->store : NULL };
	return s;
}

/* Runs the command, recording into rs when it is non-NULL.  Returns as
 * run_exec_command. */
static int execute(struct run *u, run_store *rs, pk_capture_result *cr)
{
	run_exec x = { 0 };
	int ret;

	/* A traced miss runs under the tracer; one that cannot start runs
	 * untraced, and its result is not stored (run_trace_judge). */
	if (u->traced && rs != NULL)
		x.trace = run_trace_start(&u->trace, &u->msg);
	x.o = u->o;
	x.path = u->key.parts.program;
	x.spool = u->have_spool ? &u->spool : NULL;
	x.record = rs != NULL ? run_store_chunk : NULL;
	x.record_ctx = rs;
	ret = run_exec_command(&x, &u->msg, cr);
	u->rec.out_bytes = x.out_bytes;
	return ret;
}

static void detach(struct run *u, void (*fn)(struct run *));
static void maybe_gc(struct run *u);
static void refresh_in_background(struct run *u);
static void record(struct run *u);

/* A background collection after a store; skipped when one is running. */
static void auto_gc(struct run *u)
{
	pk_gc_opts go = { 0 };
	pk_gc_report rep;
	pk_error err = { 0 };

	go.max_size = u->o->max_size;
	pk_gc_run(&u->store, &go, &rep, &err);
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
	if ((fd = pk_store_open_entry(&u->store, &u->key.key)) >= 0) {
		close(fd);
		pk_store_note_failure(&u->store, &u->key.key, status);
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
	run_explain(&u->msg,
	            "the run took %s, longer than its ttl %s: stored for the runs that "
	            "waited",
	            d, t);
	run_warn(&u->msg,
	         "the run took %s, longer than its ttl %s: its result serves only the "
	         "runs that waited for it",
	         d, t);
}

/* Runs the command and stores its result.  The command's output reaches
 * the caller in full whatever happens to the store. */
static void miss(struct run *u)
{
	const pk_run_opts *o = u->o;
	run_store_sink sink = store_sink(u);
	run_store rs;
	pk_capture_result cr;
	pk_error err = { 0 };
	char buf[PK_ERROR_STR_LEN];
	uint64_t stored;
	pk_outlock olock;

	/* Held until the files are read back: a run with another key writing
	 * the same file meanwhile would have its file stored as ours. */
	if (run_outputs_lock(run_outs(u), &olock, &err) < 0) {
		run_not_stored(&sink, "%s", pk_error_str(&err, buf, sizeof(buf)));
		run_decide(&u->rec, PK_DECISION_MISS, "");
		execute(u, NULL, &cr);
		return;
	}
	if (run_store_begin(&rs, &sink, o, &u->key.key, &u->key.parts, &err) < 0) {
		pk_outlock_release(&olock);
		run_not_stored(&sink, "%s", pk_error_str(&err, buf, sizeof(buf)));
		run_decide(&u->rec, PK_DECISION_MISS, "");
		execute(u, NULL, &cr);
		return;
	}
	pk_stats_add(&u->store, PK_STAT_MISS, 0);
	run_decide(&u->rec, PK_DECISION_MISS, "");
	if (execute(u, &rs, &cr) < 0) {
		refresh_failed(u, u->r->status);
		goto out;
	}
	if (WEXITSTATUS(cr.wait_status) != 0 && !o->cache_failures) {
		refresh_failed(u, WEXITSTATUS(cr.wait_status));
		goto out;
	}
	/* Traced: stored under the key of the input set it read. */
	if (u->traced) {
		if (run_trace_judge(&u->trace, &sink) < 0)
			goto out;
		rs.key = &u->trace.result;
		rs.trace = u->trace.note;
		rs.trace_len = u->trace.note_len;
	}
	if (run_store_commit(&rs, &cr,
	                     u->have_spool   ? u->spool.fd
	                     : u->stdin_file ? 0
	                                     : -1,
	                     u->have_spool ? u->spool.start : u->stdin_start, &stored) < 0)
		goto out;
	longer_than_ttl(u, cr.duration_ms);
	run_share_push(&u->share, rs.key, rs.fd, stored, rs.created_ms, o->ttl_ms);
	if (u->traced)
		run_trace_stored(&u->trace, &u->msg, &u->share, rs.created_ms);
	pk_gc_note_store(&u->store, stored);
	/* Started once the remote lock is released (see maybe_gc): a fork
	 * must not copy a process with a renewal thread. */
	u->gc_due = o->auto_gc && pk_gc_due(&u->store, o->max_size, o->gc_interval_ms);
out:
	run_store_close(&rs);
	pk_outlock_release(&olock);
}

/* Distributed single-flight: hold the key's lock in Redis while running,
 * or wait for the host that holds it and replay its result.  Returns 1
 * when the result was replayed, 0 when this host must run the command
 * (*held says whether it holds the remote lock). */
static int remote_single_flight(struct run *u, int *held)
{
	pk_error err = { 0 };
	pk_remote *r;
	int64_t start = pk_now_ms();
	int said = 0;

	*held = 0;
	if ((r = run_share_writable(&u->share)) == NULL)
		return 0;
	for (;;) {
		int got = pk_remote_lock(r, &u->key.key, &err);
		if (got < 0) {
			run_share_failed(&u->share, &err);
			return 0;
		}
		if (got == 1) {
			/* The host waited for may have stored its result and let
			 * go of the lock since the last look. */
			enum lookup l = said ? run_waited_lookup(u) : MISS;
			if (l == MISS) {
				*held = 1;
				return 0;
			}
			run_share_unlock(&u->share);
			if (l == STALE)
				refresh_in_background(u);
			return 1;
		}
		if (!said++) {
			run_explain(&u->msg, "waiting for an identical run on another host");
			u->waited = 1;
		}
		struct timespec ts = { 0, 100 * 1000000 };
		nanosleep(&ts, NULL);
		enum lookup l = run_waited_lookup(u);
		if (l != MISS) {
			if (l == STALE)
				refresh_in_background(u);
			return 1;
		}
		if (u->share.remote == NULL || pk_now_ms() - start >= u->o->lock_timeout_ms)
			return 0;
	}
}

static void locked_miss(struct run *u)
{
	pk_error err = { 0 };
	char path[4200];
	int lock = -1;

	if (pk_store_subdir(&u->store, "locks", &err) == 0 &&
	    pk_store_path(&u->store, path, sizeof(path), "locks/%s", u->key.hex) == 0) {
		lock = pk_lock_acquire(path, 0, &err);
		if (lock < 0 && err.errnum == EWOULDBLOCK) {
			/* An identical run is in progress: wait for its result. */
			run_explain(&u->msg, "waiting for an identical run");
			u->waited = 1;
			lock = pk_lock_acquire(path, u->o->lock_timeout_ms, &err);
		}
		/* The run we waited for, or one that ended between our lookup
		 * and the lock, may have stored the result. */
		if (lock >= 0 && !u->o->force) {
			enum lookup l = run_waited_lookup(u);
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
		run_share_unlock(&u->share);
	pk_lock_release(lock);
	maybe_gc(u);
}

/* Starts a detached pickled that runs fn; the caller goes on at once. */
static void detach(struct run *u, void (*fn)(struct run *))
{
	pid_t pid = fork();
	int null;

	if (pid != 0)
		return; /* parent, or fork failed: nothing more to do */
	setsid();
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, 1);
		dup2(null, 2);
		if (!u->have_spool)
			dup2(null, 0);
	}
	u->msg.detached = 1;
	/* The parent's Redis connection is the parent's: closing this copy of
	 * its socket sends nothing.  A child that needs the remote tier
	 * connects anew.  (No renewal thread exists here: detach is never
	 * called while the remote lock is held.) */
	run_share_close(&u->share);
	/* The child's own record: the command it ran, if it ran one. */
	memset(&u->rec, 0, sizeof(u->rec));
	u->rec.decision = -1;
	run_decide(&u->rec, -1, u->o->warm ? "warm" : "refresh");
	u->start_ms = pk_now_ms();
	fn(u);
	if (u->rec.decision == PK_DECISION_MISS)
		record(u);
	run_share_close(&u->share);
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
	    pk_store_path(&u->store, path, sizeof(path), "locks/%s", u->key.hex) < 0)
		return;
	if ((lock = pk_lock_acquire(path, 0, &err)) < 0)
		return;
	/* A refresh that held the lock just before may have stored a fresh
	 * result already: then there is nothing left to do. */
	u->msg.quiet = 1;
	if (run_lookup_local(u, 0) == HIT) {
		pk_lock_release(lock);
		return;
	}
	/* And one per fleet: another host may have refreshed it already, or be
	 * doing so now (its result then reaches us on a later run). */
	u->msg.quiet = 1;
	if (run_share_fetch(&u->share, &u->key.key, u->o->stale_ms)) {
		pk_lock_release(lock);
		return;
	}
	u->msg.quiet = 0;
	pk_remote *r = run_share_writable(&u->share);
	int held = r != NULL ? pk_remote_lock(r, &u->key.key, &err) : -1;
	if (held != 0) {
		/* Counted here, where it happens: ten stale hits at once start
		 * one refresh, not ten. */
		pk_stats_add(&u->store, PK_STAT_STALE, 0);
		miss(u); /* the lock is ours, or Redis is out of the picture */
	}
	if (held == 1)
		run_share_unlock(&u->share);
	pk_lock_release(lock);
	maybe_gc(u);
}

/* Where stdin is spooled: the cache's tmp (path, 4200 bytes), or NULL:
 * $TMPDIR or /tmp. */
static const char *spool_dir(struct run *u, char *path)
{
	return u->have_store && pk_store_path(&u->store, path, 4200, "tmp") == 0 ? path : NULL;
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
	return pk_spool_own(&u->spool, spool_dir(u, path), err);
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

	run_decide(&u->rec, PK_DECISION_UNCACHED, "");
	execute(u, NULL, &cr);
}

/* The run's record, into the cache it opened (see run_record.h). */
static void record(struct run *u)
{
	run_record(&u->rec, u->store_open ? &u->store : NULL, u->o, u->cacheable ? u->key.hex : "",
	           u->start_ms, &u->msg);
}

/* create: the cache directory is made when missing (a run); else (only a
 * key is wanted) a missing one is used as no cache, silently. */
static int prepare(struct run *u, const pk_run_opts *o, pk_run_result *r, int create)
{
	pk_error err = { 0 };
	char *dir = NULL;
	char buf[PK_ERROR_STR_LEN], path[4200];
	int rc;

	memset(u, 0, sizeof(*u));
	memset(r, 0, sizeof(*r));
	u->o = o;
	u->r = r;
	u->msg.o = o;
	u->msg.r = r;
	u->since_ms = pk_now_ms();
	u->rec.decision = -1;
	u->start_ms = pk_now_ms();
	u->store.dirfd = -1;
	u->spool.fd = -1;
	u->share.opts = &o->remote;
	u->share.store = &u->store;
	u->share.msg = &u->msg;
	u->share.rec = &u->rec;
	if (o->no_cache) {
		/* the caller has said why */
	} else if (o->cache_dir == NULL && pk_store_default_dir(&dir, &err) < 0) {
		run_warn(&u->msg, "cache unavailable, running uncached: %s",
		         pk_error_str(&err, buf, sizeof(buf)));
	} else if ((create ? pk_store_open : pk_store_open_existing)(
			   &u->store, o->cache_dir ? o->cache_dir : dir, &err) < 0) {
		if (create || err.errnum != ENOENT)
			run_warn(&u->msg, "cache unavailable, running uncached: %s",
			         pk_error_str(&err, buf, sizeof(buf)));
	} else if (pk_store_path(&u->store, path, sizeof(path), "inputs") == 0) {
		/* (the longest path the run makes in the cache fits) */
		u->have_store = 1;
		u->store_open = 1;
	}
	free(dir);
	struct stat st;
	if (fstat(0, &st) == 0 && S_ISREG(st.st_mode) &&
	    (u->stdin_start = lseek(0, 0, SEEK_CUR)) >= 0)
		u->stdin_file = 1;
	rc = run_key_stdin(&u->key, o, spool_dir(u, path), &u->spool, &u->have_spool, &u->msg,
	                   &err);
	if (rc == -1) {
		r->status = PK_EXIT_FAILURE;
		snprintf(r->error, sizeof(r->error), "%s", pk_error_str(&err, buf, sizeof(buf)));
		run_decide(&u->rec, PK_DECISION_UNCACHED, "stdin");
		return -1;
	}
	if (rc < 0) {
		u->have_store = 0;
		run_decide(&u->rec, -1, "stdin");
	}
	rc = run_key_make(&u->key, o, u->have_store ? &u->store : NULL,
	                  u->have_spool ? &u->spool : NULL, &u->msg, &err);
	if (rc == -2)
		run_decide(&u->rec, -1, "no key");
	if (rc == -1) {
		r->status = err.errnum == EACCES ? PK_EXIT_NOEXEC : PK_EXIT_NOTFOUND;
		snprintf(r->error, sizeof(r->error), "%s", err.msg);
		run_decide(&u->rec, PK_DECISION_UNCACHED,
		           err.errnum == EACCES ? "not executable" : "not found");
		return -1;
	}
	u->cacheable = rc == 0 && u->have_store;
	/* Traced: the run's key names its manifest. */
	if (rc == 0 && o->trace) {
		u->traced = 1;
		run_trace_init(&u->trace, o, u->have_store ? &u->store : NULL, &u->key.key);
		u->key.key = u->trace.manifest;
		pk_key_hex(&u->key.key, u->key.hex);
	}
	if (rc == 0)
		run_key_explain(&u->key, u->have_spool ? &u->spool : NULL, &u->msg);
	return 0;
}

static void finish(struct run *u)
{
	run_trace_free(&u->trace);
	run_share_close(&u->share);
	run_key_free(&u->key);
	pk_spool_close(&u->spool);
	pk_store_close(&u->store);
}

void pk_run(const pk_run_opts *o, pk_run_result *r)
{
	struct run u;

	if (prepare(&u, o, r, 1) < 0)
		goto out;
	if (!u.cacheable) {
		run_explain(&u.msg, "uncached%s%s", u.key.no_key[0] != '\0' ? ": " : "",
		            u.key.no_key);
		run_uncached(&u);
		goto out;
	}
	if (o->warm) {
		pk_error err = { 0 };
		char buf[PK_ERROR_STR_LEN];

		/* Always a new run, fresh entry or not (run_lookup_local takes only a
		 * result stored while this one waited for the lock). */
		r->status = 0;
		u.refreshing = 1;
		if (o->noutputs > 0) {
			/* In the background it would write the declared files after
			 * pickled returned: with outputs, warm in the foreground,
			 * printing nothing all the same. */
			u.msg.detached = 1;
			run_decide(&u.rec, -1, "warm");
			locked_miss(&u);
			r->status = 0;
			goto out;
		}
		if (keep_stdin(&u, &err) < 0) {
			run_store_sink sink = store_sink(&u);
			run_not_stored(&sink, "%s", pk_error_str(&err, buf, sizeof(buf)));
			goto out;
		}
		detach(&u, locked_miss);
		goto out;
	}
	if (o->force) {
		run_explain(&u.msg, "miss (forced)");
		run_decide(&u.rec, -1, "forced");
	} else {
		switch (run_lookup(&u, 1)) {
		case HIT: goto out;
		case STALE: refresh_in_background(&u); goto out;
		case MISS: break;
		}
	}
	locked_miss(&u);
out:
	record(&u);
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
	if (u.key.hex[0] == '\0') {
		r->status = 1;
		snprintf(r->error, sizeof(r->error), "no key: the run would be uncached: %s",
		         u.key.no_key);
		goto out;
	}
	*key = u.key.key;
	/* --explain checks the manifest against the files as they are.  A
	 * run would then look for the entry of the input set that holds (the
	 * manifest's key names none), and on a miss the manifest said why. */
	int resolved = 1;
	if (u.traced && run_explaining(&u.msg)) {
		pk_key result;
		resolved = run_trace_lookup(&u.trace, &u.msg, NULL, &result);
		if (resolved) {
			u.key.key = result;
			pk_key_hex(&u.key.key, u.key.hex);
		}
	}
	ret = 0;
	/* Whether a run would find an entry, and if not, why. */
	if (o->explain != NULL && u.have_store && resolved) {
		int fd = pk_store_open_entry(&u.store, &u.key.key);
		if (fd >= 0) {
			close(fd);
			run_explain(&u.msg, "an entry exists for this key");
		} else {
			run_explain(&u.msg, "no entry for this key");
			run_key_explain_miss(&u.key, &u.store, o, &u.msg);
		}
	}
out:
	finish(&u);
	return ret;
}
