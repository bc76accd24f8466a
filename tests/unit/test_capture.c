/* test_capture.c: unit tests for lib/capture.c: a command's output reaches
 * both its destination and the recorder, byte for byte, and its fate comes
 * back as a shell-style status. */
#include "unit.h"

#include "capture.h"

#include <signal.h>
#include <sys/wait.h>

static int setup(void **state)
{
	*state = unit_tmpdir();
	return 0;
}

static int teardown(void **state)
{
	unit_rmtree(*state);
	return 0;
}

/* What the record callback saw. */
struct recording {
	unsigned char *bytes[3]; /* per stream, [1] stdout, [2] stderr */
	size_t len[3];
	unsigned char *all; /* both streams in arrival order */
	size_t all_len;
	size_t calls;
	int bad_stream;
	int stop_after; /* non-zero: return 1 at this call */
};

static void append(unsigned char **buf, size_t *len, const void *p, size_t n)
{
	unsigned char *nb = realloc(*buf, *len + n + 1);
	assert_non_null(nb);
	memcpy(nb + *len, p, n);
	*buf = nb;
	*len += n;
}

static int record(void *ctx, int stream, const void *buf, size_t len)
{
	struct recording *r = ctx;

	r->calls++;
	if (stream != 1 && stream != 2) {
		r->bad_stream = stream;
		return 1;
	}
	append(&r->bytes[stream], &r->len[stream], buf, len);
	append(&r->all, &r->all_len, buf, len);
	return r->stop_after != 0 && r->calls == (size_t)r->stop_after;
}

static void recording_free(struct recording *r)
{
	free(r->bytes[1]);
	free(r->bytes[2]);
	free(r->all);
}

static void assert_fd_holds(int fd, const void *want, size_t len)
{
	size_t n;
	unsigned char *got = unit_read_fd(fd, &n);
	assert_int_equal(n, len);
	if (len > 0)
		assert_memory_equal(got, want, len);
	free(got);
}

/* Runs /bin/sh -c script with stdout and stderr into temporary files. */
static void run_sh(const char *dir, char *script, int stdin_fd, struct recording *rec,
                   pk_capture_result *res, int *out, int *err_fd)
{
	char *argv[] = { "sh", "-c", script, NULL };
	pk_capture_opts o;
	pk_error err = { 0, "" };

	*out = unit_tmpfile(dir);
	*err_fd = unit_tmpfile(dir);
	memset(&o, 0, sizeof(o));
	o.path = "/bin/sh";
	o.argv = argv;
	o.stdin_fd = stdin_fd;
	o.out_fd = *out;
	o.err_fd = *err_fd;
	o.record = rec ? record : NULL;
	o.record_ctx = rec;
	if (pk_capture_run(&o, res, &err) != 0)
		fail_msg("pk_capture_run: %s", err.msg);
}

static void test_output_and_status(void **state)
{
	struct recording rec;
	pk_capture_result res;
	int out, errf;

	memset(&rec, 0, sizeof(rec));
	run_sh(*state, "printf out; printf err >&2; exit 3", -1, &rec, &res, &out, &errf);
	assert_int_equal(res.exec_errno, 0);
	assert_int_equal(res.forward_errno, 0);
	assert_int_equal(res.signal_received, 0);
	assert_true(WIFEXITED(res.wait_status));
	assert_int_equal(WEXITSTATUS(res.wait_status), 3);
	assert_int_equal(pk_capture_status(&res), 3);
	assert_true(res.duration_ms >= 0);
	assert_fd_holds(out, "out", 3);
	assert_fd_holds(errf, "err", 3);
	assert_int_equal(rec.bad_stream, 0);
	assert_int_equal(rec.len[1], 3);
	assert_memory_equal(rec.bytes[1], "out", 3);
	assert_int_equal(rec.len[2], 3);
	assert_memory_equal(rec.bytes[2], "err", 3);
	close(out);
	close(errf);
	recording_free(&rec);
}

/* Writes separated in time arrive as separate chunks, in order. */
static void test_order_and_nul_bytes(void **state)
{
	struct recording rec;
	pk_capture_result res;
	int out, errf;

	memset(&rec, 0, sizeof(rec));
	run_sh(*state,
	       "printf 'a\\000b'; sleep 0.2; printf 'c\\000' >&2; sleep 0.2; printf d; exit 0", -1,
	       &rec, &res, &out, &errf);
	assert_int_equal(pk_capture_status(&res), 0);
	assert_int_equal(rec.all_len, 6);
	assert_memory_equal(rec.all, "a\0bc\0d", 6);
	assert_int_equal(rec.len[1], 4);
	assert_memory_equal(rec.bytes[1], "a\0bd", 4);
	assert_fd_holds(out, "a\0bd", 4);
	assert_fd_holds(errf, "c\0", 2);
	close(out);
	close(errf);
	recording_free(&rec);
}

static void test_exec_missing(void **state)
{
	char *argv[] = { "nope", NULL };
	struct recording rec;
	pk_capture_opts o;
	pk_capture_result res;
	pk_error err = { 0, "" };
	int out = unit_tmpfile(*state);

	memset(&rec, 0, sizeof(rec));
	memset(&o, 0, sizeof(o));
	o.path = "/nonexistent/nope";
	o.argv = argv;
	o.stdin_fd = -1;
	o.out_fd = out;
	o.err_fd = out;
	o.record = record;
	o.record_ctx = &rec;
	assert_int_equal(pk_capture_run(&o, &res, &err), 0);
	assert_int_equal(res.exec_errno, ENOENT);
	assert_int_equal(pk_capture_status(&res), 127);
	assert_int_equal(rec.calls, 0);
	assert_fd_holds(out, "", 0);
	close(out);
}

