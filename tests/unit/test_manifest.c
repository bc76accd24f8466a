/* test_manifest.c: unit tests for lib/manifest*.c and lib/judge.c: records
 * observed and checked, the manifest's bytes and bounds, the trace note,
 * and the judgement of a tracer's records. */
#include "unit.h"

#include "judge.h"
#include "manifest.h"

#include <time.h>

/* Records of a small tree: a file, a folder with one file, a missing path. */
static void observe_three(const char *dir, pk_mrec r[3])
{
	char *f = unit_path(dir, "a.txt"), *d = unit_path(dir, "sub"), *x = unit_path(dir, "none");
	char *g = unit_path(dir, "sub/b.txt");
	pk_error err = { 0 };

	unit_write_file(f, "alpha", 5, 0600);
	mkdir(d, 0700);
	unit_write_file(g, "beta", 4, 0600);
	assert_int_equal(pk_mrec_observe(&r[0], f, PK_MK_FILE, NULL, &err), 0);
	assert_int_equal(pk_mrec_observe(&r[1], d, PK_MK_DIR, NULL, &err), 0);
	assert_int_equal(pk_mrec_observe(&r[2], x, PK_MK_FILE, NULL, &err), 0);
	assert_int_equal(r[0].kind, PK_MK_FILE);
	assert_int_equal(r[1].kind, PK_MK_DIR);
	assert_int_equal(r[2].kind, PK_MK_ABSENT);
	free(f);
	free(d);
	free(x);
	free(g);
}

static void test_check_each_kind(void **state)
{
	char *dir = unit_tmpdir();
	pk_mrec r[3];
	const char *why;
	(void)state;

	observe_three(dir, r);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pk_mrec_check(&r[i], NULL, &why, NULL), 0);
	/* Same content, another stat: still holds (content decides). */
	unit_write_file(r[0].path, "alpha", 5, 0600);
	assert_int_equal(pk_mrec_check(&r[0], NULL, &why, NULL), 0);
	unit_write_file(r[0].path, "alphA", 5, 0600);
	assert_int_equal(pk_mrec_check(&r[0], NULL, &why, NULL), 1);
	assert_string_equal(why, "input changed");
	char *c = unit_path(dir, "sub/c.txt");
	unit_write_file(c, "", 0, 0600);
	assert_int_equal(pk_mrec_check(&r[1], NULL, &why, NULL), 1);
	unit_write_file(r[2].path, "", 0, 0600);
	assert_int_equal(pk_mrec_check(&r[2], NULL, &why, NULL), 1);
	assert_string_equal(why, "now present");
	unlink(r[0].path);
	assert_int_equal(pk_mrec_check(&r[0], NULL, &why, NULL), 1);
	assert_string_equal(why, "now absent");
	free(c);
	for (int i = 0; i < 3; i++)
		pk_mrec_free(&r[i]);
	unit_rmtree(dir);
}

/* A record that holds by content after a touch takes the new stat, once
 * the file is settled: the next check reads nothing. */
static void test_check_refreshes_stat(void **state)
{
	char *dir = unit_tmpdir();
	pk_mrec r[3];
	const char *why;
	int refreshed = 0;
	struct timespec two = { 2, 100000000 };
	(void)state;

	observe_three(dir, r);
	unit_write_file(r[0].path, "alpha", 5, 0600); /* another inode, same content */
	nanosleep(&two, NULL);
	assert_int_equal(pk_mrec_check(&r[0], NULL, &why, &refreshed), 0);
	assert_int_equal(refreshed, 1);
	assert_int_equal(r[0].settled, 1);
	/* Now the stat alone decides. */
	refreshed = 0;
	assert_int_equal(pk_mrec_check(&r[0], NULL, &why, &refreshed), 0);
	assert_int_equal(refreshed, 0);
	for (int i = 0; i < 3; i++)
		pk_mrec_free(&r[i]);
	unit_rmtree(dir);
}

/* A hit checks the records of one folder through that folder, opened
 * once: the same answers as stat(2) of each whole path. */
