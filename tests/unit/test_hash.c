/* test_hash.c: unit tests for lib/hash.c: the dispatched XXH3 update gives
 * libxxhash's own hashes, whatever the lengths and the way the input is
 * cut into updates (entries and input hashes written before it must still
 * match). */
#include "unit.h"

#include "hash.h"

static void fill(unsigned char *b, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		b[i] = (unsigned char)(seed >> 56);
	}
}

static void test_same_hashes_as_libxxhash(void **state)
{
	static const size_t sizes[] = { 0,   1,   3,    16,   17,    128,     129,
		                        240, 241, 1024, 4095, 65536, 1000003, 4u << 20 };
	static const size_t cuts[] = { 1, 7, 64, 1000, 1500, 65536, 1u << 20 };
	unsigned char *b = malloc(4u << 20);
	(void)state;

	assert_non_null(b);
	fill(b, 4u << 20, 42);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];
		XXH128_hash_t want = XXH3_128bits(b, n);
		XXH64_hash_t want64 = XXH3_64bits(b, n);

		for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
			XXH3_state_t st, st64;

			XXH3_128bits_reset(&st);
			XXH3_64bits_reset(&st64);
			for (size_t off = 0; off < n; off += cuts[c]) {
				size_t len = n - off < cuts[c] ? n - off : cuts[c];
				pk_hash_update(&st, b + off, len);
				pk_hash_update(&st64, b + off, len);
			}
			XXH128_hash_t got = XXH3_128bits_digest(&st);
			if (!XXH128_isEqual(got, want))
				fail_msg("128-bit hash of %zu bytes in pieces of %zu differs", n,
				         cuts[c]);
			if (XXH3_64bits_digest(&st64) != want64)
				fail_msg("64-bit hash of %zu bytes in pieces of %zu differs", n,
				         cuts[c]);
		}
	}
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_hashes_as_libxxhash),
	};
	return cmocka_run_group_tests_name("hash", tests, NULL, NULL);
}