static void test_exec_not_executable(void **state)
{
	char *file = unit_path(*state, "data");
	char *argv[] = { "data", NULL };
	pk_capture_opts o;
	pk_capture_result res;
	pk_error err = { 0, "" };

	unit_write_file(file, "x", 1, 0644);
	memset(&o, 0, sizeof(o));
	o.path = file;
	o.argv = argv;
	o.stdin_fd = -1;
	o.out_fd = -1;
	o.err_fd = -1;
	assert_int_equal(pk_capture_run(&o, &res, &err), 0);
	assert_int_equal(res.exec_errno, EACCES);
	assert_int_equal(pk_capture_status(&res), 126);
	free(file);
}

/* A file without a #! line runs through /bin/sh, as with execvp. */
static void test_script_without_shebang(void **state)
{
	char *file = unit_path(*state, "script");
	char *argv[] = { "script", "arg one", NULL };
	pk_capture_opts o;
	pk_capture_result res;
	pk_error err = { 0, "" };
	int out = unit_tmpfile(*state);

	unit_write_file(file, "echo \"[$1]\"; exit 4\n", 20, 0755);
	memset(&o, 0, sizeof(o));
	o.path = file;
	o.argv = argv;
	o.stdin_fd = -1;
	o.out_fd = out;
	o.err_fd = -1;
	assert_int_equal(pk_capture_run(&o, &res, &err), 0);
	assert_int_equal(res.exec_errno, 0);
	assert_int_equal(pk_capture_status(&res), 4);
	assert_fd_holds(out, "[arg one]\n", 10);
	close(out);
	free(file);
}

static void test_killed_by_signal(void **state)
{
	pk_capture_result res;
	int out, errf;

	run_sh(*state, "kill -TERM $$", -1, NULL, &res, &out, &errf);
	assert_true(WIFSIGNALED(res.wait_status));
	assert_int_equal(pk_capture_status(&res), 128 + SIGTERM);
	close(out);
	close(errf);
}

static void test_stdin(void **state)
{
	int in = unit_tmpfile(*state);
	pk_capture_result res;
	int out, errf;

	assert_int_equal(pwrite(in, "from stdin\n", 11, 0), 11);
	run_sh(*state, "cat", in, NULL, &res, &out, &errf);
	assert_int_equal(pk_capture_status(&res), 0);
	assert_fd_holds(out, "from stdin\n", 11);
	close(in);
	close(out);
	close(errf);
}

/* A recorder that says stop is not called again; forwarding goes on. */
static void test_record_stop(void **state)
{
	struct recording rec;
	pk_capture_result res;
	int out, errf;

	memset(&rec, 0, sizeof(rec));
	rec.stop_after = 1;
	run_sh(*state, "printf a; sleep 0.1; printf b; sleep 0.1; printf c", -1, &rec, &res, &out,
	       &errf);
	assert_int_equal(pk_capture_status(&res), 0);
	assert_int_equal(rec.calls, 1);
	assert_fd_holds(out, "abc", 3);
	close(out);
	close(errf);
	recording_free(&rec);
}

/* More than fits in a pipe, recorded and forwarded whole. */
static void test_large_output(void **state)
{
	struct recording rec;
	pk_capture_result res;
	int out, errf;
	size_t n;
	unsigned char *fwd;

	memset(&rec, 0, sizeof(rec));
	run_sh(*state, "head -c 3000000 /dev/urandom; head -c 100000 /dev/zero >&2", -1, &rec, &res,
	       &out, &errf);
	assert_int_equal(pk_capture_status(&res), 0);
	assert_int_equal(rec.len[1], 3000000);
	assert_int_equal(rec.len[2], 100000);
	fwd = unit_read_fd(out, &n);
	assert_int_equal(n, 3000000);
	assert_memory_equal(fwd, rec.bytes[1], n);
	free(fwd);
	close(out);
	close(errf);
	recording_free(&rec);
}

/* The reader of stdout went away (`| head`): the write error is reported
 * and the command meets the closed pipe as it would without pickled. */
static void test_reader_gone(void **state)
{
	char *argv[] = { "sh", "-c", "while :; do echo y; done", NULL };
	pk_capture_opts o;
	pk_capture_result res;
	pk_error err = { 0, "" };
	int p[2];
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	(void)state;

	assert_int_equal(pipe(p), 0);
	close(p[0]);
	memset(&o, 0, sizeof(o));
	o.path = "/bin/sh";
	o.argv = argv;
	o.stdin_fd = -1;
	o.out_fd = p[1];
	o.err_fd = -1;
	alarm(20);
	assert_int_equal(pk_capture_run(&o, &res, &err), 0);
	alarm(0);
	assert_int_equal(res.forward_errno, EPIPE);
	assert_int_equal(pk_capture_status(&res), 128 + SIGPIPE);
	close(p[1]);
	signal(SIGPIPE, old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_output_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_and_nul_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_not_executable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_script_without_shebang, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_by_signal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stdin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_output, setup, teardown),
		cmocka_unit_test(test_reader_gone),
	};
	return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
