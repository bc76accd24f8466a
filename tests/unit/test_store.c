/* test_store.c: unit tests for lib/store.c: creating and refusing cache
 * folders, committing and removing entries, hit counters. */
#include "unit.h"

#include "store.h"

#include <dirent.h>

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

static mode_t mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode;
}

static void test_open_creates_0700(void **state)
{
	const char *dir = *state;
	char *cache = unit_path(dir, "a/b/cache"), *tag = unit_path(cache, "CACHEDIR.TAG");
	char *a = unit_path(dir, "a");
	pk_store s;
	pk_error err = { 0, "" };
	mode_t old = umask(022);
	static const char sig[] = "Signature: 8a477f597d28d172789f06886806bc55";
	unsigned char *buf;
	size_t len;

	if (pk_store_open(&s, cache, &err) != 0)
		fail_msg("pk_store_open: %s", err.msg);
	umask(old);
	assert_string_equal(s.dir, cache);
	assert_true(s.dirfd >= 0);
	assert_int_equal(mode_of(cache), S_IFDIR | 0700);
	assert_int_equal(mode_of(a), S_IFDIR | 0700); /* missing parents too */
	/* The marker backup tools look for starts with its signature. */
	buf = unit_read_file(tag, &len);
	assert_true(len >= sizeof(sig) - 1);
	assert_memory_equal(buf, sig, sizeof(sig) - 1);
	free(buf);
	pk_store_close(&s);
	assert_int_equal(s.dirfd, -1);
	assert_null(s.dir);
	pk_store_close(&s); /* closing twice is fine */

	/* Opening again keeps what is there. */
	assert_int_equal(pk_store_open(&s, cache, &err), 0);
	pk_store_close(&s);
	free(cache);
	free(tag);
	free(a);
}

static void test_open_refuses_writable_dir(void **state)
{
	static const mode_t modes[] = { 0777, 0770, 0702, 0720 };
	const char *dir = *state;
	char *cache = unit_path(dir, "cache");
	pk_store s;

	assert_int_equal(mkdir(cache, 0700), 0);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		pk_error err = { 0, "" };
		assert_int_equal(chmod(cache, modes[i]), 0);
		assert_int_equal(pk_store_open(&s, cache, &err), -1);
		if (strstr(err.msg, "writable by group or others") == NULL)
			fail_msg("mode %o: \"%s\"", (unsigned)modes[i], err.msg);
		assert_non_null(strstr(err.msg, cache));
		pk_store_close(&s);
	}
	/* Readable by others is no risk. */
	{
		pk_error err = { 0, "" };
		assert_int_equal(chmod(cache, 0755), 0);
		if (pk_store_open(&s, cache, &err) != 0)
			fail_msg("mode 755: %s", err.msg);
		pk_store_close(&s);
	}
	free(cache);
}

/* The path of the cache is a file, not a folder. */
static void test_open_refuses_file(void **state)
{
	const char *dir = *state;
	char *cache = unit_path(dir, "cache");
	pk_error err = { 0, "" };
	pk_store s;

	unit_write_file(cache, "x", 1, 0600);
	assert_int_equal(pk_store_open(&s, cache, &err), -1);
	assert_int_equal(err.errnum, ENOTDIR);
	pk_store_close(&s);
	free(cache);
}

static void make_key(pk_key *k, unsigned char first)
{
	for (int i = 0; i < 16; i++)
		k->bytes[i] = (unsigned char)(first + i);
}

