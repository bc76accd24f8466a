/* trace-run.c: runs a command under lib/trace through lib/capture, as
 * pickled run --trace does, and writes what the tracer recorded, for the
 * tests in tests/trace/ and the bench.
 * Usage: trace-run [-o FILE] [-m MAX_BYTES] [-S] [-c] [-r] -- COMMAND [ARG...]
 *   -o FILE  the report goes there (default: stderr after the command's)
 *   -m N     the tracer's record bound in bytes
 *   -S       no fast path: every watched call stops the tree
 *   -c       also report the number of watched calls, of those that
 *            stopped the tree, and of processes
 *   -r       also report the peak resident memory of the tracer and of
 *            this process, in KiB
 * The command's stdout and stderr pass through; trace-run exits with its
 * status.  One line per recorded path, in first-touch order:
 *   PATH<TAB>FLAGS<TAB>exists|absent<TAB>ORDER
 * FLAGS: the PK_TRACE_* names, comma-separated; ORDER: read, write,
 * read<write, write<read or read=write (the first read-like and the first
 * write-like call).  Then "state: ...", "why: ...", "nnp: 0|1", one
 * "peer: ..." per network peer, and "status: N". */
#include "capture.h"
#include "trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static const char *const flag_names[] = {
	"read", "write", "create", "trunc", "stat", "lstat", "readlink", "list", "exec",
	"chdir", "unlink", "rename-from", "rename-to", "link-to", "mkdir", "lookup", "directory",
};

static void flags_str(uint32_t f, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (f & (1u << i)) {
			int n = snprintf(buf + len, size - len, "%s%s", len ? "," : "", flag_names[i]);
			if (n < 0 || (size_t)n >= size - len)
				return;
			len += (size_t)n;
		}
}

static const char *order(const pk_trace_record *r)
{
	if (r->first_write_seq == 0)
		return "read";
	if (r->first_read_seq == 0)
		return "write";
	if (r->first_read_seq < r->first_write_seq)
		return "read<write";
	if (r->first_read_seq > r->first_write_seq)
		return "write<read";
	return "read=write";
}

/* The program as execvp would find it. */
static char *find_program(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (strchr(name, '/') != NULL || path == NULL)
		return strdup(name);
	while (*path != '\0') {
		size_t n = strcspn(path, ":");
		int len = snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, n ? path : ".", name);
		if (len > 0 && (size_t)len < sizeof(buf) && access(buf, X_OK) == 0)
			return strdup(buf);
		path += n;
		if (*path == ':')
			path++;
	}
	return strdup(name);
}

int main(int argc, char **argv)
{
	const char *out_path = NULL;
	pk_trace_opts topts = { 0 };
	int calls = 0, rss = 0, opt;
	pk_capture_opts co = { 0 };
	pk_capture_result cr;
	pk_trace_result tr;
	pk_error err = { 0, "" };
	char flags[512];
	FILE *out;

	while ((opt = getopt(argc, argv, "+o:m:Scr")) != -1) {
		switch (opt) {
		case 'o': out_path = optarg; break;
		case 'm': topts.max_bytes = strtoul(optarg, NULL, 10); break;
		case 'S': topts.no_fast_path = 1; break;
		case 'c': calls = 1; break;
		case 'r': rss = 1; break;
		default: return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: trace-run [-o FILE] [-m N] [-S] [-c] [-r] -- COMMAND [ARG...]\n");
		return 2;
	}
	pk_trace *t = pk_trace_create(&topts, &err);
	if (t == NULL) {
		fprintf(stderr, "trace-run: %s\n", pk_error_str(&err, flags, sizeof(flags)));
		return 3;
	}
	co.path = find_program(argv[optind]);
	co.argv = argv + optind;
	co.stdin_fd = -1;
	co.out_fd = 1;
	co.err_fd = 2;
	co.trace = t;
	if (pk_capture_run(&co, &cr, &err) < 0 || pk_trace_finish(t, &tr, &err) < 0) {
		fprintf(stderr, "trace-run: %s\n", pk_error_str(&err, flags, sizeof(flags)));
		return 3;
	}
	out = out_path != NULL ? fopen(out_path, "w") : stderr;
	if (out == NULL) {
		perror(out_path);
		return 3;
	}
	for (size_t i = 0; i < tr.nrecords; i++) {
		const pk_trace_record *r = &tr.records[i];
		flags_str(r->flags, flags, sizeof(flags));
		fprintf(out, "%s\t%s\t%s\t%s\n", r->path, flags, r->first.exists ? "exists" : "absent",
		        order(r));
	}
	fprintf(out, "state: %s\n",
	        tr.state == PK_TRACE_COMPLETE     ? "complete"
	        : tr.state == PK_TRACE_INCOMPLETE ? "incomplete"
	                                          : "untraced");
	if (tr.state != PK_TRACE_COMPLETE)
		fprintf(out, "why: %s\n", tr.why);
	fprintf(out, "nnp: %d\n", tr.no_new_privs);
	for (size_t i = 0; i < tr.npeers; i++)
		fprintf(out, "peer: %s\n", tr.peers[i].addr);
	if (calls)
		fprintf(out, "calls: %llu\nstops: %llu\nprocesses: %llu\n",
		        (unsigned long long)tr.calls, (unsigned long long)tr.stops,
		        (unsigned long long)tr.processes);
	if (rss) {
		struct rusage ru;
		getrusage(RUSAGE_CHILDREN, &ru);
		fprintf(out, "tracer-maxrss-kib: %ld\n", ru.ru_maxrss);
		getrusage(RUSAGE_SELF, &ru);
		fprintf(out, "self-maxrss-kib: %ld\n", ru.ru_maxrss);
	}
	fprintf(out, "status: %d\n", pk_capture_status(&cr));
	if (out != stderr)
		fclose(out);
	pk_trace_result_free(&tr);
	pk_trace_free(t);
	free((char *)(uintptr_t)co.path);
	return pk_capture_status(&cr);
}
