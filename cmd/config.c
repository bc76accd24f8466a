/* config.c: `pickled config` (show or check the configuration), `pickled
 * jobs` (the named jobs and their freshness), and loading the
 * configuration for the other subcommands. */
#include "cli.h"


#include "config.h"
#include "defaults.h"
#include "entry.h"
#include "format.h"
#include "jobs_note.h"
#include "meta.h"
#include "run.h"
#include "runlog.h"
#include "store.h"
#include "units.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

void cli_config_errors(const pk_config *c)
{
	for (size_t i = 0; i < c->nerrors; i++)
		fprintf(stderr, "pickled: %s\n", c->errors[i]);
}

int cli_config_oom_only(const pk_config *c)
{
	static const char oom[] = "out of memory";
	const size_t n = sizeof(oom) - 1;

	for (size_t i = 0; i < c->nerrors; i++) {
		size_t len = strlen(c->errors[i]);
		if (len < n || strcmp(c->errors[i] + len - n, oom) != 0)
			return 0;
	}
	return c->nerrors > 0;
}

int cli_load_config(struct cli *cli, pk_config *c)
{
	int rc = cli_read_config(cli, c);

	cli_config_errors(c);
	return rc;
}

int cli_read_config(struct cli *cli, pk_config *c)
{
	char *dir = NULL;
	pk_error err;
	int rc;

	/* The parsed copies of the configuration live in the cache folder
	 * known before the files are read: -C, else PICKLED_CACHE_DIR or the
	 * default one. */
	if (!cli->cache_off && cli->cache_dir == NULL && pk_store_default_dir(&dir, &err) < 0)
		dir = NULL;
	pk_config_init(c);
	rc = pk_config_load(c, cli->config, environ,
	                    cli->cache_off   ? NULL
	                    : cli->cache_dir ? cli->cache_dir
	                                     : dir);
	free(dir);
	if (cli->cache_dir == NULL)
		cli->cache_dir = c->cache_dir;
	if (cli->max_size == 0)
		cli->max_size = c->max_size;
	pk_config_remote(c, &cli->remote);
	return rc;
}

void help_config(void)
{
	printf("Usage: pickled config [--check] [FILE]\n"
	       "       pickled config get [--show-origin] KEY\n"
	       "\n"
	       "Print the effective configuration as YAML: each setting with its value\n"
	       "and, in a comment, where the value comes from (default, FILE:LINE or an\n"
	       "environment variable), then the named jobs.  The files read are the\n"
	       "system file and the user file, or the one named with -c or PICKLED_CONFIG,\n"
	       "or FILE; then the PICKLED_* variables apply.\n"
	       "\n"
	       "  --check    print nothing; report every error and exit 1 if there is\n"
	       "             one, else exit 0.  With FILE, check that file alone,\n"
	       "             without the environment\n"
	       "  -h, --help show this help\n"
	       "\n"
	       "'config get KEY' prints the effective value of one setting, for scripts:\n"
	       "KEY as in pickled.conf, dotted (ttl, gc.auto, remote.url,\n"
	       "jobs.NAME.ttl); a string as it is, a list as [a, b].\n"
	       "  --show-origin  print where the value comes from first, then a tab:\n"
	       "                 default, FILE:LINE or the variable's name\n"
	       "\n"
	       "Exit status: 0 sound (get: printed); 1 errors in the configuration (get:\n"
	       "or the setting is not set); 125 bad usage (get: not a setting, no such\n"
	       "job).\n"
	       "See pickled.conf(5).\n");
}

/* `config get [--show-origin] KEY`: argv[0] is "get". */
static int config_get(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "show-origin", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	pk_config c;
	pk_origin o;
	char *value = NULL;
	int opt, show_origin = 0, ret = 1;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'o': show_origin = 1; break;
		case 'h': help_config(); return 0;
		default: return cli_getopt_error("config", argc, argv, opt);
		}
	}
	if (optind >= argc)
		return cli_usage_error("config", "no key given");
	if (argc - optind > 1)
		return cli_usage_error("config", "unexpected argument '%s'", argv[optind + 1]);
	pk_config_init(&c);
	if (pk_config_load(&c, cli->config, environ, NULL) < 0) {
		cli_config_errors(&c);
		goto out;
	}
	if (pk_config_get(&c, argv[optind], &value, &o) < 0) {
		if (errno == EINVAL) {
			ret = cli_usage_error("config", "not a setting: '%s'", argv[optind]);
		} else if (errno == ENOENT) {
			ret = cli_usage_error("config", "no job named '%.*s'",
			                      (int)(strrchr(argv[optind], '.') - argv[optind] - 5),
			                      argv[optind] + 5);
		} else if (errno != ENODATA) {
			perror("pickled: config get");
		}
		goto out; /* ENODATA: not set, nothing to print */
	}
	if (show_origin && o.where == NULL)
		fputs("default\t", stdout);
	else if (show_origin && o.line == 0)
		printf("%s\t", o.where);
	else if (show_origin)
		printf("%s:%u\t", o.where, o.line);
	printf("%s\n", value);
	ret = 0;
	if (fmt_flush_stdout() != 0)
		ret = 1;
