/* test_inputs.c: unit tests for lib/inputs.c: expansion of directories and
 * globs into a sorted list of files, and hashing through the stat cache. */
#include "unit.h"

#include "inputs.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

/* The tree every test starts from, under the test's folder:
 *   in/b.txt  in/a.txt  in/link -> a.txt  in/dirlink -> sub  in/fifo
 *   in/sub/c.txt  in/sub/.hidden  in/sub/deeper/d.dat */
static int setup(void **state)
{
	char *dir = unit_tmpdir();
	static const char *const dirs[] = { "in", "in/sub", "in/sub/deeper" };
	static const char *const files[] = {
		"in/b.txt", "in/a.txt", "in/sub/c.txt", "in/sub/.hidden", "in/sub/deeper/d.dat",
	};

	for (size_t i = 0; i < 3; i++) {
		char *p = unit_path(dir, dirs[i]);
		assert_int_equal(mkdir(p, 0700), 0);
		free(p);
	}
	for (size_t i = 0; i < 5; i++) {
		char *p = unit_path(dir, files[i]);
		/* Each file holds its own name: all contents differ. */
		unit_write_file(p, files[i], strlen(files[i]), 0600);
		free(p);
	}
	{
		char *l = unit_path(dir, "in/link"), *dl = unit_path(dir, "in/dirlink");
		char *fifo = unit_path(dir, "in/fifo");
		assert_int_equal(symlink("a.txt", l), 0);
		assert_int_equal(symlink("sub", dl), 0);
		assert_int_equal(mkfifo(fifo, 0600), 0);
		free(l);
		free(dl);
		free(fifo);
	}
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	unit_rmtree(*state);
	return 0;
}

/* XXH3-128 of a string, canonical form, computed here independently. */
static void hash_of(const char *s, size_t len, unsigned char out[16])
{
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, XXH3_128bits(s, len));
	memcpy(out, c.digest, 16);
}

static void free_inputs(pk_input *v, size_t n)
{
	pk_key_parts p;
	memset(&p, 0, sizeof(p));
	p.inputs = v;
	p.ninputs = n;
	pk_key_parts_free(&p);
}

/* Expands patterns given relative to dir (so that the paths compared are
 * short); returns the result in *v, *n. */
static void expand(const char *dir, char **patterns, size_t npat, pk_input **v, size_t *n)
{
	pk_error err = { 0, "" };
	int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	assert_true(cwd >= 0);
	assert_int_equal(chdir(dir), 0);
	*v = NULL;
	*n = 0;
	if (pk_inputs_expand(patterns, npat, NULL, v, n, &err) != 0)
		fail_msg("expand: %s", err.msg);
	assert_int_equal(fchdir(cwd), 0);
	close(cwd);
}

/* Checks that v holds exactly the present files named, in order, each with
 * the hash of its content (a file's content is its name; "in/link" is
 * a.txt's). */
static void assert_files(const pk_input *v, size_t n, const char *const *names, size_t nnames)
{
	if (n != nnames) {
		for (size_t i = 0; i < n; i++)
			print_message("# got %s\n", v[i].path);
		fail_msg("%zu inputs, want %zu", n, nnames);
	}
	for (size_t i = 0; i < n; i++) {
		const char *content = strcmp(names[i], "in/link") == 0 ? "in/a.txt" : names[i];
		unsigned char h[16];
		assert_string_equal(v[i].path, names[i]);
		assert_int_equal(v[i].present, 1);
		hash_of(content, strlen(content), h);
		assert_memory_equal(v[i].hash, h, 16);
	}
}

static void test_directory_sorted_regular_files(void **state)
{
	static const char *const want[] = {
		"in/a.txt",       "in/b.txt",     "in/link",
		"in/sub/.hidden", "in/sub/c.txt", "in/sub/deeper/d.dat",
	};
	char *pats[] = { "in" };
	pk_input *v;
	size_t n;

	expand(*state, pats, 1, &v, &n);
	/* The FIFO is not a file; the link to a folder is not followed. */
	assert_files(v, n, want, 6);
	free_inputs(v, n);
}