static void test_match_through_folder(void **state)
{
	char *dir = unit_tmpdir(), *d = unit_path(dir, "d"), *d2 = unit_path(dir, "d2");
	char *paths[7];
	pk_mrec r[7];
	pk_manifest m = { 0 };
	pk_key k = { { 1 } };
	pk_error err = { 0 };
	const pk_mrec *first = NULL;
	const char *why = NULL;
	(void)state;

	mkdir(d, 0700);
	for (int i = 0; i < 5; i++) {
		char name[16], body[2] = { (char)('0' + i), 0 };
		snprintf(name, sizeof(name), "d/f%d", i);
		paths[i] = unit_path(dir, name);
		unit_write_file(paths[i], body, 1, 0600);
		assert_int_equal(pk_mrec_observe(&r[i], paths[i], PK_MK_FILE, NULL, &err), 0);
	}
	paths[5] = unit_path(dir, "d/link");
	assert_int_equal(symlink("f0", paths[5]), 0);
	assert_int_equal(pk_mrec_observe(&r[5], paths[5], PK_MK_LINK, NULL, &err), 0);
	paths[6] = unit_path(dir, "d/none");
	assert_int_equal(pk_mrec_observe(&r[6], paths[6], PK_MK_FILE, NULL, &err), 0);
	assert_int_equal(pk_manifest_add(&m, &k, 1000, 0, r, 7), 0);
	assert_int_equal(pk_manifest_match(&m, NULL, &first, &why, NULL), 0);

	unit_write_file(paths[3], "33", 2, 0600);
	assert_int_equal(pk_manifest_match(&m, NULL, &first, &why, NULL), -1);
	assert_string_equal(first->path, paths[3]);
	assert_string_equal(why, "input changed");
	unit_write_file(paths[3], "3", 1, 0600); /* another inode, the same bytes */
	assert_int_equal(pk_manifest_match(&m, NULL, &first, &why, NULL), 0);

	unlink(paths[5]);
	assert_int_equal(symlink("f1", paths[5]), 0);
	assert_int_equal(pk_manifest_match(&m, NULL, &first, &why, NULL), -1);
	assert_string_equal(first->path, paths[5]);
	unlink(paths[5]);
	assert_int_equal(symlink("f0", paths[5]), 0);
	assert_int_equal(pk_manifest_match(&m, NULL, &first, &why, NULL), 0);

	/* The folder behind a link to where it went: the same files. */
	assert_int_equal(rename(d, d2), 0);
	assert_int_equal(symlink("d2", d), 0);
	assert_int_equal(pk_manifest_match(&m, NULL, &first, &why, NULL), 0);
	/* Gone: the first record is now absent. */
	unlink(d);
	assert_int_equal(pk_manifest_match(&m, NULL, &first, &why, NULL), -1);
	assert_string_equal(why, "now absent");

	pk_manifest_free(&m);
	for (int i = 0; i < 7; i++) {
		pk_mrec_free(&r[i]);
		free(paths[i]);
	}
	free(d);
	free(d2);
	unit_rmtree(dir);
}

static void test_roundtrip_and_damage(void **state)
{
	char *dir = unit_tmpdir();
	pk_mrec r[3];
	pk_manifest m = { 0 }, back = { 0 };
	pk_key k1, k2, base = { { 1 } };
	unsigned char *buf;
	size_t len, n = 3;
	pk_error err = { 0 };
	(void)state;

	observe_three(dir, r);
	pk_mrecs_sort(r, &n);
	pk_mrecs_result_key(&base, r, n, &k1);
	assert_int_equal(pk_manifest_add(&m, &k1, 1000, 0, r, n), 0);
	pk_mrecs_result_key(&base, r, 2, &k2);
	assert_false(pk_key_equal(&k1, &k2));
	assert_int_equal(pk_manifest_add(&m, &k2, 2000, PK_VARIANT_NETWORK, r, 2), 0);
	assert_int_equal(m.nvariants, 2);
	assert_int_equal(m.nrecs, 3); /* shared between the two sets */
	assert_true(pk_key_equal(&m.variants[0].result, &k2));
	assert_int_equal(pk_manifest_encode(&m, &buf, &len), 0);
	assert_int_equal(pk_manifest_decode(buf, len, &back, &err), 0);
	assert_int_equal(back.nvariants, 2);
	assert_int_equal(back.variants[0].flags, PK_VARIANT_NETWORK);
	assert_int_equal(pk_manifest_match(&back, NULL, NULL, NULL, NULL), 0);
	pk_manifest_free(&back);
	/* Any flipped byte is refused. */
	for (size_t i = 0; i < len; i += 7) {
		buf[i] ^= 0x20;
		assert_int_equal(pk_manifest_decode(buf, len, &back, &err), -1);
		buf[i] ^= 0x20;
	}
	assert_int_equal(pk_manifest_decode(buf, len - 1, &back, &err), -1);
	free(buf);
	/* Re-adding a set moves it first, not twice. */
	assert_int_equal(pk_manifest_add(&m, &k1, 3000, 0, r, n), 0);
	assert_int_equal(m.nvariants, 2);
	assert_true(pk_key_equal(&m.variants[0].result, &k1));
	pk_manifest_free(&m);
	for (int i = 0; i < 3; i++)
		pk_mrec_free(&r[i]);
	unit_rmtree(dir);
}

