/* ls.c: `pickled ls`: one line per entry. */
#include "cli.h"

#include "catalog.h"
#include "format.h"
#include "quote.h"
#include "item.h"
#include "keydiff.h"
#include "remote.h"
#include "units.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void help_ls(void)
{
	printf("Usage: pickled ls [-l] [--json] [--header|--no-header]\n"
	       "                  [--sort=age|size|hits|saved|command]\n"
	       "                  [--fresh] [--stale] [--expired] [--tag TAG] [--name NAME]\n"
	       "                  [--remote]\n"
	       "\n"
	       "List the cache's entries, one line each: short key, age, freshness (time\n"
	       "left, 'stale' or 'expired'), exit status, raw and stored size, hits, time\n"
	       "saved, the job (-j or --name) that stored it, its tags, and the command\n"
	       "line.\n"
	       "\n"
	       "  -l, --long        also show creation time, last hit and, for entries of\n"
	       "                    one command line, what tells them apart (DIFFERS:\n"
	       "                    NAME=#digest for an -e variable, never its value;\n"
	       "                    cwd:DIR; inputs:#digest...)\n"
	       "      --json        print one JSON array with every recorded field\n"
	       "      --header      print the line naming the columns (by default only\n"
	       "                    when stdout is a terminal); not with --json\n"
	       "      --no-header   never print it\n"
	       "      --sort KEY    age (newest first, the default), size, hits, saved\n"
	       "                    (largest first) or command (alphabetical)\n"
	       "      --fresh       only entries neither stale nor expired\n"
	       "      --stale       only entries past their stale time, not expired\n"
	       "      --expired     only entries past their ttl\n"
	       "                    (given together: the entries in any of those states)\n"
	       "      --tag TAG     only entries tagged TAG (repeated: any of the tags)\n"
	       "      --name NAME   only entries stored by runs named NAME (-j or --name)\n"
	       "      --remote      list the shared (Redis) tier instead of the local\n"
	       "                    cache (hits are counted per host, so they show 0)\n"
	       "  -h, --help        show this help\n");
}

enum { SORT_AGE, SORT_SIZE, SORT_HITS, SORT_SAVED, SORT_COMMAND };
static int sort_by;

/* The state filters, as bits: 1 << index in state_names. */
static const char *const state_names[] = { "fresh", "stale", "expired" };
enum { STATE_FRESH, STATE_STALE, STATE_EXPIRED };

static int state_bit(const pk_item *it, int64_t now)
{
	const char *s = item_state(it, now);

	for (int i = 0; i < 3; i++)
		if (strcmp(s, state_names[i]) == 0)
			return 1 << i;
	return 0;
}

/* Whether the entry has one of tags[0..n). */
static int has_tag(const pk_item *it, char *const *tags, size_t n)
{
	for (size_t i = 0; i < it->meta.ntags; i++)
		for (size_t k = 0; k < n; k++)
			if (strcmp(it->meta.tags[i], tags[k]) == 0)
				return 1;
	return 0;
}

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
	return a == b ? 0 : (a > b ? -1 : 1);
}

static int cmp_argv(const pk_item *a, const pk_item *b)
{
	for (size_t i = 0; i < a->meta.parts.argc && i < b->meta.parts.argc; i++) {
		int c = strcmp(a->meta.parts.argv[i], b->meta.parts.argv[i]);
		if (c)
			return c;
	}
	return a->meta.parts.argc < b->meta.parts.argc ? -1
	                                               : a->meta.parts.argc > b->meta.parts.argc;
}

static int cmp_items(const void *pa, const void *pb)
{
	const pk_item *a = *(pk_item *const *)pa, *b = *(pk_item *const *)pb;
	int c = 0;

	/* Damaged entries last: they have no fields to sort by. */
	if (a->damaged != b->damaged)
		return a->damaged - b->damaged;
	switch (sort_by) {
	case SORT_AGE:
		c = cmp_u64_desc((uint64_t)a->meta.created_ms, (uint64_t)b->meta.created_ms);
		break;
	case SORT_SIZE: c = cmp_u64_desc(a->stored, b->stored); break;
	case SORT_HITS: c = cmp_u64_desc(a->hits, b->hits); break;
	case SORT_SAVED:
		c = cmp_u64_desc((uint64_t)item_saved_ms(a), (uint64_t)item_saved_ms(b));
		break;
	case SORT_COMMAND: c = cmp_argv(a, b); break;
	}
	return c ? c : strcmp(a->hex, b->hex);
}

