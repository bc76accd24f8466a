/* test_units.c: unit tests for lib/units.c, durations and sizes as people
 * write them, parsed to exact values and printed back in short forms. */
#include "unit.h"

#include "units.h"

#include <inttypes.h>

static void test_duration_parse_units(void **state)
{
	static const struct {
		const char *s;
		int64_t ms;
	} cases[] = {
		{ "90s", 90000 },
		{ "15m", 900000 },
		{ "6h", 21600000 },
		{ "2d", 172800000 },
		{ "1w", 604800000 },
		{ "1h30m", 5400000 },
		{ "250ms", 250 },
		{ "3600", 3600000 },
		{ "0", 0 },
		{ "0s", 0 },
		{ "1w2d3h4m5s6ms", 788645006 },
		{ "forever", PK_FOREVER },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ms = -1;
		if (pk_duration_parse(cases[i].s, &ms) != 0)
			fail_msg("\"%s\" rejected", cases[i].s);
		if (ms != cases[i].ms)
			fail_msg("\"%s\" -> %" PRId64 ", want %" PRId64, cases[i].s, ms,
			         cases[i].ms);
	}
}

static void test_duration_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"abc",
		"1x",
		"-5s",
		"1.5h",
		"s",
		"99999999999999999999w",
		"9223372036854775w", /* fits as a number, overflows in ms */
		"+5s",
		" 5s",
		"5s ",
		"5 s",
		"1h 30m",
		"h1",
		"1ms1",
		"5sec",
		"forever1",
		"Forever",
		"1H",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t ms = 0;
		if (pk_duration_parse(bad[i], &ms) != -1)
			fail_msg("\"%s\" accepted as %" PRId64, bad[i], ms);
	}
}

static void test_size_parse_units(void **state)
{
	static const struct {
		const char *s;
		uint64_t bytes;
	} cases[] = {
		{ "512", 512 },         { "0", 0 },
		{ "500K", 512000 },     { "2M", 2097152 },
		{ "1.5G", 1610612736 }, { "1T", 1099511627776ULL },
		{ "1KiB", 1024 },       { "2MiB", 2097152 },
		{ "1KB", 1024 },        { "512B", 512 },
		{ "0.5K", 512 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t bytes = 1;
		if (pk_size_parse(cases[i].s, &bytes) != 0)
			fail_msg("\"%s\" rejected", cases[i].s);
		if (bytes != cases[i].bytes)
			fail_msg("\"%s\" -> %" PRIu64 ", want %" PRIu64, cases[i].s, bytes,
			         cases[i].bytes);
	}
}

static void test_size_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"",   "K",   "1.5", "-1",    "1Q", "1.5B", "1iB",
		" 1", "1 K", "1KK", "1KiBB", "+1", ".5K",  "99999999999999999999T",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t bytes = 0;
		if (pk_size_parse(bad[i], &bytes) != -1)
			fail_msg("\"%s\" accepted as %" PRIu64, bad[i], bytes);
	}
}

/* pickled(1): "a number of bytes, optionally with a decimal fraction and a
 * binary unit".  C's strtod also reads hexadecimal and exponents. */
static void test_size_parse_rejects_c_float_syntax(void **state)
{
	static const char *const bad[] = { "0x10", "1e3", "1e3K", "0x1p4" };
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t bytes = 0;
		if (pk_size_parse(bad[i], &bytes) != -1)
			fail_msg("\"%s\" accepted as %" PRIu64, bad[i], bytes);
	}
}

