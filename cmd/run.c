/* run.c: `pickled run`: flags, then pk_run, then the exit status. */
#include "cli.h"

#include "config.h"
#include "defaults.h"
#include "key.h"
#include "meta.h"
#include "redis_url.h"
#include "remote.h"
#include "run.h"
#include "runlog.h"
#include "sig.h"
#include "units.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>


void help_run(void)
{
	printf("Usage: pickled run [OPTIONS] [--] PROGRAM [ARG...]\n"
	       "       pickled run -j NAME [OPTIONS] [--] [ARG...]\n"
	       "\n"
	       "Run PROGRAM, or replay its stored stdout, stderr, output files and exit\n"
	       "status when a result with the same key is fresh enough.\n"
	       "\n"
	       "  -j, --job NAME          run the job NAME of the configuration (in its\n"
	       "                          dir, when it has one); options given here\n"
	       "                          replace its settings (lists add to them) and\n"
	       "                          ARGs are appended to its command\n"
	       "      --name NAME         label the run NAME in the run log and the metrics,\n"
	       "                          as -j does (letters, digits, '.', '_', '-'; not\n"
	       "                          with -j; not in the key)\n"
	       "\n"
	       "What goes into the key (besides every argument and the program file):\n"
	       "  -i, --input PATH        a file, directory or quoted glob whose content\n"
	       "                          counts (repeatable)\n"
	       "  -e, --env NAME          an environment variable, or a glob such as 'LC_*'\n"
	       "                          (repeatable)\n"
	       "      --cwd               the working directory\n"
	       "      --trace             also every file, folder and path the command is\n"
	       "                          seen to look at (see TRACED INPUTS in pickled(1));\n"
	       "                          the working directory is then in the key\n"
	       "      --no-trace          do not trace, whatever the configuration says\n"
	       "      --stdin             always read stdin into the key\n"
	       "      --no-stdin          never read stdin; leave it to the command (needed\n"
	       "                          in a loop that reads the same pipe: stdin is\n"
	       "                          otherwise read to its end)\n"
	       "      --stdin-limit SIZE  a larger stdin runs uncached (default 1G)\n"
	       "  -k, --key TEXT          extra text, as a namespace\n"
	       "  -o, --output PATH       a file or directory the command writes: stored, and\n"
	       "                          restored on a hit (repeatable)\n"
	       "      --cache-failures    store any exit status, not only 0\n"
	       "\n"
	       "Freshness (not part of the key):\n"
	       "  -t, --ttl DURATION      replay results younger than this (default 1d)\n"
	       "  -s, --stale DURATION    replay results older than this too, and refresh\n"
	       "                          them in the background (shorter than --ttl;\n"
	       "                          with -o, refresh in the foreground instead)\n"
	       "  -f, --force             run even when a fresh result exists; replace it\n"
	       "  -w, --warm              run again and store in the background even when\n"
	       "                          fresh, print nothing, exit 0 at once (with -o:\n"
	       "                          in the foreground)\n"
	       "\n"
	       "Other:\n"
	       "      --tag TAG           record TAG on the entry (repeatable, one tag each:\n"
	       "                          no commas)\n"
	       "      --lock-timeout DURATION\n"
	       "                          wait this long for an identical run in progress\n"
	       "                          (or one writing the same -o path), then run\n"
	       "                          anyway (default 1h)\n"
	       "      --explain           print the key's parts and the decision to stderr;\n"
	       "                          on a miss, what differs from the newest entry of\n"
	       "                          the same command (never an -e value)\n"
	       "      --no-remote         use only the local cache, not the shared one\n"
	       "  -h, --help              show this help\n"
	       "\n"
	       "DURATION: 90s, 15m, 6h, 2d, 1w, 250ms, combinations such as 1h30m, a\n"
	       "number of seconds, or forever.  SIZE: 512, 500K, 2M, 1.5G, 1T.\n"
	       "Exit status: the command's; 125 pickled's own error before the command\n"
	       "ran; 126 not executable; 127 not found; 128+N killed by signal N.\n");
}

enum {
	OPT_CWD = 256,
	OPT_STDIN,
	OPT_NO_STDIN,
	OPT_STDIN_LIMIT,
	OPT_CACHE_FAILURES,
	OPT_TAG,
	OPT_LOCK_TIMEOUT,
	OPT_EXPLAIN,
	OPT_NO_REMOTE,
	OPT_NAME,
	OPT_TRACE,
	OPT_NO_TRACE,
};

static void print_explain(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "pickled: %s\n", line);
}

