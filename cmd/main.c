/* main.c: global options and the subcommand table. */
#include "cli.h"

#include "config.h"
#include "version.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const struct subcommand commands[] = {
	{ "run", cmd_run, help_run, "run a command, or replay its stored result" },
	{ "ls", cmd_ls, help_ls, "list the cache's entries" },
	{ "show", cmd_show, help_show, "show everything recorded about one entry" },
	{ "cat", cmd_cat, help_cat, "replay an entry's output without running it" },
	{ "rm", cmd_rm, help_rm, "remove entries" },
	{ "gc", cmd_gc, help_gc, "remove expired and least recently used entries" },
	{ "stats", cmd_stats, help_stats, "show hits, misses and space used" },
	{ "verify", cmd_verify, help_verify, "check every entry's checksum" },
	{ "key", cmd_key, help_key, "print the key run would use, without running" },
	{ "config", cmd_config, help_config, "show or check the configuration" },
	{ "jobs", cmd_jobs, help_jobs, "list the configured jobs and their freshness" },
	{ "log", cmd_log, help_log, "list the latest runs, newest first" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void help_main(void)
{
	printf("Usage: pickled [-C DIR] [-c FILE] COMMAND [ARGS...]\n"
	       "\n"
	       "Memoize a command's output for cron jobs and shell scripts.\n"
	       "\n"
	       "Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		printf("  %-8s %s\n", commands[i].name, commands[i].summary);
	printf("  %-8s %s\n", "help", "show a command's help");
	printf("\n"
	       "Options:\n"
	       "  -C, --cache-dir DIR  cache directory (default $PICKLED_CACHE_DIR, else\n"
	       "                       $CACHE_DIRECTORY (systemd's CacheDirectory=),\n"
	       "                       else cache_dir in the configuration, else\n"
	       "                       $XDG_CACHE_HOME/pickled, else ~/.cache/pickled)\n"
	       "  -c, --config FILE    read FILE instead of /etc/pickled.conf and\n"
	       "                       ~/.config/pickled/pickled.conf (default\n"
	       "                       $PICKLED_CONFIG); see pickled.conf(5)\n"
	       "  -h, --help           show this help\n"
	       "  -V, --version        show the version and the libraries' versions\n"
	       "\n"
	       "Run 'pickled COMMAND --help' for a command's options; see pickled(1).\n");
}

/* The version, then each library's versions, for bug reports: the first
 * line alone is what scripts read. */
static void print_version(void)
{
	pk_libversion libs[8];
	size_t n = pk_version_libs(libs, sizeof(libs) / sizeof(libs[0]));

	if (n > sizeof(libs) / sizeof(libs[0]))
		n = sizeof(libs) / sizeof(libs[0]);
	printf("pickled %s\n", PK_VERSION);
	printf("%-9s %-11s %s\n", "library", "built with", "running with");
	for (size_t i = 0; i < n; i++)
		printf("%-9s %-11s %s%s\n", libs[i].name, libs[i].built, libs[i].running,
		       libs[i].is_static ? " (static)" : "");
}

static const struct subcommand *find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* A descriptor 0, 1 or 2 left closed by the caller would be taken by the
 * first file pickled opens (the cache folder, an entry being written), and
 * "stdin" read from it or the command's output written into it: such a
 * stream gets /dev/null instead, as daemons do. */
static void open_standard_fds(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) < 0)
			_exit(EXIT_USAGE);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cache-dir", required_argument, NULL, 'C' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { 0 };
	pk_config cfg = { 0 };
	const struct subcommand *sub;
	int c, ret;

	open_standard_fds();
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:C:c:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'C': cli.cache_dir = optarg; break;
		case 'c': cli.config = optarg; break;
		case 'h': help_main(); return 0;
		case 'V': print_version(); return 0;
		default: return cli_getopt_error(NULL, argc, argv, c);
		}
	}
	if (optind >= argc)
		return cli_usage_error(NULL, "no command given");
	if (strcmp(argv[optind], "help") == 0) {
		const char *what = optind + 1 < argc ? argv[optind + 1] : NULL;
		/* 'pickled help --help' and 'pickled help help' ask about help. */
		if (what == NULL || strcmp(what, "help") == 0 || strcmp(what, "--help") == 0 ||
		    strcmp(what, "-h") == 0) {
			help_main();
			return 0;
		}
		if ((sub = find(argv[optind + 1])) == NULL)
			return cli_usage_error(NULL, "unknown command '%s'", argv[optind + 1]);
		sub->help();
		return 0;
	}
	if ((sub = find(argv[optind])) == NULL)
		return cli_usage_error(NULL, "unknown command '%s'", argv[optind]);
	argc -= optind;
	argv += optind;
	optind = 0; /* glibc: 0 re-initialises getopt for the subcommand */
	/* run, key, config and jobs read the configuration themselves, each with
	 * its own way with errors; the others take the cache's place and size
	 * from it, and do not go on with a broken one. */
	if (sub->fn != cmd_run && sub->fn != cmd_key && sub->fn != cmd_config &&
	    sub->fn != cmd_jobs && cli_load_config(&cli, &cfg) < 0) {
		pk_config_free(&cfg);
		return 1;
	}
	ret = sub->fn(&cli, argc, argv);
	pk_config_free(&cfg);
	return ret;
}
