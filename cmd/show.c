/* show.c: `pickled show KEY`: everything recorded about one entry. */
#include "cli.h"

#include "catalog.h"
#include "entry.h"
#include "format.h"
#include "item.h"
#include "manifest.h"
#include "units.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void help_show(void)
{
	printf("Usage: pickled show [--json] KEY\n"
	       "       pickled show [--json] --name NAME\n"
	       "\n"
	       "Show everything recorded about one entry.  KEY may be any unique prefix\n"
	       "of the key (as ls prints it).\n"
	       "\n"
	       "      --json        print one JSON object (fields as in ls --json)\n"
	       "      --name NAME   the newest entry stored by a run named NAME (-j or\n"
	       "                    --name), instead of KEY\n"
	       "  -h, --help        show this help\n");
}

int cli_lookup_failed(const pk_error *err)
{
	char buf[PK_ERROR_STR_LEN];
	int verdict = err->errnum == 0 || err->errnum == EINVAL || err->errnum == ENOENT;

	fprintf(stderr, "pickled: %s\n", verdict ? err->msg : pk_error_str(err, buf, sizeof(buf)));
	return err->errnum == EINVAL ? EXIT_USAGE : 1;
}

/* Resolves a key argument and reads that entry's metadata into it.
 * Prints why not; returns the exit status to use, or 0. */
int cli_load_item(pk_store *s, const char *arg, pk_item *it)
{
	pk_error err = { 0 };
	int fd;

	memset(it, 0, sizeof(*it));
	if (pk_catalog_find(s, arg, &it->key, &err) < 0)
		return cli_lookup_failed(&err);
	pk_key_hex(&it->key, it->hex);
	if ((fd = pk_store_open_entry(s, &it->key)) < 0 && (errno == ELOOP || errno == EXDEV)) {
		/* A link under the entry's name, as verify lists it. */
		it->damaged = 1;
		snprintf(it->reason, sizeof(it->reason), "entry is a symbolic link");
		return 0;
	}
	if (fd < 0) {
		fprintf(stderr, "pickled: no entry with key %s\n", it->hex);
		return 1;
	}
	if (pk_entry_read_meta_key(fd, &it->key, &it->meta, &it->stored, &err) < 0) {
		it->damaged = 1;
		snprintf(it->reason, sizeof(it->reason), "%.150s", err.msg);
	}
	close(fd);
	pk_store_hits(s, &it->key, &it->hits, &it->last_hit_ms);
	if (!pk_store_last_failure(s, &it->key, &it->refresh_status, &it->refresh_failed_ms))
		it->refresh_failed_ms = 0;
	return 0;
}

static void row(const char *name)
{
	printf("%-15s ", name);
}

/* A word of the entry on its own line, quoted; "-" when there is none. */
static void show_word(const char *w)
{
	if (w == NULL)
		fputs("-", stdout);
	else
		fmt_word(stdout, w);
	putchar('\n');
}

/* A traced entry: the key of its manifest, the network peers it reached,
 * each input it was seen to read (path, kind, the hash's first 12 digits)
 * and each path it wrote. */
static void print_trace(const pk_meta *m)
{
	pk_trace_note n;
	pk_error err = { 0 };
	char hex[PK_KEY_HEX + 1];

	if (m->trace == NULL)
		return;
	if (pk_trace_note_decode(m->trace, m->trace_len, &n, &err) < 0) {
		row("traced");
		printf("%s\n", err.msg);
		return;
	}
	pk_key_hex(&n.manifest, hex);
	row("traced");
	printf("manifest %s\n", hex);
	if (n.npeers > 0) {
		row("network");
		fputs("used (", stdout);
		for (size_t i = 0; i < n.npeers; i++)
			printf("%s%s", i ? ", " : "", n.peers[i]);
		puts(")");
	}
	for (size_t i = 0; i < n.ninputs; i++) {
		const pk_mrec *r = &n.inputs[i];
		pk_key h;
		row("traced input");
		fmt_word(stdout, r->path);
		printf(" %s", pk_mkind_name(r->kind));
		if (r->kind == PK_MK_FILE || r->kind == PK_MK_DIR || r->kind == PK_MK_LINK) {
			memcpy(h.bytes, r->hash, 16);
			pk_key_hex(&h, hex);
			printf(" %.12s", hex);
		}
		putchar('\n');
	}
	for (size_t i = 0; i < n.nwritten; i++) {
		row("written");
		show_word(n.written[i]);
	}
	pk_trace_note_free(&n);
}

