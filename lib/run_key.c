/* run_key.c: a run's key, from its arguments, program, inputs,
 * environment, working directory and stdin, and --explain's account of it. */
#include "run_key.h"

#include "inputs.h"
#include "interp.h"
#include "missdiff.h"
#include "program.h"
#include "quote.h"
#include "units.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* w quoted (quote.h), in b (emptied first); valid until the next call. */
static const char *quoted(pk_buf *b, const char *w, int flags)
{
	if (w == NULL)
		return "-";
	b->len = 0;
	pk_quote_word(b, w, flags);
	return b->failed || b->p == NULL ? "?" : (const char *)b->p;
}

/* The program is an interpreter: its file is in the key, the script it
 * runs is not unless an input names it. */
static void explain_script(const pk_key_parts *p, run_msg *m, pk_buf *b, pk_buf *b2)
{
	size_t interp;
	long script = pk_interp_script(p->argv, p->argc, &interp);

	/* A traced run records the script and what it imports by itself. */
	if (script < 0 || m->o->trace || pk_interp_script_keyed(p, p->argv[script]))
		return;
	const char *prog = quoted(b, p->argv[interp], 0);
	const char *path = quoted(b2, p->argv[script], 0);
	run_explain(m,
	            "  note: %s runs the script %s, which is not in the key (only the "
	            "interpreter's file is): an edit of it, or of a module it imports, replays "
	            "the old result; add -i %s (and -i for its modules, such as -i lib/), or run "
	            "with --trace",
	            prog, path, path);
}

void run_key_explain(const run_key *k, const pk_spool *sp, run_msg *m)
{
	const pk_key_parts *p = &k->parts;
	pk_buf b = { 0 }, b2 = { 0 };
	char h[33], *cwd;

	if (!run_explaining(m))
		return;
	/* Where relative inputs were looked for. */
	cwd = getcwd(NULL, 0);
	/* Every word from the command line or the file system is quoted as
	 * ls and show quote it: a name can hold terminal escapes. */
	run_explain(m, "key %s", k->hex);
	for (size_t i = 0; i < p->argc; i++)
		run_explain(m, "  argv[%zu] %s", i, quoted(&b, p->argv[i], PK_QUOTE_ALWAYS));
	if (p->program_check == PK_PROGRAM_MTIME)
		run_explain(m, "  program %s size %llu mtime %lld.%09lld",
		            quoted(&b, p->program, 0), (unsigned long long)p->program_size,
		            (long long)(p->program_mtime_ns / 1000000000),
		            (long long)(p->program_mtime_ns % 1000000000));
	else if (p->program_check == PK_PROGRAM_CONTENT) {
		pk_key_digest_hex(p->program_hash, h);
		run_explain(m, "  program %s xxh3 %s", quoted(&b, p->program, 0), h);
	}
	for (size_t i = 0; i < p->ninputs; i++) {
		const pk_input *in = &p->inputs[i];
		pk_key_digest_hex(in->hash, h);
		if (in->present)
			run_explain(m, "  input %s xxh3 %s", quoted(&b, in->path, 0), h);
		else if (in->nomatch)
			run_explain(m, "  input %s absent: the pattern matched no file%s%s",
			            quoted(&b, in->path, 0), in->path[0] == '/' ? "" : " in ",
			            in->path[0] == '/' ? "" : quoted(&b2, cwd ? cwd : "?", 0));
		else
			run_explain(m, "  input %s absent%s%s", quoted(&b, in->path, 0),
			            in->path[0] == '/' ? "" : ": no such file in ",
			            in->path[0] == '/' ? "" : quoted(&b2, cwd ? cwd : "?", 0));
	}
	explain_script(p, m, &b, &b2);
	for (size_t i = 0; i < p->nenv; i++)
		run_explain(m, "  env %s (%s)", quoted(&b, p->env[i].name, 0),
		            p->env[i].value ? "set" : "unset");
	if (p->cwd)
		run_explain(m, "  cwd %s", quoted(&b, p->cwd, 0));
	if (p->has_stdin) {
		pk_key_digest_hex(p->stdin_hash, h);
		run_explain(m, "  stdin xxh3 %s (%llu bytes)", h, (unsigned long long)sp->size);
	} else if (sp != NULL) {
		run_explain(m, "  stdin empty (keyed as no stdin)");
	}
	if (p->extra)
		run_explain(m, "  key text %s", quoted(&b, p->extra, PK_QUOTE_ALWAYS));
	for (size_t i = 0; i < p->noutputs; i++)
		run_explain(m, "  output %s", quoted(&b, p->outputs[i], 0));
	run_explain(m, "  cache-failures %s", p->cache_failures ? "yes" : "no");
	free(b.p);
	free(b2.p);
	free(cwd);
}

static void explain_line(void *ctx, const char *line)
{
	run_explain(ctx, "  %s", line);
}

void run_key_explain_miss(const run_key *k, const pk_store *store, const pk_run_opts *o, run_msg *m)
{
	pk_error err = { 0 };
	char *cwd;

	if (!run_explaining(m) || m->quiet || store == NULL)
		return;
	cwd = getcwd(NULL, 0);
	/* A cache that cannot be listed only leaves the miss unexplained. */
	pk_missdiff_explain(store, &k->parts, &k->key, o->name, cwd, explain_line, m, &err);
	free(cwd);
}

