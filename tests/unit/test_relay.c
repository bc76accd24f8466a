/* test_relay.c: unit tests for lib/relay.c: every byte put reaches the
 * sink once, in order, with its stream; the relay never holds more than its
 * capacity; a failed sink stops it; the sink runs with signals blocked. */
#include "unit.h"

#include "relay.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#define CAP (16 * 1024)

/* What the sink saw: every byte, tagged with its stream, in order. */
struct seen {
	unsigned char *bytes, *streams;
	size_t len, cap;
	size_t calls;
	int fail_at;         /* non-zero: fail at this call */
	int slow;            /* sleep a little in every call */
	int signals_blocked; /* SIGINT and SIGTERM blocked in every call */
};

static int sink(void *ctx, int stream, const void *buf, size_t len)
{
	struct seen *s = ctx;
	sigset_t cur;

	s->calls++;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	if (!sigismember(&cur, SIGINT) || !sigismember(&cur, SIGTERM))
		s->signals_blocked = 0;
	if (s->fail_at != 0 && s->calls == (size_t)s->fail_at)
		return 1;
	if (s->slow) {
		struct timespec d = { 0, 200 * 1000 };
		nanosleep(&d, NULL);
	}
	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2;
		s->bytes = realloc(s->bytes, s->cap);
		s->streams = realloc(s->streams, s->cap);
		assert_non_null(s->bytes);
		assert_non_null(s->streams);
	}
	memcpy(s->bytes + s->len, buf, len);
	memset(s->streams + s->len, stream, len);
	s->len += len;
	return 0;
}

/* A deterministic byte pattern, different for every offset and stream. */
static unsigned char pattern(size_t i, int stream)
{
	return (unsigned char)((i * 131 + (i >> 8) * 7 + (size_t)stream * 101) & 0xff);
}

/* Puts about total bytes in chunks of varied sizes on alternating
 * streams, recording the expected sequence. */
static void put_mixed(pk_relay *r, size_t total, unsigned char *exp, unsigned char *exp_s,
                      size_t *exp_len)
{
	static const size_t sizes[] = { 1, 5, 4096, 70000, 3, CAP, CAP + 1, 12345, 2 * CAP + 7 };
	unsigned char *chunk = malloc(3 * CAP);
	pk_error err = { 0 };
	size_t n = 0;

	assert_non_null(chunk);
	for (size_t i = 0; n < total; i++) {
		size_t len = sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
		/* Runs of one stream too, so that segments are merged. */
		int stream = (i / 3) % 2 ? 2 : 1;
		if (len > 3 * CAP)
			len = 3 * CAP;
		for (size_t k = 0; k < len; k++) {
			chunk[k] = pattern(n + k, stream);
			exp[n + k] = chunk[k];
			exp_s[n + k] = (unsigned char)stream;
		}
		assert_int_equal(pk_relay_put(r, stream, chunk, len, &err), 0);
		n += len;
	}
	*exp_len = n;
	free(chunk);
}

static void check_order(int slow)
{
	struct seen s = { .slow = slow, .signals_blocked = 1 };
	size_t total = 40 * CAP, got;
	unsigned char *exp = malloc(total + 4 * CAP), *exp_s = malloc(total + 4 * CAP);
	pk_error err = { 0 };
	pk_relay *r = pk_relay_new(CAP, sink, &s, &err);

	assert_non_null(r);
	assert_non_null(exp);
	assert_non_null(exp_s);
	put_mixed(r, total, exp, exp_s, &got);
	assert_int_equal(pk_relay_finish(r), 0);
	assert_int_equal(s.len, got);
	assert_memory_equal(s.bytes, exp, got);
	assert_memory_equal(s.streams, exp_s, got);
	assert_true(pk_relay_peak(r) <= CAP);
	/* The first chunks alone fill it: it was full at least once. */
	if (slow)
		assert_int_equal(pk_relay_peak(r), CAP);
	assert_true(s.signals_blocked);
	pk_relay_free(r);
	free(s.bytes);
	free(s.streams);
	free(exp);
	free(exp_s);
}

/* A sink slower than the puts: the relay fills, wraps around, and the
 * putter waits; nothing is lost, reordered or given the wrong stream. */
static void test_order_slow_sink(void **state)
{
	(void)state;
	check_order(1);
}

/* A sink faster than the puts: the relay is often empty and starts again
 * at the front. */
static void test_order_fast_sink(void **state)
{
	(void)state;
	check_order(0);
}

/* A sink that fails: puts fail from then on, finish says so, and the sink
 * is not called again. */
static void test_sink_failure(void **state)
{
	struct seen s = { .fail_at = 1, .signals_blocked = 1 };
	unsigned char chunk[4096] = { 0 };
	pk_error err = { 0 };
	pk_relay *r = pk_relay_new(CAP, sink, &s, &err);
	int i, rc = 0;

	(void)state;
	assert_non_null(r);
	/* The relay holds 4 chunks: within a few more, a put waits for room
	 * and is told of the failure instead. */
	for (i = 0; i < 100 && rc == 0; i++)
		rc = pk_relay_put(r, 1, chunk, sizeof(chunk), &err);
	assert_int_equal(rc, -1);
	assert_true(i <= 6);
	assert_int_equal(pk_relay_put(r, 2, chunk, 1, &err), -1);
	assert_int_equal(pk_relay_finish(r), -1);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.len, 0);
	pk_relay_free(r);
}

/* Nothing put: no thread, finish and free are fine; free alone is too. */
static void test_empty(void **state)
{
	struct seen s = { 0 };
	pk_error err = { 0 };
	pk_relay *r = pk_relay_new(CAP, sink, &s, &err);

	(void)state;
	assert_non_null(r);
	assert_int_equal(pk_relay_put(r, 1, "", 0, &err), 0);
	assert_int_equal(pk_relay_finish(r), 0);
	assert_int_equal(s.calls, 0);
	pk_relay_free(r);
	r = pk_relay_new(CAP, sink, &s, &err);
	assert_non_null(r);
	assert_int_equal(pk_relay_put(r, 1, "abc", 3, &err), 0);
	pk_relay_free(r); /* without finish: the thread is ended */
	pk_relay_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_slow_sink),
		cmocka_unit_test(test_order_fast_sink),
		cmocka_unit_test(test_sink_failure),
		cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests_name("relay", tests, NULL, NULL);
}
