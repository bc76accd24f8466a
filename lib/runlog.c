/* runlog.c: the run log's records, appends and trims (see runlog.h).
 *
 * A record is one line: '#', then tab-separated fields, the last one a
 * checksum of the line up to it:
 *   #1 END_MS DURATION_MS DECISION WHY STATUS OUT_BYTES SAVED_MS
 *      STORE_FAILURES REMOTE_ERRORS KEY JOB COMMAND TRUNCATED XXH3
 * Text fields use only safe characters: any other byte (space, tab,
 * newline, '#', '\\'...) is written \xHH, an empty text is "-", and the
 * command's words are separated by spaces.  '#' thus only ever starts a
 * record: when a write was torn (a full disk) and the next record was
 * appended to its remains, the reader still finds that record at the
 * line's last '#'. */
#include "runlog.h"

#include "io.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define LOG "runs.log"
#define NFIELDS 15

static const char *const decisions[PK_DECISION_N] = { "hit", "stale", "miss", "uncached" };

const char *pk_decision_name(int d)
{
	return d >= 0 && d < PK_DECISION_N ? decisions[d] : "?";
}

int pk_runlog_name_valid(const char *s)
{
	if (s[0] == '\0' || s[0] == '-' || strlen(s) > PK_RUNLOG_NAME_MAX)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("._-", *s) == NULL)
			return 0;
	return 1;
}

void pk_runlog_set_command(pk_runlog_rec *r, char *const *argv)
{
	size_t used = 0;

	r->argc = 0;
	r->truncated = 0;
	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++) {
		size_t n = strlen(argv[i]) + 1;
		if (used + n > sizeof(r->command)) {
			r->truncated = 1;
			break;
		}
		memcpy(r->command + used, argv[i], n);
		used += n;
		r->argc++;
	}
}

static int safe(unsigned char c)
{
	return isalnum(c) || strchr("._,:/=+%@-", c) != NULL;
}

/* Appends s's len bytes, escaped, at *at (bounded by end). */
static void put_text(char **at, const char *end, const char *s, size_t len)
{
	for (size_t i = 0; i < len && *at + 4 < end; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c != '\0' && safe(c)) {
			*(*at)++ = (char)c;
		} else {
			snprintf(*at, 5, "\\x%02x", c);
			*at += 4;
		}
	}
}

static void put_field(char **at, const char *end, const char *s)
{
	if (*at + 2 >= end)
		return;
	*(*at)++ = '\t';
	if (s[0] == '\0')
		*(*at)++ = '-';
	else
		put_text(at, end, s, strlen(s));
}

static void put_num(char **at, const char *end, long long v)
{
	int n = snprintf(*at, (size_t)(end - *at), "\t%lld", v);
	if (n > 0 && n < end - *at)
		*at += n;
}

size_t pk_runlog_encode(const pk_runlog_rec *r, char *buf)
{
	/* Room is kept for the tail: the truncated flag and the checksum. */
	const char *end = buf + PK_RUNLOG_RECORD_MAX - 32;
	char *at = buf;
	const char *w = r->command;
	int truncated = r->truncated;

	*at++ = '#';
	*at++ = '1';
	put_num(&at, end, r->end_ms);
	put_num(&at, end, r->duration_ms);
	put_field(&at, end, pk_decision_name(r->decision));
	put_field(&at, end, r->why);
	put_num(&at, end, r->exit_status);
	put_num(&at, end, (long long)r->out_bytes);
	put_num(&at, end, r->saved_ms);
	put_num(&at, end, r->store_failures);
	put_num(&at, end, r->remote_errors);
	put_field(&at, end, r->key);
	put_field(&at, end, r->job);
	*at++ = '\t';
	for (size_t i = 0; i < r->argc; i++) {
		size_t n = strlen(w);
		/* A word that does not fit whole is left out with the rest. */
		if (at + 1 + 4 * n + 2 >= end) {
			truncated = 1;
			break;
		}
		if (i > 0)
			*at++ = ' ';
		if (n == 0) {
			memcpy(at, "\\x00", 4); /* the empty word */
			at += 4;
		}
		put_text(&at, end, w, n);
		w += n + 1;
	}
	at += snprintf(at, 4, "\t%d", truncated != 0);
	unsigned long long sum = XXH3_64bits(buf, (size_t)(at - buf));
	at += snprintf(at, 20, "\t%016llx", sum);
	*at++ = '\n';
	return (size_t)(at - buf);
}