/* Count of names in dir other than . and .. */
static size_t count_names(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Commits content as the entry for key. */
static void commit(pk_store *s, const pk_key *key, const char *content)
{
	char tmp[64];
	pk_error err = { 0, "" };
	struct stat st;
	int fd = pk_store_tmp_create(s, tmp, sizeof(tmp), &err);

	if (fd < 0)
		fail_msg("tmp_create: %s", err.msg);
	assert_int_equal(strncmp(tmp, "tmp/", 4), 0);
	assert_int_equal(fstatat(s->dirfd, tmp, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	if (pk_store_commit(s, fd, tmp, key, &err) != 0)
		fail_msg("commit: %s", err.msg);
	close(fd);
	assert_int_equal(fstatat(s->dirfd, tmp, &st, 0), -1);
}

static void assert_entry(const pk_store *s, const pk_key *key, const char *content)
{
	int fd = pk_store_open_entry(s, key);
	size_t len;
	unsigned char *got;

	assert_true(fd >= 0);
	got = unit_read_fd(fd, &len);
	assert_int_equal(len, strlen(content));
	assert_memory_equal(got, content, len);
	free(got);
	close(fd);
}

static void test_commit_open_remove(void **state)
{
	const char *dir = *state;
	char *cache = unit_path(dir, "cache"), *tmpdir = unit_path(cache, "tmp");
	char rel[4096], hex[PK_KEY_HEX + 1];
	pk_error err = { 0, "" };
	pk_store s;
	pk_key k, other;
	uint64_t hits;
	int64_t last;
	struct stat st;

	make_key(&k, 0xab);
	make_key(&other, 0x01);
	assert_int_equal(pk_store_open(&s, cache, &err), 0);
	errno = 0;
	assert_int_equal(pk_store_open_entry(&s, &k), -1);
	assert_int_equal(errno, ENOENT);

	commit(&s, &k, "first");
	assert_entry(&s, &k, "first");
	assert_int_equal(count_names(tmpdir), 0);
	/* Where store.h says it lives: v1/XX/KEY, mode 0600, in folders
	 * of mode 0700. */
	pk_key_hex(&k, hex);
	assert_int_equal(mode_of(tmpdir), S_IFDIR | 0700);
	assert_int_equal(pk_store_path(&s, rel, sizeof(rel), "v1"), 0);
	assert_int_equal(mode_of(rel), S_IFDIR | 0700);
	assert_int_equal(pk_store_path(&s, rel, sizeof(rel), "v1/%.2s", hex), 0);
	assert_int_equal(mode_of(rel), S_IFDIR | 0700);
	assert_int_equal(pk_store_path(&s, rel, sizeof(rel), "v1/%.2s/%s", hex, hex), 0);
	assert_int_equal(lstat(rel, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(pk_store_open_entry(&s, &other), -1);

	/* A newer result replaces the entry and starts with no hits. */
	pk_store_count_hit(&s, &k);
	commit(&s, &k, "second, longer");
	assert_entry(&s, &k, "second, longer");
	pk_store_hits(&s, &k, &hits, &last);
	assert_true(hits == 0);
	assert_true(last == 0);

	pk_store_count_hit(&s, &k);
	assert_int_equal(pk_store_remove(&s, &k), 0);
	errno = 0;
	assert_int_equal(pk_store_open_entry(&s, &k), -1);
	assert_int_equal(errno, ENOENT);
	pk_store_hits(&s, &k, &hits, &last);
	assert_true(hits == 0); /* the counter went with it */
	errno = 0;
	assert_int_equal(pk_store_remove(&s, &k), -1);
	assert_int_equal(errno, ENOENT);
	pk_store_close(&s);
	free(cache);
	free(tmpdir);
}

static void test_hits(void **state)
{
	const char *dir = *state;
	char *cache = unit_path(dir, "cache");
	pk_error err = { 0, "" };
	pk_store s;
	pk_key k, other;
	uint64_t hits = 99;
	int64_t last = 99, before, after;

	make_key(&k, 0x10);
	make_key(&other, 0x20);
	assert_int_equal(pk_store_open(&s, cache, &err), 0);
	commit(&s, &k, "x");
	pk_store_hits(&s, &k, &hits, &last);
	assert_true(hits == 0);
	assert_true(last == 0);
	before = pk_now_ms();
	pk_store_count_hit(&s, &k);
	pk_store_count_hit(&s, &k);
	pk_store_count_hit(&s, &k);
	after = pk_now_ms();
	pk_store_hits(&s, &k, &hits, &last);
	assert_true(hits == 3);
	/* File times may be a tick coarser than the clock. */
	if (last < before - 20 || last > after)
		fail_msg("last hit %lld not within [%lld, %lld]", (long long)last,
		         (long long)before, (long long)after);
	pk_store_hits(&s, &other, &hits, &last);
	assert_true(hits == 0);
	assert_true(last == 0);
	pk_store_close(&s);
	free(cache);
}

static void test_store_path(void **state)
{
	const char *dir = *state;
	char *cache = unit_path(dir, "cache"), *want = unit_path(cache, "locks/abc");
	char buf[4096], small[8];
	pk_error err = { 0, "" };
	pk_store s;

	assert_int_equal(pk_store_open(&s, cache, &err), 0);
	assert_int_equal(pk_store_path(&s, buf, sizeof(buf), "locks/%s", "abc"), 0);
	assert_string_equal(buf, want);
	assert_int_equal(pk_store_path(&s, small, sizeof(small), "locks/%s", "abc"), -1);
	assert_int_equal(pk_store_path(&s, buf, strlen(want), "locks/%s", "abc"), -1);
	assert_int_equal(pk_store_path(&s, buf, strlen(want) + 1, "locks/%s", "abc"), 0);
	pk_store_close(&s);
	free(cache);
	free(want);
}

/* Sets or unsets an environment variable. */
static void set_env(const char *name, const char *value)
{
	if (value)
		assert_int_equal(setenv(name, value, 1), 0);
	else
		assert_int_equal(unsetenv(name), 0);
}

static void test_default_dir(void **state)
{
	static const char *const names[] = { "PICKLED_CACHE_DIR", "XDG_CACHE_HOME", "HOME" };
	char *saved[3];
	char *dir = NULL;
	pk_error err = { 0, "" };
	(void)state;

	for (int i = 0; i < 3; i++) {
		const char *v = getenv(names[i]);
		saved[i] = v ? strdup(v) : NULL;
	}
	set_env("PICKLED_CACHE_DIR", "/c/pk");
	set_env("XDG_CACHE_HOME", "/x");
	set_env("HOME", "/h");
	assert_int_equal(pk_store_default_dir(&dir, &err), 0);
	assert_string_equal(dir, "/c/pk");
	free(dir);

	set_env("PICKLED_CACHE_DIR", "");
	assert_int_equal(pk_store_default_dir(&dir, &err), 0);
	assert_string_equal(dir, "/x/pickled");
	free(dir);

	/* PICKLED_CACHE_DIR as cache_dir: ~/ under HOME, relative refused */
	set_env("PICKLED_CACHE_DIR", "~/c");
	assert_int_equal(pk_store_default_dir(&dir, &err), 0);
	assert_string_equal(dir, "/h/c");
	free(dir);
	set_env("PICKLED_CACHE_DIR", "rel/c");
	dir = NULL;
	assert_int_equal(pk_store_default_dir(&dir, &err), -1);
	assert_null(dir);
	assert_string_equal(err.msg,
	                    "PICKLED_CACHE_DIR: 'rel/c': expected an absolute path, or one "
	                    "starting with ~/");

	set_env("PICKLED_CACHE_DIR", NULL);
	set_env("XDG_CACHE_HOME", "relative"); /* not absolute: ignored */
	assert_int_equal(pk_store_default_dir(&dir, &err), 0);
	assert_string_equal(dir, "/h/.cache/pickled");
	free(dir);

	for (int i = 0; i < 3; i++) {
		set_env(names[i], saved[i]);
		free(saved[i]);
	}
}

static void test_dir_expand(void **state)
{
	const char *v = getenv("HOME");
	char *saved = v ? strdup(v) : NULL, *dir = NULL;
	(void)state;

	set_env("HOME", "/home/u");
	assert_int_equal(pk_store_dir_expand("/abs/c", &dir), 0);
	assert_string_equal(dir, "/abs/c");
	free(dir);
	assert_int_equal(pk_store_dir_expand("~/c", &dir), 0);
	assert_string_equal(dir, "/home/u/c");
	free(dir);
	errno = 0;
	assert_int_equal(pk_store_dir_expand("c", &dir), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pk_store_dir_expand("~c", &dir), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(pk_store_dir_expand("./c", &dir), -1);
	assert_int_equal(errno, EINVAL);
	set_env("HOME", "relative");
	assert_int_equal(pk_store_dir_expand("~/c", &dir), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(dir);
	set_env("HOME", saved);
	free(saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_0700, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_writable_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_open_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_path, setup, teardown),
		cmocka_unit_test(test_default_dir),
		cmocka_unit_test(test_dir_expand),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
