/* test_remote.c: the Redis tier against a real redis-server, found through
 * PICKLED_TEST_REDIS_URL (skipped when unset; .ci/run starts one). */
#include "unit.h"

#include "rconn.h"
#include "remote.h"
#include "units.h"

#include <pthread.h>

static const char *url(void)
{
	const char *u = getenv("PICKLED_TEST_REDIS_URL");
	return u && *u ? u : NULL;
}

/* The prefix gets this process's id in front, so that two runs of the
 * suite against one Redis database (CI's lanes) never share a key. */
static pk_remote_opts opts(const char *prefix)
{
	static char bufs[4][128];
	static unsigned next;
	char *b = bufs[next++ % 4];
	pk_remote_opts o = { 0 };

	snprintf(b, sizeof(bufs[0]), "pickled-unit:%ld:%s", (long)getpid(), prefix);
	o.url = url();
	o.timeout_ms = 1000;
	o.prefix = b;
	o.max_entry = 64u << 20;
	o.lease_ms = 3000;
	return o;
}

static void test_url_syntax(void **state)
{
	static const char *good[] = {
		"redis://localhost",
		"redis://127.0.0.1:6390",
		"redis://:secret@host:1/2",
		"redis://user:pw@host/0",
		"redis+unix:///run/redis.sock",
		"redis+unix:///s?db=3",
		"redis://[::1]:6379",
		"redis://[::1]",
		"unix:///s?db=2&password=x%26y",
		"redis://user@host",
		"redis://us%40er:p%3Aw@host",
	};
	static const char *bad[] = {
		"http://x",
		"redis://",
		"redis://host:0",
		"redis://host:70000",
		"redis://host:x",
		"redis://host/x",
		"redis+unix://relative",
		"redis+unix:///s?db=x",
		"",
		"redis://[::1",
		"redis://[]:1",
		"redis://[::1]x",
		"unix:///s?pass=x",
		"redis://u:p%zz@host",
		"redis://u:p%00@host",
	};
	pk_error err;
	(void)state;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (pk_remote_parse_check(good[i], &err) != 0)
			fail_msg("rejected %s: %s", good[i], err.msg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		if (pk_remote_parse_check(bad[i], &err) == 0)
			fail_msg("accepted %s", bad[i]);
		assert_true(err.msg[0] != '\0');
	}
}

static void test_refused_connection_fails_fast(void **state)
{
	pk_remote_opts o = opts("t1:");
	pk_error err = { 0, "" };
	(void)state;

	o.url = "redis://127.0.0.1:1";
	assert_null(pk_remote_connect(&o, &err));
	assert_true(strstr(err.msg, "remote cache") != NULL);
}

static void test_overlong_prefix_refused(void **state)
{
	char prefix[PK_REMOTE_MAX_PREFIX + 2];
	pk_remote_opts o = opts("t1:");
	pk_error err = { 0, "" };
	(void)state;

	memset(prefix, 'p', sizeof(prefix) - 1);
	prefix[sizeof(prefix) - 1] = '\0';
	o.prefix = prefix;
	o.url = "redis://127.0.0.1:1"; /* refused before connecting */
	assert_null(pk_remote_connect(&o, &err));
	assert_int_equal(err.errnum, EINVAL);
	assert_string_equal(err.msg, "remote prefix longer than 200 bytes");
}

static int tmpfile_with(const char *data, size_t len)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	int fd = dup(fileno(f));
	fclose(f);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	return fd;
}