/* PICKLED_DISABLE true: no cache at all, the command replaces pickled. */
static int run_direct(char **argv)
{
	execvp(argv[0], argv);
	int e = errno;
	fprintf(stderr, "pickled: %s: %s\n", argv[0],
	        e == ENOENT ? "command not found" : strerror(e));
	return e == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
}

/* Prints "pickled: MSG" on stderr (nothing for ""). After a stop signal,
 * pickled must end promptly: a line that stderr cannot take at once (its
 * reader does not read) is dropped rather than waited for. */
static void say(const char *msg, int stopped)
{
	struct pollfd pfd = { 2, POLLOUT, 0 };

	if (msg[0] == '\0')
		return;
	if (stopped && (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLOUT)))
		return;
	fprintf(stderr, "pickled: %s\n", msg);
}

/* Returns 0, or the exit status for a usage error (already reported). */
static int parse_flags(const char *cmd, void (*help)(void), int argc, char **argv,
                       struct run_flags *f)
{
	static const struct option longopts[] = {
		{ "job", required_argument, NULL, 'j' },
		{ "input", required_argument, NULL, 'i' },
		{ "env", required_argument, NULL, 'e' },
		{ "cwd", no_argument, NULL, OPT_CWD },
		{ "trace", no_argument, NULL, OPT_TRACE },
		{ "no-trace", no_argument, NULL, OPT_NO_TRACE },
		{ "stdin", no_argument, NULL, OPT_STDIN },
		{ "no-stdin", no_argument, NULL, OPT_NO_STDIN },
		{ "stdin-limit", required_argument, NULL, OPT_STDIN_LIMIT },
		{ "key", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "cache-failures", no_argument, NULL, OPT_CACHE_FAILURES },
		{ "ttl", required_argument, NULL, 't' },
		{ "stale", required_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		{ "warm", no_argument, NULL, 'w' },
		{ "tag", required_argument, NULL, OPT_TAG },
		{ "lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT },
		{ "explain", no_argument, NULL, OPT_EXPLAIN },
		{ "no-remote", no_argument, NULL, OPT_NO_REMOTE },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	pk_overlay *ov = &f->ov;
	const char *why;
	int c;

	while ((c = getopt_long(argc, argv, "+:j:i:e:k:o:t:s:fwh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': f->job = optarg; break;
		case 'i': cli_push(&ov->inputs.v, &ov->inputs.n, optarg); break;
		case 'e': cli_push(&ov->env.v, &ov->env.n, optarg); break;
		case 'k':
			ov->key = optarg;
			pk_overlay_give(ov, PK_SET_KEY);
			break;
		case 'o': cli_push(&ov->outputs.v, &ov->outputs.n, optarg); break;
		case OPT_TAG:
			if ((why = pk_meta_tag_problem(optarg)) != NULL) {
				fprintf(stderr, "pickled: invalid tag for --tag: '%s' (%s)\n",
				        optarg, why);
				return EXIT_USAGE;
			}
			cli_push(&ov->tags.v, &ov->tags.n, optarg);
			break;
		case OPT_CWD:
			ov->use_cwd = 1;
			pk_overlay_give(ov, PK_SET_CWD);
			break;
		case OPT_TRACE:
			ov->trace = 1;
			pk_overlay_give(ov, PK_SET_TRACE);
			break;
		case OPT_NO_TRACE:
			ov->trace = 0;
			pk_overlay_give(ov, PK_SET_TRACE);
			break;
		case OPT_STDIN:
			ov->stdin_mode = PK_STDIN_ALWAYS;
			pk_overlay_give(ov, PK_SET_STDIN);
			break;
		case OPT_NO_STDIN:
			ov->stdin_mode = PK_STDIN_NEVER;
			pk_overlay_give(ov, PK_SET_STDIN);
			break;
		case OPT_CACHE_FAILURES:
			ov->cache_failures = 1;
			pk_overlay_give(ov, PK_SET_CACHE_FAILURES);
			break;
		case 'f': f->force = 1; break;
		case 'w': f->warm = 1; break;
		case OPT_EXPLAIN: f->explain = 1; break;
		case OPT_NO_REMOTE: f->no_remote = 1; break;
		case OPT_NAME:
			if (!pk_runlog_name_valid(optarg)) {
				fprintf(stderr,
				        "pickled: invalid name for --name: '%s' (1 to 64 letters, "
				        "digits, '.', '_' and '-', not starting with '-')\n",
				        optarg);
				return EXIT_USAGE;
			}
			f->name = optarg;
			break;
		case 't':
			if (cli_duration(cmd, "--ttl", optarg, &ov->ttl_ms) < 0)
				return EXIT_USAGE;
			pk_overlay_give(ov, PK_SET_TTL);
			break;
		case 's':
			if (cli_duration(cmd, "--stale", optarg, &ov->stale_ms) < 0)
				return EXIT_USAGE;
			pk_overlay_give(ov, PK_SET_STALE);
			break;
		case OPT_LOCK_TIMEOUT:
			if (cli_duration(cmd, "--lock-timeout", optarg, &ov->lock_timeout_ms) < 0)
				return EXIT_USAGE;
			pk_overlay_give(ov, PK_SET_LOCK_TIMEOUT);
			break;
		case OPT_STDIN_LIMIT:
			if (cli_size(cmd, "--stdin-limit", optarg, &ov->stdin_limit) < 0)
				return EXIT_USAGE;
			pk_overlay_give(ov, PK_SET_STDIN_LIMIT);
			break;
		case 'h': help(); return -1;
		default: return cli_getopt_error(cmd, argc, argv, c);
		}
	}
	return 0;
}

/* The job's command followed by the words after the options. */
static char **job_argv(const pk_config_job *job, char **extra, int nextra)
{
	char **v = NULL;
	size_t n = 0;

	for (size_t i = 0; i < job->command.n; i++)
		cli_push(&v, &n, job->command.v[i]);
	for (int i = 0; i < nextra; i++)
		cli_push(&v, &n, extra[i]);
	return v;
}

/* The errors of c, each refused file's as "job 'NAME': FILE refused: why". */
static void job_refused(const pk_config *c, const char *name)
{
	for (size_t i = 0; i < c->nerrors; i++) {
		int refusal = 0;
		for (size_t k = 0; k < c->nrefused && !refusal; k++)
			refusal = c->refused[k] == i;
		fprintf(stderr, "pickled: %s%s%s%s\n", refusal ? "job '" : "", refusal ? name : "",
		        refusal ? "': " : "", c->errors[i]);
	}
}

void run_setup_free(struct run_setup *s)
{
	free(s->f.ov.inputs.v);
	free(s->f.ov.env.v);
	free(s->f.ov.outputs.v);
	free(s->f.ov.tags.v);
	free(s->o.inputs);
	free(s->o.envs);
	free(s->o.outputs);
	free(s->o.tags);
	free(s->job_cmd);
	pk_config_free(&s->cfg);
}

int run_setup(struct cli *cli, const char *cmd, void (*help)(void), int argc, char **argv,
              struct run_setup *s)
{
	const pk_config_job *job = NULL;
	const char *d;
	int ret, bad_disable = 0;

	memset(s, 0, sizeof(*s));
	pk_config_init(&s->cfg);
	if ((ret = parse_flags(cmd, help, argc, argv, &s->f)) != 0)
		return ret < 0 ? 0 : ret; /* -1: --help */
	if (s->f.job == NULL && optind >= argc)
		return cli_usage_error(cmd, "no command given");
	if (s->f.job != NULL && s->f.name != NULL)
		return cli_usage_error(
			cmd, "--name cannot be used with -j: the job's name labels the run");
	/* The same booleans as every variable and key (an empty one is
	 * unset); a bad one is a configuration error: reported, and the
	 * command runs uncached. */
	d = getenv("PICKLED_DISABLE");
	if (d != NULL && d[0] != '\0' && pk_bool_parse(d, &s->disabled) < 0) {
		fprintf(stderr,
		        "pickled: invalid value for PICKLED_DISABLE: '%s' (expected true or false)\n",
		        d);
		s->disabled = 0;
		bad_disable = 1;
	}
	if (s->disabled && s->f.job == NULL && strcmp(cmd, "run") == 0) {
		s->o.argv = argv + optind;
		s->ready = 1;
		return 0;
	}
	pk_config_free(&s->cfg);
	cli->cache_off = s->disabled;
	/* A URL that cannot be parsed leaves out the shared tier alone. */
	s->broken = (cli_read_config(cli, &s->cfg) < 0 && s->cfg.nerrors > s->cfg.nurl_errors) ||
	            bad_disable;
	if (s->f.job != NULL && (job = pk_config_job_find(&s->cfg, s->f.job, NULL)) == NULL &&
	    s->cfg.nrefused > 0) {
		/* The job may be in a file that was refused: say so, rather than
		 * that it does not exist. */
		job_refused(&s->cfg, s->f.job);
		return EXIT_USAGE;
	}
	/* run says an allocation that failed in one line, below. */
	if (strcmp(cmd, "run") != 0 || !cli_config_oom_only(&s->cfg))
		cli_config_errors(&s->cfg);
	if (s->f.job != NULL) {
		const char *near = NULL;
		if ((job = pk_config_job_find(&s->cfg, s->f.job, &near)) == NULL) {
			if (near != NULL)
				fprintf(stderr, "pickled: no job named '%s' (did you mean '%s'?)\n",
				        s->f.job, near);
			else
				fprintf(stderr, "pickled: no job named '%s'\n", s->f.job);
			return EXIT_USAGE;
		}
	}
	if (pk_config_apply(&s->cfg, job, &s->o) < 0) {
		fputs("pickled: out of memory\n", stderr);
		return EXIT_USAGE;
	}
	s->o.cache_dir = cli->cache_dir; /* -C, else the configuration's */
	/* The flags over the job and the configuration: scalars replace,
	 * lists add. */
	if (pk_overlay_apply(&s->f.ov, &s->o) < 0) {
		fputs("pickled: out of memory\n", stderr);
		return EXIT_USAGE;
	}
	s->o.force = s->f.force;
	s->o.warm = s->f.warm;
	if (s->f.explain)
		s->o.explain = print_explain;
	if (s->f.no_remote)
		s->o.remote.url = NULL;
	s->o.name = job != NULL ? job->name : s->f.name;
	if (job != NULL)
		s->o.argv = s->job_cmd = job_argv(job, argv + optind, argc - optind);
	else
		s->o.argv = argv + optind;
	if (pk_overlay_has(&s->f.ov, PK_SET_STALE) && s->o.stale_ms >= s->o.ttl_ms) {
		fprintf(stderr, "pickled: --stale must be shorter than --ttl\n");
		return EXIT_USAGE;
	}
	/* The job runs where it says, whoever starts it from wherever: its
	 * relative inputs and outputs, and those given here, are read there,
	 * and --cwd keys that directory.  Not there: not run at all, as
	 * `cd DIR && CMD` would not. */
	if (job != NULL && job->dir != NULL && chdir(job->dir) < 0) {
		fprintf(stderr, "pickled: job '%s': cannot enter its dir %s: %s\n", job->name,
		        job->dir, strerror(errno));
		return EXIT_USAGE;
	}
	s->ready = 1;
	return 0;
}

/* The command never sees the password in PICKLED_REMOTE: from its
 * environment it would reach every process of the job and whatever they
 * log.  The URL stays, so a nested run still finds the server; with
 * remote.password_file (a path, inherited as it is) it authenticates too. */
static void hide_remote_password(void)
{
	const char *url = getenv("PICKLED_REMOTE");
	char buf[4096];

	/* The password variable goes whole (a nested run uses the password
	 * file, or its own environment's). */
	unsetenv("PICKLED_REMOTE_PASSWORD");
	if (url == NULL || pk_redis_url_strip_password(url, buf, sizeof(buf)) < 0 ||
	    strcmp(buf, url) == 0)
		return;
	setenv("PICKLED_REMOTE", buf, 1);
}

int cmd_run(struct cli *cli, int argc, char **argv)
{
	struct run_setup s;
	pk_run_result r;
	int ret;

	memset(&r, 0, sizeof(r));
	ret = run_setup(cli, "run", help_run, argc, argv, &s);
	if (!s.ready)
		goto out;
	hide_remote_password();
	if (s.disabled) {
		ret = run_direct(s.o.argv);
		goto out;
	}
	if (s.broken) {
		/* A broken configuration must not fail the job.  One line:
		 * memory that ran out while reading it is no error of its. */
		fputs(cli_config_oom_only(&s.cfg)
		              ? "pickled: running uncached: out of memory reading the configuration\n"
		              : "pickled: running uncached: the configuration has errors\n",
		      stderr);
		s.o.no_cache = 1;
	}

	/* Write errors must come back as EPIPE or EFBIG, not kill pickled in
	 * the middle of storing; the command gets the dispositions pickled was
	 * started with. */
	sigemptyset(&s.o.ignored);
	if (signal(SIGPIPE, SIG_IGN) == SIG_IGN)
		sigaddset(&s.o.ignored, SIGPIPE);
	if (signal(SIGXFSZ, SIG_IGN) == SIG_IGN)
		sigaddset(&s.o.ignored, SIGXFSZ);
	pk_run(&s.o, &r);
	fflush(stdout);
	say(r.error, r.stop_signal);
	say(r.notice, r.stop_signal);
	say(r.warning, r.stop_signal);
	ret = r.status;
out:
	run_setup_free(&s);
	if (r.raise_signal != 0)
		pk_sig_die_by(r.raise_signal);
	return ret;
}
