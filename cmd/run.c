/* run.c: `pickled run`: flags, then pk_run, then the exit status. */
#include "cli.h"

#include "defaults.h"
#include "key.h"
#include "run.h"
#include "units.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


void help_run(void)
{
	printf(
"Usage: pickled run [OPTIONS] [--] PROGRAM [ARG...]\n"
"\n"
"Run PROGRAM, or replay its stored stdout, stderr, output files and exit\n"
"status when a result with the same key is fresh enough.\n"
"\n"
"What goes into the key (besides every argument and the program file):\n"
"  -i, --input PATH        a file, directory or quoted glob whose content\n"
"                          counts (repeatable)\n"
"  -e, --env NAME          an environment variable, or a glob such as 'LC_*'\n"
"                          (repeatable)\n"
"      --cwd               the working directory\n"
"      --stdin             always read stdin into the key\n"
"      --no-stdin          never read stdin; leave it to the command\n"
"      --stdin-limit SIZE  a larger stdin runs uncached (default 1G)\n"
"  -k, --key TEXT          extra text, as a namespace\n"
"  -o, --output PATH       a file the command writes: stored, and restored on\n"
"                          a hit (repeatable)\n"
"      --cache-failures    store any exit status, not only 0\n"
"\n"
"Freshness (not part of the key):\n"
"  -t, --ttl DURATION      replay results younger than this (default 1d)\n"
"  -s, --stale DURATION    replay results older than this too, and refresh\n"
"                          them in the background (shorter than --ttl)\n"
"  -f, --force             run even when a fresh result exists; replace it\n"
"  -w, --warm              run and store in the background, print nothing,\n"
"                          exit 0 at once\n"
"\n"
"Other:\n"
"      --tag TAG           record TAG on the entry (repeatable)\n"
"      --lock-timeout DURATION\n"
"                          wait this long for an identical run in progress,\n"
"                          then run anyway (default 1h)\n"
"      --explain           print the key's parts and the decision to stderr\n"
"  -h, --help              show this help\n"
"\n"
"DURATION: 90s, 15m, 6h, 2d, 1w, 250ms, combinations such as 1h30m, a\n"
"number of seconds, or forever.  SIZE: 512, 500K, 2M, 1.5G.\n"
"Exit status: the command's; 125 pickled's own error before the command\n"
"ran; 126 not executable; 127 not found; 128+N killed by signal N.\n");
}

enum {
	OPT_CWD = 256, OPT_STDIN, OPT_NO_STDIN, OPT_STDIN_LIMIT, OPT_CACHE_FAILURES,
	OPT_TAG, OPT_LOCK_TIMEOUT, OPT_EXPLAIN,
};

static void print_explain(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "pickled: %s\n", line);
}

static int default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	/* One core: compress inline; more: let zstd workers keep pace. */
	return n <= 1 ? 0 : (n > 4 ? 4 : (int)n);
}

/* PICKLED_DISABLE=1: no cache at all, the command replaces pickled. */
static int run_direct(char **argv)
{
	execvp(argv[0], argv);
	int e = errno;
	fprintf(stderr, "pickled: %s: %s\n", argv[0],
	        e == ENOENT ? "command not found" : strerror(e));
	return e == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
}

int cmd_run(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "env", required_argument, NULL, 'e' },
		{ "cwd", no_argument, NULL, OPT_CWD },
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	pk_run_opts o = { 0 };
	pk_run_result r;
	const char *d;
	int c, stale_set = 0;

	o.ttl_ms = PK_DEFAULT_TTL_MS;
	o.stale_ms = PK_DEFAULT_STALE_MS;
	o.lock_timeout_ms = PK_DEFAULT_LOCK_TIMEOUT_MS;
	o.stdin_limit = PK_DEFAULT_STDIN_LIMIT;
	o.stdin_mode = PK_STDIN_AUTO;
	o.program_check = PK_PROGRAM_MTIME;
	o.level = PK_DEFAULT_LEVEL;
	o.threads = default_threads();
	o.max_size = PK_DEFAULT_MAX_SIZE;
	o.auto_gc = 1;
	o.gc_interval_ms = PK_DEFAULT_GC_INTERVAL_MS;
	o.cache_dir = cli->cache_dir;

	while ((c = getopt_long(argc, argv, "+:i:e:k:o:t:s:fwh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': cli_push(&o.inputs, &o.ninputs, optarg); break;
		case 'e': cli_push(&o.envs, &o.nenvs, optarg); break;
		case 'k': o.extra = optarg; break;
		case 'o': cli_push(&o.outputs, &o.noutputs, optarg); break;
		case OPT_TAG: cli_push(&o.tags, &o.ntags, optarg); break;
		case OPT_CWD: o.use_cwd = 1; break;
		case OPT_STDIN: o.stdin_mode = PK_STDIN_ALWAYS; break;
		case OPT_NO_STDIN: o.stdin_mode = PK_STDIN_NEVER; break;
		case OPT_CACHE_FAILURES: o.cache_failures = 1; break;
		case 'f': o.force = 1; break;
		case 'w': o.warm = 1; break;
		case OPT_EXPLAIN: o.explain = print_explain; break;
		case 't':
			if (cli_duration("run", "--ttl", optarg, &o.ttl_ms) < 0)
				return EXIT_USAGE;
			break;
		case 's':
			if (cli_duration("run", "--stale", optarg, &o.stale_ms) < 0)
				return EXIT_USAGE;
			stale_set = 1;
			break;
		case OPT_LOCK_TIMEOUT:
			if (cli_duration("run", "--lock-timeout", optarg, &o.lock_timeout_ms) < 0)
				return EXIT_USAGE;
			break;
		case OPT_STDIN_LIMIT:
			if (cli_size("run", "--stdin-limit", optarg, &o.stdin_limit) < 0)
				return EXIT_USAGE;
			break;
		case 'h': help_run(); return 0;
		default: return cli_getopt_error("run", argc, argv, c);
		}
	}
	if (optind >= argc)
		return cli_usage_error("run", "no command given");
	if (stale_set && o.stale_ms >= o.ttl_ms) {
		fprintf(stderr, "pickled: --stale must be shorter than --ttl\n");
		return EXIT_USAGE;
	}
	o.argv = argv + optind;
	if ((d = getenv("PICKLED_DISABLE")) != NULL && strcmp(d, "1") == 0)
		return run_direct(o.argv);

	/* Write errors must come back as EPIPE or EFBIG, not kill pickled in
	 * the middle of storing; the command gets the default dispositions. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	pk_run(&o, &r);
	fflush(stdout);
	if (r.error[0] != '\0')
		fprintf(stderr, "pickled: %s\n", r.error);
	if (r.warning[0] != '\0')
		fprintf(stderr, "pickled: %s\n", r.warning);
	free(o.inputs);
	free(o.envs);
	free(o.outputs);
	free(o.tags);
	if (r.raise_signal != 0) {
		signal(r.raise_signal, SIG_DFL);
		raise(r.raise_signal);
	}
	return r.status;
}