/* Decodes an escaped text of len bytes into out (size cap); "-" is the
 * empty text when dash is set.  Returns the decoded length, or -1 when
 * malformed or too long. */
static long get_text(const char *s, size_t len, char *out, size_t cap, int dash)
{
	size_t n = 0;

	if (dash && len == 1 && s[0] == '-') {
		if (cap < 1)
			return -1;
		out[0] = '\0';
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\\') {
			unsigned v;
			if (i + 3 >= len || s[i + 1] != 'x' || !isxdigit((unsigned char)s[i + 2]) ||
			    !isxdigit((unsigned char)s[i + 3]) || sscanf(s + i + 2, "%2x", &v) != 1)
				return -1;
			c = (char)v;
			i += 3;
		} else if (!safe((unsigned char)c)) {
			return -1;
		}
		if (n + 1 >= cap)
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return (long)n;
}

static int get_num(const char *s, size_t len, long long min, long long *v)
{
	char tmp[24], *end;

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	errno = 0;
	*v = strtoll(tmp, &end, 10);
	return errno != 0 || *end != '\0' || *v < min ? -1 : 0;
}

static int get_command(const char *s, size_t len, pk_runlog_rec *r)
{
	size_t used = 0;

	r->argc = 0;
	if (len == 0)
		return 0;
	for (size_t start = 0; start <= len;) {
		const char *sp = memchr(s + start, ' ', len - start);
		size_t wl = sp ? (size_t)(sp - (s + start)) : len - start;
		long n;
		if (wl == 4 && memcmp(s + start, "\\x00", 4) == 0)
			n = 0, r->command[used] = '\0';
		else if ((n = get_text(s + start, wl, r->command + used, sizeof(r->command) - used,
		                       0)) <= 0)
			return -1;
		used += (size_t)n + 1;
		r->argc++;
		start += wl + 1;
	}
	return 0;
}

int pk_runlog_decode(const char *line, size_t len, pk_runlog_rec *r)
{
	const char *f[NFIELDS];
	size_t fl[NFIELDS], nf = 0, start = 0;
	long long v[9];
	char dec[16], sum[20];

	memset(r, 0, sizeof(*r));
	if (len < 2 || line[0] != '#' || line[1] != '1')
		return -1;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != '\t')
			continue;
		if (nf == NFIELDS)
			return -1;
		f[nf] = line + start;
		fl[nf++] = i - start;
		start = i + 1;
	}
	if (nf != NFIELDS || fl[0] != 2 || fl[14] != 16)
		return -1;
	snprintf(sum, sizeof(sum), "%016llx",
	         (unsigned long long)XXH3_64bits(line, (size_t)(f[14] - 1 - line)));
	if (memcmp(sum, f[14], 16) != 0)
		return -1;
	static const int numeric[] = { 1, 2, 5, 6, 7, 8, 9 };
	for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++)
		if (get_num(f[numeric[i]], fl[numeric[i]], numeric[i] == 5 ? -1 : 0, &v[i]) < 0)
			return -1;
	r->end_ms = v[0];
	r->duration_ms = v[1];
	r->exit_status = (int)v[2];
	r->out_bytes = (uint64_t)v[3];
	r->saved_ms = v[4];
	r->store_failures = (unsigned)v[5];
	r->remote_errors = (unsigned)v[6];
	if (get_text(f[3], fl[3], dec, sizeof(dec), 1) < 0)
		return -1;
	for (r->decision = 0; r->decision < PK_DECISION_N; r->decision++)
		if (strcmp(dec, decisions[r->decision]) == 0)
			break;
	if (r->decision == PK_DECISION_N || get_text(f[4], fl[4], r->why, sizeof(r->why), 1) < 0 ||
	    get_text(f[10], fl[10], r->key, sizeof(r->key), 1) < 0 ||
	    get_text(f[11], fl[11], r->job, sizeof(r->job), 1) < 0 ||
	    get_command(f[12], fl[12], r) < 0 || fl[13] != 1 ||
	    (f[13][0] != '0' && f[13][0] != '1'))
		return -1;
	r->truncated = f[13][0] == '1';
	return 0;
}

