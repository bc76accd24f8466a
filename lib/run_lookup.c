/* run_lookup.c: a run's lookup: the key looked up here, then in the remote
 * tier; an entry found is checked, judged fresh, stale or expired, and
 * replayed (its output files restored, its output written).  Part of the
 * run module (run_impl.h). */
#include "run.h"

#include "entry.h"
#include "error.h"
#include "meta.h"
#include "run_impl.h"
#include "run_record.h"
#include "run_replay.h"
#include "stats.h"
#include "units.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* What run_lookup_local makes of an entry before the fleet is asked about it
 * (remote.verify_hits) and its files are restored: a miss and why, or a
 * replay.  One function for both of its uses: whether the entry is
 * replayed decides when its checksum is checked. */
enum verdict {
	V_FUTURE,        /* created in the future: a miss */
	V_WARM,          /* --warm, not the run waited for: a miss */
	V_EXPIRED,       /* a miss */
	V_STALE_OUTPUTS, /* stale, with declared outputs: refreshed now, a miss */
	V_STALE,         /* replayed, then refreshed in the background */
	V_HIT,           /* replayed */
	V_WAITED         /* stored by the run waited for: replayed, whatever its age */
};

static enum verdict verdict(const struct run *u, const pk_meta *m, int64_t age,
                            enum pk_freshness fresh)
{
	/* Stored by a run that ended while this one waited for it: taken
	 * whatever its age, since age counts from the start of the run it
	 * describes, and a run longer than the ttl would otherwise run again
	 * for every waiter, one after the other. */
	int waited_for = u->after_wait && m->created_ms + m->duration_ms >= u->since_ms;

	if (age < 0)
		return V_FUTURE;
	if (waited_for)
		return V_WAITED;
	if (u->o->warm)
		return V_WARM;
	if (fresh == PK_EXPIRED)
		return V_EXPIRED;
	/* A background refresh would rewrite the declared output files after
	 * pickled has returned, under a caller that may be reading them: with
	 * outputs, a stale entry is refreshed in the foreground instead. */
	if (fresh == PK_STALE)
		return u->o->noutputs > 0 ? V_STALE_OUTPUTS : V_STALE;
	return V_HIT;
}

static int replayed(enum verdict v)
{
	return v == V_STALE || v == V_HIT || v == V_WAITED;
}

/* Looks for a usable local entry and replays it.  Returns HIT or STALE
 * when the entry was replayed, MISS otherwise (with the reason explained). */
enum lookup run_lookup_local(struct run *u, int replay)
{
	const pk_run_opts *o = u->o;
	pk_error err = { 0 };
	pk_entry *e = NULL;
	const pk_meta *m;
	char age_s[32], buf[PK_ERROR_STR_LEN];
	enum lookup ret = MISS;
	enum pk_freshness fresh;
	enum verdict v;
	int64_t age;
	int fd;

