/* keydiff.c: the differences between two keys' parts, as lines for
 * --explain and as short words for `ls -l`. */
#include "keydiff.h"

#include "quote.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

struct out {
	pk_keydiff_fn *fn;
	void *ctx;
	size_t max;
	size_t count[PK_KD_NPARTS];
	size_t total;
	pk_buf q[2]; /* quoted words for the line being made */
};

/* w quoted into the i-th word buffer; valid until that buffer is reused. */
static const char *qw(struct out *o, int i, const char *w)
{
	pk_buf *b = &o->q[i];

	b->len = 0;
	pk_quote_word(b, w, 0);
	return b->failed || b->p == NULL ? "?" : (const char *)b->p;
}

static void emit(struct out *o, int part, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void emit(struct out *o, int part, const char *name, const char *fmt, ...)
{
	char line[1200];
	va_list ap;

	o->total++;
	if (o->max > 0 && ++o->count[part] > o->max)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	o->fn(o->ctx, part, name, line);
}

/* After a part's lines: how many were left out. */
static void more(struct out *o, int part, const char *what)
{
	char line[120];

	if (o->max == 0 || o->count[part] <= o->max)
		return;
	snprintf(line, sizeof(line), "and %zu more %s", o->count[part] - o->max, what);
	o->fn(o->ctx, part, NULL, line);
}

static const char *yes(int v)
{
	return v ? "yes" : "no";
}

static void diff_args(struct out *o, const pk_key_parts *a, const pk_key_parts *b)
{
	size_t n = a->argc > b->argc ? a->argc : b->argc;

	for (size_t i = 0; i < n; i++) {
		const char *x = i < a->argc ? a->argv[i] : NULL;
		const char *y = i < b->argc ? b->argv[i] : NULL;
		if (x != NULL && y != NULL && strcmp(x, y) == 0)
			continue;
		if (y == NULL)
			emit(o, PK_KD_ARGS, NULL, "argument %zu: now %s, not in that entry", i,
			     qw(o, 0, x));
		else if (x == NULL)
			emit(o, PK_KD_ARGS, NULL, "argument %zu: not given now, was %s", i,
			     qw(o, 1, y));
		else
			emit(o, PK_KD_ARGS, NULL, "argument %zu: now %s, was %s", i, qw(o, 0, x),
			     qw(o, 1, y));
	}
	more(o, PK_KD_ARGS, "arguments differ");
}

static const char *check_name(int c)
{
	static const char *const names[] = { "none", "mtime", "content" };

	return c >= 0 && c <= 2 ? names[c] : "?";
}

static void diff_program(struct out *o, const pk_key_parts *a, const pk_key_parts *b)
{
	const char *pa = a->program ? a->program : "-", *pb = b->program ? b->program : "-";

	if (a->program_check != b->program_check)
		emit(o, PK_KD_PROGRAM, NULL, "program check: now %s, was %s",
		     check_name(a->program_check), check_name(b->program_check));
	else if (a->program_check == PK_PROGRAM_NONE)
		return;
	else if (strcmp(pa, pb) != 0)
		emit(o, PK_KD_PROGRAM, NULL, "program: now %s, was %s", qw(o, 0, pa), qw(o, 1, pb));
	else if (a->program_check == PK_PROGRAM_CONTENT &&
	         memcmp(a->program_hash, b->program_hash, 16) != 0)
		emit(o, PK_KD_PROGRAM, NULL, "program %s: content changed", qw(o, 0, pa));
	else if (a->program_check == PK_PROGRAM_MTIME &&
	         (a->program_size != b->program_size || a->program_mtime_ns != b->program_mtime_ns))
		emit(o, PK_KD_PROGRAM, NULL, "program %s: changed (size or modification time)",
		     qw(o, 0, pa));
}

static void diff_inputs(struct out *o, const pk_key_parts *a, const pk_key_parts *b)
{
	size_t i = 0, k = 0;

	/* Both lists are sorted by path (an entry records them so). */
	while (i < a->ninputs || k < b->ninputs) {
		const pk_input *x = i < a->ninputs ? &a->inputs[i] : NULL;
		const pk_input *y = k < b->ninputs ? &b->inputs[k] : NULL;
		int c = x == NULL ? 1 : y == NULL ? -1 : strcmp(x->path, y->path);

		if (c < 0) {
			emit(o, PK_KD_INPUTS, NULL, "input %s: not in that entry's key%s",
			     qw(o, 0, x->path), x->present ? "" : " (absent now)");
			i++;
		} else if (c > 0) {
			emit(o, PK_KD_INPUTS, NULL,
			     "input %s: in that entry's key, not in this one", qw(o, 0, y->path));
			k++;
		} else {
			if (x->present != y->present)
				emit(o, PK_KD_INPUTS, NULL, "input %s: %s", qw(o, 0, x->path),
				     x->present ? "present now, was absent"
				                : "absent now, was present");
			else if (x->present && memcmp(x->hash, y->hash, 16) != 0)
				emit(o, PK_KD_INPUTS, NULL, "input %s: content changed",
				     qw(o, 0, x->path));
			i++;
			k++;
		}
	}
	more(o, PK_KD_INPUTS, "inputs differ");
}

static void diff_env(struct out *o, const pk_key_parts *a, const pk_key_parts *b, int *unknown)
{
	size_t i = 0, k = 0;

	while (i < a->nenv || k < b->nenv) {
		const pk_envvar *x = i < a->nenv ? &a->env[i] : NULL;
		const pk_envvar *y = k < b->nenv ? &b->env[k] : NULL;
		int c = x == NULL ? 1 : y == NULL ? -1 : strcmp(x->name, y->name);

		if (c < 0) {
			emit(o, PK_KD_ENV, x->name, "env %s: in this key (%s), not in that entry's",
			     qw(o, 0, x->name), x->was_set ? "set" : "unset");
			i++;
		} else if (c > 0) {
			emit(o, PK_KD_ENV, y->name, "env %s: in that entry's key, not in this one",
			     qw(o, 0, y->name));
			k++;
		} else {
			if (!x->has_digest || !y->has_digest) {
				if (unknown != NULL)
					*unknown = 1;
			} else if (x->was_set != y->was_set) {
				emit(o, PK_KD_ENV, x->name, "env %s: %s", qw(o, 0, x->name),
				     x->was_set ? "set now, was unset" : "unset now, was set");
			} else if (x->digest != y->digest) {
				emit(o, PK_KD_ENV, x->name,
				     "env %s: value changed (#%08x, was #%08x)", qw(o, 0, x->name),
				     (unsigned)x->digest, (unsigned)y->digest);
			}
			i++;
			k++;
		}
	}
	more(o, PK_KD_ENV, "variables differ");
}

static int has_relative_input(const pk_key_parts *p)
{
	for (size_t i = 0; i < p->ninputs; i++)
		if (p->inputs[i].path[0] != '/')
			return 1;
	return 0;
}

static int str_differ(const char *x, const char *y)
{
	return (x == NULL) != (y == NULL) || (x != NULL && strcmp(x, y) != 0);
}

static void diff_cwd(struct out *o, const pk_key_parts *a, const pk_key_parts *b, const char *ra,
                     const char *rb)
{
	if (str_differ(a->cwd, b->cwd)) {
		if (a->cwd == NULL)
			emit(o, PK_KD_CWD, NULL,
			     "working directory: not in this key, in that entry's");
		else if (b->cwd == NULL)
			emit(o, PK_KD_CWD, NULL,
			     "working directory: in this key, not in that entry's");
		else
			emit(o, PK_KD_CWD, NULL, "working directory: now %s, was %s",
			     qw(o, 0, a->cwd), qw(o, 1, b->cwd));
	} else if (a->cwd == NULL && ra != NULL && rb != NULL && strcmp(ra, rb) != 0 &&
	           (has_relative_input(a) || has_relative_input(b))) {
		/* Not in the key, but relative inputs are read from it. */
		emit(o, PK_KD_CWD, NULL, "run from %s, that entry from %s (relative inputs)",
		     qw(o, 0, ra), qw(o, 1, rb));
	}
}

static void diff_rest(struct out *o, const pk_key_parts *a, const pk_key_parts *b)
{
	if (a->has_stdin != b->has_stdin)
		emit(o, PK_KD_STDIN, NULL, "stdin: %s",
		     a->has_stdin ? "read now, was empty or not read"
		                  : "empty or not read now, was read");
	else if (a->has_stdin && memcmp(a->stdin_hash, b->stdin_hash, 16) != 0)
		emit(o, PK_KD_STDIN, NULL, "stdin: content changed");
	if (str_differ(a->extra, b->extra))
		emit(o, PK_KD_KEY_TEXT, NULL, "key text: now %s, was %s",
		     a->extra ? qw(o, 0, a->extra) : "none",
		     b->extra ? qw(o, 1, b->extra) : "none");
	int outs = a->noutputs != b->noutputs;
	for (size_t i = 0; !outs && i < a->noutputs; i++)
		outs = strcmp(a->outputs[i], b->outputs[i]) != 0;
	if (outs) {
		pk_buf l[2] = { { 0 }, { 0 } };
		const pk_key_parts *p[2] = { a, b };
		for (int s = 0; s < 2; s++) {
			for (size_t i = 0; i < p[s]->noutputs; i++) {
				if (i)
					pk_buf_add(&l[s], " ", 1);
				pk_quote_word(&l[s], p[s]->outputs[i], 0);
			}
		}
		emit(o, PK_KD_OUTPUTS, NULL, "outputs: now %s, was %s",
		     l[0].p && !l[0].failed ? (char *)l[0].p : "none",
		     l[1].p && !l[1].failed ? (char *)l[1].p : "none");
		free(l[0].p);
		free(l[1].p);
	}
	if (a->cache_failures != b->cache_failures)
		emit(o, PK_KD_CACHE_FAILURES, NULL, "cache-failures: now %s, was %s",
		     yes(a->cache_failures), yes(b->cache_failures));
}

size_t pk_keydiff(const pk_key_parts *now, const pk_key_parts *then, const char *run_cwd_now,
                  const char *run_cwd_then, size_t max, pk_keydiff_fn *fn, void *ctx,
                  int *unknown_env)
{
	struct out o;

	memset(&o, 0, sizeof(o));
	o.fn = fn;
	o.ctx = ctx;
	o.max = max;
	diff_args(&o, now, then);
	diff_program(&o, now, then);
	diff_inputs(&o, now, then);
	diff_env(&o, now, then, unknown_env);
	diff_cwd(&o, now, then, run_cwd_now, run_cwd_then);
	diff_rest(&o, now, then);
	free(o.q[0].p);
	free(o.q[1].p);
	return o.total;
}

/* --- ls -l's short words ---------------------------------------------------- */

static void mix(XXH3_state_t *st, const void *p, size_t n)
{
	uint64_t len = n;

	XXH3_64bits_update(st, &len, sizeof(len));
	XXH3_64bits_update(st, p, n);
}

static void mix_str(XXH3_state_t *st, const char *s)
{
	if (s == NULL)
		mix(st, "", 0);
	else
		mix(st, s, strlen(s) + 1); /* the NUL sets NULL and "" apart */
}

/* A digest of one part of p, for telling entries apart at a glance. */
static uint32_t part_digest(const pk_key_parts *p, int part)
{
	XXH3_state_t st;

	XXH3_64bits_reset(&st);
	switch (part) {
	case PK_KD_PROGRAM:
		mix_str(&st, p->program);
		mix(&st, &p->program_check, sizeof(p->program_check));
		mix(&st, &p->program_size, sizeof(p->program_size));
		mix(&st, &p->program_mtime_ns, sizeof(p->program_mtime_ns));
		mix(&st, p->program_hash, 16);
		break;
	case PK_KD_INPUTS:
		for (size_t i = 0; i < p->ninputs; i++) {
			mix_str(&st, p->inputs[i].path);
			mix(&st, &p->inputs[i].present, sizeof(p->inputs[i].present));
			mix(&st, p->inputs[i].hash, 16);
		}
		break;
	case PK_KD_OUTPUTS:
		for (size_t i = 0; i < p->noutputs; i++)
			mix_str(&st, p->outputs[i]);
		break;
	case PK_KD_ARGS:
		for (size_t i = 0; i < p->argc; i++)
			mix_str(&st, p->argv[i]);
		break;
	}
	return (uint32_t)(XXH3_64bits_digest(&st) >> 32);
}

void pk_keydiff_show(pk_buf *b, const pk_key_parts *p, const char *run_cwd, int part,
                     const char *name)
{
	static const char *const labels[PK_KD_NPARTS] = {
		"args", "program", "inputs",         "env", "cwd", "stdin",
		"key",  "outputs", "cache-failures",
	};
	char h[33];

	switch (part) {
	case PK_KD_ENV: {
		const pk_envvar *e = NULL;
		for (size_t i = 0; i < p->nenv && e == NULL; i++)
			if (strcmp(p->env[i].name, name) == 0)
				e = &p->env[i];
		pk_quote_word(b, name, PK_QUOTE_LIST);
		if (e == NULL)
			pk_buf_printf(b, ":-");
		else if (!e->has_digest)
			pk_buf_printf(b, ":?");
		else if (!e->was_set)
			pk_buf_printf(b, ":unset");
		else
			pk_buf_printf(b, "=#%08x", (unsigned)e->digest);
		return;
	}
	case PK_KD_CWD:
		pk_buf_printf(b, "cwd:");
		pk_quote_word(b, p->cwd ? p->cwd : run_cwd ? run_cwd : "-", PK_QUOTE_LIST);
		return;
	case PK_KD_STDIN:
		if (!p->has_stdin) {
			pk_buf_printf(b, "stdin:-");
			return;
		}
		pk_key_digest_hex(p->stdin_hash, h);
		pk_buf_printf(b, "stdin:#%.8s", h);
		return;
	case PK_KD_KEY_TEXT:
		pk_buf_printf(b, "key:");
		pk_quote_word(b, p->extra ? p->extra : "-", PK_QUOTE_LIST);
		return;
	case PK_KD_CACHE_FAILURES:
		pk_buf_printf(b, "cache-failures:%s", yes(p->cache_failures));
		return;
	default:
		if (part < 0 || part >= PK_KD_NPARTS)
			return;
		pk_buf_printf(b, "%s:#%08x", labels[part], (unsigned)part_digest(p, part));
		return;
	}
}