/* Opens the log for appending, under a shared lock, making sure it is the
 * file in place and not one a trim has just replaced.  Returns the fd, or
 * -1 with err set. */
static int open_append(const pk_store *s, pk_error *err)
{
	for (int tries = 0; tries < 16; tries++) {
		struct stat a, b;
		int fd = pk_store_openat(s, LOG, O_WRONLY | O_APPEND | O_CREAT, 0600);
		if (fd < 0)
			return pk_error_set(err, errno, "%s/%s", s->dir, LOG);
		if (flock(fd, LOCK_SH) < 0 || fstat(fd, &a) < 0) {
			int e = errno;
			close(fd);
			return pk_error_set(err, e, "%s/%s", s->dir, LOG);
		}
		if (!S_ISREG(a.st_mode)) {
			close(fd);
			return pk_error_set(err, 0, "%s/%s: not a regular file", s->dir, LOG);
		}
		if (fstatat(s->dirfd, LOG, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_ino == b.st_ino &&
		    a.st_dev == b.st_dev)
			return fd;
		close(fd); /* trimmed meanwhile: the new file is the log */
	}
	return pk_error_set(err, EAGAIN, "%s/%s: replaced again and again", s->dir, LOG);
}

int pk_runlog_append(const pk_store *s, const pk_runlog_rec *r, pk_error *err)
{
	char line[PK_RUNLOG_RECORD_MAX];
	size_t len = pk_runlog_encode(r, line);
	struct stat st;
	int fd = open_append(s, err);
	ssize_t n;

	if (fd < 0)
		return -1;
	/* One write: O_APPEND places it whole after every other record. */
	n = write(fd, line, len);
	if (n != (ssize_t)len) {
		int e = n < 0 ? errno : ENOSPC;
		close(fd);
		return pk_error_set(err, e, "%s/%s", s->dir, LOG);
	}
	int over = fstat(fd, &st) == 0 && st.st_size > (off_t)PK_RUNLOG_MAX;
	close(fd);
	return over ? pk_runlog_trim(s, err) : 0;
}

/* Reads the last max bytes of fd (its size size) into a buffer from pk_io_alloc,
 * starting after a line break unless it is the whole file. */
static char *read_tail(int fd, off_t size, size_t max, size_t *len)
{
	off_t from = size > (off_t)max ? size - (off_t)max : 0;
	size_t want = (size_t)(size - from);
	char *buf = pk_io_alloc(want + 1); /* page-aligned, see io.h */
	ssize_t n;

	if (buf == NULL)
		return NULL;
	if ((n = pk_pread_full(fd, buf, want, from)) < 0) {
		pk_io_free(buf);
		return NULL;
	}
	*len = (size_t)n;
	if (from > 0) {
		char *nl = memchr(buf, '\n', *len);
		size_t skip = nl ? (size_t)(nl + 1 - buf) : *len;
		memmove(buf, buf + skip, *len - skip);
		*len -= skip;
	}
	buf[*len] = '\0';
	return buf;
}

/* Finds the sound records of buf: their offsets go to log->lines. */
static int index_lines(pk_runlog *log)
{
	size_t cap = 0;
	pk_runlog_rec r;

	for (size_t at = 0; at < log->len;) {
		char *nl = memchr(log->buf + at, '\n', log->len - at);
		size_t end = nl ? (size_t)(nl - log->buf) : log->len;
		/* The line's last '#' starts its last record (see above). */
		char *hash = memrchr(log->buf + at, '#', end - at);
		if (hash != NULL && nl != NULL &&
		    pk_runlog_decode(hash, (size_t)(log->buf + end - hash), &r) == 0) {
			if (log->n == cap) {
				size_t *p = realloc(log->lines,
				                    (cap = cap ? 2 * cap : 256) * sizeof(*p));
				if (p == NULL)
					return -1;
				log->lines = p;
			}
			log->lines[log->n++] = (size_t)(hash - log->buf);
			if (hash != log->buf + at)
				log->skipped++;
		} else if (end > at) {
			log->skipped++;
		}
		at = end + 1;
	}
	return 0;
}

int pk_runlog_load(const pk_store *s, pk_runlog *log, pk_error *err)
{
	struct stat st;
	int fd;

	memset(log, 0, sizeof(*log));
	fd = pk_store_openat(s, LOG, O_RDONLY, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : pk_error_set(err, errno, "%s/%s", s->dir, LOG);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = S_ISREG(st.st_mode) ? errno : 0;
		close(fd);
		return pk_error_set(err, e, "%s/%s%s", s->dir, LOG,
		                    e ? "" : ": not a regular file");
	}
	/* Never more than twice the bound, whatever the file has become. */
	log->buf = read_tail(fd, st.st_size, 2 * (size_t)PK_RUNLOG_MAX, &log->len);
	if (log->buf == NULL) {
		int e = errno;
		close(fd);
		return pk_error_set(err, e, "%s/%s", s->dir, LOG);
	}
	close(fd);
	if (index_lines(log) < 0)
		return pk_error_set(err, ENOMEM, "%s/%s", s->dir, LOG);
	return 0;
}

void pk_runlog_get(const pk_runlog *log, size_t i, pk_runlog_rec *r)
{
	const char *line = log->buf + log->lines[i];
	const char *nl = memchr(line, '\n', log->len - log->lines[i]);

	pk_runlog_decode(line, nl ? (size_t)(nl - line) : strlen(line), r);
}

void pk_runlog_free(pk_runlog *log)
{
	if (log == NULL)
		return;
	pk_io_free(log->buf);
	free(log->lines);
	memset(log, 0, sizeof(*log));
}

int pk_runlog_trim(const pk_store *s, pk_error *err)
{
	pk_runlog log = { 0 };
	struct stat a, b;
	char tmp[256];
	int fd, out = -1, ret = -1;

	fd = pk_store_openat(s, LOG, O_RDONLY, 0);
	if (fd < 0)
		return errno == ENOENT ? 0 : pk_error_set(err, errno, "%s/%s", s->dir, LOG);
	/* Exclusive: no record is being written into the file we replace. */
	if (flock(fd, LOCK_EX) < 0 || fstat(fd, &a) < 0) {
		pk_error_set(err, errno, "%s/%s", s->dir, LOG);
		goto out;
	}
	ret = 0;
	if (!S_ISREG(a.st_mode) || a.st_size <= (off_t)PK_RUNLOG_KEEP ||
	    fstatat(s->dirfd, LOG, &b, AT_SYMLINK_NOFOLLOW) < 0 || a.st_ino != b.st_ino)
		goto out; /* small enough, or trimmed by someone else meanwhile */
	ret = -1;
	if ((log.buf = read_tail(fd, a.st_size, PK_RUNLOG_KEEP, &log.len)) == NULL ||
	    index_lines(&log) < 0) {
		pk_error_set(err, errno ? errno : ENOMEM, "%s/%s", s->dir, LOG);
		goto out;
	}
	if ((out = pk_store_tmp_create(s, tmp, sizeof(tmp), err)) < 0)
		goto out;
	for (size_t i = 0; i < log.n; i++) {
		const char *line = log.buf + log.lines[i];
		const char *nl = memchr(line, '\n', log.len - log.lines[i]);
		if (pk_write_all(out, line, (size_t)(nl + 1 - line)) < 0) {
			pk_error_set(err, errno, "%s/%s", s->dir, tmp);
			unlinkat(s->dirfd, tmp, 0);
			goto out;
		}
	}
	if (renameat(s->dirfd, tmp, s->dirfd, LOG) < 0) {
		pk_error_set(err, errno, "%s/%s", s->dir, LOG);
		unlinkat(s->dirfd, tmp, 0);
		goto out;
	}
	ret = 0;
out:
	if (out >= 0)
		close(out);
	pk_runlog_free(&log);
	close(fd); /* releases the lock: waiting appenders find the new file */
	return ret;
}