static void print_human(const pk_item *it, int64_t now)
{
	const pk_meta *m = &it->meta;
	const pk_key_parts *p = &m->parts;
	char a[32], b[32];

	row("key");
	printf("%s\n", it->hex);
	if (it->damaged) {
		row("damaged");
		printf("%s\n", it->reason);
		return;
	}
	row("command");
	fmt_command(stdout, p->argv, p->argc, 0);
	putchar('\n');
	/* Everything that came from the command line or the file system is
	 * quoted as command words are: a name can hold terminal escapes. */
	row("program");
	show_word(p->program);
	row("cwd");
	show_word(m->run_cwd);
	row("created");
	fmt_time(stdout, m->created_ms, 0);
	printf(" (%s ago)\n", pk_duration_format(pk_item_age(it, now), a, sizeof(a)));
	row("ttl");
	printf("%s\n", pk_duration_format(m->ttl_ms, a, sizeof(a)));
	row("stale");
	printf("%s\n", m->stale_ms > 0 ? pk_duration_format(m->stale_ms, a, sizeof(a)) : "none");
	row("state");
	if (!pk_item_expired(it, now) && m->ttl_ms != PK_FOREVER)
		printf("%s (%s left)\n", item_state(it, now),
		       pk_duration_format(m->ttl_ms - pk_item_age(it, now), a, sizeof(a)));
	else
		printf("%s\n", item_state(it, now));
	row("exit status");
	printf("%d\n", m->exit_status);
	row("duration");
	printf("%s\n", pk_duration_format(m->duration_ms, a, sizeof(a)));
	row("stdout");
	printf("%s\n", pk_size_format(m->stdout_bytes, a, sizeof(a)));
	row("stderr");
	printf("%s\n", pk_size_format(m->stderr_bytes, a, sizeof(a)));
	row("stored");
	printf("%s (raw %s, ratio %.2f)\n", pk_size_format(it->stored, a, sizeof(a)),
	       pk_size_format(pk_meta_raw_bytes(m), b, sizeof(b)),
	       it->stored ? (double)pk_meta_raw_bytes(m) / (double)it->stored : 0.0);
	row("hits");
	printf("%llu", (unsigned long long)it->hits);
	if (it->last_hit_ms > 0) {
		fputs(" (last ", stdout);
		fmt_time(stdout, it->last_hit_ms, 0);
		putchar(')');
	}
	putchar('\n');
	row("saved");
	printf("%s\n", pk_duration_format(item_saved_ms(it), a, sizeof(a)));
	if (it->refresh_failed_ms > 0) {
		/* Cron users see what --warm and stale refreshes never print. */
		row("refresh failed");
		printf("status %d, ", it->refresh_status);
		fmt_time(stdout, it->refresh_failed_ms, 0);
		puts(" (this entry was kept)");
	}
	row("tags");
	fmt_command(stdout, m->tags, m->ntags, 0);
	puts(m->ntags ? "" : "-");
	row("name");
	printf("%s\n", m->name ? m->name : "-");
	for (size_t i = 0; i < m->nfiles; i++) {
		row("output");
		fmt_word(stdout, m->files[i].path);
		printf(" (%04o, %s", (unsigned)m->files[i].mode,
		       pk_size_format(m->files[i].size, a, sizeof(a)));
		if (m->files[i].is_dir)
			printf(", a directory of %zu entries", m->files[i].nmembers);
		puts(")");
	}
	for (size_t i = 0; i < p->ninputs; i++) {
		pk_key h;
		char hex[33];
		memcpy(h.bytes, p->inputs[i].hash, 16);
		pk_key_hex(&h, hex);
		row("input");
		fmt_word(stdout, p->inputs[i].path);
		printf(" %s%s\n", p->inputs[i].present ? "xxh3 " : "absent",
		       p->inputs[i].present ? hex : "");
	}
	for (size_t i = 0; i < p->nenv; i++) {
		const pk_envvar *e = &p->env[i];
		row("env");
		fmt_word(stdout, e->name);
		/* Never the value: its digest (ls -l shows the same). */
		if (e->has_digest && e->was_set)
			printf(" #%08x", (unsigned)e->digest);
		else if (e->has_digest)
			fputs(" unset", stdout);
		putchar('\n');
	}
	if (p->cwd) {
		row("key cwd");
		show_word(p->cwd);
	}
	if (p->has_stdin) {
		pk_key h;
		char hex[33];
		memcpy(h.bytes, p->stdin_hash, 16);
		pk_key_hex(&h, hex);
		row("stdin");
		printf("xxh3 %s\n", hex);
	}
	if (p->extra) {
		row("key text");
		show_word(p->extra);
	}
	row("cache failures");
	printf("%s\n", p->cache_failures ? "yes" : "no");
	print_trace(m);
}

