/* rm.c: `pickled rm`: remove entries by key, state, tag or command. */
#include "cli.h"

#include "catalog.h"
#include "format.h"
#include "remote.h"

#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void help_rm(void)
{
	printf(
"Usage: pickled rm KEY...\n"
"       pickled rm --expired | --all | --tag TAG | --match GLOB\n"
"\n"
"Remove entries: the ones named (any unique key prefix), or every entry\n"
"that is expired, tagged TAG (see run --tag), or whose command line\n"
"(arguments joined by spaces) matches GLOB.  With a shared (Redis) tier in\n"
"read-write mode, the same entries are removed from it too, and the\n"
"selectors apply to the entries there as well.  Prints nothing on success.\n"
"\n"
"      --expired     entries past the ttl they were stored with\n"
"      --all         every entry\n"
"      --tag TAG     entries tagged TAG\n"
"      --match GLOB  entries whose command line matches GLOB\n"
"  -h, --help        show this help\n");
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

static int selected(const pk_item *it, int all, int expired, const char *tag,
                    const char *match, int64_t now)
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

static int shared(const struct cli *cli)
{
	return cli->remote.url != NULL && !cli->remote.read_only;
}

/* The same removal in the shared tier: the keys named (as resolved
 * locally), or every remote entry the selector picks. */
static int rm_remote(struct cli *cli, const pk_key *keys, int nkeys, int all, int expired,
                     const char *tag, const char *match)
{
	pk_error err = { 0 };
	pk_catalog cat = { 0 };
	char buf[700];
	pk_remote *r = pk_remote_connect(&cli->remote, &err);
	int ret = 0;
	int64_t now = pk_now_ms();

	if (r == NULL)
		goto fail;
	if (nkeys > 0) {
		for (int i = 0; i < nkeys; i++)
			if (pk_remote_del(r, &keys[i], &err) < 0)
				goto fail;
	} else {
		if (pk_catalog_load_remote(r, &cat, &err) < 0)
			goto fail;
		for (size_t i = 0; i < cat.n; i++)
			if (selected(&cat.items[i], all, expired, tag, match, now) &&
			    pk_remote_del(r, &cat.items[i].key, &err) < 0)
				goto fail;
	}
	goto out;
fail:
	fprintf(stderr, "pickled: remote cache unavailable: %s\n", pk_error_str(&err, buf, sizeof(buf)));
	ret = -1;
out:
	pk_catalog_free(&cat);
	pk_remote_close(r);
	return ret;
}

int cmd_rm(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "expired", no_argument, NULL, 'E' },
		{ "all", no_argument, NULL, 'A' },
		{ "tag", required_argument, NULL, 't' },
		{ "match", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *tag = NULL, *match = NULL;
	int c, all = 0, expired = 0, ret = 0;
	pk_store s;
	pk_error err = { 0 };
	char buf[700];

	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'E': expired = 1; break;
		case 'A': all = 1; break;
		case 't': tag = optarg; break;
		case 'm': match = optarg; break;
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
	if (cli_open_store(cli, &s) < 0)
		return 1;
	if (selectors == 0) {
		/* Resolve every key first: a typo removes nothing. */
		pk_key *keys = calloc((size_t)(argc - optind), sizeof(*keys));
		if (keys == NULL) {
			pk_store_close(&s);
			return 1;
		}
		for (int i = optind; i < argc; i++) {
			if (pk_catalog_find(&s, argv[i], &keys[i - optind], &err) < 0) {
				fprintf(stderr, "pickled: %s\n", err.msg);
				ret = 1;
			}
		}
		for (int i = optind; ret == 0 && i < argc; i++)
			if (pk_store_remove(&s, &keys[i - optind]) < 0 && errno != ENOENT) {
				fprintf(stderr, "pickled: cannot remove %s: %s\n", argv[i], strerror(errno));
				ret = 1;
			}
		if (ret == 0 && shared(cli) &&
		    rm_remote(cli, keys, argc - optind, 0, 0, NULL, NULL) < 0)
			ret = 1;
		free(keys);
	} else {
		pk_catalog cat = { 0 };
		int64_t now = pk_now_ms();
		if (pk_catalog_load(&s, &cat, &err) < 0) {
			fprintf(stderr, "pickled: cannot list the cache: %s\n", pk_error_str(&err, buf, sizeof(buf)));
			ret = 1;
		}
		for (size_t i = 0; ret == 0 && i < cat.n; i++) {
			if (!selected(&cat.items[i], all, expired, tag, match, now))
				continue;
			if (pk_store_remove(&s, &cat.items[i].key) < 0 && errno != ENOENT) {
				fprintf(stderr, "pickled: cannot remove %s: %s\n", cat.items[i].hex, strerror(errno));
				ret = 1;
			}
		}
		pk_catalog_free(&cat);
		if (ret == 0 && shared(cli) && rm_remote(cli, NULL, 0, all, expired, tag, match) < 0)
			ret = 1;
	}
	pk_store_close(&s);
	return ret;
}