/* A decoded manifest of thousands of records lives in one region (huge
 * pages where allowed) with its paths used in place; a set added to it
 * moves the records out as they grow, and it all round-trips. */
static void test_large_decoded_grows(void **state)
{
	enum { N = 4000 };
	pk_mrec *r = calloc(N + 2, sizeof(*r));
	pk_manifest m = { 0 }, back = { 0 }, again = { 0 };
	pk_key k1, k2, base = { { 2 } };
	unsigned char *buf;
	size_t len, n = N;
	pk_error err = { 0 };
	char path[200];
	(void)state;

	assert_non_null(r);
	for (int i = 0; i < N + 2; i++) {
		snprintf(path, sizeof(path),
		         "/nonexistent-pickled-test/a-rather-long-folder-name-for-the-region/p%05d",
		         i);
		assert_int_equal(pk_mrec_observe(&r[i], path, PK_MK_FILE, NULL, &err), 0);
		assert_int_equal(r[i].kind, PK_MK_ABSENT);
	}
	pk_mrecs_sort(r, &n);
	pk_mrecs_result_key(&base, r, n, &k1);
	assert_int_equal(pk_manifest_add(&m, &k1, 1000, 0, r, n), 0);
	assert_int_equal(pk_manifest_encode(&m, &buf, &len), 0);
	pk_manifest_free(&m);
	assert_int_equal(pk_manifest_decode(buf, len, &back, &err), 0);
	free(buf);
	assert_int_equal(back.nrecs, N);
	assert_true(back.region_len >= 256 * 1024);
	assert_string_equal(back.recs[N - 1].path, r[N - 1].path);
	assert_int_equal(pk_manifest_match(&back, NULL, NULL, NULL, NULL), 0);
	/* Two more records: the array grows out of the region. */
	n = N + 2;
	pk_mrecs_result_key(&base, r, n, &k2);
	assert_int_equal(pk_manifest_add(&back, &k2, 2000, 0, r, n), 0);
	assert_int_equal(back.nrecs, N + 2);
	assert_false(back.recs_in_region);
	assert_int_equal(pk_manifest_encode(&back, &buf, &len), 0);
	assert_int_equal(pk_manifest_decode(buf, len, &again, &err), 0);
	free(buf);
	assert_int_equal(again.nrecs, N + 2);
	assert_int_equal(again.nvariants, 2);
	assert_true(pk_key_equal(&again.variants[0].result, &k2));
	for (int i = 0; i < N + 2; i++)
		assert_string_equal(again.recs[i].path, back.recs[i].path);
	pk_manifest_free(&back);
	pk_manifest_free(&again);
	for (int i = 0; i < N + 2; i++)
		pk_mrec_free(&r[i]);
	free(r);
}

static int keep_none_but_first(void *ctx, const pk_key *k)
{
	return pk_key_equal(ctx, k);
}