static void test_trailing_slash(void **state)
{
	static const char *const want[] = { "in/sub/.hidden", "in/sub/c.txt",
		                            "in/sub/deeper/d.dat" };
	char *pats[] = { "in/sub/" };
	pk_input *v;
	size_t n;

	expand(*state, pats, 1, &v, &n);
	assert_files(v, n, want, 3);
	free_inputs(v, n);
}

static void test_missing_recorded_absent(void **state)
{
	char *pats[] = { "in/nope.txt", "in/a.txt", "gone/deeper/file", "in/a.txt/x" };
	pk_input *v;
	size_t n;

	expand(*state, pats, 4, &v, &n);
	assert_int_equal(n, 4);
	assert_string_equal(v[0].path, "gone/deeper/file");
	assert_int_equal(v[0].present, 0);
	assert_string_equal(v[1].path, "in/a.txt");
	assert_int_equal(v[1].present, 1);
	assert_string_equal(v[2].path, "in/a.txt/x"); /* ENOTDIR: absent too */
	assert_int_equal(v[2].present, 0);
	assert_string_equal(v[3].path, "in/nope.txt");
	assert_int_equal(v[3].present, 0);
	free_inputs(v, n);
}

static void test_glob(void **state)
{
	static const char *const want[] = { "in/a.txt", "in/b.txt", "in/sub/c.txt" };
	char *pats[] = { "in/*.txt", "in/s?b/[a-c].txt" };
	char *none[] = { "in/*.none" };
	pk_input *v;
	size_t n;

	expand(*state, pats, 2, &v, &n);
	assert_files(v, n, want, 3);
	free_inputs(v, n);

	/* A glob that matches nothing is recorded as absent, as written. */
	expand(*state, none, 1, &v, &n);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].path, "in/*.none");
	assert_int_equal(v[0].present, 0);
	free_inputs(v, n);
}

static void test_duplicates_removed(void **state)
{
	static const char *const want[] = {
		"in/a.txt",       "in/b.txt",     "in/link",
		"in/sub/.hidden", "in/sub/c.txt", "in/sub/deeper/d.dat",
	};
	char *pats[] = { "in/b.txt", "in/*.txt", "in", "in/a.txt", "in/sub", "in/b.txt" };
	char *twice_absent[] = { "nope", "nope" };
	pk_input *v;
	size_t n;

	expand(*state, pats, 6, &v, &n);
	assert_files(v, n, want, 6);
	free_inputs(v, n);

	expand(*state, twice_absent, 2, &v, &n);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].present, 0);
	free_inputs(v, n);
}

