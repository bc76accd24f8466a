/* run_trace.c: the traced path of a run: manifest lookup, tracer, judging,
 * and the manifest's update (see run_trace.h). */
#include "run_trace.h"

#include "entry.h"
#include "io.h"
#include "lock.h"
#include "meta.h"
#include "remote.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long a run waits for another one updating the same manifest (a
 * read, an insertion and a write of a few hundred KiB at most). */
#define MANIFEST_LOCK_MS 10000

void run_trace_init(run_trace *t, const pk_run_opts *o, const pk_store *store,
                    const pk_key *run_key)
{
	pk_error err = { 0 };

	memset(t, 0, sizeof(*t));
	t->o = o;
	t->store = store;
	/* The hashes of the files read are kept as those of -i inputs are. */
	if (store != NULL && pk_store_subdir(store, "inputs", &err) == 0 &&
	    pk_store_path(store, t->statbuf, sizeof(t->statbuf), "inputs") == 0)
		t->statdir = t->statbuf;
	pk_manifest_key(run_key, &t->manifest);
	pk_key_hex(&t->manifest, t->hex);
}

void run_trace_free(run_trace *t)
{
	if (t == NULL)
		return;
	pk_trace_free(t->tracer);
	t->tracer = NULL;
	free(t->note);
	t->note = NULL;
	for (size_t i = 0; i < t->ninputs; i++)
		pk_mrec_free(&t->inputs[i]);
	free(t->inputs);
	t->inputs = NULL;
	t->ninputs = 0;
}

/* path as --explain shows it: relative to the working directory when
 * below it (as the user typed it, most likely). */
static const char *shown(const char *path, const char *cwd)
{
	size_t n = cwd ? strlen(cwd) : 0;

	if (n > 1 && strncmp(path, cwd, n) == 0 && path[n] == '/' && path[n + 1] != '\0')
		return path + n + 1;
	return path;
}

/* The manifest of t in the remote tier, into *m.  Returns 1 when there is
 * a sound one. */
static int fetch_manifest(run_trace *t, run_share *sh, pk_manifest *m)
{
	pk_remote *r = sh != NULL && t->store != NULL ? run_share_remote(sh) : NULL;
	pk_error err = { 0 };
	char tmp[256];
	unsigned char *buf = NULL;
	struct stat st;
	int fd, rc, ret = 0;

	if (r == NULL || (fd = pk_store_tmp_create(t->store, tmp, sizeof(tmp), &err)) < 0)
		return 0;
	rc = pk_remote_get_manifest(r, &t->manifest, fd, &err);
	if (rc < 0)
		run_share_failed(sh, &err);
	if (rc != 1 || fstat(fd, &st) < 0 || (buf = malloc((size_t)st.st_size + 1)) == NULL ||
	    pk_pread_full(fd, buf, (size_t)st.st_size, 0) != st.st_size)
		goto out;
	/* Checked as a local one: a damaged value is only a miss. */
	ret = pk_manifest_decode(buf, (size_t)st.st_size, m, &err) == 0;
out:
	free(buf);
	close(fd);
	unlinkat(t->store->dirfd, tmp, 0);
	return ret;
}

/* The lock of t's manifest: its own, since the key's may be held by this
 * very run (a miss).  timeout_ms 0: only if free.  Returns the fd, or -1. */
static int manifest_lock(run_trace *t, int64_t timeout_ms, pk_error *err)
{
	pk_key lock_key;
	char path[4200], hex[PK_KEY_HEX + 1];

	pk_manifest_key(&t->manifest, &lock_key);
	pk_key_hex(&lock_key, hex);
	if (pk_store_subdir(t->store, "locks", err) < 0 ||
	    pk_store_path(t->store, path, sizeof(path), "locks/%s", hex) < 0)
		return -1;
	return pk_lock_acquire(path, timeout_ms, err);
}

/* Saves m, whose records took new stats, unless another run is updating
 * the manifest (its write wins; the next hit refreshes again).  Best
 * effort: a hit never fails for it. */
static void save_refreshed(run_trace *t, const pk_manifest *m)
{
	pk_manifest now;
	pk_error err = { 0 };
	int lock;

	if (t->store == NULL || (lock = manifest_lock(t, 0, &err)) < 0)
		return;
	/* Only over the manifest read: one changed meanwhile is left as is. */
	if (pk_manifest_load(t->store, &t->manifest, &now, &err) == 0 &&
	    now.nvariants == m->nvariants && now.nrecs == m->nrecs)
		pk_manifest_save(t->store, &t->manifest, m, &err);
	pk_manifest_free(&now);
	pk_lock_release(lock);
}

/* The --explain line of a run that connected to another host: the same
 * words for the run that stores the result and for a hit that replays it
 * (npeers 0: the peers are not known here). */
