/* manifest_gc.c: keeping the manifests in step with the entries they name
 * (gc, rm, verify). */
#include "manifest.h"

#include "catalog.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tidy {
	const pk_store *s;
	int dry_run;
	void (*fn)(void *, const pk_key *, const char *, const char *);
	void *ctx;
	size_t removed;
};

static int entry_exists(void *ctx, const pk_key *key)
{
	int fd = pk_store_open_entry(ctx, key);

	if (fd < 0)
		return errno != ENOENT; /* unreadable is not gone */
	close(fd);
	return 1;
}

static void gone(struct tidy *t, const pk_key *key, const char *rel, const char *why)
{
	t->removed++;
	if (t->fn != NULL)
		t->fn(t->ctx, key, rel, why);
}

static int tidy_one(void *ctx, const pk_key *key, const char *rel)
{
	struct tidy *t = ctx;
	pk_manifest m;
	pk_error err = { 0 };
	int rc;

	if (key == NULL) {
		pk_foreign f = { .what = "file" };
		snprintf(f.rel, sizeof(f.rel), "%s", rel);
		if (t->dry_run || pk_catalog_remove_foreign(t->s, &f) == 0)
			gone(t, NULL, rel, "foreign");
		return 0;
	}
	rc = pk_manifest_load(t->s, key, &m, &err);
	if (rc == 1)
		return 0; /* removed meanwhile */
	if (rc < 0) {
		/* Damaged: a miss for every run, until it goes. */
		if (err.errnum == 0 && (t->dry_run || pk_manifest_remove(t->s, key) == 0))
			gone(t, key, rel, "damaged");
		return 0;
	}
	if (pk_manifest_prune(&m, entry_exists, (void *)(uintptr_t)t->s) > 0) {
		if (m.nvariants == 0) {
			if (t->dry_run || pk_manifest_remove(t->s, key) == 0)
				gone(t, key, rel, "no result left");
		} else if (!t->dry_run) {
			pk_manifest_save(t->s, key, &m, &err);
		}
	}
	pk_manifest_free(&m);
	return 0;
}

size_t pk_manifest_tidy(const pk_store *s, int dry_run,
                        void (*fn)(void *ctx, const pk_key *key, const char *rel, const char *why),
                        void *ctx)
{
	struct tidy t = { s, dry_run, fn, ctx, 0 };
	pk_error err = { 0 };

	pk_manifest_each(s, tidy_one, &t, &err);
	return t.removed;
}

struct results {
	const pk_store *s;
	pk_key *keys;
	size_t n, cap;
	pk_error *err;
};

static int add_results(void *ctx, const pk_key *key, const char *rel)
{
	struct results *r = ctx;
	pk_manifest m;
	pk_error err = { 0 };

	(void)rel;
	if (key == NULL || pk_manifest_load(r->s, key, &m, &err) != 0)
		return 0;
	for (size_t v = 0; v < m.nvariants; v++) {
		if (r->n == r->cap) {
			size_t ncap = r->cap ? r->cap * 2 : 64;
			pk_key *nk = realloc(r->keys, ncap * sizeof(*nk));
			if (nk == NULL) {
				pk_manifest_free(&m);
				return pk_error_set(r->err, ENOMEM, "out of memory");
			}
			r->keys = nk;
			r->cap = ncap;
		}
		r->keys[r->n++] = m.variants[v].result;
	}
	pk_manifest_free(&m);
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(pk_key));
}

int pk_manifest_results(const pk_store *s, pk_key **keys, size_t *n, pk_error *err)
{
	struct results r = { s, NULL, 0, 0, err };

	if (pk_manifest_each(s, add_results, &r, err) < 0) {
		free(r.keys);
		return -1;
	}
	if (r.n > 1)
		qsort(r.keys, r.n, sizeof(*r.keys), cmp_key);
	*keys = r.keys;
	*n = r.n;
	return 0;
}
