/* test_version.c: unit tests for lib/version.c, the library versions that
 * `pickled --version` prints. */
#include "unit.h"

#include "version.h"

#include <zstd.h>

static void test_libs_in_order(void **state)
{
	static const char *const names[] = { "zstd", "xxhash", "libyaml", "hiredis", "libsodium" };
	pk_libversion v[8];
	size_t n;

	(void)state;
	n = pk_version_libs(v, 8);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(v[i].name, names[i]);
		assert_true(v[i].built[0] != '\0');
		assert_true(v[i].running[0] != '\0');
	}
	/* zstd is always a shared library, asked at run time. */
	assert_string_equal(v[0].built, ZSTD_VERSION_STRING);
	assert_string_equal(v[0].running, ZSTD_versionString());
	assert_int_equal(v[0].is_static, 0);
}

static void test_short_array_is_not_overrun(void **state)
{
	pk_libversion v[3];

	(void)state;
	memset(v, 0x5a, sizeof(v));
	assert_int_equal(pk_version_libs(v, 1), 5);
	assert_string_equal(v[0].name, "zstd");
	/* Only the first was filled. */
	assert_int_equal(((unsigned char *)&v[1])[0], 0x5a);
	assert_int_equal(pk_version_libs(NULL, 0), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libs_in_order),
		cmocka_unit_test(test_short_array_is_not_overrun),
	};
	return cmocka_run_group_tests_name("version", tests, NULL, NULL);
}