static void test_bound_match_prune(void **state)
{
	char *dir = unit_tmpdir();
	pk_manifest m = { 0 };
	pk_key base = { { 7 } }, keys[PK_MANIFEST_VARIANTS + 4];
	const pk_mrec *first = NULL;
	const char *why = NULL;
	char *f = unit_path(dir, "input");
	pk_error err = { 0 };
	(void)state;

	/* One set per content of the same file: the newest ones stay. */
	for (int i = 0; i < PK_MANIFEST_VARIANTS + 4; i++) {
		pk_mrec r;
		char c = (char)('A' + i);
		unit_write_file(f, &c, 1, 0600);
		assert_int_equal(pk_mrec_observe(&r, f, PK_MK_FILE, NULL, &err), 0);
		pk_mrecs_result_key(&base, &r, 1, &keys[i]);
		assert_int_equal(pk_manifest_add(&m, &keys[i], i, 0, &r, 1), 0);
		pk_mrec_free(&r);
	}
	assert_int_equal(m.nvariants, PK_MANIFEST_VARIANTS);
	assert_int_equal(m.nrecs, PK_MANIFEST_VARIANTS);
	/* The file holds the last content: the newest set. */
	assert_int_equal(pk_manifest_match(&m, NULL, &first, &why, NULL), 0);
	/* An older content again: that set. */
	unit_write_file(f, "E", 1, 0600);
	long v = pk_manifest_match(&m, NULL, &first, &why, NULL);
	assert_true(v > 0);
	assert_true(pk_key_equal(&m.variants[v].result, &keys[4]));
	/* A content never seen: none, and the newest set's path is named. */
	unit_write_file(f, "?", 1, 0600);
	assert_int_equal(pk_manifest_match(&m, NULL, &first, &why, NULL), -1);
	assert_string_equal(first->path, f);
	assert_string_equal(why, "input changed");
	assert_int_equal(pk_manifest_prune(&m, keep_none_but_first, &keys[4]),
	                 PK_MANIFEST_VARIANTS - 1);
	assert_int_equal(m.nvariants, 1);
	assert_int_equal(m.nrecs, 1);
	pk_manifest_free(&m);
	free(f);
	unit_rmtree(dir);
}

static void test_note_roundtrip(void **state)
{
	char *dir = unit_tmpdir();
	pk_mrec r[3];
	char *written[] = { "/tmp/out" }, *peers[] = { "192.0.2.1:443" };
	pk_trace_note n = { .manifest = { { 9 } },
		            .flags = PK_VARIANT_NETWORK,
		            .ninputs = 3,
		            .inputs = r,
		            .nwritten = 1,
		            .written = written,
		            .npeers = 1,
		            .peers = peers },
		      back;
	unsigned char *buf;
	size_t len;
	pk_error err = { 0 };
	(void)state;

	observe_three(dir, r);
	assert_int_equal(pk_trace_note_encode(&n, &buf, &len), 0);
	assert_int_equal(pk_trace_note_decode(buf, len, &back, &err), 0);
	assert_int_equal(back.ninputs, 3);
	assert_string_equal(back.inputs[1].path, r[1].path);
	assert_memory_equal(back.inputs[0].hash, r[0].hash, 16);
	assert_string_equal(back.written[0], "/tmp/out");
	assert_string_equal(back.peers[0], "192.0.2.1:443");
	pk_trace_note_free(&back);
	assert_int_equal(pk_trace_note_decode(buf, len - 1, &back, &err), -1);
	free(buf);
	for (int i = 0; i < 3; i++)
		pk_mrec_free(&r[i]);
	unit_rmtree(dir);
}

static void stat_of(const char *path, pk_trace_stat *s)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	if (stat(path, &st) == 0)
		pk_trace_stat_from(s, &st);
}