static void test_put_get_round_trip(void **state)
{
	pk_remote_opts o = opts("rt:");
	pk_error err = { 0, "" };
	pk_key k = { { 7 } };
	pk_remote *r;
	(void)state;

	assert_non_null(r = pk_remote_connect(&o, &err));
	/* Larger than one transfer chunk, to cross the range boundaries. */
	size_t len = 9u << 20;
	char *data = malloc(len);
	assert_non_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)(i * 131 + i / 7);
	int in = tmpfile_with(data, len);
	assert_int_equal(pk_remote_put(r, &k, in, len, 60000, &err), 1);

	FILE *f = tmpfile();
	int out = dup(fileno(f));
	fclose(f);
	int64_t left = -2;
	assert_int_equal(pk_remote_get(r, &k, out, &left, &err), 1);
	/* the expiry it was given, as the server counts it */
	assert_true(left > 50000 && left <= 60000);
	char *back = malloc(len);
	assert_non_null(back);
	assert_int_equal(pread(out, back, len, 0), (ssize_t)len);
	assert_memory_equal(back, data, len);

	/* Absent, and removed. */
	pk_key other = { { 8 } };
	int out2 = dup(out);
	assert_int_equal(ftruncate(out2, 0), 0);
	assert_int_equal(pk_remote_get(r, &other, out2, &left, &err), 0);
	assert_int_equal(pk_remote_del(r, &k, &err), 0);
	assert_int_equal(pk_remote_get(r, &k, out2, &left, &err), 0);

	/* Over max_entry: skipped, not an error. */
	pk_remote_close(r);
	o.max_entry = 100;
	assert_non_null(r = pk_remote_connect(&o, &err));
	assert_int_equal(pk_remote_put(r, &k, in, len, 60000, &err), 0);
	/* Read-only: nothing written. */
	pk_remote_close(r);
	o.max_entry = 64u << 20;
	o.read_only = 1;
	assert_non_null(r = pk_remote_connect(&o, &err));
	assert_int_equal(pk_remote_put(r, &k, in, len, 60000, &err), 0);
	assert_int_equal(pk_remote_get(r, &k, out2, &left, &err), 0);
	assert_int_equal(pk_remote_lock(r, &k, &err), -1);
	pk_remote_close(r);
	close(in);
	close(out);
	close(out2);
	free(data);
	free(back);
}

static void test_lock_is_exclusive_and_released(void **state)
{
	pk_remote_opts o = opts("lock:");
	pk_error err = { 0, "" };
	pk_key k = { { 9 } };
	pk_remote *a, *b;
	(void)state;

	assert_non_null(a = pk_remote_connect(&o, &err));
	assert_non_null(b = pk_remote_connect(&o, &err));
	assert_int_equal(pk_remote_lock(a, &k, &err), 1);
	assert_int_equal(pk_remote_lock(b, &k, &err), 0);
	/* Renewed past its lease while held. */
	sleep(4);
	assert_int_equal(pk_remote_lock(b, &k, &err), 0);
	pk_remote_unlock(a, NULL);
	assert_int_equal(pk_remote_lock(b, &k, &err), 1);
	pk_remote_unlock(b, NULL);
	pk_remote_close(a);
	pk_remote_close(b);
}

struct seen {
	int n;
	char hex[33];
};

static int count_entry(void *ctx, const char *hex, const unsigned char *meta, size_t meta_len,
                       uint64_t size)
{
	struct seen *s = ctx;
	(void)meta;
	(void)meta_len;
	(void)size;
	s->n++;
	snprintf(s->hex, sizeof(s->hex), "%s", hex);
	return 0;
}

static void test_each_scans_prefix(void **state)
{
	pk_remote_opts o = opts("each:");
	pk_error err = { 0, "" };
	pk_key k = { { 0xab } };
	struct seen s = { 0, "" };
	pk_remote *r;
	(void)state;

	assert_non_null(r = pk_remote_connect(&o, &err));
	int in = tmpfile_with("not an entry", 12);
	assert_int_equal(pk_remote_put(r, &k, in, 12, 60000, &err), 1);
	assert_int_equal(pk_remote_each(r, count_entry, &s, &err), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.hex, "ab000000000000000000000000000000");
	assert_int_equal(pk_remote_del(r, &k, &err), 0);
	close(in);
	pk_remote_close(r);
}

static int count_key(void *ctx, const char *hex)
{
	struct seen *s = ctx;
	s->n++;
	snprintf(s->hex, sizeof(s->hex), "%s", hex);
	return 0;
}

static int stop_key(void *ctx, const char *hex)
{
	(void)hex;
	return *(int *)ctx;
}

/* Only the keys under the prefix given, and under the configured prefix
 * as written: its glob characters are not patterns. */