out:
	free(value);
	pk_config_free(&c);
	return ret;
}

int cmd_config(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	pk_config c;
	const char *file;
	char *yaml = NULL;
	int opt, check = 0, ret = 0;

	/* A file called get is ./get. */
	if (argc > 1 && strcmp(argv[1], "get") == 0)
		return config_get(cli, argc - 1, argv + 1);
	while ((opt = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'k': check = 1; break;
		case 'h': help_config(); return 0;
		default: return cli_getopt_error("config", argc, argv, opt);
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("config", "unexpected argument '%s'", argv[optind + 1]);
	file = optind < argc ? argv[optind] : NULL;

	pk_config_init(&c);
	if (check && file != NULL) {
		pk_config_read(&c, file, 0);
		pk_config_validate(&c);
	} else {
		pk_config_load(&c, file ? file : cli->config, environ, NULL); /* parse, always */
	}
	if (c.nerrors > 0) {
		cli_config_errors(&c);
		ret = 1;
	} else if (!check) {
		if (pk_config_dump(&c, &yaml) < 0) {
			fputs("pickled: out of memory\n", stderr);
			ret = 1;
		} else {
			fputs(yaml, stdout);
		}
	}
	free(yaml);
	pk_config_free(&c);
	if (fmt_flush_stdout() != 0)
		ret = 1;
	return ret;
}

void help_jobs(void)
{
	printf("Usage: pickled jobs [NAME...]\n"
	       "\n"
	       "List the jobs of the configuration, or the named ones, one line each:\n"
	       "name, state, age of the stored result, ttl, the time left until the\n"
	       "result goes stale and until it expires, the last run's end, decision\n"
	       "(hit, stale, miss, uncached) and exit status from the run log, and the\n"
	       "command.  The state is fresh (a hit), stale (a hit refreshed in the\n"
	       "background), expired (a miss: the entry is too old) or none (no entry\n"
	       "for the job's key).  The key is computed as 'pickled run -j NAME' would\n"
	       "compute it, inputs included, with an empty standard input, in the job's\n"
	       "dir when it has one.  After the table, a line says why a job with an\n"
	       "earlier entry has none now: stored from another directory (relative\n"
	       "paths), or a key that changed.\n"
	       "\n"
	       "  -h, --help  show this help\n"
	       "\n"
	       "Exit status: 0 listed; 1 errors in the configuration or an unknown job;\n"
	       "125 bad usage.  See pickled.conf(5).\n");
}

struct row {
	const pk_config_job *job;
	const char *state;
	char why[1200]; /* why the state is none, or "" */
	char age[32], ttl[32], stale_in[32], expires_in[32];
	char last[32], decision[16], status[16];
};

/* "in" when a moment still to come is ms away, else "-". */
static void time_left(int64_t ms, char *buf, size_t len)
{
	if (ms == PK_FOREVER)
		snprintf(buf, len, "never");
	else if (ms > 0)
		pk_duration_format(ms, buf, len);
	else
		snprintf(buf, len, "-");
}

/* The state of the job's entry: "fresh", "stale", "expired" or "none";
 * for an entry, the time left until it goes stale and expires. */
static const char *job_state(struct cli *cli, const pk_config *c, const pk_config_job *j,
                             struct jobs_entries *ents, struct row *row, int64_t *age,
                             int64_t *stale_in, int64_t *expires_in)
{
	int here = -1;
	pk_run_opts o;
	pk_run_result r;
	pk_key key;
	pk_store s = { NULL, -1 };
	pk_meta m;
	pk_error err = { 0 };
	uint64_t stored;
	char *dir = NULL;
	const char *state = "none";
	int fd = -1;

	memset(&o, 0, sizeof(o));
	memset(&m, 0, sizeof(m));
	if (pk_config_apply(c, j, &o) < 0) {
		fputs("pickled: out of memory\n", stderr);
		return state;
	}
	if (cli->cache_dir != NULL)
		o.cache_dir = cli->cache_dir;
	/* Its key where it runs (pickled run -j goes there). */
	if (j->dir != NULL &&
	    ((here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || chdir(j->dir) < 0)) {
		snprintf(row->why, sizeof(row->why), "cannot enter its dir %s: %s", j->dir,
		         strerror(errno));
		goto out;
	}
	if (pk_run_key(&o, &key, &r) < 0) {
		fprintf(stderr, "pickled: job %s: %s\n", j->name, r.error);
		goto out;
	}
	if (o.cache_dir == NULL && pk_store_default_dir(&dir, &err) < 0)
		goto out;
	if (pk_store_open_existing(&s, o.cache_dir ? o.cache_dir : dir, &err) < 0)
		goto out;
	if ((fd = pk_store_open_entry(&s, &key)) < 0 ||
	    pk_entry_read_meta_key(fd, &key, &m, &stored, &err) < 0) {
		char *cwd = getcwd(NULL, 0);
		jobs_why_none(&s, ents, j, cwd, row->why, sizeof(row->why));
		free(cwd);
		goto out;
	}
	/* What a run would decide now: the job's ttl and stale time, as
	 * configured today, not the ones the entry was stored with. */
	int64_t a = pk_meta_age(m.created_ms, pk_now_ms());
	state = pk_meta_freshness_name(pk_meta_freshness(a, o.ttl_ms, o.stale_ms));
	*age = a < 0 ? 0 : a;
	*expires_in = o.ttl_ms == PK_FOREVER ? PK_FOREVER : o.ttl_ms - *age;
	*stale_in = o.stale_ms > 0 ? o.stale_ms - *age : 0;
out:
	if (here >= 0) {
		if (fchdir(here) < 0)
			perror("pickled: cannot return to the working directory");
		close(here);
	}
	pk_meta_free(&m);
	if (fd >= 0)
		close(fd);
	pk_store_close(&s);
	free(dir);
	free(o.inputs);
	free(o.envs);
	free(o.outputs);
	free(o.tags);
	return state;
}

/* The keys of `pickled jobs` see what cron gives: an empty pipe. */
static int empty_stdin(void)
{
	int p[2];

	if (pipe(p) < 0)
		return -1;
	close(p[1]);
	if (p[0] != 0) {
		if (dup2(p[0], 0) < 0) {
			close(p[0]);
			return -1;
		}
		close(p[0]);
	}
	return 0;
}

/* Each row's last run, from the newest record of its name in the run log
 * (nothing when the cache or its log cannot be read). */
static void last_runs(struct cli *cli, struct row *rows, size_t nrows)
{
	pk_store s = { NULL, -1 };
	pk_runlog log = { 0 };
	pk_error err = { 0 };
	char *dir = NULL;
	size_t left = nrows;

	for (size_t i = 0; i < nrows; i++) {
		snprintf(rows[i].last, sizeof(rows[i].last), "-");
		snprintf(rows[i].decision, sizeof(rows[i].decision), "-");
		snprintf(rows[i].status, sizeof(rows[i].status), "-");
	}
	if ((cli->cache_dir == NULL && pk_store_default_dir(&dir, &err) < 0) ||
	    pk_store_open_existing(&s, cli->cache_dir ? cli->cache_dir : dir, &err) < 0 ||
	    pk_runlog_load(&s, &log, &err) < 0)
		goto out;
	for (size_t i = log.n; i-- > 0 && left > 0;) {
		pk_runlog_rec r;
		pk_runlog_get(&log, i, &r);
		for (size_t k = 0; k < nrows; k++) {
			struct row *w = &rows[k];
			if (strcmp(w->job->name, r.job) != 0 || strcmp(w->decision, "-") != 0)
				continue;
			FILE *f = fmemopen(w->last, sizeof(w->last), "w");
			if (f != NULL) {
				fmt_time(f, r.end_ms, 0);
				fclose(f);
			}
			snprintf(w->decision, sizeof(w->decision), "%s",
			         pk_decision_name(r.decision));
			snprintf(w->status, sizeof(w->status), "%d", r.exit_status);
			left--;
		}
	}
out:
	pk_runlog_free(&log);
	pk_store_close(&s);
	free(dir);
}

int cmd_jobs(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	pk_config c;
	struct jobs_entries ents = { .loaded = 0 };
	struct row *rows = NULL;
	size_t nrows = 0, wname = 4, wage = 3, wttl = 3, wstale = 8, wexp = 10, wlast = 8, wdec = 8;
	int opt, ret = 0;

	while ((opt = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h': help_jobs(); return 0;
		default: return cli_getopt_error("jobs", argc, argv, opt);
		}
	}
	if (cli_load_config(cli, &c) < 0) {
		pk_config_free(&c);
		return 1;
	}
	if ((rows = calloc(c.njobs + 1, sizeof(*rows))) == NULL) {
		fputs("pickled: out of memory\n", stderr);
		pk_config_free(&c);
		return 1;
	}
	for (int i = optind; i < argc; i++) {
		const char *near = NULL;
		if (pk_config_job_find(&c, argv[i], &near) != NULL)
			continue;
		if (near != NULL)
			fprintf(stderr, "pickled: no job named '%s' (did you mean '%s'?)\n",
			        argv[i], near);
		else
			fprintf(stderr, "pickled: no job named '%s'\n", argv[i]);
		ret = 1;
	}
	if (ret != 0)
		goto out;
	if (empty_stdin() < 0) {
		perror("pickled: cannot make an empty standard input");
		ret = 1;
		goto out;
	}
	for (size_t i = 0; i < c.njobs; i++) {
		const pk_config_job *j = &c.jobs[i];
		struct row *r = &rows[nrows];
		int64_t age = -1, stale_in = 0, expires_in = 0;
		int wanted = optind >= argc;

		for (int k = optind; k < argc && !wanted; k++)
			wanted = strcmp(argv[k], j->name) == 0;
		if (!wanted)
			continue;
		r->job = j;
		r->state = job_state(cli, &c, j, &ents, r, &age, &stale_in, &expires_in);
		if (age >= 0)
			pk_duration_format(age, r->age, sizeof(r->age));
		else
			snprintf(r->age, sizeof(r->age), "-");
		time_left(age >= 0 ? stale_in : 0, r->stale_in, sizeof(r->stale_in));
		time_left(age >= 0 ? expires_in : 0, r->expires_in, sizeof(r->expires_in));
		pk_duration_format(pk_overlay_has(&j->ov, PK_SET_TTL) ? j->ov.ttl_ms : c.ttl_ms,
		                   r->ttl, sizeof(r->ttl));
		if (strlen(j->name) > wname)
			wname = strlen(j->name);
		if (strlen(r->age) > wage)
			wage = strlen(r->age);
		if (strlen(r->ttl) > wttl)
			wttl = strlen(r->ttl);
		nrows++;
	}
	last_runs(cli, rows, nrows);
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		wstale = strlen(r->stale_in) > wstale ? strlen(r->stale_in) : wstale;
		wexp = strlen(r->expires_in) > wexp ? strlen(r->expires_in) : wexp;
		wlast = strlen(r->last) > wlast ? strlen(r->last) : wlast;
		wdec = strlen(r->decision) > wdec ? strlen(r->decision) : wdec;
	}
	if (nrows > 0)
		printf("%-*s  %-7s  %-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %-6s  %s\n", (int)wname,
		       "NAME", "STATE", (int)wage, "AGE", (int)wttl, "TTL", (int)wstale, "STALE IN",
		       (int)wexp, "EXPIRES IN", (int)wlast, "LAST RUN", (int)wdec, "DECISION",
		       "STATUS", "COMMAND");
	for (size_t i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		printf("%-*s  %-7s  %-*s  %-*s  %-*s  %-*s  %-*s  %-*s  %-6s  ", (int)wname,
		       r->job->name, r->state, (int)wage, r->age, (int)wttl, r->ttl, (int)wstale,
		       r->stale_in, (int)wexp, r->expires_in, (int)wlast, r->last, (int)wdec,
		       r->decision, r->status);
		fmt_command(stdout, r->job->command.v, r->job->command.n, 0);
		putchar('\n');
	}
	for (size_t i = 0; i < nrows; i++)
		if (rows[i].why[0] != '\0')
			printf("%s: %s\n", rows[i].job->name, rows[i].why);
	if (fmt_flush_stdout() != 0)
		ret = 1;
out:
	jobs_entries_free(&ents);
	free(rows);
	pk_config_free(&c);
	return ret;
}
