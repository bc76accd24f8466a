/* run_key.c: a run's key, from its arguments, program, inputs,
 * environment, working directory and stdin, and --explain's account of it. */
#include "run_impl.h"

#include "quote.h"

#include "inputs.h"
#include "program.h"
#include "units.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void hex16(const unsigned char h[16], char out[33])
{
	pk_key k;
	memcpy(k.bytes, h, 16);
	pk_key_hex(&k, out);
}

/* w quoted (quote.h), in b (emptied first); valid until the next call. */
static const char *quoted(pk_buf *b, const char *w, int flags)
{
	if (w == NULL)
		return "-";
	b->len = 0;
	pk_quote_word(b, w, flags);
	return b->failed || b->p == NULL ? "?" : (const char *)b->p;
}

void run_explain_parts(struct run *u)
{
	const pk_key_parts *p = &u->parts;
	pk_buf b = { 0 };
	char h[33];

	if (u->o->explain == NULL)
		return;
	/* Every word from the command line or the file system is quoted as
	 * ls and show quote it: a name can hold terminal escapes. */
	run_explain(u, "key %s", u->hex);
	for (size_t i = 0; i < p->argc; i++)
		run_explain(u, "  argv[%zu] %s", i, quoted(&b, p->argv[i], PK_QUOTE_ALWAYS));
	if (p->program_check == PK_PROGRAM_MTIME)
		run_explain(u, "  program %s size %llu mtime %lld.%09lld", quoted(&b, p->program, 0),
		            (unsigned long long)p->program_size,
		            (long long)(p->program_mtime_ns / 1000000000),
		            (long long)(p->program_mtime_ns % 1000000000));
	else if (p->program_check == PK_PROGRAM_CONTENT) {
		hex16(p->program_hash, h);
		run_explain(u, "  program %s xxh3 %s", quoted(&b, p->program, 0), h);
	}
	for (size_t i = 0; i < p->ninputs; i++) {
		hex16(p->inputs[i].hash, h);
		run_explain(u, "  input %s %s%s", quoted(&b, p->inputs[i].path, 0),
		            p->inputs[i].present ? "xxh3 " : "absent", p->inputs[i].present ? h : "");
	}
	for (size_t i = 0; i < p->nenv; i++)
		run_explain(u, "  env %s (%s)", quoted(&b, p->env[i].name, 0),
		            p->env[i].value ? "set" : "unset");
	if (p->cwd)
		run_explain(u, "  cwd %s", quoted(&b, p->cwd, 0));
	if (p->has_stdin) {
		hex16(p->stdin_hash, h);
		run_explain(u, "  stdin xxh3 %s (%llu bytes)", h, (unsigned long long)u->spool.size);
	} else if (u->have_spool) {
		run_explain(u, "  stdin empty (keyed as no stdin)");
	}
	if (p->extra)
		run_explain(u, "  key text %s", quoted(&b, p->extra, PK_QUOTE_ALWAYS));
	for (size_t i = 0; i < p->noutputs; i++)
		run_explain(u, "  output %s", quoted(&b, p->outputs[i], 0));
	run_explain(u, "  cache-failures %s", p->cache_failures ? "yes" : "no");
	free(b.p);
}

static char **dup_strv(char *const *v, size_t n)
{
	char **d = calloc(n + 1, sizeof(*d));
	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((d[i] = strdup(v[i])) == NULL)
			return d;   /* freed with the parts; caller checks */
	return d;
}

/* No key applies: the run goes uncached, and says why once. */
static int no_key(struct run *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int no_key(struct run *u, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->no_key, sizeof(u->no_key), fmt, ap);
	va_end(ap);
	run_warn(u, "running uncached: %s", u->no_key);
	return -2;
}

/* Fills u->parts.  Returns 0; -1 with res->error for a missing program;
 * -2 when no key applies (the run then goes uncached). */