static void test_keys_match_prefixes_literally(void **state)
{
	pk_remote_opts o = opts("keys?:"), ox = opts("keysX:");
	pk_error err = { 0, "" };
	pk_key ab = { { 0xab } }, ac = { { 0xac } };
	struct seen s = { 0, "" };
	pk_remote *r, *rx;
	int in = tmpfile_with("not an entry", 12), verdict = 1;
	(void)state;

	assert_non_null(r = pk_remote_connect(&o, &err));
	assert_non_null(rx = pk_remote_connect(&ox, &err));
	assert_int_equal(pk_remote_put(r, &ab, in, 12, 60000, &err), 1);
	assert_int_equal(pk_remote_put(r, &ac, in, 12, 60000, &err), 1);
	assert_int_equal(pk_remote_put(rx, &ab, in, 12, 60000, &err), 1);
	assert_int_equal(pk_remote_keys(r, "ab", count_key, &s, &err), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.hex, "ab000000000000000000000000000000");
	s.n = 0;
	assert_int_equal(pk_remote_keys(r, "a", count_key, &s, &err), 0);
	assert_int_equal(s.n, 2);
	s.n = 0;
	assert_int_equal(pk_remote_keys(r, "", count_key, &s, &err), 0);
	assert_int_equal(s.n, 2);
	s.n = 0;
	assert_int_equal(pk_remote_keys(r, "b", count_key, &s, &err), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(pk_remote_keys(rx, "", count_key, &s, &err), 0);
	assert_int_equal(s.n, 1);
	/* A whole key: found under its own prefix only. */
	s.n = 0;
	assert_int_equal(pk_remote_keys(r, "ac000000000000000000000000000000", count_key, &s, &err),
	                 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.hex, "ac000000000000000000000000000000");
	s.n = 0;
	assert_int_equal(
		pk_remote_keys(rx, "ac000000000000000000000000000000", count_key, &s, &err), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(pk_remote_keys(r, "ad000000000000000000000000000000", count_key, &s, &err),
	                 0);
	assert_int_equal(s.n, 0);
	verdict = -1;
	assert_int_equal(
		pk_remote_keys(r, "ac000000000000000000000000000000", stop_key, &verdict, &err),
		-1);
	/* 1 stops without an error; -1 is the callback's failure. */
	verdict = 1;
	assert_int_equal(pk_remote_keys(r, "", stop_key, &verdict, &err), 0);
	verdict = -1;
	assert_int_equal(pk_remote_keys(r, "", stop_key, &verdict, &err), -1);
	assert_int_equal(pk_remote_del(r, &ab, &err), 0);
	assert_int_equal(pk_remote_del(r, &ac, &err), 0);
	assert_int_equal(pk_remote_del(rx, &ab, &err), 0);
	close(in);
	pk_remote_close(r);
	pk_remote_close(rx);
}

/* A wrong slot would go unseen against a cluster (MOVED sends every
 * command to the right node anyway, one round trip later): the values are
 * Redis's own (CLUSTER KEYSLOT), hash tags as its specification has them. */
static void test_cluster_slot(void **state)
{
	static const struct {
		const char *key, *same_as;
		unsigned slot;
	} cases[] = {
		{ "123456789", NULL, 12739 }, /* CRC16/XMODEM check value 0x31c3 */
		{ "foo", NULL, 12182 },
		{ "bar", NULL, 5061 },
		{ "somekey", NULL, 11058 },
		{ "", NULL, 0 },
		{ "{user1000}.following", "user1000", 3443 },
		{ "{user1000}.followers", "user1000", 3443 },
		{ "foo{}{bar}", "foo{}{bar}", 8363 }, /* an empty tag: the whole key */
		{ "foo{{bar}}zap", "{bar", 4015 },    /* up to the first } */
		{ "foo{bar}{zap}", "bar", 5061 },     /* the first tag only */
		{ "pickled:{0123abcd}:e", "0123abcd", 0 },
		{ "pickled:{0123abcd}:p:TOKEN:3", "0123abcd", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *k = cases[i].key, *same = cases[i].same_as;
		unsigned got = pk_rconn_slot(k, strlen(k));
		if (same != NULL)
			assert_int_equal(got, pk_rconn_slot(same, strlen(same)));
		if (cases[i].slot != 0 || k[0] == '\0')
			assert_int_equal(got, cases[i].slot);
		assert_true(got < 16384);
	}
}

int main(void)
{
	const struct CMUnitTest offline[] = {
		cmocka_unit_test(test_url_syntax),
		cmocka_unit_test(test_refused_connection_fails_fast),
		cmocka_unit_test(test_overlong_prefix_refused),
		cmocka_unit_test(test_cluster_slot),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url_syntax),
		cmocka_unit_test(test_refused_connection_fails_fast),
		cmocka_unit_test(test_overlong_prefix_refused),
		cmocka_unit_test(test_cluster_slot),
		cmocka_unit_test(test_put_get_round_trip),
		cmocka_unit_test(test_lock_is_exclusive_and_released),
		cmocka_unit_test(test_each_scans_prefix),
		cmocka_unit_test(test_keys_match_prefixes_literally),
	};
	/* cmocka's TAP output marks skips "not ok", which prove counts as
	 * failures: without a server the server tests are left out instead. */
	if (url() == NULL) {
		printf("# PICKLED_TEST_REDIS_URL not set: Redis server tests left out\n");
		return cmocka_run_group_tests_name("remote", offline, NULL, NULL);
	}
	return cmocka_run_group_tests_name("remote", tests, NULL, NULL);
}
