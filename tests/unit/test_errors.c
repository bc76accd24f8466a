/* test_errors.c: errors reach the caller as they happened: a file that
 * ends early is "entry truncated", not the errno an earlier call left;
 * a failed lseek keeps its errno; a stdin that cannot be rewound, or whose
 * bytes read for the key are lost, stops the run before the command reads
 * a stdin cut short.  pread and lseek are
 * replaced here for the library objects linked into this test (they call
 * these by name), and behave as the system's until a test arms them. */
#include "unit.h"

#include "entry.h"
#include "run.h"
#include "spool.h"

#include <sys/syscall.h>

/* Armed (>= 0): every pread sees a file that ends at this offset. */
static off_t pread_end = -1;

/* Armed (ino != 0): lseek(SEEK_SET) on that file fails with ESPIPE from
 * the fail_from'th call on (counting from 1).  Armed lseek_unlinked: it
 * fails on every file with no name left (the spool of a piped stdin). */
static ino_t lseek_ino;
static int lseek_fail_from, lseek_calls, lseek_unlinked;

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	if (pread_end >= 0) {
		if (off >= pread_end)
			return 0;
		if ((off_t)n > pread_end - off)
			n = (size_t)(pread_end - off);
	}
	return (ssize_t)syscall(SYS_pread64, fd, buf, n, off);
}

off_t lseek(int fd, off_t off, int whence)
{
	struct stat st;

	if (whence == SEEK_SET && (lseek_ino != 0 || lseek_unlinked) && fstat(fd, &st) == 0 &&
	    ((lseek_unlinked && S_ISREG(st.st_mode) && st.st_nlink == 0) ||
	     (st.st_ino == lseek_ino && ++lseek_calls >= lseek_fail_from))) {
		errno = ESPIPE;
		return -1;
	}
	return (off_t)syscall(SYS_lseek, fd, off, whence);
}

static int setup(void **state)
{
	*state = unit_tmpdir();
	pread_end = -1;
	lseek_ino = 0;
	lseek_calls = 0;
	lseek_unlinked = 0;
	return 0;
}

static int teardown(void **state)
{
	pread_end = -1;
	lseek_ino = 0;
	unit_rmtree(*state);
	return 0;
}

/* A small entry (read in one go) in a new file; returns its fd. */
static int small_entry(const char *dir)
{
	pk_error err = { 0, "" };
	char *argv[] = { "job" };
	char *path = unit_path(dir, "entry");
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	pk_entry_writer *w;
	pk_meta m;

	assert_true(fd >= 0);
	w = pk_entry_writer_new(fd, 1, 0, &err);
	assert_non_null(w);
	assert_int_equal(pk_entry_writer_stdio(w, PK_STDOUT, "hello\n", 6, &err), 0);
	memset(&m, 0, sizeof(m));
	m.parts.argc = 1;
	m.parts.argv = argv;
	m.ttl_ms = 1000;
	assert_int_equal(pk_entry_writer_finish(w, &m, &err), 0);
	pk_entry_writer_free(w);
	free(path);
	return fd;
}

/* The file shrank to 10 bytes after its size was taken: both readers say
 * truncated, with no system error, whatever errno held before. */
static void test_short_read_is_truncated(void **state)
{
	int fd = small_entry(*state);
	pk_error err = { 0, "" };
	uint64_t stored;
	pk_meta m;

	pread_end = 10;
	errno = EACCES;
	assert_int_equal(pk_entry_read_meta(fd, &m, &stored, &err), -1);
	assert_int_equal(err.errnum, 0);
	assert_string_equal(err.msg, "entry truncated");
	pk_meta_free(&m);

	memset(&err, 0, sizeof(err));
	errno = EACCES;
	assert_null(pk_entry_open(fd, &err));
	assert_int_equal(err.errnum, 0);
	assert_string_equal(err.msg, "entry truncated");
	pread_end = -1;
	close(fd);
}

