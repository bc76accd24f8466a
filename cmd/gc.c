/* gc.c: `pickled gc`: collect expired and least recently used entries. */
#include "cli.h"

#include "defaults.h"
#include "format.h"
#include "gc.h"
#include "units.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>

void help_gc(void)
{
	printf("Usage: pickled gc [--max-size SIZE] [--max-age DURATION] [--dry-run] [-v]\n"
	       "\n"
	       "Remove the files under v1/ that are not entries (foreign: pickled never\n"
	       "makes them; their size counts until they go), damaged and expired\n"
	       "entries, entries older than --max-age, then the least recently used until\n"
	       "the cache is under --max-size, and temporary files and locks left by\n"
	       "crashed runs over an hour ago and not held.  pickled also does\n"
	       "this by itself, in the background, after storing a result once the cache\n"
	       "is over its size limit or the last gc is a day old.\n"
	       "\n"
	       "      --max-size SIZE      size limit (default 1G)\n"
	       "      --max-age DURATION   also remove entries older than this\n"
	       "  -n, --dry-run            print what would be removed; remove nothing\n"
	       "  -v, --verbose            print each entry removed and a summary\n"
	       "  -h, --help               show this help\n");
}

struct printer {
	int dry_run;
};

static void print_removed(void *ctx, const pk_item *it, const char *why)
{
	struct printer *p = ctx;
	char size[32];

	printf("%s %.12s %-7s %6s  ", p->dry_run ? "would remove" : "removed", it->hex, why,
	       pk_size_format(it->stored, size, sizeof(size)));
	if (!it->damaged)
		fmt_command(stdout, it->meta.parts.argv, it->meta.parts.argc, 0);
	putchar('\n');
}

static void print_foreign(void *ctx, const pk_foreign *f)
{
	struct printer *p = ctx;
	char size[32];

	printf("%s %s %s %6s\n", p->dry_run ? "would remove" : "removed", f->rel, "foreign",
	       pk_size_format(f->bytes, size, sizeof(size)));
}

static void print_manifest(void *ctx, const pk_key *key, const char *rel, const char *why)
{
	struct printer *p = ctx;
	char hex[PK_KEY_HEX + 1];

	if (key != NULL) {
		pk_key_hex(key, hex);
		printf("%s manifest %.12s %s\n", p->dry_run ? "would remove" : "removed", hex, why);
	} else {
		printf("%s %s %s\n", p->dry_run ? "would remove" : "removed", rel, why);
	}
}

int cmd_gc(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "max-size", required_argument, NULL, 's' },
		{ "max-age", required_argument, NULL, 'a' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	pk_gc_opts o = { 0 };
	pk_gc_report rep;
	struct printer pr = { 0 };
	pk_store s;
	pk_error err = { 0 };
	char buf[PK_ERROR_STR_LEN], a[32], b[32];
	int c, verbose = 0, ret = 0;

	o.max_size = cli->max_size ? cli->max_size : PK_DEFAULT_MAX_SIZE;
	o.wait_ms = 60 * 1000;
	while ((c = getopt_long(argc, argv, "+:nvh", longopts, NULL)) != -1) {
		switch (c) {
		/* 0 would read as "no limit" to the library: refused, as
		 * max_size: 0 is in the configuration, so that a slip never
		 * means the opposite of what was typed. */
		case 's':
			if (cli_size("gc", "--max-size", optarg, &o.max_size) < 0)
				return EXIT_USAGE;
			if (o.max_size == 0) {
				fprintf(stderr,
				        "pickled: invalid size for --max-size: '%s' (must be at least 1)\n",
				        optarg);
				return EXIT_USAGE;
			}
			break;
		case 'a':
			if (cli_duration("gc", "--max-age", optarg, &o.max_age_ms) < 0)
				return EXIT_USAGE;
			if (o.max_age_ms == 0) {
				fprintf(stderr,
				        "pickled: invalid duration for --max-age: '%s' (must be at least 1ms)\n",
				        optarg);
				return EXIT_USAGE;
			}
			break;
		case 'n': o.dry_run = 1; break;
		case 'v': verbose = 1; break;
		case 'h': help_gc(); return 0;
		default: return cli_getopt_error("gc", argc, argv, c);
		}
	}
	if (optind < argc)
		return cli_usage_error("gc", "unexpected argument '%s'", argv[optind]);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	pr.dry_run = o.dry_run;
	if (o.dry_run || verbose) {
		o.on_remove = print_removed;
		o.on_foreign = print_foreign;
		o.on_manifest = print_manifest;
		o.ctx = &pr;
	}
	if (pk_gc_run(&s, &o, &rep, &err) < 0) {
		fprintf(stderr, "pickled: gc: %s\n", pk_error_str(&err, buf, sizeof(buf)));
		ret = 1;
		goto out;
	}
	if (verbose || o.dry_run)
		printf("%s %zu %s (%s), kept %zu (%s), %zu leftover %s\n",
		       o.dry_run ? "would remove" : "removed", rep.entries_removed,
		       rep.entries_removed == 1 ? "entry" : "entries",
		       pk_size_format(rep.bytes_freed, a, sizeof(a)), rep.entries_kept,
		       pk_size_format(rep.bytes_kept, b, sizeof(b)),
		       rep.temps_removed + rep.foreign_removed + rep.manifests_removed,
		       rep.temps_removed + rep.foreign_removed + rep.manifests_removed == 1
		               ? "file"
		               : "files");
	if (rep.entries_failed > 0) {
		fprintf(stderr, "pickled: gc: %s", pk_error_str(&rep.failure, buf, sizeof(buf)));
		if (rep.entries_failed > 1)
			fprintf(stderr, " (and %zu more)", rep.entries_failed - 1);
		fputc('\n', stderr);
		ret = 1;
	}
out:
	pk_store_close(&s);
	return ret;
}