int run_make_key(struct run *u)
{
	const pk_run_opts *o = u->o;
	pk_key_parts *p = &u->parts;
	pk_error err = { 0 };
	size_t argc = 0;
	extern char **environ;

	while (o->argv[argc] != NULL)
		argc++;
	if (pk_program_resolve(o->argv[0], getenv("PATH"), &p->program, &err) < 0) {
		u->r->status = err.errnum == EACCES ? 126 : 127;
		snprintf(u->r->error, sizeof(u->r->error), "%s: %s", o->argv[0],
		         err.errnum == EACCES ? "permission denied" : "command not found");
		return -1;
	}
	p->argc = argc;
	p->argv = dup_strv(o->argv, argc);
	p->noutputs = o->noutputs;
	p->outputs = dup_strv(o->outputs, o->noutputs);
	if (p->argv == NULL || p->outputs == NULL)
		goto nomem;
	for (size_t i = 0; i < argc; i++)
		if (p->argv[i] == NULL)
			goto nomem;
	for (size_t i = 0; i < o->noutputs; i++)
		if (p->outputs[i] == NULL)
			goto nomem;
	p->program_check = o->program_check;
	p->cache_failures = o->cache_failures;
	if (o->extra != NULL && (p->extra = strdup(o->extra)) == NULL)
		goto nomem;
	/* The stdin read before made the run uncached: the other parts are
	 * worth nothing without it. */
	if (u->no_key[0] != '\0')
		return -2;
	if (o->use_cwd && (p->cwd = getcwd(NULL, 0)) == NULL)
		return no_key(u, "cannot get the working directory: %s", strerror(errno));
	/* The stat cache only where hashing happens, and only in a real
	 * directory of the cache (its records decide what counts as unchanged). */
	const char *statdir = NULL;
	if (u->have_store && (o->ninputs > 0 || o->program_check == PK_PROGRAM_CONTENT) &&
	    pk_store_subdir(&u->store, "inputs", &err) == 0)
		statdir = u->statdir;
	if (pk_program_describe(p, statdir, &err) < 0 ||
	    pk_inputs_expand(o->inputs, o->ninputs, statdir, &p->inputs, &p->ninputs, &err) < 0) {
		char buf[700];
		return no_key(u, "%s", pk_error_str(&err, buf, sizeof(buf)));
	}
	if (pk_key_select_env(o->envs, o->nenvs, environ, &p->env, &p->nenv) < 0)
		goto nomem;
	/* An empty stdin keys as no stdin: cron's empty pipe, a terminal and
	 * /dev/null give one key for one crontab line. */
	if (u->have_spool && u->spool.size > 0) {
		p->has_stdin = 1;
		memcpy(p->stdin_hash, u->spool.hash, 16);
	}
	pk_key_compute(p, &u->key);
	pk_key_hex(&u->key, u->hex);
	return 0;
nomem:
	return no_key(u, "out of memory");
}

/* Reads stdin into the key when the mode says so.  Returns 0, or -2 when
 * the run must go uncached (stdin too large, or not readable). */
int run_take_stdin(struct run *u)
{
	const pk_run_opts *o = u->o;
	pk_error err = { 0 };
	char path[4200];

	if (o->stdin_mode == PK_STDIN_NEVER ||
	    (o->stdin_mode == PK_STDIN_AUTO && !pk_spool_wanted(0)))
		return 0;
	if (u->have_store && pk_store_path(&u->store, path, sizeof(path), "tmp") < 0)
		u->have_store = 0;
	if (pk_spool_read(0, u->have_store ? path : NULL, o->stdin_limit, &u->spool, &err) < 0) {
		char buf[700];
		return no_key(u, "%s", pk_error_str(&err, buf, sizeof(buf)));
	}
	u->have_spool = 1;
	if (!u->spool.complete && u->spool.spool_errno != 0)
		return no_key(u, "cannot keep stdin: %s", strerror(u->spool.spool_errno));
	if (!u->spool.complete) {
		char lim[32];
		return no_key(u, "stdin is larger than %s",
		              pk_size_format(o->stdin_limit, lim, sizeof(lim)));
	}
	return 0;
}
