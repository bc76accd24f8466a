/* cat.c: `pickled cat KEY`: replay a stored result without running it. */
#include "cli.h"

#include "catalog.h"
#include "entry.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

void help_cat(void)
{
	printf("Usage: pickled cat [--stdout|--stderr] KEY\n"
	       "\n"
	       "Write an entry's stored stdout and stderr, in their recorded order, and\n"
	       "exit with its stored status, without running anything (expired entries\n"
	       "too).  KEY may be any unique prefix.\n"
	       "\n"
	       "      --stdout      the stored stdout\n"
	       "      --stderr      the stored stderr\n"
	       "Without either, or with both, both streams, interleaved as recorded.\n"
	       "  -h, --help        show this help\n");
}

int cmd_cat(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "stdout", no_argument, NULL, 'o' },
		{ "stderr", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, want_out = 0, want_err = 0, ret = 1, fd = -1;
	pk_store s;
	pk_key key;
	pk_entry *e = NULL;
	pk_error err = { 0 };
	char buf[PK_ERROR_STR_LEN], hex[PK_KEY_HEX + 1];

	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': want_out = 1; break;
		case 'e': want_err = 1; break;
		case 'h': help_cat(); return 0;
		default: return cli_getopt_error("cat", argc, argv, c);
		}
	}
	/* The streams asked for; none named is both, and so are both. */
	if (!want_out && !want_err)
		want_out = want_err = 1;
	if (optind >= argc)
		return cli_usage_error("cat", "no key given");
	if (optind + 1 < argc)
		return cli_usage_error("cat", "unexpected argument '%s'", argv[optind + 1]);
	if (!pk_key_is_prefix(argv[optind])) {
		fprintf(stderr, "pickled: not a key: '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (cli_open_store(cli, &s) < 0)
		return 1;
	if (pk_catalog_find(&s, argv[optind], &key, &err) < 0) {
		ret = cli_lookup_failed(&err);
		goto out;
	}
	/* The whole key from here on: the prefix typed may match another
	 * entry tomorrow. */
	pk_key_hex(&key, hex);
	if ((fd = pk_store_open_entry(&s, &key)) < 0) {
		if (errno == ELOOP || errno == EXDEV) /* a link, never followed */
			fprintf(stderr,
			        "pickled: corrupt cache entry %s: entry is a symbolic link\n", hex);
		else
			fprintf(stderr, "pickled: no entry with key %s\n", hex);
		goto out;
	}
	if ((e = pk_entry_open_key(fd, &key, 0, &err)) == NULL) {
		fprintf(stderr, "pickled: corrupt cache entry %s: %s\n", hex,
		        pk_error_str(&err, buf, sizeof(buf)));
		goto out;
	}
	/* As a bare command would: a reader that goes away ends us quietly. */
	signal(SIGPIPE, SIG_DFL);
	if (pk_entry_replay(e, want_out ? 1 : -1, want_err ? 2 : -1, &err) < 0) {
		fprintf(stderr, "pickled: %s\n", pk_error_str(&err, buf, sizeof(buf)));
		goto out;
	}
	ret = pk_entry_meta(e)->exit_status;
out:
	pk_entry_close(e);
	if (fd >= 0)
		close(fd);
	pk_store_close(&s);
	return ret;
}
