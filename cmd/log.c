/* log.c: `pickled log`: the latest runs from the run log, newest first. */
#include "cli.h"

#include "format.h"
#include "runlog.h"
#include "units.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void help_log(void)
{
	printf("Usage: pickled log [--json] [-n N] [JOB]\n"
	       "\n"
	       "List the latest runs, newest first: when each ended, its decision (hit,\n"
	       "stale, miss or uncached, and why), duration, exit status, output bytes,\n"
	       "the key's first 12 digits, and the job's name (-j or --name) or the\n"
	       "command.  With JOB, only the runs of that name.  The log keeps the\n"
	       "newest runs in at most 4 MiB (about 15,000 runs).\n"
	       "\n"
	       "  -n, --lines N  show the latest N runs (default 20; 0: all the log holds)\n"
	       "      --json     print one JSON array\n"
	       "  -h, --help     show this help\n"
	       "\n"
	       "Exit status: 0 listed (nothing, when there was no run); 1 the log cannot\n"
	       "be read; 125 bad usage.\n");
}

/* The record's command as an argv (pointing into r). */
static size_t rec_argv(const pk_runlog_rec *r, char **argv, size_t max)
{
	const char *w = r->command;
	size_t n = 0;

	for (; n < r->argc && n < max; n++) {
		argv[n] = (char *)(uintptr_t)w;
		w += strlen(w) + 1;
	}
	return n;
}

static void print_json(const pk_runlog_rec *r, int first)
{
	char *argv[PK_RUNLOG_COMMAND_MAX / 2];
	size_t argc = rec_argv(r, argv, sizeof(argv) / sizeof(argv[0]));

	printf("%s{\"time\":\"", first ? "" : ",");
	fmt_time(stdout, r->end_ms, 1);
	printf("\",\"time_ms\":%lld,\"job\":", (long long)r->end_ms);
	if (r->job[0] != '\0')
		fmt_json_str(stdout, r->job);
	else
		fputs("null", stdout);
	fputs(",\"command\":[", stdout);
	for (size_t i = 0; i < argc; i++) {
		if (i > 0)
			putchar(',');
		fmt_json_str(stdout, argv[i]);
	}
	printf("],\"command_truncated\":%s,\"decision\":\"%s\",\"reason\":",
	       r->truncated ? "true" : "false", pk_decision_name(r->decision));
	if (r->why[0] != '\0')
		fmt_json_str(stdout, r->why);
	else
		fputs("null", stdout);
	printf(",\"duration_ms\":%lld,\"exit_status\":%d,\"output_bytes\":%llu,\"saved_ms\":%lld,"
	       "\"store_failures\":%u,\"remote_errors\":%u,\"key\":",
	       (long long)r->duration_ms, r->exit_status, (unsigned long long)r->out_bytes,
	       (long long)r->saved_ms, r->store_failures, r->remote_errors);
	if (r->key[0] != '\0')
		printf("\"%s\"", r->key);
	else
		fputs("null", stdout);
	putchar('}');
}

struct row {
	size_t index;
	char decision[80], dur[32], out[32];
};

int cmd_log(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "lines", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	pk_store s;
	pk_runlog log = { 0 };
	pk_error err = { 0 };
	struct row *rows = NULL;
	const char *job = NULL;
	unsigned long limit = 20;
	size_t nrows = 0, wdec = 8, wdur = 8, wout = 6;
	char buf[PK_ERROR_STR_LEN], *end;
	int c, json = 0, ret = 1;

	while ((c = getopt_long(argc, argv, "+:n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'J': json = 1; break;
		case 'n':
			limit = strtoul(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' ||
			    limit > 1000000000) {
				fprintf(stderr, "pickled: invalid number for -n: '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h': help_log(); return 0;
		default: return cli_getopt_error("log", argc, argv, c);
		}
	}
	if (optind < argc)
		job = argv[optind++];
	if (optind < argc)
		return cli_usage_error("log", "unexpected argument '%s'", argv[optind]);
	if (job != NULL && !pk_runlog_name_valid(job))
		return cli_usage_error("log", "invalid job name '%s'", job);
	if (cli_open_store(cli, &s) < 0)
		return 1;
	if (pk_runlog_load(&s, &log, &err) < 0) {
		fprintf(stderr, "pickled: cannot read the run log: %s\n",
		        pk_error_str(&err, buf, sizeof(buf)));
		goto out;
	}
	if ((rows = calloc(log.n + 1, sizeof(*rows))) == NULL) {
		fputs("pickled: out of memory\n", stderr);
		goto out;
	}
	for (size_t i = log.n; i-- > 0 && (limit == 0 || nrows < limit);) {
		pk_runlog_rec r;
		struct row *w = &rows[nrows];

		pk_runlog_get(&log, i, &r);
		if (job != NULL && strcmp(r.job, job) != 0)
			continue;
		w->index = i;
		snprintf(w->decision, sizeof(w->decision), r.why[0] ? "%s (%s)" : "%s",
		         pk_decision_name(r.decision), r.why);
		pk_duration_format(r.duration_ms, w->dur, sizeof(w->dur));
		pk_size_format(r.out_bytes, w->out, sizeof(w->out));
		if (strlen(w->decision) > wdec)
			wdec = strlen(w->decision);
		if (strlen(w->dur) > wdur)
			wdur = strlen(w->dur);
		nrows++;
	}
	if (json)
		putchar('[');
	else if (nrows > 0)
		printf("%-19s  %-*s  %*s  %6s  %*s  %-12s  %s\n", "TIME", (int)wdec, "DECISION",
		       (int)wdur, "DURATION", "STATUS", (int)wout, "OUTPUT", "KEY", "JOB/COMMAND");
	for (size_t i = 0; i < nrows; i++) {
		pk_runlog_rec r;
		char *cargv[PK_RUNLOG_COMMAND_MAX / 2];

		pk_runlog_get(&log, rows[i].index, &r);
		if (json) {
			print_json(&r, i == 0);
			continue;
		}
		fmt_time(stdout, r.end_ms, 0);
		printf("  %-*s  %*s  %6d  %*s  %-12.12s  ", (int)wdec, rows[i].decision, (int)wdur,
		       rows[i].dur, r.exit_status, (int)wout, rows[i].out, r.key[0] ? r.key : "-");
		if (r.job[0] != '\0') {
			fputs(r.job, stdout);
		} else {
			fmt_command(stdout, cargv,
			            rec_argv(&r, cargv, sizeof(cargv) / sizeof(cargv[0])), 0);
			if (r.truncated)
				fputs(" ...", stdout);
		}
		putchar('\n');
	}
	if (json)
		puts("]");
	ret = 0;
	if (fmt_flush_stdout() != 0)
		ret = 1;
out:
	free(rows);
	pk_runlog_free(&log);
	pk_store_close(&s);
	return ret;
}