static void test_nothing_to_expand(void **state)
{
	pk_input *v = NULL;
	size_t n = 5;
	pk_error err = { 0, "" };
	(void)state;

	assert_int_equal(pk_inputs_expand(NULL, 0, NULL, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	free_inputs(v, n);
}

static void test_special_file_is_an_error(void **state)
{
	char *fifo = unit_path(*state, "in/fifo");
	char *pats[] = { fifo };
	pk_input *v = NULL;
	size_t n = 0;
	pk_error err = { 0, "" };

	assert_int_equal(pk_inputs_expand(pats, 1, NULL, &v, &n, &err), -1);
	assert_non_null(strstr(err.msg, fifo));
	free(fifo);
}

static void test_hash_file(void **state)
{
	char *a = unit_path(*state, "in/a.txt"), *missing = unit_path(*state, "in/none");
	char *sub = unit_path(*state, "in/sub"), *empty = unit_path(*state, "empty");
	unsigned char h[16], want[16];
	pk_error err = { 0, "" };

	assert_int_equal(pk_hash_file(NULL, a, h, &err), 0);
	hash_of("in/a.txt", 8, want);
	assert_memory_equal(h, want, 16);

	unit_write_file(empty, "", 0, 0600);
	assert_int_equal(pk_hash_file(NULL, empty, h, &err), 0);
	hash_of("", 0, want);
	assert_memory_equal(h, want, 16);

	assert_int_equal(pk_hash_file(NULL, missing, h, &err), 1);
	assert_int_equal(pk_hash_file(NULL, sub, h, &err), -1);
	assert_non_null(strstr(err.msg, sub));
	free(a);
	free(missing);
	free(sub);
	free(empty);
}

/* pk_hash_file on a FIFO must fail, not wait for a writer that never
 * comes.  Run in a child so that a hang fails this test, not the suite. */
static void test_hash_fifo_does_not_block(void **state)
{
	char *fifo = unit_path(*state, "in/fifo");
	struct timespec tick = { 0, 10 * 1000000L };
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned char h[16];
		pk_error err = { 0, "" };
		alarm(10);
		_exit(pk_hash_file(NULL, fifo, h, &err) == -1 ? 0 : 1);
	}
	for (int i = 0; i < 300; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		assert_true(r >= 0);
		if (r == pid)
			break;
		nanosleep(&tick, NULL);
	}
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		free(fifo);
		fail_msg("pk_hash_file on a FIFO still blocked after 3 s");
	}
	free(fifo);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Names in statdir, at most max, into names (malloc'd each). */
static size_t list_dir(const char *dir, char **names, size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		assert_true(n < max);
		names[n] = strdup(de->d_name);
		assert_non_null(names[n]);
		n++;
	}
	closedir(d);
	return n;
}

/* A freshly written file is not recorded: it could change again within
 * the same timestamp tick. */
static void test_stat_cache_skips_recent_files(void **state)
{
	char *file = unit_path(*state, "fresh"), *statdir = unit_path(*state, "stat");
	unsigned char h[16];
	pk_error err = { 0, "" };
	char *names[4];

	unit_write_file(file, "fresh", 5, 0600);
	assert_int_equal(pk_hash_file(statdir, file, h, &err), 0);
	assert_int_equal(list_dir(statdir, names, 4), 0);
	free(file);
	free(statdir);
}

static void test_stat_cache_records_and_is_used(void **state)
{
	static const char content[] = "an input that does not change";
	char *file = unit_path(*state, "stable"), *statdir = unit_path(*state, "stat");
	unsigned char fresh[16], cached[16], again[16];
	pk_error err = { 0, "" };
	struct timespec past[2], pause = { 2, 200 * 1000000L };
	char *names[4];
	size_t n, rlen;
	unsigned char *rec;
	char *recpath;
	int fd;

	unit_write_file(file, content, sizeof(content) - 1, 0600);
	clock_gettime(CLOCK_REALTIME, &past[0]);
	past[0].tv_sec -= 10;
	past[1] = past[0];
	assert_int_equal(utimensat(AT_FDCWD, file, past, 0), 0);
	/* utimensat sets the ctime to now, and a record is only written once
	 * both times are 2 s old. */
	nanosleep(&pause, NULL);

	assert_int_equal(pk_hash_file(NULL, file, fresh, &err), 0);
	hash_of(content, sizeof(content) - 1, cached);
	assert_memory_equal(fresh, cached, 16);

	memset(cached, 0, 16);
	if (pk_hash_file(statdir, file, cached, &err) != 0)
		fail_msg("hash: %s", err.msg);
	assert_memory_equal(cached, fresh, 16);
	n = list_dir(statdir, names, 4);
	if (n != 1)
		fail_msg("%zu files in the stat cache folder, want 1", n);
	assert_null(strstr(names[0], ".tmp"));

	/* Second call: the record answers.  Proof: a record whose hash we
	 * change is believed. */
	recpath = unit_path(statdir, names[0]);
	rec = unit_read_file(recpath, &rlen);
	{
		unsigned char *at = memmem(rec, rlen, fresh, 16);
		assert_non_null(at);
		at[0] ^= 0xff;
		fd = open(recpath, O_WRONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, at, 1, at - rec), 1);
		close(fd);
	}
	assert_int_equal(pk_hash_file(statdir, file, again, &err), 0);
	assert_int_equal(again[0], fresh[0] ^ 0xff);
	assert_memory_equal(again + 1, fresh + 1, 15);

	/* pk_inputs_expand goes through the same cache. */
	{
		char *pats[] = { file };
		pk_input *v;
		size_t nv;
		assert_int_equal(pk_inputs_expand(pats, 1, statdir, &v, &nv, &err), 0);
		assert_int_equal(nv, 1);
		assert_memory_equal(v[0].hash, again, 16);
		free_inputs(v, nv);
	}

	/* Once the file's times change, the record no longer matches. */
	assert_int_equal(utimensat(AT_FDCWD, file, NULL, 0), 0);
	assert_int_equal(pk_hash_file(statdir, file, again, &err), 0);
	assert_memory_equal(again, fresh, 16);
	free(rec);
	free(recpath);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(file);
	free(statdir);
}

