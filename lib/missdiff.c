/* missdiff.c: the newest entry of a command, and how a run's key differs. */
#include "missdiff.h"

#include "catalog.h"
#include "keydiff.h"
#include "units.h"

#include <stdio.h>
#include <string.h>

static int same_argv(const pk_key_parts *a, const pk_key_parts *b)
{
	if (a->argc != b->argc)
		return 0;
	for (size_t i = 0; i < a->argc; i++)
		if (strcmp(a->argv[i], b->argv[i]) != 0)
			return 0;
	return 1;
}

/* How close entry m is to the run: 3 same name, 2 same arguments, 1 same
 * program, 0 unrelated. */
static int kinship(const pk_meta *m, const pk_key_parts *p, const char *name)
{
	if (name != NULL)
		return m->name != NULL && strcmp(m->name, name) == 0 ? 3 : 0;
	if (same_argv(&m->parts, p))
		return 2;
	if (m->parts.program != NULL && p->program != NULL &&
	    strcmp(m->parts.program, p->program) == 0)
		return 1;
	return 0;
}

struct relay {
	pk_missdiff_fn *fn;
	void *ctx;
};

/* A difference, indented under the line naming the entry. */
static void one_line(void *ctx, int part, const char *name, const char *line)
{
	const struct relay *r = ctx;
	char buf[1300];

	(void)part;
	(void)name;
	snprintf(buf, sizeof(buf), "  %s", line);
	r->fn(r->ctx, buf);
}

int pk_missdiff_explain(const pk_store *s, const pk_key_parts *p, const pk_key *key,
                        const char *name, const char *cwd, pk_missdiff_fn *fn, void *ctx,
                        pk_error *err)
{
	pk_catalog cat = { 0 };
	const pk_item *best = NULL;
	int best_kin = 0, unknown = 0;
	struct relay r = { fn, ctx };
	char line[200], age[32];

	if (pk_catalog_load(s, &cat, err) < 0) {
		pk_catalog_free(&cat);
		return -1;
	}
	for (size_t i = 0; i < cat.n; i++) {
		const pk_item *it = &cat.items[i];
		int kin;
		if (it->damaged || pk_key_equal(&it->key, key))
			continue;
		kin = kinship(&it->meta, p, name);
		if (kin == 0 || kin < best_kin)
			continue;
		if (kin > best_kin || it->meta.created_ms > best->meta.created_ms) {
			best = it;
			best_kin = kin;
		}
	}
	if (best == NULL) {
		fn(ctx, name != NULL ? "no earlier entry of this job"
		                     : "no earlier entry of this command");
		goto out;
	}
	pk_duration_format(pk_item_age(best, pk_now_ms()), age, sizeof(age));
	snprintf(line, sizeof(line), "newest entry of this %s: %.12s, stored %s ago; what differs:",
	         name != NULL    ? "job"
	         : best_kin == 2 ? "command"
	                         : "program",
	         best->hex, age);
	fn(ctx, line);
	size_t n = pk_keydiff(p, &best->meta.parts, cwd, best->meta.run_cwd, 5, one_line, &r,
	                      &unknown);
	if (unknown)
		fn(ctx, "  env values: not recorded by that entry (an older pickled stored it)");
	else if (n == 0)
		fn(ctx,
		   "  nothing that entry records (it was stored by another version of pickled)");
out:
	pk_catalog_free(&cat);
	return 0;
}
