/* rm.c: `pickled rm`: remove entries by key, state, tag or command. */
#include "cli.h"

#include "catalog.h"
#include "format.h"
#include "manifest.h"
#include "remote.h"

#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void help_rm(void)
{
	printf("Usage: pickled rm KEY...\n"
	       "       pickled rm --expired | --all | --tag TAG | --match GLOB\n"
	       "\n"
	       "Remove entries: the ones named (any unique key prefix), or every entry\n"
	       "that is expired, tagged TAG (see run --tag), or whose command line\n"
	       "(arguments joined by spaces) matches GLOB.  With a shared (Redis) tier in\n"
	       "read-write mode, the entries are removed from it too: a KEY is looked up\n"
	       "in both tiers, so it may name an entry only Redis holds, and the\n"
	       "selectors apply to the entries there as well.  A read-only host looks up\n"
	       "and removes local entries only.  Prints nothing on success.\n"
	       "\n"
	       "      --expired     entries past the ttl they were stored with\n"
	       "      --all         every entry, and the files under v1/ that are none\n"
	       "                    (and every manifest of traced runs)\n"
	       "      --tag TAG     entries tagged TAG\n"
	       "      --match GLOB  entries whose command line matches GLOB\n"
	       "  -h, --help        show this help\n"
	       "\n"
	       "Exit status: 0 removed; 1 a KEY matching no entry or several (nothing is\n"
	       "removed), or a cache that cannot be read, or Redis failing (one warning;\n"
	       "the local entries are removed all the same); 125 bad usage.\n");
}

/* The command line as --match sees it: arguments joined by spaces. */
static char *joined(const pk_item *it)
{
	size_t len = 1;
	char *s, *p;

	for (size_t i = 0; i < it->meta.parts.argc; i++)
		len += strlen(it->meta.parts.argv[i]) + 1;
	if ((s = p = malloc(len)) == NULL)
		return NULL;
	for (size_t i = 0; i < it->meta.parts.argc; i++) {
		size_t n = strlen(it->meta.parts.argv[i]);
		if (i)
			*p++ = ' ';
		memcpy(p, it->meta.parts.argv[i], n);
		p += n;
	}
	*p = '\0';
	return s;
}

static int selected(const pk_item *it, int all, int expired, const char *tag, const char *match,
                    int64_t now)
{
	if (all)
		return 1;
	if (it->damaged)
		return 0;
	if (expired)
		return pk_item_expired(it, now);
	if (tag) {
		for (size_t i = 0; i < it->meta.ntags; i++)
			if (strcmp(it->meta.tags[i], tag) == 0)
				return 1;
		return 0;
	}
	char *cmd = joined(it);
	int hit = cmd && fnmatch(match, cmd, 0) == 0;
	free(cmd);
	return hit;
}

/* The shared tier as rm uses it: connected once, given up at its first
 * failure, which is reported once. */
struct tier {
	pk_remote *r;
	int failed;
};

static void tier_fail(struct tier *t, const pk_error *err)
{
	char buf[PK_ERROR_STR_LEN];

	fprintf(stderr, "pickled: remote cache unavailable: %s\n",
	        pk_error_str(err, buf, sizeof(buf)));
	pk_remote_close(t->r);
	t->r = NULL;
	t->failed = 1;
}

/* Connects in read-write mode only: a read-only host neither looks keys up
 * in the shared tier nor removes anything from it. */
static void tier_open(const struct cli *cli, struct tier *t)
{
	pk_error err = { 0 };

	if (cli->remote.url == NULL || cli->remote.read_only)
		return;
	if ((t->r = pk_remote_connect(&cli->remote, &err)) == NULL)
		tier_fail(t, &err);
}

/* rm KEY...: each key is looked up in both tiers, all of them before any
 * entry goes, so that a typo removes nothing. */
static int rm_keys(const struct cli *cli, pk_store *s, struct tier *t, char **args, int n)
{
	pk_key *keys = calloc((size_t)n, sizeof(*keys));
	pk_error err = { 0 }, rerr;
	int ret = 0;

	if (keys == NULL) {
		fprintf(stderr, "pickled: cannot look up the keys: %s\n", strerror(errno));
		return 1;
	}
	tier_open(cli, t);
	for (int i = 0; i < n; i++) {
		int found = pk_catalog_find_shared(s, t->r, args[i], &keys[i], &err, &rerr);
		if (rerr.msg[0] != '\0')
			tier_fail(t, &rerr);
		if (found < 0)
			ret = cli_lookup_failed(&err);
	}
	if (ret != 0) {
		free(keys);
		return ret;
	}
	/* Every key was found: one that cannot go does not keep the others. */
	for (int i = 0; s->dirfd >= 0 && i < n; i++)
		if (pk_store_remove(s, &keys[i]) < 0 && errno != ENOENT) {
			char hex[PK_KEY_HEX + 1];
			int e = errno;
			pk_key_hex(&keys[i], hex);
			fprintf(stderr, "pickled: cannot remove %s: %s\n", hex, strerror(e));
			ret = 1;
		}
	for (int i = 0; t->r != NULL && i < n; i++)
		if (pk_remote_del(t->r, &keys[i], &err) < 0)
			tier_fail(t, &err);
	free(keys);
	/* A traced result's input set goes from its manifest with it. */
	if (s->dirfd >= 0)
		pk_manifest_tidy(s, 0, NULL, NULL);
	return ret;
}

