/* share.c: fetch from and push to the remote tier, checking like a hit. */
#include "share.h"

#include "defaults.h"
#include "entry.h"
#include "units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A copy whose creation time is off by more than this (hosts' clocks
 * differing) is given the time by this host's clock. */
#define REDATE_MS 1000

int pk_share_fetch(const pk_store *s, pk_remote *r, const pk_key *key, int64_t ttl_ms, char *why,
                   size_t whylen, pk_error *err)
{
	char tmp[256];
	pk_error e = { 0 };
	pk_entry *en = NULL;
	int64_t left = -1;
	int fd, got, ret = 0;

	if ((fd = pk_store_tmp_create(s, tmp, sizeof(tmp), err)) < 0) {
		snprintf(why, whylen, "local store: %s", err->msg);
		return 0;
	}
	got = pk_remote_get(r, key, fd, &left, err);
	if (got != 1) {
		ret = got;
		snprintf(why, whylen, "%s", got == 0 ? "no remote entry" : err->msg);
		goto out;
	}
	/* A remote value is trusted no more than a local file, and, unless a
	 * host holding the shared secret sealed it, checked down to its last
	 * compressed byte before it is stored: a replay then never starts on
	 * one that would stop halfway (more output than it declares, a frame
	 * that does not decode). */
	ret = 2;
	if ((en = pk_entry_open(fd, &e)) == NULL ||
	    pk_entry_verify(en, !pk_remote_sealed(r), &e) < 0) {
		snprintf(why, whylen, "damaged: %s", e.msg);
		goto out;
	}
	if (!pk_key_equal(&pk_entry_meta(en)->key, key)) {
		snprintf(why, whylen, "holds another key");
		goto out;
	}
	ret = 0;
	const pk_meta *m = pk_entry_meta(en);
	int64_t now = pk_now_ms(), age;
	if (left >= 0 && m->ttl_ms != PK_FOREVER) {
		/* One clock for the fleet, the server's: the uploader gave the
		 * value the ttl less the entry's age on its own clock, so the
		 * ttl less what is left is its age, whatever the hosts'
		 * clocks say.  Never younger than the run it describes. */
		age = m->ttl_ms - left;
		if (age < m->duration_ms)
			age = m->duration_ms;
	} else {
		age = pk_meta_age(m->created_ms, now);
		if (age < 0) {
			snprintf(why, whylen,
			         "remote entry created in the future: its host's clock is ahead");
			goto out;
		}
	}
	/* The one rule (meta.h), for expiry only: stale or not is the run's
	 * to judge once the copy is here. */
	if (pk_meta_freshness(age, ttl_ms, 0) == PK_EXPIRED) {
		snprintf(why, whylen, "remote entry expired");
		goto out;
	}
	/* The local copy then ages by this host's clock from the same age. */
	if (llabs(now - age - m->created_ms) > REDATE_MS &&
	    pk_entry_redate(en, now - age, &e) < 0) {
		snprintf(why, whylen, "local store: %s", e.msg);
		goto out;
	}
	pk_entry_close(en);
	en = NULL;
	if (pk_store_commit(s, fd, tmp, key, &e) < 0) {
		snprintf(why, whylen, "local store: %s", e.msg);
		close(fd);
		return 0;
	}
	close(fd);
	return 1;
out:
	pk_entry_close(en);
	close(fd);
	unlinkat(s->dirfd, tmp, 0);
	return ret;
}

int pk_share_push(pk_remote *r, const pk_key *key, int fd, uint64_t size, int64_t created_ms,
                  int64_t ttl_ms, pk_error *err)
{
	int64_t left = PK_FOREVER;

	if (ttl_ms != PK_FOREVER) {
		left = created_ms + ttl_ms - pk_now_ms();
		/* Already expired (the run took longer than its ttl): shared
		 * briefly all the same, for the hosts that waited for it. */
		if (left <= 0)
			left = PK_JUST_STORED_MS;
	}
	return pk_remote_put(r, key, fd, size, left, err);
}