	fd = pk_store_open_entry(&u->store, &u->key.key);
	if (fd < 0) {
		run_explain(&u->msg, "miss (no entry)");
		run_key_explain_miss(&u->key, &u->store, u->o, &u->msg);
		run_decide(&u->rec, -1, "no entry");
		return MISS;
	}
	if ((e = pk_entry_open(fd, &err)) == NULL)
		goto corrupt;
	/* The checksum first (as pk_entry_open_key does): a damaged creation
	 * time must not pass for an expired entry and go unreported.  A large
	 * entry with output files is checked while they are restored (read
	 * once, not twice), and before anything else is decided from it. */
	int on_restore = replay && pk_entry_check_on_restore(e);
	if ((!on_restore && pk_entry_verify(e, 0, &err) < 0) ||
	    pk_entry_check_key(e, &u->key.key, &err) < 0)
		goto corrupt;
	m = pk_entry_meta(e);
	if (!run_replay_matches(o, m)) {
		pk_error_set(&err, 0, "entry restores files this run does not declare");
		goto corrupt;
	}
	age = pk_meta_age(m->created_ms, pk_now_ms());
	fresh = pk_meta_freshness(age, o->ttl_ms, o->stale_ms);
	v = verdict(u, m, age, fresh);
	/* Not a hit after all: checked now, so that damage is said. */
	if (on_restore && !replayed(v) && pk_entry_verify(e, 0, &err) < 0)
		goto corrupt;
	if (v == V_FUTURE) {
		run_explain(&u->msg, "miss (expired: created in the future, the clock was ahead)");
		run_decide(&u->rec, -1, "expired");
		goto out;
	}
	pk_duration_format(age, age_s, sizeof(age_s));
	if (v == V_WARM) {
		run_explain(&u->msg, "miss (warm: refreshing, age %s)", age_s);
		run_decide(&u->rec, -1, "warm");
		goto out;
	}
	if (v == V_EXPIRED) {
		run_explain(&u->msg, "miss (expired, age %s)", age_s);
		run_decide(&u->rec, -1, "expired");
		goto out;
	}
	if (v != V_WAITED && u->o->remote.verify_hits &&
	    run_share_removed(&u->share, &u->key.key, age)) {
		/* Unlinked only: the run goes on as a miss, which may find a
		 * newer entry in Redis, or stores a fresh result. */
		pk_store_remove(&u->store, &u->key.key);
		run_explain(&u->msg,
		            "miss (removed from the shared cache since this copy was made)");
		run_decide(&u->rec, -1, "removed fleet-wide");
		goto out;
	}
	if (v == V_STALE_OUTPUTS) {
		run_explain(&u->msg,
		            "miss (stale, age %s: output files are declared, refreshing "
		            "now)",
		            age_s);
		run_decide(&u->rec, -1, "stale, outputs refreshed now");
		goto out;
	}
	ret = v == V_STALE ? STALE : HIT;
	if (!replay)
		goto out;
	int restored = m->nfiles > 0 ? run_outputs_restore(run_outs(u), e, &err) : 0;
	if (restored == -2)
		goto corrupt;
	if (restored < 0) {
		run_warn(&u->msg, "cannot restore output, running the command: %s",
		         pk_error_str(&err, buf, sizeof(buf)));
		run_explain(&u->msg, "miss (output not restored)");
		ret = MISS;
		run_decide(&u->rec, -1, "output not restored");
		goto out;
	}
	if (ret == STALE)
		run_explain_hit(&u->msg, "stale hit (age %s, refreshing in background)", age_s);
	else if (fresh == PK_EXPIRED)
		run_explain_hit(&u->msg,
		                "hit (waited for an identical run, which stored it: age %s, "
		                "past the ttl)",
		                age_s);
	else if (u->waited)
		run_explain_hit(&u->msg, "hit (waited for an identical run, age %s)", age_s);
	else
		run_explain_hit(&u->msg, "hit (age %s)", age_s);
	pk_store_count_hit(&u->store, &u->key.key);
	pk_stats_add(&u->store, PK_STAT_HIT, m->duration_ms);
	/* A hit's reason is where it came from, not the misses before it. */
	if (strcmp(u->rec.why, "remote") != 0)
		snprintf(u->rec.why, sizeof(u->rec.why), "%s",
		         u->msg.quiet || u->after_wait ? "after waiting" : "");
	run_decide(&u->rec, ret == STALE ? PK_DECISION_STALE : PK_DECISION_HIT, "");
	u->rec.saved_ms = m->duration_ms;
	u->rec.out_bytes = m->stdout_bytes + m->stderr_bytes;
	run_replay_output(e, &u->msg, u->stdin_file, u->stdin_start);
	goto out;
corrupt:
	ret = MISS;
	if (!u->msg.quiet)
		pk_stats_add(&u->store, PK_STAT_CORRUPT, 0);
	run_explain(&u->msg, "miss (corrupt: %s)", pk_error_str(&err, buf, sizeof(buf)));
	run_decide(&u->rec, -1, "corrupt");
	run_warn(&u->msg, "corrupt cache entry %.12s (%s), running the command", u->key.hex,
	         pk_error_str(&err, buf, sizeof(buf)));
out:
	pk_entry_close(e);
	close(fd);
	return ret;
}

/* Traced: the key becomes the result key of the newest input set of the
 * manifest that still holds.  Returns 0 when none does (the key is then
 * the manifest's, which the miss locks). */
static int trace_resolve(struct run *u)
{
	pk_key result;
	int found = run_trace_lookup(&u->trace, &u->msg, &u->share, &result);

	u->key.key = found ? result : u->trace.manifest;
	pk_key_hex(&u->key.key, u->key.hex);
	if (!found)
		run_decide(&u->rec, -1, "traced inputs");
	return found;
}

/* Local first, then the remote tier, whose entry is stored locally and
 * replayed from there like any local one. */
enum lookup run_lookup(struct run *u, int replay)
{
	if (u->traced && !trace_resolve(u))
		return MISS;
	enum lookup l = run_lookup_local(u, replay);

	/* After waiting, a remote entry of any age may be the one waited for
	 * (run_lookup_local decides). */
	if (l != MISS ||
	    !run_share_fetch(&u->share, &u->key.key, u->after_wait ? PK_FOREVER : u->o->ttl_ms))
		return l;
	run_explain(&u->msg, "remote hit");
	u->rec.why[0] = '\0';
	run_decide(&u->rec, -1, "remote");
	return run_lookup_local(u, replay);
}

/* A quiet lookup after waiting for an identical run: its result is taken
 * whatever its age (see run_lookup_local). */
enum lookup run_waited_lookup(struct run *u)
{
	enum lookup l;

	u->msg.quiet = 1;
	u->after_wait = 1;
	l = run_lookup(u, 1);
	u->after_wait = 0;
	u->msg.quiet = 0;
	return l;
}