/* The key of the newest entry stored by a run named name, into hex.
 * Prints why not; returns 0 or the exit status to use. */
static int newest_named(pk_store *s, const char *name, char *hex)
{
	pk_catalog cat = { 0 };
	pk_error err = { 0 };
	const pk_item *best = NULL;
	char buf[PK_ERROR_STR_LEN];
	int ret = 1;

	if (pk_catalog_load(s, &cat, &err) < 0) {
		fprintf(stderr, "pickled: %s\n", pk_error_str(&err, buf, sizeof(buf)));
		goto out;
	}
	for (size_t i = 0; i < cat.n; i++) {
		const pk_item *it = &cat.items[i];
		if (!it->damaged && it->meta.name != NULL && strcmp(it->meta.name, name) == 0 &&
		    (best == NULL || it->meta.created_ms > best->meta.created_ms))
			best = it;
	}
	if (best == NULL) {
		fprintf(stderr, "pickled: no entry named '%s'\n", name);
		goto out;
	}
	memcpy(hex, best->hex, PK_KEY_HEX + 1);
	ret = 0;
out:
	pk_catalog_free(&cat);
	return ret;
}

int cmd_show(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "name", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	pk_store s;
	pk_item it;
	const char *name = NULL;
	char hex[PK_KEY_HEX + 1];
	int c, json = 0, ret;

	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'N': name = optarg; break;
		case 'h': help_show(); return 0;
		default: return cli_getopt_error("show", argc, argv, c);
		}
	}
	if (name != NULL && optind < argc)
		return cli_usage_error("show", "a key and --name cannot be given together");
	if (name == NULL && optind >= argc)
		return cli_usage_error("show", "no key given");
	if (optind + 1 < argc)
		return cli_usage_error("show", "unexpected argument '%s'", argv[optind + 1]);
	if (name == NULL && !pk_key_is_prefix(argv[optind])) {
		fprintf(stderr, "pickled: not a key: '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (cli_open_store(cli, &s) < 0)
		return 1;
	if (name != NULL && (ret = newest_named(&s, name, hex)) != 0) {
		pk_store_close(&s);
		return ret;
	}
	ret = cli_load_item(&s, name != NULL ? hex : argv[optind], &it);
	if (ret == 0) {
		if (json) {
			item_json(stdout, &it, pk_now_ms());
			putchar('\n');
		} else {
			print_human(&it, pk_now_ms());
		}
		ret = fflush(stdout) == 0 ? 0 : 1;
	}
	pk_meta_free(&it.meta);
	pk_store_close(&s);
	return ret;
}