/* Opens path, written with "input\n", with lseek armed to fail on it from
 * its fail_from'th rewind on; the caller disarms it (lseek_ino = 0). */
static int open_unrewindable(const char *path, int fail_from)
{
	struct stat st;
	int fd;

	unit_write_file(path, "input\n", 6, 0600);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	lseek_ino = st.st_ino;
	lseek_fail_from = fail_from;
	return fd;
}

/* A stdin whose rewind fails: the reason is lseek's own. */
static void test_spool_rewind_errno(void **state)
{
	char *path = unit_path(*state, "in");
	pk_error err = { 0, "" };
	pk_spool sp;
	int fd;

	fd = open_unrewindable(path, 1);
	assert_int_equal(pk_spool_read(fd, *state, 1 << 20, &sp, &err), -1);
	assert_int_equal(err.errnum, ESPIPE);
	assert_string_equal(err.msg, "cannot rewind stdin");
	lseek_ino = 0;
	pk_spool_close(&sp);
	close(fd);
	free(path);
}

/* Runs cat through pk_run with in_fd as stdin (read whole for the key),
 * its output into the file out; returns the result. */
static void run_cat(const char *dir, int in_fd, const char *out, pk_run_result *r)
{
	char *cache = unit_path(dir, "cache");
	char *argv[] = { "cat", NULL };
	pk_run_opts o;
	int out_fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int saved0 = dup(0), saved1 = dup(1);

	assert_true(out_fd >= 0 && saved0 >= 0 && saved1 >= 0);
	memset(&o, 0, sizeof(o));
	o.argv = argv;
	o.stdin_mode = PK_STDIN_ALWAYS;
	o.stdin_limit = 1 << 20;
	o.ttl_ms = 60000;
	o.lock_timeout_ms = 60000;
	o.level = 1;
	o.cache_dir = cache;
	sigemptyset(&o.ignored);
	assert_true(dup2(in_fd, 0) == 0 && dup2(out_fd, 1) == 1);
	pk_run(&o, r);
	assert_true(dup2(saved0, 0) == 0 && dup2(saved1, 1) == 1);
	close(out_fd);
	close(saved0);
	close(saved1);
	free(cache);
}

/* The stdin read for the key cannot be rewound for the command: the run
 * fails as pickled's own failure (125), saying why, and the command does
 * not run on a stdin that may not start at its first byte. */
static void test_run_stdin_not_rewound(void **state)
{
	char *in = unit_path(*state, "in"), *out = unit_path(*state, "out");
	pk_run_result r;
	size_t len;
	int in_fd;

	/* The spool's own rewind (the first) works; the command's fails. */
	in_fd = open_unrewindable(in, 2);
	run_cat(*state, in_fd, out, &r);
	lseek_ino = 0;
	assert_int_equal(r.status, 125);
	assert_string_equal(r.error, "cannot rewind stdin: Illegal seek");
	free(unit_read_file(out, &len));
	assert_int_equal(len, 0);
	close(in_fd);
	free(in);
	free(out);
}

/* A piped stdin spooled for the key, whose spool then cannot be rewound:
 * the bytes read are gone from the pipe, so the command is not run on
 * what is left of it (nothing); pickled fails with 125 and says why. */
static void test_run_stdin_lost(void **state)
{
	char *out = unit_path(*state, "out");
	pk_run_result r;
	size_t len;
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "input\n", 6), 6);
	close(p[1]);
	lseek_unlinked = 1;
	run_cat(*state, p[0], out, &r);
	lseek_unlinked = 0;
	assert_int_equal(r.status, 125);
	assert_string_equal(r.error, "cannot rewind stdin: Illegal seek");
	free(unit_read_file(out, &len));
	assert_int_equal(len, 0);
	close(p[0]);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_short_read_is_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_rewind_errno, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_stdin_not_rewound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_stdin_lost, setup, teardown),
	};
	return cmocka_run_group_tests_name("errors", tests, NULL, NULL);
}