static void test_duration_format(void **state)
{
	static const struct {
		int64_t ms;
		const char *s;
	} cases[] = {
		{ 11520000, "3h12m" },
		{ 45000, "45s" },
		{ 187200000, "2d4h" },
		{ 604800000, "1w" },
		{ 5400000, "1h30m" },
		{ 90061000, "1d1h" }, /* two most significant units only */
		{ 1500, "1s" },
		{ 250, "250ms" },
		{ 0, "0ms" },
		{ PK_FOREVER, "forever" },
		{ PK_FOREVER - 1, "15250284452w3d" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[16];
		memset(buf, 'X', sizeof(buf));
		const char *r = pk_duration_format(cases[i].ms, buf, sizeof(buf));
		assert_ptr_equal(r, buf);
		if (strcmp(buf, cases[i].s) != 0)
			fail_msg("%" PRId64 " -> \"%s\", want \"%s\"", cases[i].ms, buf,
			         cases[i].s);
	}
}

/* The exact form, written into a configuration and read back the same. */
static void test_duration_format_exact(void **state)
{
	static const struct {
		int64_t ms;
		const char *s;
	} cases[] = {
		{ 90061000, "1d1h1m1s" }, { 1500, "1s500ms" }, { 86400000 + 5 * 60000, "1d5m" },
		{ 250, "250ms" },         { 0, "0s" },         { PK_FOREVER, "forever" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];
		int64_t back;
		pk_duration_format_exact(cases[i].ms, buf, sizeof(buf));
		if (strcmp(buf, cases[i].s) != 0)
			fail_msg("%" PRId64 " -> \"%s\", want \"%s\"", cases[i].ms, buf,
			         cases[i].s);
		assert_int_equal(pk_duration_parse(buf, &back), 0);
		assert_true(back == cases[i].ms);
	}
}

/* The exact form of a size, written into a configuration and read back. */
static void test_size_format_exact(void **state)
{
	static const struct {
		uint64_t b;
		const char *s;
	} cases[] = {
		{ 1572864, "1536K" }, { 1073741824, "1G" }, { 1536, "1536" },
		{ 3ULL << 40, "3T" }, { 0, "0" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];
		uint64_t back;
		pk_size_format_exact(cases[i].b, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].s);
		assert_int_equal(pk_size_parse(buf, &back), 0);
		assert_true(back == cases[i].b);
	}
}

static void test_size_format(void **state)
{
	/* The same figures as numfmt --to=iec and ls -h print. */
	static const struct {
		uint64_t bytes;
		const char *s;
	} cases[] = {
		{ 512, "512B" },     { 0, "0B" },      { 1023, "1023B" },
		{ 1536, "1.5K" },    { 10240, "10K" }, { 1073741824, "1.0G" },
		{ 4404019, "4.2M" }, /* 4.19999981 MiB */
		{ 10239, "10K" },    /* 9.999 KiB */
		{ 1048575, "1.0M" }, /* 1023.999 KiB */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[16];
		memset(buf, 'X', sizeof(buf));
		const char *r = pk_size_format(cases[i].bytes, buf, sizeof(buf));
		assert_ptr_equal(r, buf);
		if (strcmp(buf, cases[i].s) != 0)
			fail_msg("%" PRIu64 " -> \"%s\", want \"%s\"", cases[i].bytes, buf,
			         cases[i].s);
	}
}

static void test_size_format_fits_16_bytes(void **state)
{
	char buf[16];
	(void)state;
	pk_size_format(UINT64_MAX, buf, sizeof(buf));
	assert_string_equal(buf, "16E");
}

static void test_bool_parse(void **state)
{
	static const char *const yes[] = { "true", "yes", "on", "1", "TRUE", "Yes", "oN" };
	static const char *const no[] = { "false", "no", "off", "0", "FALSE", "No", "OFF" };
	static const char *const bad[] = { "", "2", "y", "n", "truee", " true", "enabled" };
	int v;
	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		v = -1;
		assert_int_equal(pk_bool_parse(yes[i], &v), 0);
		assert_int_equal(v, 1);
		v = -1;
		assert_int_equal(pk_bool_parse(no[i], &v), 0);
		assert_int_equal(v, 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pk_bool_parse(bad[i], &v) == 0)
			fail_msg("\"%s\" accepted", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_parse_units),
		cmocka_unit_test(test_duration_parse_rejects),
		cmocka_unit_test(test_size_parse_units),
		cmocka_unit_test(test_size_parse_rejects),
		cmocka_unit_test(test_size_parse_rejects_c_float_syntax),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_duration_format_exact),
		cmocka_unit_test(test_size_format_exact),
		cmocka_unit_test(test_size_format),
		cmocka_unit_test(test_size_format_fits_16_bytes),
		cmocka_unit_test(test_bool_parse),
	};
	return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}