/* What ls prints of one entry besides its fixed columns: its job, its tags
 * and (ls -l) what tells it apart from entries of the same command line;
 * "-" for none.  Each malloc'd. */
struct cols {
	char *job, *tags, *differs;
};

/* Left-aligned, padded to w bytes, then two spaces. */
static void print_col(FILE *f, const char *s, size_t w)
{
	size_t n = strlen(s);

	fprintf(f, "%s%*s  ", s, (int)(w > n ? w - n : 0), "");
}

/* The entry's line, without its newline. */
static void print_line(FILE *f, const pk_item *it, const struct cols *c, const size_t *w,
                       int64_t now, int longfmt)
{
	const pk_meta *m = &it->meta;
	char age[32], left[32], raw[32], stored[32], saved[32];

	if (it->damaged) {
		fprintf(f, "%.12s  damaged: %s", it->hex, it->reason);
		return;
	}
	pk_duration_format(pk_item_age(it, now), age, sizeof(age));
	if (pk_item_expired(it, now))
		snprintf(left, sizeof(left), "expired");
	else if (pk_item_stale(it, now))
		snprintf(left, sizeof(left), "stale");
	else if (m->ttl_ms == PK_FOREVER)
		snprintf(left, sizeof(left), "forever");
	else
		pk_duration_format(m->ttl_ms - pk_item_age(it, now), left, sizeof(left));
	pk_size_format(pk_meta_raw_bytes(m), raw, sizeof(raw));
	pk_size_format(it->stored, stored, sizeof(stored));
	pk_duration_format(item_saved_ms(it), saved, sizeof(saved));
	fprintf(f, "%.12s  %-7s %-8s %3d  %6s %6s %5llu %7s  ", it->hex, age, left, m->exit_status,
	        raw, stored, (unsigned long long)it->hits, saved);
	if (longfmt) {
		fmt_time(f, m->created_ms, 0);
		fputs("  ", f);
		if (it->last_hit_ms > 0)
			fmt_time(f, it->last_hit_ms, 0);
		else
			fputs("-------------------", f);
		fputs("  ", f);
	}
	print_col(f, c->job, w[0]);
	print_col(f, c->tags, w[1]);
	if (longfmt)
		print_col(f, c->differs, w[2]);
	fmt_command(f, m->parts.argv, m->parts.argc, 0);
}

