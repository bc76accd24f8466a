/* jobs_note.c: why `pickled jobs` shows a job with no entry. */
#include "jobs_note.h"

#include "quote.h"
#include "units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when a path of the job is read or written relative to its directory. */
static int has_relative(const pk_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i][0] != '/')
			return 1;
	return 0;
}

void jobs_why_none(const pk_store *s, struct jobs_entries *e, const pk_config_job *j,
                   const char *cwd, char *why, size_t len)
{
	const pk_item *newest = NULL;
	pk_error err = { 0 };
	char age[32];

	why[0] = '\0';
	if (e->loaded == 0)
		e->loaded = pk_catalog_load(s, &e->cat, &err) == 0 ? 1 : -1;
	if (e->loaded < 0)
		return;
	for (size_t i = 0; i < e->cat.n; i++) {
		const pk_item *it = &e->cat.items[i];
		if (it->damaged || it->meta.name == NULL || strcmp(it->meta.name, j->name) != 0)
			continue;
		if (newest == NULL || it->meta.created_ms > newest->meta.created_ms)
			newest = it;
	}
	if (newest == NULL)
		return;
	pk_duration_format(pk_item_age(newest, pk_now_ms()), age, sizeof(age));
	if (newest->meta.run_cwd != NULL && cwd != NULL && strcmp(newest->meta.run_cwd, cwd) != 0 &&
	    (j->ov.use_cwd || has_relative(&j->ov.inputs) || has_relative(&j->ov.outputs))) {
		/* Quoted as every path pickled prints (quote.h). */
		pk_buf here = { 0 }, there = { 0 };
		pk_quote_word(&here, cwd, 0);
		pk_quote_word(&there, newest->meta.run_cwd, 0);
		snprintf(why, len,
		         "no entry for its key computed in %s: its newest entry (%.12s, "
		         "%s old) was stored from %s, and its relative paths%s depend on the "
		         "working directory: look from there, or give the job a dir:",
		         here.failed ? "?" : (char *)here.p, newest->hex, age,
		         there.failed ? "?" : (char *)there.p,
		         j->ov.use_cwd ? " and cwd: true" : "");
		free(here.p);
		free(there.p);
		return;
	}
	snprintf(why, len,
	         "its key has changed since its newest entry (%.12s, %s old): "
	         "'pickled key -j %s --explain' says what differs",
	         newest->hex, age, j->name);
}

void jobs_entries_free(struct jobs_entries *e)
{
	if (e->loaded > 0)
		pk_catalog_free(&e->cat);
	e->loaded = 0;
}
