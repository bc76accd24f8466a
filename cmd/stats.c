/* stats.c: `pickled stats`: what the cache holds and what it has saved. */
#include "cli.h"

#include "catalog.h"
#include "defaults.h"
#include "format.h"
#include "stats.h"
#include "units.h"

#include <getopt.h>
#include <stdio.h>

void help_stats(void)
{
	printf("Usage: pickled stats [--json | --prometheus] [--zero]\n"
	       "\n"
	       "Show entries, stored and raw bytes, the size limit (max_size) and how\n"
	       "full the cache is, hits, misses, stale refreshes, hit rate, command time\n"
	       "saved by hits, corrupt entries found, store failures, the shared (Redis)\n"
	       "tier's hits, misses, errors and timeouts, and the last gc.\n"
	       "\n"
	       "      --json        print one JSON object\n"
	       "      --prometheus  print the metrics in the Prometheus text format, as\n"
	       "                    metrics.textfile gets them (see pickled.conf(5))\n"
	       "      --zero        reset the counters (entries are kept); prints nothing,\n"
	       "                    and not with --json\n"
	       "  -h, --help        show this help\n");
}

int cmd_stats(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "zero", no_argument, NULL, 'z' },
		{ "prometheus", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	pk_store s;
	pk_catalog cat = { 0 };
	pk_stats st;
	pk_error err = { 0 };
	uint64_t stored = 0, raw = 0, foreign = 0;
	char buf[PK_ERROR_STR_LEN], a[32], b[32];
	int c, json = 0, zero = 0, prometheus = 0, ret = 1;

	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'z': zero = 1; break;
		case 'P': prometheus = 1; break;
		case 'h': help_stats(); return 0;
		default: return cli_getopt_error("stats", argc, argv, c);
		}
	}
	if (optind < argc)
		return cli_usage_error("stats", "unexpected argument '%s'", argv[optind]);
	/* Reading then zeroing would lose what happens in between: a script
	 * that wants both asks for them one after the other. */
	if (json && zero)
		return cli_usage_error("stats", "--json and --zero cannot be used together");
	if (prometheus && (json || zero))
		return cli_usage_error("stats", "--prometheus cannot be used with %s",
		                       json ? "--json" : "--zero");
	if (cli_open_store(cli, &s) < 0)
		return 1;
	if (prometheus) {
		ret = stats_prometheus(cli, &s);
		goto out;
	}
	if (zero) {
		if (pk_stats_zero(&s, &err) < 0)
			fprintf(stderr, "pickled: %s\n", pk_error_str(&err, buf, sizeof(buf)));
		else
			ret = 0;
		goto out;
	}
	if (pk_stats_read(&s, &st, &err) < 0 || pk_catalog_load(&s, &cat, &err) < 0) {
		fprintf(stderr, "pickled: %s\n", pk_error_str(&err, buf, sizeof(buf)));
		goto out;
	}
	for (size_t i = 0; i < cat.n; i++) {
		stored += cat.items[i].stored;
		if (!cat.items[i].damaged)
			raw += pk_meta_raw_bytes(&cat.items[i].meta);
	}
	/* Files that are no entries take room all the same, as gc counts. */
	for (size_t i = 0; i < cat.nforeign; i++)
		foreign += cat.foreign[i].bytes;
	uint64_t lookups = st.hits + st.misses;
	double rate = lookups ? 100.0 * (double)st.hits / (double)lookups : 0.0;
	double ratio = stored ? (double)raw / (double)stored : 0.0;
	uint64_t max = cli->max_size ? cli->max_size : PK_DEFAULT_MAX_SIZE;
	double full = 100.0 * (double)(stored + foreign) / (double)max;
	if (json) {
		printf("{\"entries\":%zu,\"stored_bytes\":%llu,\"raw_bytes\":%llu,"
		       "\"compression_ratio\":%.2f,\"max_size_bytes\":%llu,\"full_percent\":%.1f,"
		       "\"hits\":%llu,\"misses\":%llu,\"stale_refreshes\":%llu,\"refresh_failures\":%llu,"
		       "\"hit_rate\":%.4f,\"hit_rate_percent\":%.1f,\"saved_ms\":%lld,"
		       "\"corrupt\":%llu,\"store_failures\":%llu,\"remote_hits\":%llu,"
		       "\"remote_misses\":%llu,\"remote_errors\":%llu,\"remote_timeouts\":%llu,"
		       "\"last_gc\":",
		       cat.n, (unsigned long long)stored, (unsigned long long)raw, ratio,
		       (unsigned long long)max, full, (unsigned long long)st.hits,
		       (unsigned long long)st.misses, (unsigned long long)st.stale_refreshes,
		       (unsigned long long)st.refresh_failures, rate / 100.0, rate,
		       (long long)st.saved_ms, (unsigned long long)st.corrupt,
		       (unsigned long long)st.store_failures, (unsigned long long)st.remote_hits,
		       (unsigned long long)st.remote_misses, (unsigned long long)st.remote_errors,
		       (unsigned long long)st.remote_timeouts);
		if (st.last_gc_ms > 0) {
			putchar('"');
			fmt_time(stdout, st.last_gc_ms, 1);
			putchar('"');
		} else {
			fputs("null", stdout);
		}
		puts("}");
	} else {
		printf("entries          %zu\n", cat.n);
		printf("stored           %s (raw %s, ratio %.2f)\n",
		       pk_size_format(stored, a, sizeof(a)), pk_size_format(raw, b, sizeof(b)),
		       ratio);
		printf("max size         %s (%.1f%% full)\n", pk_size_format(max, a, sizeof(a)),
		       full);
		printf("hits             %llu\n", (unsigned long long)st.hits);
		printf("misses           %llu\n", (unsigned long long)st.misses);
		printf("stale refreshes  %llu\n", (unsigned long long)st.stale_refreshes);
		printf("failed refreshes %llu\n", (unsigned long long)st.refresh_failures);
		printf("hit rate         %.1f%%\n", rate);
		printf("time saved       %s\n", pk_duration_format(st.saved_ms, a, sizeof(a)));
		printf("corrupt found    %llu\n", (unsigned long long)st.corrupt);
		printf("store failures   %llu\n", (unsigned long long)st.store_failures);
		printf("remote hits      %llu\n", (unsigned long long)st.remote_hits);
		printf("remote misses    %llu\n", (unsigned long long)st.remote_misses);
		printf("remote errors    %llu\n", (unsigned long long)st.remote_errors);
		printf("remote timeouts  %llu\n", (unsigned long long)st.remote_timeouts);
		printf("last gc          ");
		if (st.last_gc_ms > 0)
			fmt_time(stdout, st.last_gc_ms, 0);
		else
			fputs("never", stdout);
		putchar('\n');
	}
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	pk_catalog_free(&cat);
	pk_store_close(&s);
	return ret;
}
