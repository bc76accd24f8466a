/* test_config_snapshot.c: unit tests for lib/config_snapshot.c, the parsed
 * copy of the configuration: it reads back exactly what was parsed, only
 * for the files with the content, owner and mode they had, and damaged
 * bytes are refused, never trusted or crashed on. */
#include "unit.h"

#include "config.h"
#include "config_snapshot.h"

#include <dirent.h>
#include <xxhash.h>

static const char rich[] = "# every kind of value\n"
			   "cache_dir: /var/cache/pickled-test\n"
			   "ttl: 6h\n"
			   "stale: 30m\n"
			   "max_size: 3G\n"
			   "compression_level: 7\n"
			   "compression_threads: 2\n"
			   "cache_failures: true\n"
			   "env: [TZ, LANG]\n"
			   "stdin: never\n"
			   "program_check: content\n"
			   "lock_timeout: 5m\n"
			   "gc:\n"
			   "  auto: false\n"
			   "  interval: 2d\n"
			   "remote:\n"
			   "  url: redis://:secret@127.0.0.1:6379/2\n"
			   "  mode: read-only\n"
			   "  timeout: 1s\n"
			   "  prefix: \"team:\"\n"
			   "  max_entry: 16M\n"
			   "  lease: 1m\n"
			   "jobs:\n"
			   "  report:\n"
			   "    command: [/usr/local/bin/report, --all, \"two words\"]\n"
			   "    ttl: 1h\n"
			   "    stale: 10m\n"
			   "    inputs: [/srv/data/*.csv, /srv/extra]\n"
			   "    outputs: [/srv/www/report.html]\n"
			   "    env: [TZ]\n"
			   "    tags: [reports, daily]\n"
			   "    key: v2\n"
			   "    cwd: true\n"
			   "    stdin: always\n"
			   "    cache_failures: false\n"
			   "    lock_timeout: 2m\n"
			   "  empty-lists:\n"
			   "    command: [true]\n"
			   "    inputs: []\n";