static char **dup_strv(char *const *v, size_t n)
{
	char **d = calloc(n + 1, sizeof(*d));
	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((d[i] = strdup(v[i])) == NULL)
			return d; /* freed with the parts; caller checks */
	return d;
}

/* No key applies: the run goes uncached, and says why once. */
static int no_key(run_key *k, run_msg *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int no_key(run_key *k, run_msg *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(k->no_key, sizeof(k->no_key), fmt, ap);
	va_end(ap);
	run_warn(m, "running uncached: %s", k->no_key);
	return -2;
}

/* An input pattern with wildcards that matched no file is most likely a
 * typo, or a relative path run from the wrong directory: keyed as absent,
 * and said once, on every run, since the result is cached all the same. */
static void note_nomatch(const run_key *k, run_msg *m)
{
	const pk_key_parts *p = &k->parts;
	const char *first = NULL;
	size_t n = 0;
	pk_buf b = { 0 };

	for (size_t i = 0; i < p->ninputs; i++)
		if (p->inputs[i].nomatch && n++ == 0)
			first = p->inputs[i].path;
	if (n == 0 || m->r == NULL)
		return;
	pk_quote_word(&b, first, 0);
	if (n == 1)
		snprintf(m->r->notice, sizeof(m->r->notice), "no file matches the input %s",
		         b.failed ? "?" : (const char *)b.p);
	else
		snprintf(m->r->notice, sizeof(m->r->notice),
		         "no file matches the input %s, nor %zu other input pattern%s",
		         b.failed ? "?" : (const char *)b.p, n - 1, n == 2 ? "" : "s");
	free(b.p);
}

int run_key_make(run_key *k, const pk_run_opts *o, const pk_store *store, const pk_spool *sp,
                 run_msg *m, pk_error *err)
{
	pk_key_parts *p = &k->parts;
	size_t argc = 0;
	extern char **environ;

	while (o->argv[argc] != NULL)
		argc++;
	if (pk_program_resolve(o->argv[0], getenv("PATH"), &p->program, err) < 0) {
		/* Only a program that is not there or not executable stops the
		 * run; pickled's own failure to look (out of memory, an I/O
		 * error) leaves the command to run uncached, exec searching. */
		if (err->errnum != ENOENT && err->errnum != EACCES)
			return no_key(k, m, "cannot look up %s: %s", o->argv[0],
			              strerror(err->errnum));
		return pk_error_set(err, err->errnum, "%s: %s", o->argv[0],
		                    err->errnum == EACCES ? "permission denied"
		                                          : "command not found");
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
	if (k->no_key[0] != '\0')
		return -2;
	/* Traced, relative paths are read from the working directory: it
	 * decides which files those are, so it is in the key. */
	if ((o->use_cwd || o->trace) && (p->cwd = getcwd(NULL, 0)) == NULL)
		return no_key(k, m, "cannot get the working directory: %s", strerror(errno));
	/* The stat cache only where hashing happens, and only in a real
	 * directory of the cache (its records decide what counts as unchanged). */
	char dir[4096];
	const char *statdir = NULL;
	if (store != NULL && (o->ninputs > 0 || o->program_check == PK_PROGRAM_CONTENT) &&
	    pk_store_path(store, dir, sizeof(dir), "inputs") == 0 &&
	    pk_store_subdir(store, "inputs", err) == 0)
		statdir = dir;
	if (pk_program_describe(p, statdir, err) < 0 ||
	    pk_inputs_expand(o->inputs, o->ninputs, statdir, &p->inputs, &p->ninputs, err) < 0) {
		char buf[PK_ERROR_STR_LEN];
		return no_key(k, m, "%s", pk_error_str(err, buf, sizeof(buf)));
	}
	note_nomatch(k, m);
	if (pk_key_select_env(o->envs, o->nenvs, environ, &p->env, &p->nenv) < 0)
		goto nomem;
	/* An empty stdin keys as no stdin: cron's empty pipe, a terminal and
	 * /dev/null give one key for one crontab line. */
	if (sp != NULL && sp->size > 0) {
		p->has_stdin = 1;
		memcpy(p->stdin_hash, sp->hash, 16);
	}
	pk_key_compute(p, &k->key);
	pk_key_hex(&k->key, k->hex);
	return 0;
nomem:
	return no_key(k, m, "out of memory");
}

int run_key_stdin(run_key *k, const pk_run_opts *o, const char *dir, pk_spool *sp, int *have_spool,
                  run_msg *m, pk_error *err)
{
	*have_spool = 0;
	if (o->stdin_mode == PK_STDIN_NEVER ||
	    (o->stdin_mode == PK_STDIN_AUTO && !pk_spool_wanted(0)))
		return 0;
	if (pk_spool_read(0, dir, o->stdin_limit, sp, err) < 0) {
		char buf[PK_ERROR_STR_LEN];
		if (sp->lost)
			return -1;
		return no_key(k, m, "%s", pk_error_str(err, buf, sizeof(buf)));
	}
	*have_spool = 1;
	if (!sp->complete && sp->spool_errno != 0)
		return no_key(k, m, "cannot keep stdin: %s", strerror(sp->spool_errno));
	if (!sp->complete) {
		char lim[32];
		return no_key(k, m, "stdin is larger than %s",
		              pk_size_format(o->stdin_limit, lim, sizeof(lim)));
	}
	return 0;
}

void run_key_free(run_key *k)
{
	pk_key_parts_free(&k->parts);
}
