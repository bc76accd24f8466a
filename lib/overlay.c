/* overlay.c: one layer of run settings over the ones below it. */
#include "overlay.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Appends l's strings (borrowed) to *v, *n: a malloc'd, NULL-terminated
 * array. */
static int add(char ***v, size_t *n, const pk_strv *l)
{
	char **nv;

	if (l->n == 0)
		return 0;
	if ((nv = realloc(*v, (*n + l->n + 1) * sizeof(*nv))) == NULL)
		return errno = ENOMEM, -1;
	for (size_t i = 0; i < l->n; i++)
		nv[(*n)++] = l->v[i];
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

/* A pair of fields of the same size (an array of size -1, a compile
 * error, if not): the overlay's and the run options'. */
#define SIZE(t, m) sizeof(((t *)0)->m)
#define FIELD(ov_m, o_m)                                                                           \
	offsetof(pk_overlay, ov_m), offsetof(pk_run_opts, o_m),                                    \
		SIZE(pk_overlay, ov_m) +                                                           \
			0 * sizeof(char[SIZE(pk_overlay, ov_m) == SIZE(pk_run_opts, o_m) ? 1       \
	                                                                                 : -1])

/* Each setting given replaces the value below: where it is in the overlay,
 * where it lands in the run's options (the same type). */
static const struct {
	enum pk_setting s;
	size_t from, to, size;
} scalars[] = {
	{ PK_SET_TTL, FIELD(ttl_ms, ttl_ms) },
	{ PK_SET_STALE, FIELD(stale_ms, stale_ms) },
	{ PK_SET_LOCK_TIMEOUT, FIELD(lock_timeout_ms, lock_timeout_ms) },
	{ PK_SET_STDIN_LIMIT, FIELD(stdin_limit, stdin_limit) },
	{ PK_SET_STDIN, FIELD(stdin_mode, stdin_mode) },
	{ PK_SET_CACHE_FAILURES, FIELD(cache_failures, cache_failures) },
	{ PK_SET_CWD, FIELD(use_cwd, use_cwd) },
	{ PK_SET_TRACE, FIELD(trace, trace) },
	{ PK_SET_KEY, FIELD(key, extra) },
};

int pk_overlay_apply(const pk_overlay *ov, pk_run_opts *o)
{
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++)
		if (pk_overlay_has(ov, scalars[i].s))
			memcpy((char *)o + scalars[i].to, (const char *)ov + scalars[i].from,
			       scalars[i].size);
	if (add(&o->inputs, &o->ninputs, &ov->inputs) < 0 ||
	    add(&o->outputs, &o->noutputs, &ov->outputs) < 0 ||
	    add(&o->envs, &o->nenvs, &ov->env) < 0 || add(&o->tags, &o->ntags, &ov->tags) < 0)
		return -1;
	return 0;
}