/* A malloc'd copy of what fmt writes of the entry (NULL: out of memory). */
static char *render_tags(const pk_item *it)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (f == NULL)
		return NULL;
	if (it->meta.ntags == 0)
		fputc('-', f);
	else
		fmt_tags(f, it->meta.tags, it->meta.ntags);
	if (fclose(f) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

static char *render_job(const pk_item *it)
{
	pk_buf b = { 0 };

	pk_quote_word(&b, it->meta.name ? it->meta.name : "-", 0);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return (char *)b.p;
}

/* What differs within one group of entries with the same command line:
 * the parts (bits of 1 << PK_KD_x) and the variables' names. */
struct groupdiff {
	unsigned parts;
	char **names; /* borrowed from the entries */
	size_t nnames;
};

static void note_diff(void *ctx, int part, const char *name, const char *line)
{
	struct groupdiff *g = ctx;

	(void)line;
	g->parts |= 1u << part;
	if (part != PK_KD_ENV || name == NULL)
		return;
	for (size_t i = 0; i < g->nnames; i++)
		if (strcmp(g->names[i], name) == 0)
			return;
	cli_push(&g->names, &g->nnames, (char *)(uintptr_t)name);
}

/* An entry and where it is in the listing. */
struct placed {
	const pk_item *it;
	size_t at;
};

static int cmp_placed(const void *pa, const void *pb)
{
	const struct placed *a = pa, *b = pb;
	int c = cmp_argv(a->it, b->it);

	return c ? c : strcmp(a->it->hex, b->it->hex);
}

/* Fills c[i].differs for the entries v[0..n) (ls -l). */
static int render_differs(pk_item **v, size_t n, struct cols *c)
{
	struct placed *byargv = malloc((n ? n : 1) * sizeof(*byargv));
	int ret = -1;

	if (byargv == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		byargv[i].it = v[i];
		byargv[i].at = i;
	}
	qsort(byargv, n, sizeof(*byargv), cmp_placed);
	for (size_t i = 0, end; i < n; i = end) {
		struct groupdiff g = { 0, NULL, 0 };
		const pk_item *first = byargv[i].it;

		for (end = i + 1; end < n && !byargv[end].it->damaged && !first->damaged &&
		                  cmp_argv(byargv[end].it, first) == 0;
		     end++) {
			const pk_meta *m = &byargv[end].it->meta;
			pk_keydiff(&m->parts, &first->meta.parts, NULL, NULL, 0, note_diff, &g,
			           NULL);
			if ((m->run_cwd == NULL) != (first->meta.run_cwd == NULL) ||
			    (m->run_cwd && strcmp(m->run_cwd, first->meta.run_cwd) != 0))
				g.parts |= 1u << PK_KD_CWD;
		}
		for (size_t k = i; k < end; k++) {
			const pk_meta *m = &byargv[k].it->meta;
			pk_buf b = { 0 };
			for (int part = 0; part < PK_KD_NPARTS; part++) {
				if (!(g.parts & (1u << part)))
					continue;
				if (part == PK_KD_ENV) {
					for (size_t e = 0; e < g.nnames; e++) {
						if (b.len)
							pk_buf_add(&b, ",", 1);
						pk_keydiff_show(&b, &m->parts, m->run_cwd, part,
						                g.names[e]);
					}
					continue;
				}
				if (b.len)
					pk_buf_add(&b, ",", 1);
				pk_keydiff_show(&b, &m->parts, m->run_cwd, part, NULL);
			}
			if (b.len == 0)
				pk_buf_add(&b, "-", 1);
			if (b.failed) {
				free(b.p);
				free(g.names);
				goto out;
			}
			c[byargv[k].at].differs = (char *)b.p;
		}
		free(g.names);
	}
	ret = 0;
out:
	free(byargv);
	return ret;
}

static void print_lines(pk_item **v, size_t n, int64_t now, int longfmt, int header)
{
	struct cols *c = calloc(n ? n : 1, sizeof(*c));
	size_t w[3] = { 3, 4, 7 }; /* JOB, TAGS, DIFFERS */
	size_t width = fmt_term_width();

	if (c == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		if ((c[i].job = render_job(v[i])) == NULL ||
		    (c[i].tags = render_tags(v[i])) == NULL)
			goto out;
	}
	if (longfmt && render_differs(v, n, c) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *s[3] = { c[i].job, c[i].tags, c[i].differs };
		for (int k = 0; k < 3; k++)
			if (s[k] != NULL && strlen(s[k]) > w[k])
				w[k] = strlen(s[k]);
	}
	if (header == 1 || (header < 0 && width)) {
		printf("%-12s  %-7s %-8s%4s  %6s %6s %5s %7s  %s", "KEY", "AGE", "LEFT", "EXIT",
		       "RAW", "STORED", "HITS", "SAVED",
		       longfmt ? "CREATED              LAST HIT             " : "");
		print_col(stdout, "JOB", w[0]);
		print_col(stdout, "TAGS", w[1]);
		if (longfmt)
			print_col(stdout, "DIFFERS", w[2]);
		puts("COMMAND");
	}
	for (size_t i = 0; i < n; i++) {
		char *line = NULL;
		size_t len = 0;
		FILE *f;

		/* On a terminal, each line is cut to its width. */
		if (!width) {
			print_line(stdout, v[i], &c[i], w, now, longfmt);
			putchar('\n');
			continue;
		}
		if ((f = open_memstream(&line, &len)) == NULL)
			break;
		print_line(f, v[i], &c[i], w, now, longfmt);
		if (fclose(f) == 0) {
			fwrite(line, 1, len < width ? len : width, stdout);
			putchar('\n');
		}
		free(line);
	}
out:
	for (size_t i = 0; i < n; i++) {
		free(c[i].job);
		free(c[i].tags);
		free(c[i].differs);
	}
	free(c);
}

/* The --tag values, borrowed from argv; v is the caller's to free. */
struct tagset {
	char **v;
	size_t n;
};

/* cmd_ls, gathering the --tag values in ts. */
static int ls_run(struct cli *cli, int argc, char **argv, struct tagset *ts)
{
	static const struct option longopts[] = {
		{ "long", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "sort", required_argument, NULL, 's' },
		{ "expired", no_argument, NULL, 'E' },
		{ "fresh", no_argument, NULL, 'F' },
		{ "stale", no_argument, NULL, 'S' },
		{ "tag", required_argument, NULL, 't' },
		{ "name", required_argument, NULL, 'm' },
		{ "remote", no_argument, NULL, 'R' },
		{ "header", no_argument, NULL, 'H' },
		{ "no-header", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *sorts[] = { "age", "size", "hits", "saved", "command" };
	const char *name = NULL;
	int c, longfmt = 0, json = 0, remote = 0, header = -1, states = 0, ret = 1;
	pk_store s;
	pk_catalog cat = { 0 };
	pk_error err = { 0 };
	char ebuf[PK_ERROR_STR_LEN];

	sort_by = SORT_AGE;
	while ((c = getopt_long(argc, argv, "+:lh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': longfmt = 1; break;
		case 'j': json = 1; break;
		case 't': cli_push(&ts->v, &ts->n, optarg); break;
		case 'm': name = optarg; break;
		case 'R': remote = 1; break;
		/* Several states: the entries in any of them. */
		case 'F': states |= 1 << STATE_FRESH; break;
		case 'S': states |= 1 << STATE_STALE; break;
		case 'E': states |= 1 << STATE_EXPIRED; break;
		/* Of the two, the last wins, as with every --no- form. */
		case 'H': header = 1; break;
		case 'N': header = 0; break;
		case 's': {
			size_t i;
			for (i = 0; i < 5 && strcmp(optarg, sorts[i]) != 0; i++)
				;
			if (i == 5)
				return cli_usage_error(
					"ls",
					"invalid value for --sort: '%s' (age, size, hits, saved or command)",
					optarg);
			sort_by = (int)i;
			break;
		}
		case 'h': help_ls(); return 0;
		default: return cli_getopt_error("ls", argc, argv, c);
		}
	}
	if (optind < argc)
		return cli_usage_error("ls", "unexpected argument '%s'", argv[optind]);
	if (json && header == 1)
		return cli_usage_error("ls", "--header and --json cannot be used together");
	if (remote) {
		pk_remote *r;
		s.dir = NULL;
		s.dirfd = -1;
		if (cli->remote.url == NULL) {
			fputs("pickled: no remote cache configured (remote.url or PICKLED_REMOTE)\n",
			      stderr);
			return 1;
		}
		r = pk_remote_connect(&cli->remote, &err);
		if (r == NULL || pk_catalog_load_remote(r, &cat, &err) < 0) {
			fprintf(stderr, "pickled: remote cache unavailable: %s\n",
			        pk_error_str(&err, ebuf, sizeof(ebuf)));
			pk_remote_close(r);
			goto out;
		}
		pk_remote_close(r);
	} else {
		if (cli_open_store(cli, &s) < 0)
			return 1;
		if (pk_catalog_load(&s, &cat, &err) < 0) {
			fprintf(stderr, "pickled: %s\n", pk_error_str(&err, ebuf, sizeof(ebuf)));
			goto out;
		}
	}
	int64_t now = pk_now_ms();
	pk_item **v = malloc((cat.n ? cat.n : 1) * sizeof(*v));
	size_t n = 0;
	if (v == NULL)
		goto out;
	for (size_t i = 0; i < cat.n; i++) {
		pk_item *it = &cat.items[i];
		if (states && (it->damaged || !(states & state_bit(it, now))))
			continue;
		if (ts->n > 0 && (it->damaged || !has_tag(it, ts->v, ts->n)))
			continue;
		if (name &&
		    (it->damaged || it->meta.name == NULL || strcmp(it->meta.name, name) != 0))
			continue;
		v[n++] = it;
	}
	qsort(v, n, sizeof(*v), cmp_items);
	if (json) {
		putchar('[');
		for (size_t i = 0; i < n; i++) {
			if (i)
				putchar(',');
			fputs("\n  ", stdout);
			item_json(stdout, v[i], now);
		}
		fputs(n ? "\n]\n" : "]\n", stdout);
	} else {
		print_lines(v, n, now, longfmt, header);
	}
	free(v);
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	pk_catalog_free(&cat);
	pk_store_close(&s);
	return ret;
}

int cmd_ls(struct cli *cli, int argc, char **argv)
{
	struct tagset ts = { NULL, 0 };
	int ret = ls_run(cli, argc, argv, &ts);

	free(ts.v);
	return ret;
}
