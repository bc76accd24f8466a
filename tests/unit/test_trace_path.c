/* test_trace_path.c: unit tests for lib/trace_path.c (what the tracer and
 * its fast path both decide about a call) and the round trip of the
 * tracer's records through the memory file (lib/trace_table.c). */
#include "unit.h"

#include "trace.h"
#include "trace_path.h"
#include "trace_table.h"

#include <sys/mman.h>

static void test_join(void **state)
{
	static const struct {
		const char *base, *path, *want;
	} cases[] = {
		{ "", "/a/b", "/a/b" },
		{ "/w", "in", "/w/in" },
		{ "/w", "./d/../in", "/w/d/../in" },
		{ "/w/", "d//f/", "/w/d/f" },
		{ "", "/", "/" },
		{ "/", ".", "/" },
		{ "/w", "", "/w" },
	};
	char out[64];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ssize_t n = pk_trace_join(cases[i].base, cases[i].path, out, sizeof(out));
		if (n < 0 || strcmp(out, cases[i].want) != 0 || (size_t)n != strlen(cases[i].want))
			fail_msg("case %zu: got %s, want %s", i, n < 0 ? "(none)" : out,
			         cases[i].want);
	}
	assert_int_equal(pk_trace_join("/abc", "def", out, 8), -1);
	assert_int_equal(pk_trace_join("/abc", "de", out, 8), 7);
}

static void test_open_flags(void **state)
{
	int nf;
	(void)state;
	assert_int_equal(pk_trace_open_flags(O_RDONLY, &nf), PK_TRACE_READ);
	assert_int_equal(nf, 0);
	assert_int_equal(pk_trace_open_flags(O_WRONLY | O_CREAT | O_TRUNC, &nf),
	                 PK_TRACE_WRITE | PK_TRACE_CREATE | PK_TRACE_TRUNC);
	assert_int_equal(pk_trace_open_flags(O_RDWR, &nf), PK_TRACE_READ | PK_TRACE_WRITE);
	assert_int_equal(pk_trace_open_flags(O_RDONLY | O_TRUNC, &nf),
	                 PK_TRACE_READ | PK_TRACE_WRITE | PK_TRACE_TRUNC);
	assert_int_equal(pk_trace_open_flags(O_PATH | O_NOFOLLOW, &nf), PK_TRACE_LOOKUP);
	assert_int_equal(nf, 1);
	assert_int_equal(pk_trace_open_flags(O_WRONLY | O_CREAT | O_EXCL, &nf),
	                 PK_TRACE_WRITE | PK_TRACE_CREATE);
	assert_int_equal(nf, 1);
	assert_int_equal(pk_trace_open_flags(O_RDONLY | O_DIRECTORY, &nf),
	                 PK_TRACE_READ | PK_TRACE_DIRECTORY);
	assert_int_equal(pk_trace_open_flags(O_TMPFILE | O_RDWR, &nf), PK_TRACE_LOOKUP);
}

static void test_pseudo_and_proc_fd(void **state)
{
	char out[64];
	(void)state;
	assert_true(pk_trace_pseudo("/proc", 5));
	assert_true(pk_trace_pseudo("/dev/null", 9));
	assert_false(pk_trace_pseudo("/devices", 8));
	assert_false(pk_trace_pseudo("/system", 7));
	assert_int_equal(pk_trace_proc_fd("/proc/self/fd/3", 42, out, sizeof(out)), 1);
	assert_string_equal(out, "/proc/42/fd/3");
	assert_int_equal(pk_trace_proc_fd("/proc/7/fd/12", 42, out, sizeof(out)), 1);
	assert_string_equal(out, "/proc/7/fd/12");
	assert_int_equal(pk_trace_proc_fd("/dev/fd/0", 5, out, sizeof(out)), 1);
	assert_string_equal(out, "/proc/5/fd/0");
	assert_int_equal(pk_trace_proc_fd("/proc/thread-self/fd/9", 5, out, sizeof(out)), 1);
	assert_int_equal(pk_trace_proc_fd("/proc/self/fdinfo/3", 5, out, sizeof(out)), 0);
	assert_int_equal(pk_trace_proc_fd("/proc/self/fd/3x", 5, out, sizeof(out)), 0);
	assert_int_equal(pk_trace_proc_fd("/proc/self/status", 5, out, sizeof(out)), 0);
}

/* Records out of order (the fast path's come in at the end) keep the
 * earliest sequence numbers and come back in first-touch order; a table
 * cut short reads as INCOMPLETE. */
static void test_table_round_trip(void **state)
{
	struct trace_table t;
	pk_trace_result res;
	pk_trace_stat given = { .exists = 1, .size = 5 };
	int fd = memfd_create("test", 0);
	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(trace_table_init(&t, 0), 0);
	trace_table_add(&t, 5, "/b", 2, PK_TRACE_WRITE, 0, &given);
	trace_table_add(&t, 2, "/a", 2, PK_TRACE_STAT, 0, &given);
	trace_table_add(&t, 3, "/b", 2, PK_TRACE_READ, 0, &given);
	trace_table_add(&t, 9, "/proc/self/status", 17, PK_TRACE_READ, 0, &given);
	trace_table_peer(&t, "192.0.2.1:9");
	trace_table_peer(&t, "192.0.2.1:9");
	t.seq = 9;
	assert_int_equal(trace_table_write(&t, fd), 0);
	trace_table_destroy(&t);
	assert_int_equal(trace_table_read(fd, &res), 0);
	assert_int_equal(res.state, PK_TRACE_COMPLETE);
	assert_int_equal(res.calls, 9);
	assert_int_equal(res.nrecords, 2);
	assert_string_equal(res.records[0].path, "/a");
	assert_string_equal(res.records[1].path, "/b");
	assert_int_equal(res.records[1].flags, PK_TRACE_READ | PK_TRACE_WRITE);
	assert_int_equal(res.records[1].first_seq, 3);
	assert_int_equal(res.records[1].first_read_seq, 3);
	assert_int_equal(res.records[1].first_write_seq, 5);
	assert_int_equal(res.records[1].first.size, 5);
	assert_int_equal(res.npeers, 1);
	assert_string_equal(res.peers[0].addr, "192.0.2.1:9");
	pk_trace_result_free(&res);

	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(ftruncate(fd, st.st_size - 1), 0);
	assert_int_equal(trace_table_read(fd, &res), 0);
	assert_int_equal(res.state, PK_TRACE_INCOMPLETE);
	assert_int_equal(res.nrecords, 0);
	pk_trace_result_free(&res);
	close(fd);
}

/* Past the byte bound: new paths are refused, the run is INCOMPLETE. */
static void test_table_bound(void **state)
{
	struct trace_table t;
	char path[32];
	(void)state;
	assert_int_equal(trace_table_init(&t, 100000), 0);
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(path, sizeof(path), "/n%d", i);
		trace_table_add(&t, (uint64_t)i + 1, path, (size_t)n, PK_TRACE_STAT, 0, NULL);
	}
	assert_int_equal(t.state, PK_TRACE_INCOMPLETE);
	assert_true(t.nrecs < 5000);
	assert_string_equal(t.why, "the tree looked at more paths than 97 KiB of records hold");
	trace_table_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_open_flags),
		cmocka_unit_test(test_pseudo_and_proc_fd),
		cmocka_unit_test(test_table_round_trip),
		cmocka_unit_test(test_table_bound),
	};
	return cmocka_run_group_tests_name("trace_path", tests, NULL, NULL);
}
