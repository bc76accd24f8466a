/* test_quote.c: unit tests for lib/quote.c (words made safe for a terminal
 * and a shell) and the URL redaction of lib/redis_url.c. */
#include "unit.h"

#include "quote.h"
#include "redis_url.h"

#include <stdlib.h>
#include <string.h>

static void test_quote_words(void **state)
{
	static const struct {
		const char *in;
		int flags;
		const char *want;
	} cases[] = {
		{ "plain/path-1.txt", 0, "plain/path-1.txt" },
		{ "two words", 0, "'two words'" },
		{ "it's", 0, "'it'\\''s'" },
		{ "", 0, "''" },
		{ "sh", PK_QUOTE_ALWAYS, "'sh'" },
		{ "a,b", PK_QUOTE_LIST, "'a,b'" },
		{ "a,b", 0, "a,b" },
		{ "caf\xc3\xa9", 0, "'caf\xc3\xa9'" },
		{ "a\nb", 0, "$'a\\nb'" },
		{ "\x1b[2J", 0, "$'\\x1b[2J'" },
		{ "bad\xff", 0, "$'bad\\xff'" },
		{ "c1\xc2\x9b", 0, "$'c1\\u009b'" },
		{ "rlo\xe2\x80\xae", 0, "$'rlo\\u202e'" },
		{ "q'\\\x01", 0, "$'q\\'\\\\\\x01'" },
		{ "\xc0\xaf", 0, "$'\\xc0\\xaf'" }, /* overlong '/' */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pk_buf b = { 0 };
		pk_quote_word(&b, cases[i].in, cases[i].flags);
		assert_false(b.failed);
		if (strcmp((const char *)b.p, cases[i].want) != 0)
			fail_msg("case %zu: got %s, want %s", i, (const char *)b.p, cases[i].want);
		free(b.p);
	}
}

static void test_redact_never_shows_password(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "redis://:pw@host:6379/2", "redis://:***@host:6379/2" },
		{ "redis://user:pw@host", "redis://user:***@host" },
		{ "redis://pw@host", "redis://***@host" },
		{ "redis:/:pw@host", "***@host" },
		{ "redis//user:pw@host", "***@host" },
		{ "redis://user:pw", "redis://user:***" },
		{ "redis://host:6379", "redis://host:6379" },
		{ "redis+unix:///run/redis.sock?db=1", "redis+unix:///run/redis.sock?db=1" },
		{ "unix:///s?db=1&password=pw", "unix:///s?db=1&password=***" },
		{ "redis://[::1]:6379", "redis://[::1]:6379" },
		{ "redis://u:p%40ss@[::1]:6379", "redis://u:***@[::1]:6379" },
	};
	char buf[256];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pk_redis_url_redact(cases[i].in, buf, sizeof(buf));
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("%s: got %s, want %s", cases[i].in, buf, cases[i].want);
	}
}

static void test_strip_password(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "redis://:pw@host:6379/2", "redis://host:6379/2" },
		{ "redis://user:pw@host", "redis://user:@host" },
		{ "redis://user@host", "redis://user@host" },
		{ "unix:///s?db=2&password=pw", "unix:///s?db=2" },
		{ "unix:///s?password=pw&db=2", "unix:///s?db=2" },
		{ "redis://host", "redis://host" },
		{ "redis+unix:///s.sock", "redis+unix:///s.sock" },
	};
	char buf[256];
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(pk_redis_url_strip_password(cases[i].in, buf, sizeof(buf)), 0);
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("%s: got %s, want %s", cases[i].in, buf, cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote_words),
		cmocka_unit_test(test_redact_never_shows_password),
		cmocka_unit_test(test_strip_password),
	};
	return cmocka_run_group_tests_name("quote", tests, NULL, NULL);
}