static void explain_network(run_msg *m, char *const *peers, size_t npeers)
{
	if (npeers == 0)
		run_explain(m, "the run used the network");
	else
		run_explain(m, "the run used the network (%s%s)", peers[0],
		            npeers > 1 ? ", ..." : "");
}

/* For a hit on an input set whose run used the network: the manifest
 * holds only that flag, the peers are in the result entry's note, read
 * from its metadata when the entry is here (one found through the remote
 * tier is not, yet). */
static void explain_stored_network(run_trace *t, run_msg *m, const pk_key *result)
{
	pk_meta meta = { 0 };
	pk_trace_note n = { 0 };
	pk_error err = { 0 };
	uint64_t stored;
	int fd = t->store != NULL ? pk_store_open_entry(t->store, result) : -1;
	int known = fd >= 0 && pk_entry_read_meta_key(fd, result, &meta, &stored, &err) == 0 &&
	            meta.trace != NULL &&
	            pk_trace_note_decode(meta.trace, meta.trace_len, &n, &err) == 0;

	explain_network(m, known ? n.peers : NULL, known ? n.npeers : 0);
	pk_trace_note_free(&n);
	pk_meta_free(&meta);
	if (fd >= 0)
		close(fd);
}

int run_trace_lookup(run_trace *t, run_msg *m, run_share *sh, pk_key *result)
{
	pk_manifest man = { 0 }, far = { 0 };
	pk_error err = { 0 };
	const pk_mrec *first = NULL;
	const char *why = NULL;
	char buf[PK_ERROR_STR_LEN];
	char *cwd = getcwd(NULL, 0);
	long v = -1;
	int rc = 1, ret = 0, refreshed = 0, flags = 0;

	if (t->store != NULL && (rc = pk_manifest_load(t->store, &t->manifest, &man, &err)) < 0) {
		run_explain(m, "manifest %.12s damaged: %s", t->hex,
		            pk_error_str(&err, buf, sizeof(buf)));
		run_warn(m, "corrupt manifest %.12s (%s), running the command", t->hex,
		         pk_error_str(&err, buf, sizeof(buf)));
		pk_stats_add(t->store, PK_STAT_CORRUPT, 0);
	}
	if (rc == 0)
		v = pk_manifest_match(&man, t->statdir, &first, &why, &refreshed);
	if (v >= 0) {
		*result = man.variants[v].result;
		flags = man.variants[v].flags;
		ret = 1;
		/* Files touched, or hashed while fresh, held by their content:
		 * their new stats spare the next hit that reading. */
		if (refreshed)
			save_refreshed(t, &man);
		goto out;
	}
	/* Another host may have run it with the inputs this one has. */
	if (fetch_manifest(t, sh, &far)) {
		const pk_mrec *ffirst = NULL;
		const char *fwhy = NULL;
		long fv = pk_manifest_match(&far, t->statdir, &ffirst, &fwhy, NULL);
		if (fv >= 0) {
			pk_variant *var = &far.variants[fv];
			pk_mrec *recs = calloc(var->n + 1, sizeof(*recs));
			run_explain(m, "remote manifest");
			*result = var->result;
			flags = var->flags;
			ret = 1;
			/* Kept locally too: the next run needs no round trip
			 * (unless another run is writing the manifest now). */
			int lock = recs != NULL ? manifest_lock(t, 0, &err) : -1;
			if (lock >= 0) {
				for (size_t i = 0; i < var->n; i++)
					recs[i] = far.recs[var->idx[i]];
				if (rc != 0)
					memset(&man, 0, sizeof(man));
				if (pk_manifest_add(&man, &var->result, var->created_ms, var->flags,
				                    recs, var->n) == 0)
					pk_manifest_save(t->store, &t->manifest, &man, &err);
				pk_lock_release(lock);
			}
			free(recs);
			goto out;
		}
		if (first == NULL) {
			first = ffirst;
			why = fwhy;
		}
	}
	if (first != NULL)
		run_explain(m, "miss (%s: %s)", why, shown(first->path, cwd));
	else
		run_explain(m, "miss (no manifest)");
out:
	if (ret == 1 && run_explaining(m)) {
		char hex[PK_KEY_HEX + 1];
		pk_key_hex(result, hex);
		run_explain(m, "traced inputs unchanged: result %s", hex);
		if (flags & PK_VARIANT_NETWORK)
			explain_stored_network(t, m, result);
	}
	pk_manifest_free(&man);
	pk_manifest_free(&far);
	free(cwd);
	return ret;
}

pk_trace *run_trace_start(run_trace *t, run_msg *m)
{
	pk_error err = { 0 };
	char buf[PK_ERROR_STR_LEN];

	if ((t->tracer = pk_trace_create(NULL, &err)) == NULL)
		run_warn(m, "running uncached: cannot trace: %s",
		         pk_error_str(&err, buf, sizeof(buf)));
	return t->tracer;
}