static void test_judge(void **state)
{
	char *dir = unit_tmpdir();
	char *in = unit_path(dir, "in.txt"), *out = unit_path(dir, "out.txt");
	char *lock = unit_path(dir, "x.lock"), *pyc = unit_path(dir, "__pycache__");
	char *hidden = unit_path(dir, "noaccess");
	pk_trace_record recs[6] = { 0 };
	pk_trace_result res = { 0 };
	pk_judge_opts o = { .cwd = dir };
	pk_judgement j;
	pk_error err = { 0 };
	(void)state;

	unit_write_file(in, "in", 2, 0600);
	unit_write_file(out, "old", 3, 0600);
	sleep(0);
	clock_gettime(CLOCK_REALTIME, &res.started);
	recs[0] = (pk_trace_record){ .path = in, .flags = PK_TRACE_READ, .first_read_seq = 1 };
	stat_of(in, &recs[0].first);
	/* A lookup that found nothing, then a creation: an output. */
	recs[1] = (pk_trace_record){ .path = lock,
		                     .flags = PK_TRACE_READ | PK_TRACE_CREATE,
		                     .first_read_seq = 2,
		                     .first_write_seq = 3 };
	recs[2] = (pk_trace_record){ .path = "/proc/self/status", .flags = PK_TRACE_READ };
	recs[3] = (pk_trace_record){ .path = pyc, .flags = PK_TRACE_STAT, .first_read_seq = 4 };
	/* Read, then written. */
	recs[4] = (pk_trace_record){ .path = out,
		                     .flags = PK_TRACE_READ | PK_TRACE_WRITE,
		                     .first_read_seq = 5,
		                     .first_write_seq = 6 };
	stat_of(out, &recs[4].first);
	/* The tracer could not stat it (EACCES): as absent, if still so. */
	recs[5] = (pk_trace_record){ .path = hidden,
		                     .flags = PK_TRACE_STAT,
		                     .first_read_seq = 7,
		                     .first = { .exists = 1 } };
	unit_write_file(lock, "", 0, 0600);
	res.records = recs;
	res.nrecords = 6;
	assert_int_equal(pk_judge(&res, &o, &j, &err), 0);
	assert_false(j.cacheable);
	assert_int_equal(strncmp(j.why, "read, then written by the run: ", 31), 0);
	assert_int_equal(j.ninputs, 3);
	assert_string_equal(j.inputs[0].path, pyc);
	assert_int_equal(j.inputs[0].kind, PK_MK_ABSENT);
	assert_string_equal(j.inputs[1].path, in);
	assert_int_equal(j.inputs[1].kind, PK_MK_FILE);
	assert_string_equal(j.inputs[2].path, hidden);
	assert_int_equal(j.inputs[2].kind, PK_MK_ABSENT);
	assert_int_equal(j.nwritten, 2);
	pk_judgement_free(&j);
	/* Declared with -o: allowed. */
	char *outs[] = { "out.txt" };
	o.outputs = outs;
	o.noutputs = 1;
	assert_int_equal(pk_judge(&res, &o, &j, &err), 0);
	assert_true(j.cacheable);
	pk_judgement_free(&j);
	/* Ignored by a glob: not an input. */
	char *ign[] = { "__pycache__", "*.txt", "noaccess" };
	o.ignore = ign;
	o.nignore = 3;
	assert_int_equal(pk_judge(&res, &o, &j, &err), 0);
	assert_int_equal(j.ninputs, 0);
	pk_judgement_free(&j);
	o.nignore = 0;
	/* An input changed during the run. */
	unit_write_file(in, "IN", 2, 0600);
	assert_int_equal(pk_judge(&res, &o, &j, &err), 0);
	assert_false(j.cacheable);
	assert_int_equal(strncmp(j.why, "input changed during the run: ", 30), 0);
	pk_judgement_free(&j);
	/* An input written as the run started. */
	stat_of(in, &recs[0].first);
	res.started = recs[0].first.mtime;
	assert_int_equal(pk_judge(&res, &o, &j, &err), 0);
	assert_false(j.cacheable);
	assert_int_equal(strncmp(j.why, "input modified as the run started: ", 35), 0);
	pk_judgement_free(&j);
	res.state = PK_TRACE_INCOMPLETE;
	snprintf(res.why, sizeof(res.why), "a 32-bit system call");
	assert_int_equal(pk_judge(&res, &o, &j, &err), 0);
	assert_false(j.cacheable);
	assert_string_equal(j.why, "a 32-bit system call");
	pk_judgement_free(&j);
	free(in);
	free(out);
	free(lock);
	free(pyc);
	free(hidden);
	unit_rmtree(dir);
}

static void test_ignored(void **state)
{
	char *g[] = { "/srv/logs", "*.tmp", "rel/*" };
	(void)state;

	assert_true(pk_judge_ignored("/srv/logs/a/b", g, 3, "/w"));
	assert_true(pk_judge_ignored("/x/y.tmp", g, 3, "/w"));
	assert_true(pk_judge_ignored("/w/rel/z", g, 3, "/w"));
	assert_false(pk_judge_ignored("/srv/logs2", g, 3, "/w"));
	assert_false(pk_judge_ignored("/x/rel/z", g, 3, "/w"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_each_kind),
		cmocka_unit_test(test_check_refreshes_stat),
		cmocka_unit_test(test_match_through_folder),
		cmocka_unit_test(test_roundtrip_and_damage),
		cmocka_unit_test(test_large_decoded_grows),
		cmocka_unit_test(test_bound_match_prune),
		cmocka_unit_test(test_note_roundtrip),
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_ignored),
	};
	return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}