struct fixture {
	char *dir, *path;
	struct pk_config_source src;
	pk_config c;         /* what the file says */
	unsigned char *copy; /* its encoding */
	size_t len;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = unit_tmpdir();
	f->path = unit_path(f->dir, "pickled.conf");
	unit_write_file(f->path, rich, sizeof(rich) - 1, 0600);
	pk_config_init(&f->c);
	assert_int_equal(pk_config_read(&f->c, f->path, 0), 0);
	f->src.path = f->path;
	f->src.present = 1;
	assert_int_equal(stat(f->path, &f->src.st), 0);
	pk_config_hash_content(rich, sizeof(rich) - 1, f->src.hash);
	assert_int_equal(pk_config_snapshot_encode(&f->c, &f->src, 1, &f->copy, &f->len), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pk_config_free(&f->c);
	free(f->copy);
	free(f->path);
	unit_rmtree(f->dir);
	free(f);
	return 0;
}

static char *dump(const pk_config *c)
{
	char *y = NULL;

	assert_int_equal(pk_config_dump(c, &y), 0);
	return y;
}

/* Decoding into fresh defaults: returns what it returned, and checks that
 * a refusal left the defaults alone. */
static int decode(const struct fixture *f, const unsigned char *buf, size_t len,
                  const struct pk_config_source *src, char **out)
{
	pk_config d, fresh;
	int rc;

	pk_config_init(&d);
	rc = pk_config_snapshot_decode(&d, buf, len, src, 1);
	if (rc < 0) {
		char *a, *b;

		pk_config_init(&fresh);
		a = dump(&d);
		b = dump(&fresh);
		assert_string_equal(a, b);
		free(a);
		free(b);
		pk_config_free(&fresh);
	}
	assert_int_equal(d.nerrors, 0);
	if (out != NULL)
		*out = rc == 0 ? dump(&d) : NULL;
	pk_config_free(&d);
	(void)f;
	return rc;
}

static void test_reads_back_what_was_parsed(void **state)
{
	struct fixture *f = *state;
	char *want = dump(&f->c), *got = NULL;

	assert_int_equal(decode(f, f->copy, f->len, &f->src, &got), 0);
	/* The dump shows every value and where it came from (FILE:LINE). */
	assert_string_equal(got, want);
	assert_non_null(strstr(got, "report"));
	free(want);
	free(got);
}

static void test_refused_when_a_file_is_otherwise(void **state)
{
	struct fixture *f = *state;
	struct pk_config_source s;

	s = f->src;
	s.hash[7] ^= 1; /* the content */
	assert_int_equal(decode(f, f->copy, f->len, &s, NULL), -1);
	s = f->src;
	s.st.st_size += 1;
	assert_int_equal(decode(f, f->copy, f->len, &s, NULL), -1);
	s = f->src;
	s.st.st_mode |= S_IWGRP;
	assert_int_equal(decode(f, f->copy, f->len, &s, NULL), -1);
	s = f->src;
	s.st.st_uid += 1;
	assert_int_equal(decode(f, f->copy, f->len, &s, NULL), -1);
	s = f->src;
	s.present = 0;
	assert_int_equal(decode(f, f->copy, f->len, &s, NULL), -1);
	s = f->src;
	s.optional = 1;
	assert_int_equal(decode(f, f->copy, f->len, &s, NULL), -1);
	s = f->src;
	s.path = "/etc/other.conf";
	assert_int_equal(decode(f, f->copy, f->len, &s, NULL), -1);
	/* Times and inode do not decide: the content does (a copy of the
	 * file, or one touched, parses the same). */
	s = f->src;
	s.st.st_mtim.tv_sec -= 100;
	s.st.st_ctim.tv_nsec ^= 1;
	s.st.st_ino += 1;
	assert_int_equal(decode(f, f->copy, f->len, &s, NULL), 0);
}

static void test_refused_for_another_chain_of_files(void **state)
{
	struct fixture *f = *state;
	struct pk_config_source two[2] = { f->src, f->src };
	pk_config d;

	two[0].path = "/etc/pickled.conf";
	two[0].optional = 1;
	two[0].present = 0;
	pk_config_init(&d);
	assert_int_equal(pk_config_snapshot_decode(&d, f->copy, f->len, two, 2), -1);
	pk_config_free(&d);
}

static void reseal(unsigned char *buf, size_t len)
{
	uint64_t h = XXH3_64bits(buf + 16, len - 16);

	for (int i = 0; i < 8; i++)
		buf[8 + i] = (unsigned char)(h >> (8 * i));
}

static void test_every_truncation_is_refused(void **state)
{
	struct fixture *f = *state;
	unsigned char *b = malloc(f->len);

	assert_non_null(b);
	for (size_t n = 0; n < f->len; n++) {
		memcpy(b, f->copy, n);
		if (n >= 16)
			reseal(b, n); /* past the checksum: the lengths must catch it */
		if (decode(f, b, n, &f->src, NULL) != -1)
			fail_msg("a copy cut to %zu of %zu bytes was accepted", n, f->len);
	}
	free(b);
}

static void test_damaged_bytes_are_refused_or_harmless(void **state)
{
	struct fixture *f = *state;
	unsigned char *b = malloc(f->len);

	assert_non_null(b);
	for (size_t i = 0; i < f->len; i++) {
		memcpy(b, f->copy, f->len);
		b[i] ^= 0x40;
		/* The checksum alone refuses every change. */
		if (decode(f, b, f->len, &f->src, NULL) != -1)
			fail_msg("byte %zu changed, copy accepted", i);
		/* With the checksum made to agree, decoding must still never
		 * read out of bounds (run under ASan and valgrind): a flipped
		 * length or count is refused, a flipped value may load. */
		if (i >= 16) {
			char *got = NULL;

			reseal(b, f->len);
			decode(f, b, f->len, &f->src, &got);
			free(got);
		}
		b[i] = 0xff;
		if (i >= 16) {
			char *got = NULL;

			reseal(b, f->len);
			decode(f, b, f->len, &f->src, &got);
			free(got);
		}
	}
	free(b);
}

static void test_values_from_the_environment_are_not_kept(void **state)
{
	struct fixture *f = *state;
	char *envp[] = { "PICKLED_TTL=5m", NULL };
	unsigned char *b = NULL;
	size_t n = 0;

	assert_int_equal(pk_config_read_env(&f->c, envp), 0);
	assert_int_equal(pk_config_snapshot_encode(&f->c, &f->src, 1, &b, &n), -1);
	assert_null(b);
}

static size_t count_copies(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, "config-", 7) == 0;
	closedir(d);
	return n;
}