int run_trace_judge(run_trace *t, const run_store_sink *sink)
{
	pk_trace_result res;
	pk_judgement j;
	pk_judge_opts jo = { 0 };
	pk_trace_note note = { 0 };
	pk_error err = { 0 };
	char buf[PK_ERROR_STR_LEN], *cwd = NULL;
	int ret = -1;

	if (t->tracer == NULL)
		return -1; /* said when it could not start */
	if (pk_trace_finish(t->tracer, &res, &err) < 0) {
		run_not_stored(sink, "%s", pk_error_str(&err, buf, sizeof(buf)));
		return -1;
	}
	if (res.state == PK_TRACE_UNTRACED) {
		/* The command ran, untraced: nothing says what it read. */
		run_warn(sink->m, "running uncached: cannot trace: %s", res.why);
		run_explain(sink->m, "not stored: cannot trace: %s", res.why);
		pk_trace_result_free(&res);
		return -1;
	}
	cwd = getcwd(NULL, 0);
	jo.cache_dir = t->store != NULL ? t->store->dir : NULL;
	jo.ignore = t->o->trace_ignore;
	jo.nignore = t->o->ntrace_ignore;
	jo.cwd = cwd;
	jo.outputs = t->o->outputs;
	jo.noutputs = t->o->noutputs;
	jo.statdir = t->statdir;
	jo.network_uncached = t->o->trace_network_uncached;
	if (pk_judge(&res, &jo, &j, &err) < 0) {
		run_not_stored(sink, "%s", pk_error_str(&err, buf, sizeof(buf)));
		goto out;
	}
	if (!j.cacheable) {
		run_explain(sink->m, "not stored: %s", j.why);
		if (res.state == PK_TRACE_INCOMPLETE)
			run_not_stored(sink, "the trace is incomplete: %s", j.why);
		else
			run_not_stored(sink, "%s", j.why);
		pk_judgement_free(&j);
		goto out;
	}
	t->flags = j.npeers > 0 ? PK_VARIANT_NETWORK : 0;
	pk_mrecs_result_key(&t->manifest, j.inputs, j.ninputs, &t->result);
	note.manifest = t->manifest;
	note.flags = t->flags;
	note.inputs = j.inputs;
	note.ninputs = j.ninputs;
	note.written = j.written;
	note.nwritten = j.nwritten;
	note.peers = j.peers;
	note.npeers = j.npeers;
	if (pk_trace_note_encode(&note, &t->note, &t->note_len) < 0) {
		run_not_stored(sink, "out of memory");
		pk_judgement_free(&j);
		goto out;
	}
	if (j.npeers > 0)
		explain_network(sink->m, j.peers, j.npeers);
	/* The input set moves to t, for the manifest. */
	t->inputs = j.inputs;
	t->ninputs = j.ninputs;
	j.inputs = NULL;
	j.ninputs = 0;
	pk_judgement_free(&j);
	ret = 0;
out:
	free(cwd);
	pk_trace_result_free(&res);
	return ret;
}

/* Pushes the manifest file of t to the remote tier. */
static void push_manifest(run_trace *t, run_share *sh)
{
	pk_remote *r = sh != NULL ? run_share_writable(sh) : NULL;
	pk_error err = { 0 };
	char rel[300];
	struct stat st;
	int fd;

	if (r == NULL)
		return;
	snprintf(rel, sizeof(rel), "manifests/%.2s/%s", t->hex, t->hex);
	if ((fd = pk_store_openat(t->store, rel, O_RDONLY, 0)) < 0)
		return;
	if (fstat(fd, &st) == 0 && pk_remote_put_manifest(r, &t->manifest, fd, (uint64_t)st.st_size,
	                                                  t->o->ttl_ms, &err) < 0)
		run_share_failed(sh, &err);
	close(fd);
}

void run_trace_stored(run_trace *t, run_msg *m, run_share *sh, int64_t created_ms)
{
	pk_manifest man;
	pk_error err = { 0 };
	char buf[PK_ERROR_STR_LEN];
	int lock, rc;

	if ((lock = manifest_lock(t, MANIFEST_LOCK_MS, &err)) < 0)
		goto fail;
	rc = pk_manifest_load(t->store, &t->manifest, &man, &err);
	if (rc < 0)
		memset(&man, 0, sizeof(man)); /* damaged: this set starts anew */
	if (pk_manifest_add(&man, &t->result, created_ms, t->flags, t->inputs, t->ninputs) < 0) {
		pk_error_set(&err, ENOMEM, "out of memory");
		pk_manifest_free(&man);
		goto fail;
	}
	rc = pk_manifest_save(t->store, &t->manifest, &man, &err);
	pk_manifest_free(&man);
	if (rc < 0)
		goto fail;
	push_manifest(t, sh);
	pk_lock_release(lock);
	return;
fail:
	pk_lock_release(lock);
	run_warn(m, "cannot write manifest %.12s: %s", t->hex,
	         pk_error_str(&err, buf, sizeof(buf)));
}
