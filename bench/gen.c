/* gen.c: the benchmark's workloads, generated deterministically to stdout.
 * Built and run by bench/run.sh; not part of pickled.
 *
 *   gen log SEED BYTES [RATE]   log-like text, optionally paced at RATE bytes/s
 *   gen log SEED BYTES BURST/PAUSE
 *                               the same text, in writes of BURST bytes at once
 *                               (the last one smaller) with PAUSE seconds of
 *                               sleep between them: a job that computes, then
 *                               writes a large block, then computes again
 *   gen bin SEED BYTES          random (incompressible) bytes
 *
 * The same SEED and BYTES always give the same bytes, on any machine. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static uint64_t rng_state;

/* splitmix64: small, fast and well spread; enough for workloads. */
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t below(uint32_t n)
{
	return (uint32_t)(((rng() >> 32) * n) >> 32);
}

static const char *const levels[] = { "INFO ", "INFO ", "INFO ", "INFO ", "DEBUG", "DEBUG", "WARN ", "ERROR" };
static const char *const services[] = { "api", "worker", "scheduler", "db-pool", "auth", "billing", "mailer", "cache" };
static const char *const methods[] = { "GET", "GET", "GET", "POST", "PUT", "DELETE" };
static const char *const paths[] = {
	"/api/v1/items", "/api/v1/items/search", "/api/v1/users", "/api/v1/orders",
	"/api/v2/reports/daily", "/healthz", "/static/app.js", "/api/v1/invoices",
	"/api/v1/sessions", "/metrics",
};
static const int statuses[] = { 200, 200, 200, 200, 200, 201, 204, 304, 400, 404, 500 };
static const char *const users[] = { "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "-" };
static const char *const messages[] = {
	"cache miss, fetching from upstream",
	"connection reset by peer, retrying",
	"slow query detected on table orders",
	"job finished",
	"rotating credentials",
	"queue depth above threshold",
	"request timed out after 30s",
	"scheduled export started",
};

/* One line of a web service's log, into p; returns its length. */
static size_t log_line(char *p, size_t cap, uint64_t *clock_ms)
{
	*clock_ms += below(400);
	time_t s = (time_t)(*clock_ms / 1000);
	struct tm tm;
	char ts[32];
	int n;

	gmtime_r(&s, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	if (below(5) != 0)
		n = snprintf(p, cap,
		             "%s.%03uZ %s [%s-%u] %s %s/%u status=%d bytes=%u dur_ms=%u.%u user=%s req=%08llx\n",
		             ts, (unsigned)(*clock_ms % 1000), levels[below(8)], services[below(8)],
		             below(16), methods[below(6)], paths[below(10)], below(100000),
		             statuses[below(11)], below(65536), below(2000), below(10), users[below(9)],
		             (unsigned long long)(rng() & 0xffffffffULL));
	else
		n = snprintf(p, cap, "%s.%03uZ %s [%s-%u] %s (attempt %u, id %08llx)\n", ts,
		             (unsigned)(*clock_ms % 1000), levels[below(8)], services[below(8)],
		             below(16), messages[below(8)], below(5) + 1,
		             (unsigned long long)(rng() & 0xffffffffULL));
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(1, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void sleep_s(double s)
{
	struct timespec d;

	d.tv_sec = (time_t)s;
	d.tv_nsec = (long)((s - (double)d.tv_sec) * 1e9);
	while (nanosleep(&d, &d) < 0 && errno == EINTR)
		;
}

/* Waits until written bytes are due at rate bytes/s since start. */
static void pace(double start, uint64_t written, double rate)
{
	double due = start + (double)written / rate, t = now_s();

	if (due > t)
		sleep_s(due - t);
}

/* Burst mode: text is gathered in bbuf until burst bytes are there, then
 * written at once; a pause comes before every burst but the first. */
static char *bbuf;
static size_t burst, bhave;
static double pause_s;
static int bursts_written;

static int burst_flush(void)
{
	if (bhave == 0)
		return 0;
	if (bursts_written++ > 0)
		sleep_s(pause_s);
	if (write_all(bbuf, bhave) < 0)
		return -1;
	bhave = 0;
	return 0;
}

/* Writes len bytes: at once, or gathered into bursts. */
static int emit(const char *p, size_t len)
{
	if (bbuf == NULL)
		return write_all(p, len);
	while (len > 0) {
		size_t k = burst - bhave < len ? burst - bhave : len;
		memcpy(bbuf + bhave, p, k);
		bhave += k;
		p += k;
		len -= k;
		if (bhave == burst && burst_flush() < 0)
			return -1;
	}
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: gen log SEED BYTES [RATE | BURST/PAUSE] | gen bin SEED BYTES\n");
	return 2;
}

int main(int argc, char **argv)
{
	static char buf[CHUNK + 512];
	uint64_t total, written = 0, clock_ms = 1764000000000ULL;   /* late 2025 */
	double rate = 0, start = now_s();
	int text;

	if (argc < 4 || argc > 5)
		return usage();
	if (strcmp(argv[1], "log") == 0)
		text = 1;
	else if (strcmp(argv[1], "bin") == 0 && argc == 4)
		text = 0;
	else
		return usage();
	rng_state = strtoull(argv[2], NULL, 10);
	total = strtoull(argv[3], NULL, 10);
	if (argc == 5 && strchr(argv[4], '/') != NULL) {
		char *end;
		burst = strtoull(argv[4], &end, 10);
		pause_s = strtod(end + 1, NULL);
		if (!text || burst == 0 || *end != '/' || pause_s < 0)
			return usage();
		if ((bbuf = malloc(burst)) == NULL) {
			fprintf(stderr, "gen: %s\n", strerror(errno));
			return 1;
		}
	} else if (argc == 5 && (rate = strtod(argv[4], NULL)) <= 0) {
		return usage();
	}
	while (written < total) {
		size_t len = 0;
		if (text) {
			while (len < CHUNK)
				len += log_line(buf + len, sizeof(buf) - len, &clock_ms);
		} else {
			for (; len < CHUNK; len += 8) {
				uint64_t v = rng();
				memcpy(buf + len, &v, 8);
			}
		}
		if (len > total - written)
			len = (size_t)(total - written);
		if (emit(buf, len) < 0) {
			fprintf(stderr, "gen: write: %s\n", strerror(errno));
			return 1;
		}
		written += len;
		if (rate > 0)
			pace(start, written, rate);
	}
	if (burst_flush() < 0) {
		fprintf(stderr, "gen: write: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