/* rm --expired|--all|--tag|--match: the entries selected in the local
 * cache, then those selected among the shared tier's own. */
static int rm_selected(const struct cli *cli, pk_store *s, struct tier *t, int all, int expired,
                       const char *tag, const char *match)
{
	pk_catalog cat = { 0 };
	pk_error err = { 0 };
	char buf[PK_ERROR_STR_LEN];
	int64_t now = pk_now_ms();
	int ret = 0;

	if (pk_catalog_load(s, &cat, &err) < 0) {
		fprintf(stderr, "pickled: %s\n", pk_error_str(&err, buf, sizeof(buf)));
		return 1;
	}
	/* One entry that cannot go does not keep the others. */
	for (size_t i = 0; i < cat.n; i++) {
		if (!selected(&cat.items[i], all, expired, tag, match, now))
			continue;
		if (pk_store_remove(s, &cat.items[i].key) < 0 && errno != ENOENT) {
			fprintf(stderr, "pickled: cannot remove %s: %s\n", cat.items[i].hex,
			        strerror(errno));
			ret = 1;
		}
	}
	/* --all empties v1/: the files that are no entries go too. */
	for (size_t i = 0; all && i < cat.nforeign; i++)
		if (pk_catalog_remove_foreign(s, &cat.foreign[i]) < 0) {
			fprintf(stderr, "pickled: cannot remove %s: %s\n", cat.foreign[i].rel,
			        strerror(errno));
			ret = 1;
		}
	pk_catalog_free(&cat);
	/* The manifests follow: input sets whose result went, and (--all
	 * leaving no result) every manifest. */
	pk_manifest_tidy(s, 0, NULL, NULL);
	tier_open(cli, t);
	if (t->r != NULL && pk_catalog_load_remote(t->r, &cat, &err) < 0)
		tier_fail(t, &err);
	for (size_t i = 0; t->r != NULL && i < cat.n; i++)
		if (selected(&cat.items[i], all, expired, tag, match, now) &&
		    pk_remote_del(t->r, &cat.items[i].key, &err) < 0)
			tier_fail(t, &err);
	pk_catalog_free(&cat);
	return ret;
}

int cmd_rm(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "expired", no_argument, NULL, 'E' },   { "all", no_argument, NULL, 'A' },
		{ "tag", required_argument, NULL, 't' }, { "match", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },      { NULL, 0, NULL, 0 },
	};
	const char *tag = NULL, *match = NULL;
	int c, all = 0, expired = 0, ret;
	pk_store s;
	struct tier t = { NULL, 0 };

	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'E': expired = 1; break;
		case 'A': all = 1; break;
		/* One of each: a second would silently replace the first. */
		case 't':
			if (tag != NULL)
				return cli_usage_error("rm",
				                       "give --tag once (rm --tag for each tag)");
			tag = optarg;
			break;
		case 'm':
			if (match != NULL)
				return cli_usage_error("rm",
				                       "give --match once (a glob can match both)");
			match = optarg;
			break;
		case 'h': help_rm(); return 0;
		default: return cli_getopt_error("rm", argc, argv, c);
		}
	}
	int selectors = all + expired + (tag != NULL) + (match != NULL);
	if (selectors > 1)
		return cli_usage_error("rm", "give one of --expired, --all, --tag, --match");
	if (selectors == 1 && optind < argc)
		return cli_usage_error("rm", "give keys or a selector, not both");
	if (selectors == 0 && optind >= argc)
		return cli_usage_error("rm", "no key given");
	for (int i = optind; i < argc; i++)
		if (!pk_key_is_prefix(argv[i])) {
			fprintf(stderr, "pickled: not a key: '%s'\n", argv[i]);
			return EXIT_USAGE;
		}
	/* A host with no local cache still removes from the shared tier. */
	if (cli_open_store_or_none(cli, &s, cli->remote.url != NULL && !cli->remote.read_only) < 0)
		return 1;
	if (selectors == 0)
		ret = rm_keys(cli, &s, &t, argv + optind, argc - optind);
	else
		ret = rm_selected(cli, &s, &t, all, expired, tag, match);
	pk_remote_close(t.r);
	pk_store_close(&s);
	return ret != 0 || t.failed;
}