/* After the run: a file rewritten (new ctime), removed, or created where
 * an absent input was, changed; an untouched one did not; a declared
 * output is not looked at. */
static void test_changed_by_stat(void **state)
{
	char *a = unit_path(*state, "in/a.txt"), *b = unit_path(*state, "in/b.txt");
	char *gone = unit_path(*state, "in/none");
	char *pats[] = { a, b, gone }, *skip[] = { b };
	struct timespec pause = { 0, 20 * 1000000L };
	pk_error err = { 0, "" };
	pk_input *v;
	size_t n, which = 99;

	assert_int_equal(pk_inputs_expand(pats, 3, NULL, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(pk_inputs_changed(v, n, NULL, 0, &which), 0);
	/* The same bytes written again: the stat says it changed. */
	nanosleep(&pause, NULL);
	unit_write_file(b, "in/b.txt", 8, 0600);
	assert_int_equal(pk_inputs_changed(v, n, NULL, 0, &which), 1);
	assert_string_equal(v[which].path, b);
	assert_int_equal(pk_inputs_changed(v, n, skip, 1, &which), 0);
	unit_write_file(gone, "x", 1, 0600);
	assert_int_equal(pk_inputs_changed(v, n, skip, 1, &which), 1);
	assert_string_equal(v[which].path, gone);
	assert_int_equal(unlink(gone), 0);
	assert_int_equal(unlink(a), 0);
	assert_int_equal(pk_inputs_changed(v, n, skip, 1, &which), 1);
	assert_string_equal(v[which].path, a);
	free_inputs(v, n);
	free(a);
	free(b);
	free(gone);
}

/* A stat taken less than a timestamp tick after the file's last change
 * proves nothing: a same-size write in that tick leaves it equal.  Such a
 * file's content is compared; a settled one's stat is trusted. */
static void test_unsettled_stat_is_not_trusted(void **state)
{
	char *a = unit_path(*state, "in/a.txt");
	char *pats[] = { a };
	pk_error err = { 0, "" };
	struct stat st;
	pk_input *v;
	size_t n, which = 99;

	assert_int_equal(pk_inputs_expand(pats, 1, NULL, &v, &n, &err), 0);
	assert_int_equal(v[0].settled, 0); /* written by setup just now */
	/* Another content of the same size, and the stat made to match, as a
	 * write within the same tick would leave it. */
	unit_write_file(a, "IN/A.TXT", 8, 0600);
	assert_int_equal(stat(a, &st), 0);
	v[0].dev = (uint64_t)st.st_dev;
	v[0].ino = (uint64_t)st.st_ino;
	v[0].mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	v[0].ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	assert_int_equal(pk_inputs_changed(v, n, NULL, 0, &which), 1);
	assert_int_equal(which, 0);
	/* Trusted once settled: the stat alone decides. */
	v[0].settled = 1;
	assert_int_equal(pk_inputs_changed(v, n, NULL, 0, &which), 0);
	free_inputs(v, n);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_directory_sorted_regular_files, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_trailing_slash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_recorded_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_glob, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nothing_to_expand, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_file_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash_fifo_does_not_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stat_cache_skips_recent_files, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_stat_cache_records_and_is_used, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_changed_by_stat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsettled_stat_is_not_trusted, setup,
		                                teardown),
	};
	return cmocka_run_group_tests_name("inputs", tests, NULL, NULL);
}
