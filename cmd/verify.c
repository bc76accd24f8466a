/* verify.c: `pickled verify`: check every entry's structure and checksum. */
#include "cli.h"

#include "catalog.h"
#include "entry.h"
#include "gc.h"
#include "manifest.h"
#include "units.h"

#include <fcntl.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void help_verify(void)
{
	printf("Usage: pickled verify [--fix]\n"
	       "\n"
	       "Check every entry: header, metadata, checksum and every compressed record.\n"
	       "Print one line per damaged entry (its key and what is wrong), and one per\n"
	       "foreign file under v1/ (anything that is not an entry or its hit count:\n"
	       "its path, what it is and its size), and one per temporary file a run that\n"
	       "ended left in tmp/ (over an hour old, held by no run); and every manifest\n"
	       "of traced runs (run --trace): one line per damaged one ('manifest KEY\n"
	       "damaged: why') and per file under manifests/ that is none.  Exit 0 when\n"
	       "all are sound, 1 when any is not.\n"
	       "\n"
	       "      --fix         remove the damaged entries and manifests, the foreign\n"
	       "                    files and the temporaries left\n"
	       "  -h, --help        show this help\n");
}

static void print_temp(void *ctx, const char *dir, const char *name, uint64_t bytes)
{
	char size[32];

	printf("%s/%s %s: temporary of a run that ended (%s)\n", dir, name,
	       *(const int *)ctx ? "removed" : "leftover",
	       pk_size_format(bytes, size, sizeof(size)));
}

struct mcheck {
	const pk_store *s;
	int fix, bad;
};

/* One file under manifests/: a manifest whose bytes are sound, or said. */
static int check_manifest(void *ctx, const pk_key *key, const char *rel)
{
	struct mcheck *c = ctx;
	pk_manifest m;
	pk_error err = { 0 };
	char hex[PK_KEY_HEX + 1], buf[PK_ERROR_STR_LEN];
	int removed, why;

	if (key == NULL) {
		pk_foreign f = { .what = "file" };
		snprintf(f.rel, sizeof(f.rel), "%s", rel);
		removed = c->fix && pk_catalog_remove_foreign(c->s, &f) == 0;
		why = errno;
		c->bad++;
		printf("%s %s: not a manifest\n", rel, removed ? "removed" : "foreign");
		if (c->fix && !removed)
			fprintf(stderr, "pickled: cannot remove %s: %s\n", rel, strerror(why));
		return 0;
	}
	if (pk_manifest_load(c->s, key, &m, &err) >= 0) {
		pk_manifest_free(&m);
		return 0;
	}
	pk_key_hex(key, hex);
	removed = c->fix && (pk_manifest_remove(c->s, key) == 0 || errno == ENOENT);
	why = errno;
	c->bad++;
	printf("manifest %s %s: %s\n", hex, removed ? "removed" : "damaged",
	       pk_error_str(&err, buf, sizeof(buf)));
	if (c->fix && !removed)
		fprintf(stderr, "pickled: cannot remove %s: %s\n", rel, strerror(why));
	return 0;
}

int cmd_verify(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "fix", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	pk_store s;
	pk_catalog cat = { 0 };
	pk_error err = { 0 };
	char buf[PK_ERROR_STR_LEN];
	int c, fix = 0, bad = 0, ret = 1;

	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': fix = 1; break;
		case 'h': help_verify(); return 0;
		default: return cli_getopt_error("verify", argc, argv, c);
		}
	}
	if (optind < argc)
		return cli_usage_error("verify", "unexpected argument '%s'", argv[optind]);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	if (pk_catalog_load(&s, &cat, &err) < 0) {
		fprintf(stderr, "pickled: %s\n", pk_error_str(&err, buf, sizeof(buf)));
		goto out;
	}
	for (size_t i = 0; i < cat.n; i++) {
		pk_item *it = &cat.items[i];
		pk_error e = { 0 };
		int ok = 0, removed, why;

		if (!it->damaged) {
			int fd = pk_store_open_entry(&s, &it->key);
			pk_entry *en = fd >= 0 ? pk_entry_open(fd, &e) : NULL;
			if (fd < 0)
				continue; /* removed meanwhile */
			ok = en != NULL && pk_entry_verify(en, 1, &e) == 0;
			pk_entry_close(en);
			close(fd);
		} else {
			snprintf(e.msg, sizeof(e.msg), "%s", it->reason);
		}
		if (ok)
			continue;
		bad++;
		removed = fix && (pk_store_remove(&s, &it->key) == 0 || errno == ENOENT);
		why = errno;
		printf("%s %s: %s\n", it->hex, removed ? "removed" : "damaged",
		       pk_error_str(&e, buf, sizeof(buf)));
		if (fix && !removed)
			fprintf(stderr, "pickled: cannot remove %s: %s\n", it->hex, strerror(why));
	}
	for (size_t i = 0; i < cat.nforeign; i++) {
		const pk_foreign *f = &cat.foreign[i];
		int removed = fix && pk_catalog_remove_foreign(&s, f) == 0, why = errno;
		char size[32];

		bad++;
		printf("%s %s: %s, not an entry (%s)\n", f->rel, removed ? "removed" : "foreign",
		       f->what, pk_size_format(f->bytes, size, sizeof(size)));
		if (fix && !removed)
			fprintf(stderr, "pickled: cannot remove %s: %s\n", f->rel, strerror(why));
	}
	struct mcheck mc = { &s, fix, 0 };
	if (pk_manifest_each(&s, check_manifest, &mc, &err) < 0)
		fprintf(stderr, "pickled: %s\n", pk_error_str(&err, buf, sizeof(buf)));
	bad += mc.bad;
	bad += (int)pk_gc_stray_temps(&s, fix, print_temp, &fix);
	ret = bad ? 1 : 0;
	if (fflush(stdout) != 0)
		ret = 1;
out:
	pk_catalog_free(&cat);
	pk_store_close(&s);
	return ret;
}
