/* metrics.c: counters kept across runs, and their Prometheus text form
 * (see metrics.h for the invariants).
 *
 * DIR/metrics.state is text, one line per counter group:
 *   pickled-metrics 1
 *   runs HIT STALE MISS UNCACHED SAVED_MS STORE_FAILURES REMOTE_ERRORS
 *   job NAME HIT STALE MISS UNCACHED SAVED_MS LAST_END_MS LAST_DURATION_MS
 *       LAST_STATUS LAST_SUCCESS_MS
 *   cache BYTES ENTRIES SCANNED_MS
 * The cache's size is taken by a walk of v1/ (an fstatat per entry: a
 * fifth of a second of CPU for 100,000 entries), so a run writing the textfile
 * walks it only when it stored an entry (a miss) or the last walk is a
 * minute old; hits, the common case, reuse the figures.
 * A line that does not parse is left out.  The file is rewritten in place
 * under its own flock (exclusive to count a run, shared to read): no
 * temporary and rename per run. */
#include "metrics.h"

#include "buf.h"
#include "io.h"
#include "key.h"
#include "lock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE "metrics.state"
#define STATE_MAX (64u << 10)
#define LOCK_WAIT_MS 10000
#define SCAN_EVERY_MS 60000

static void parse_line(pk_metrics *m, char *line)
{
	unsigned long long r[PK_DECISION_N], sf, re;
	long long saved, end, dur, ok;
	int status, n = 0;
	char name[PK_RUNLOG_NAME_MAX + 2];
	unsigned long long bytes, entries;
	long long scanned;

	if (sscanf(line, "cache %llu %llu %lld%n", &bytes, &entries, &scanned, &n) == 3 &&
	    line[n] == '\0') {
		m->cache_bytes = bytes;
		m->cache_entries = entries;
		m->scanned_ms = scanned;
	} else if (sscanf(line, "runs %llu %llu %llu %llu %lld %llu %llu%n", &r[0], &r[1], &r[2],
	                  &r[3], &saved, &sf, &re, &n) == 7 &&
	           line[n] == '\0') {
		for (int i = 0; i < PK_DECISION_N; i++)
			m->runs[i] = r[i];
		m->saved_ms = saved;
		m->store_failures = sf;
		m->remote_errors = re;
	} else if (sscanf(line, "job %65s %llu %llu %llu %llu %lld %lld %lld %d %lld%n", name,
	                  &r[0], &r[1], &r[2], &r[3], &saved, &end, &dur, &status, &ok, &n) == 10 &&
	           line[n] == '\0' && pk_runlog_name_valid(name) &&
	           m->njobs < PK_METRICS_MAX_JOBS) {
		pk_metrics_job *j = &m->jobs[m->njobs++];
		memcpy(j->name, name, strlen(name) + 1); /* valid: at most 64 bytes */
		for (int i = 0; i < PK_DECISION_N; i++)
			j->runs[i] = r[i];
		j->saved_ms = saved;
		j->last_end_ms = end;
		j->last_duration_ms = dur;
		j->last_status = status;
		j->last_success_ms = ok;
	}
}

/* Reads the counters from fd (at offset 0) into m.  Returns 0, or -1
 * with errno set. */