static void test_kept_where_the_cache_is_and_read_back(void **state)
{
	struct fixture *f = *state;
	char *cache = unit_path(f->dir, "cache");
	char *envp[] = { NULL };
	char *want = dump(&f->c), *got;
	static const char edited[] = "ttl: 7h"; /* the size of "ttl: 6h" */
	pk_config d;

	/* No folder: none is created for the copy. */
	pk_config_init(&d);
	assert_int_equal(pk_config_load(&d, f->path, envp, cache), 0);
	pk_config_free(&d);
	assert_int_equal(access(cache, F_OK), -1);
	/* Kept at once, and read back the same. */
	assert_int_equal(mkdir(cache, 0700), 0);
	for (int i = 0; i < 2; i++) {
		pk_config_init(&d);
		assert_int_equal(pk_config_load(&d, f->path, envp, cache), 0);
		got = dump(&d);
		assert_string_equal(got, want);
		free(got);
		pk_config_free(&d);
		assert_int_equal(count_copies(cache), 1);
	}
	/* An edit of the same size within the same second is read at once. */
	{
		int fd = open(f->path, O_WRONLY | O_CLOEXEC);
		const char *at = strstr(rich, "ttl: 6h");

		assert_true(fd >= 0 && at != NULL);
		assert_int_equal(pwrite(fd, edited, sizeof(edited) - 1, at - rich),
		                 (ssize_t)sizeof(edited) - 1);
		close(fd);
	}
	pk_config_init(&d);
	assert_int_equal(pk_config_load(&d, f->path, envp, cache), 0);
	assert_int_equal(d.ttl_ms, 7 * 3600 * 1000);
	pk_config_free(&d);
	free(want);
	free(cache);
}

/* A copy that says something else than the file, but with the file's
 * fingerprint: loading must give the copy's values, which shows that a
 * matching copy is read instead of the file. */
static void test_a_matching_copy_is_read_instead_of_the_file(void **state)
{
	struct fixture *f = *state;
	char *cache = unit_path(f->dir, "cache"), name[64], *copy;
	char *envp[] = { NULL };
	unsigned char *b = NULL;
	size_t n = 0;
	pk_config x, d;

	assert_int_equal(mkdir(cache, 0700), 0);
	pk_config_init(&x);
	x.ttl_ms = 12345;
	assert_int_equal(pk_config_snapshot_encode(&x, &f->src, 1, &b, &n), 0);
	pk_config_free(&x);
	snprintf(name, sizeof(name), "config-%016llx.cache",
	         (unsigned long long)XXH3_64bits(f->path, strlen(f->path) + 1));
	copy = unit_path(cache, name);
	unit_write_file(copy, b, n, 0600);
	pk_config_init(&d);
	assert_int_equal(pk_config_load(&d, f->path, envp, cache), 0);
	assert_int_equal(d.ttl_ms, 12345);
	pk_config_free(&d);
	/* Once the file says otherwise, the file wins. */
	unit_write_file(f->path, "ttl: 2h\n", 8, 0600);
	pk_config_init(&d);
	assert_int_equal(pk_config_load(&d, f->path, envp, cache), 0);
	assert_int_equal(d.ttl_ms, 2 * 3600 * 1000);
	pk_config_free(&d);
	free(b);
	free(copy);
	free(cache);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reads_back_what_was_parsed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_when_a_file_is_otherwise, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_refused_for_another_chain_of_files, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_every_truncation_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_bytes_are_refused_or_harmless, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_values_from_the_environment_are_not_kept,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept_where_the_cache_is_and_read_back, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_a_matching_copy_is_read_instead_of_the_file,
		                                setup, teardown),
	};
	return cmocka_run_group_tests_name("config_snapshot", tests, NULL, NULL);
}
