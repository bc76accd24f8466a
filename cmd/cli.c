/* cli.c: option errors and value parsing shared by the subcommands. */
#include "cli.h"

#include "store.h"
#include "units.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("pickled: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'pickled%s%s --help' for more information.\n", cmd ? " " : "",
	        cmd ? cmd : "");
	return EXIT_USAGE;
}

int cli_getopt_error(const char *cmd, int argc, char **argv, int opt)
{
	extern int optind, optopt;
	const char *bad = optind - 1 < argc ? argv[optind - 1] : "";

	/* getopt_long sets optopt to a long option's short letter too: the
	 * word as typed tells which form to name. */
	if (opt == ':') {
		if (optopt != 0 && strncmp(bad, "--", 2) != 0)
			return cli_usage_error(cmd, "option '-%c' needs a value", optopt);
		return cli_usage_error(cmd, "option '%s' needs a value", bad);
	}
	if (optopt != 0 && strncmp(bad, "--", 2) != 0)
		return cli_usage_error(cmd, "unknown option '-%c'", optopt);
	/* For "--name=value", name only the option. */
	const char *eq = strchr(bad, '=');
	/* A known long option sets optopt: then only its value was wrong. */
	if (optopt != 0 && eq != NULL)
		return cli_usage_error(cmd, "option '%.*s' takes no value", (int)(eq - bad), bad);
	if (eq != NULL)
		return cli_usage_error(cmd, "unknown option '%.*s'", (int)(eq - bad), bad);
	return cli_usage_error(cmd, "unknown option '%s'", bad);
}

int cli_duration(const char *cmd, const char *flag, const char *arg, int64_t *ms)
{
	(void)cmd;
	if (pk_duration_parse(arg, ms) == 0)
		return 0;
	fprintf(stderr, "pickled: invalid duration for %s: '%s'\n", flag, arg);
	return -1;
}

int cli_size(const char *cmd, const char *flag, const char *arg, uint64_t *bytes)
{
	(void)cmd;
	if (pk_size_parse(arg, bytes) == 0)
		return 0;
	fprintf(stderr, "pickled: invalid size for %s: '%s'\n", flag, arg);
	return -1;
}

void cli_push(char ***v, size_t *n, char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(**v));
	if (nv == NULL) {
		fputs("pickled: out of memory\n", stderr);
		exit(EXIT_USAGE);
	}
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
}

int cli_open_store(struct cli *cli, pk_store *s)
{
	return cli_open_store_or_none(cli, s, 0) == 0 ? 0 : -1;
}

int cli_open_store_or_none(struct cli *cli, pk_store *s, int none_ok)
{
	pk_error err = { 0 };
	char *dir = NULL;
	char buf[PK_ERROR_STR_LEN];
	int ret = 0;

	s->dir = NULL;
	s->dirfd = -1;
	/* Only run makes a cache: a mistyped -C must not create one. */
	if (cli->cache_dir == NULL && pk_store_default_dir(&dir, &err) < 0)
		ret = -1;
	else if (pk_store_open_existing(s, cli->cache_dir ? cli->cache_dir : dir, &err) < 0)
		ret = -1;
	if (ret < 0 && err.errnum == ENOENT && none_ok)
		ret = 1;
	else if (ret < 0 && err.errnum == ENOENT)
		fprintf(stderr, "pickled: no cache at %s\n", cli->cache_dir ? cli->cache_dir : dir);
	else if (ret < 0)
		fprintf(stderr, "pickled: cache unavailable: %s\n",
		        pk_error_str(&err, buf, sizeof(buf)));
	if (ret != 0)
		pk_store_close(s);
	free(dir);
	return ret;
}