static int load_fd(int fd, pk_metrics *m)
{
	/* Page-aligned, as every large read of pickled's (see io.h). */
	char *buf = pk_io_alloc(STATE_MAX + 1), *line, *save = NULL;
	ssize_t n;

	memset(m, 0, sizeof(*m));
	if (buf == NULL || (n = pk_pread_full(fd, buf, STATE_MAX, 0)) < 0) {
		int e = buf ? errno : ENOMEM;
		pk_io_free(buf);
		errno = e;
		return -1;
	}
	buf[n] = '\0';
	if (strncmp(buf, "pickled-metrics 1\n", 18) == 0)
		for (line = strtok_r(buf + 18, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			parse_line(m, line);
	pk_io_free(buf);
	return 0;
}

int pk_metrics_load(const pk_store *s, pk_metrics *m, pk_error *err)
{
	int fd, ret = 0;

	memset(m, 0, sizeof(*m));
	fd = pk_store_openat(s, STATE, O_RDONLY, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : pk_error_set(err, errno, "%s/%s", s->dir, STATE);
	/* Shared: a run rewriting the file in place holds it exclusively. */
	if (flock(fd, LOCK_SH) < 0 || load_fd(fd, m) < 0)
		ret = pk_error_set(err, errno, "%s/%s", s->dir, STATE);
	close(fd);
	return ret;
}

/* The job called name in m, added when new (dropping the one whose last
 * run is the oldest when m is full). */
static pk_metrics_job *find_job(pk_metrics *m, const char *name)
{
	size_t oldest = 0;

	for (size_t i = 0; i < m->njobs; i++) {
		if (strcmp(m->jobs[i].name, name) == 0)
			return &m->jobs[i];
		if (m->jobs[i].last_end_ms < m->jobs[oldest].last_end_ms)
			oldest = i;
	}
	if (m->njobs == PK_METRICS_MAX_JOBS)
		m->jobs[oldest] = m->jobs[--m->njobs];
	pk_metrics_job *j = &m->jobs[m->njobs++];
	memset(j, 0, sizeof(*j));
	snprintf(j->name, sizeof(j->name), "%s", name);
	return j;
}

void pk_metrics_add(pk_metrics *m, const pk_runlog_rec *r)
{
	if (r->decision < 0 || r->decision >= PK_DECISION_N)
		return;
	m->runs[r->decision]++;
	m->saved_ms += r->saved_ms;
	m->store_failures += r->store_failures;
	m->remote_errors += r->remote_errors;
	if (r->job[0] == '\0' || !pk_runlog_name_valid(r->job))
		return;
	pk_metrics_job *j = find_job(m, r->job);
	j->runs[r->decision]++;
	j->saved_ms += r->saved_ms;
	j->last_end_ms = r->end_ms;
	j->last_duration_ms = r->duration_ms;
	j->last_status = r->exit_status;
	if (r->exit_status == 0)
		j->last_success_ms = r->end_ms;
}

static int is_key_name(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n == PK_KEY_HEX && s[n] == '\0';
}

void pk_metrics_scan(const pk_store *s, pk_metrics *m)
{
	int v1 = openat(s->dirfd, "v1", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *top = v1 >= 0 ? fdopendir(v1) : NULL;
	struct dirent *de;

	m->cache_bytes = m->cache_entries = 0;
	m->scanned_ms = pk_now_ms();
	if (top == NULL) {
		if (v1 >= 0)
			close(v1);
		return;
	}
	while ((de = readdir(top)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		int fd = openat(v1, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *e;
		if (d == NULL) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((e = readdir(d)) != NULL) {
			struct stat st;
			if (is_key_name(e->d_name) &&
			    fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(st.st_mode)) {
				m->cache_entries++;
				m->cache_bytes += (uint64_t)st.st_size;
			}
		}
		closedir(d);
	}
	closedir(top);
}

static const char *const results[PK_DECISION_N] = { "hit", "stale", "miss", "uncached" };

static void family(pk_buf *b, const char *name, const char *type, const char *help)
{
	pk_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void seconds(pk_buf *b, int64_t ms)
{
	pk_buf_printf(b, "%" PRId64 ".%03d\n", ms / 1000, (int)(ms % 1000));
}

/* The per-job series besides the runs: one value of pk_metrics_job each. */
static const struct job_series {
	const char *name, *type, *help;
	size_t off;
	int is_ms; /* an int64_t of ms, shown in seconds; else an int */
} job_series[] = {
	{ "pickled_job_saved_seconds_total", "counter", "Command time saved by a named job's hits.",
	  offsetof(pk_metrics_job, saved_ms), 1 },
	{ "pickled_job_last_run_timestamp_seconds", "gauge",
	  "When a named job's last run ended, in seconds since the epoch.",
	  offsetof(pk_metrics_job, last_end_ms), 1 },
	{ "pickled_job_last_run_duration_seconds", "gauge",
	  "How long a named job's last run took (a hit: the replay).",
	  offsetof(pk_metrics_job, last_duration_ms), 1 },
	{ "pickled_job_last_exit_status", "gauge",
	  "The exit status of a named job's last run (128+N: killed by signal N).",
	  offsetof(pk_metrics_job, last_status), 0 },
	{ "pickled_job_last_success_timestamp_seconds", "gauge",
	  "When a run of a named job last exited 0, in seconds since the epoch (0: never).",
	  offsetof(pk_metrics_job, last_success_ms), 1 },
};

char *pk_metrics_render(const pk_metrics *m)
{
	pk_buf b = { 0 };

	family(&b, "pickled_runs_total", "counter",
	       "Runs of pickled, by result: hit, stale (a stale hit), miss (the command ran for "
	       "the cache) or uncached (it ran without the cache).");
	for (int i = 0; i < PK_DECISION_N; i++)
		pk_buf_printf(&b, "pickled_runs_total{result=\"%s\"} %" PRIu64 "\n", results[i],
		              m->runs[i]);
	family(&b, "pickled_saved_seconds_total", "counter",
	       "Command time saved by hits: the stored run's duration, per hit.");
	pk_buf_printf(&b, "pickled_saved_seconds_total ");
	seconds(&b, m->saved_ms);
	family(&b, "pickled_store_failures_total", "counter", "Results that could not be stored.");
	pk_buf_printf(&b, "pickled_store_failures_total %" PRIu64 "\n", m->store_failures);
	family(&b, "pickled_remote_errors_total", "counter",
	       "Failures and timeouts of the shared (Redis) cache.");
	pk_buf_printf(&b, "pickled_remote_errors_total %" PRIu64 "\n", m->remote_errors);
	family(&b, "pickled_cache_size_bytes", "gauge", "Bytes the cache's entries take.");
	pk_buf_printf(&b, "pickled_cache_size_bytes %" PRIu64 "\n", m->cache_bytes);
	family(&b, "pickled_cache_entries", "gauge", "Entries in the cache.");
	pk_buf_printf(&b, "pickled_cache_entries %" PRIu64 "\n", m->cache_entries);
	family(&b, "pickled_cache_max_size_bytes", "gauge",
	       "The cache's size limit (max_size); gc keeps it under.");
	pk_buf_printf(&b, "pickled_cache_max_size_bytes %" PRIu64 "\n", m->max_size);
	if (m->njobs > 0) {
		family(&b, "pickled_job_runs_total", "counter",
		       "Runs of a named job (-j or --name), by result.");
		for (size_t k = 0; k < m->njobs; k++)
			for (int i = 0; i < PK_DECISION_N; i++)
				pk_buf_printf(
					&b,
					"pickled_job_runs_total{job=\"%s\",result=\"%s\"} %" PRIu64
					"\n",
					m->jobs[k].name, results[i], m->jobs[k].runs[i]);
		for (size_t f = 0; f < sizeof(job_series) / sizeof(job_series[0]); f++) {
			const struct job_series *js = &job_series[f];
			family(&b, js->name, js->type, js->help);
			for (size_t k = 0; k < m->njobs; k++) {
				const char *base = (const char *)&m->jobs[k];
				pk_buf_printf(&b, "%s{job=\"%s\"} ", js->name, m->jobs[k].name);
				if (js->is_ms) {
					int64_t ms;
					memcpy(&ms, base + js->off, sizeof(ms));
					seconds(&b, ms);
				} else {
					int v;
					memcpy(&v, base + js->off, sizeof(v));
					pk_buf_printf(&b, "%d\n", v);
				}
			}
		}
	}
	if (b.failed || pk_buf_reserve(&b, 1) < 0) {
		free(b.p);
		return NULL;
	}
	b.p[b.len] = '\0';
	return (char *)b.p;
}

/* Writes m's counters over the file fd (locked by the caller). */
static int save_fd(int fd, const pk_metrics *m)
{
	pk_buf b = { 0 };
	int ret = -1;

	pk_buf_printf(&b,
	              "pickled-metrics 1\nruns %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
	              " %" PRId64 " %" PRIu64 " %" PRIu64 "\n",
	              m->runs[0], m->runs[1], m->runs[2], m->runs[3], m->saved_ms,
	              m->store_failures, m->remote_errors);
	for (size_t k = 0; k < m->njobs; k++) {
		const pk_metrics_job *j = &m->jobs[k];
		pk_buf_printf(&b,
		              "job %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRId64
		              " %" PRId64 " %" PRId64 " %d %" PRId64 "\n",
		              j->name, j->runs[0], j->runs[1], j->runs[2], j->runs[3], j->saved_ms,
		              j->last_end_ms, j->last_duration_ms, j->last_status,
		              j->last_success_ms);
	}
	if (m->scanned_ms > 0)
		pk_buf_printf(&b, "cache %" PRIu64 " %" PRIu64 " %" PRId64 "\n", m->cache_bytes,
		              m->cache_entries, m->scanned_ms);
	if (b.failed)
		errno = ENOMEM;
	else if (pwrite(fd, b.p, b.len, 0) == (ssize_t)b.len && ftruncate(fd, (off_t)b.len) == 0)
		ret = 0;
	else if (errno == 0)
		errno = ENOSPC;
	free(b.p);
	return ret;
}

int pk_metrics_write_textfile(const char *path, const char *text, pk_error *err)
{
	size_t n = strlen(path) + 8;
	char *tmp = malloc(n);
	int fd = -1, ret = -1;

	if (tmp == NULL)
		return pk_error_set(err, ENOMEM, "%s", path);
	/* PATH.XXXXXX: the collector reads only names ending in .prom. */
	snprintf(tmp, n, "%s.XXXXXX", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		pk_error_set(err, errno, "%s", path);
		goto out;
	}
	/* node_exporter runs as its own user: it must be able to read it. */
	if (fchmod(fd, 0644) < 0 || pk_write_all(fd, text, strlen(text)) < 0 ||
	    rename(tmp, path) < 0) {
		pk_error_set(err, errno, "%s", path);
		unlink(tmp);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	return ret;
}

int pk_metrics_record(const pk_store *s, const pk_runlog_rec *r, uint64_t max_size,
                      const char *textfile, pk_error *err)
{
	pk_metrics *m = malloc(sizeof(*m));
	char path[4200], *text = NULL;
	int fd = -1, ret = -1;

	if (m == NULL)
		return pk_error_set(err, ENOMEM, "metrics");
	if (pk_store_path(s, path, sizeof(path), "%s", STATE) < 0) {
		pk_error_set(err, ENAMETOOLONG, "%s/%s", s->dir, STATE);
		goto out;
	}
	/* The state is its own lock: read, count the run, write it back in
	 * place, then the textfile, all before anyone else may. */
	if ((fd = pk_lock_acquire(path, LOCK_WAIT_MS, err)) < 0)
		goto out;
	if (load_fd(fd, m) < 0) {
		pk_error_set(err, errno, "%s", path);
		goto out;
	}
	pk_metrics_add(m, r);
	int64_t now = pk_now_ms();
	if (textfile != NULL && (r->decision == PK_DECISION_MISS || m->scanned_ms > now ||
	                         now - m->scanned_ms >= SCAN_EVERY_MS))
		pk_metrics_scan(s, m);
	if (save_fd(fd, m) < 0) {
		pk_error_set(err, errno, "%s", path);
		goto out;
	}
	if (textfile != NULL) {
		m->max_size = max_size;
		if ((text = pk_metrics_render(m)) == NULL) {
			pk_error_set(err, ENOMEM, "%s", textfile);
			goto out;
		}
		if (pk_metrics_write_textfile(textfile, text, err) < 0)
			goto out;
	}
	ret = 0;
out:
	pk_lock_release(fd);
	free(text);
	free(m);
	return ret;
}
