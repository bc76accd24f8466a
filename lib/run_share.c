/* run_share.c: one run's use of the remote tier (see run_share.h). */
#include "run_share.h"

#include "share.h"
#include "stats.h"

#include <errno.h>

void run_share_failed(run_share *s, const pk_error *err)
{
	char buf[PK_ERROR_STR_LEN];

	s->rec->remote_errors++;
	pk_stats_add(s->store,
	             err->errnum == ETIMEDOUT ? PK_STAT_REMOTE_TIMEOUT : PK_STAT_REMOTE_ERROR, 0);
	run_warn(s->msg, "remote cache unavailable, using the local cache: %s",
	         pk_error_str(err, buf, sizeof(buf)));
	run_explain(s->msg, "remote unavailable");
	s->down = 1;
	run_share_close(s);
}

pk_remote *run_share_remote(run_share *s)
{
	pk_error err = { 0 };

	if (s->remote != NULL || s->down || s->opts->url == NULL)
		return s->remote;
	if ((s->remote = pk_remote_connect(s->opts, &err)) == NULL)
		run_share_failed(s, &err);
	return s->remote;
}

pk_remote *run_share_writable(run_share *s)
{
	return s->opts->read_only ? NULL : run_share_remote(s);
}

int run_share_fetch(run_share *s, const pk_key *key, int64_t max_age_ms)
{
	pk_error err = { 0 };
	char why[600];
	pk_remote *r = run_share_remote(s);
	int got;

	if (r == NULL)
		return 0;
	got = pk_share_fetch(s->store, r, key, max_age_ms, why, sizeof(why), &err);
	if (got < 0) {
		run_share_failed(s, &err);
		return 0;
	}
	/* A value no host would upload: someone else wrote it, or it broke.
	 * Said once per run, since a poll while waiting may meet it again. */
	if (got == 2) {
		if (!s->rejected)
			run_warn(s->msg, "remote entry not used (%s)", why);
		s->rejected = 1;
		got = 0;
	}
	/* A poll while waiting for another host is not a lookup of its own. */
	if (got || !s->msg->quiet)
		pk_stats_add(s->store, got ? PK_STAT_REMOTE_HIT : PK_STAT_REMOTE_MISS, 0);
	if (!got)
		run_explain(s->msg, "remote miss (%s)", why);
	return got;
}

void run_share_push(run_share *s, const pk_key *key, int fd, uint64_t size, int64_t created_ms,
                    int64_t ttl_ms)
{
	pk_error err = { 0 };
	pk_remote *r = run_share_writable(s);

	if (r != NULL && pk_share_push(r, key, fd, size, created_ms, ttl_ms, &err) < 0)
		run_share_failed(s, &err);
}

int run_share_removed(run_share *s, const pk_key *key, int64_t age_ms)
{
	pk_error err = { 0 };
	pk_remote *r = run_share_remote(s);
	int64_t since;
	int got;

	if (r == NULL)
		return 0;
	if ((got = pk_remote_removed(r, key, &since, &err)) < 0) {
		run_share_failed(s, &err);
		return 0;
	}
	return got == 1 && age_ms >= since;
}

void run_share_unlock(run_share *s)
{
	pk_error err = { 0 };

	if (s->remote != NULL && pk_remote_unlock(s->remote, &err) < 0)
		run_share_failed(s, &err);
}

void run_share_close(run_share *s)
{
	pk_remote_close(s->remote);
	s->remote = NULL;
}
