/* hash.c: XXH3 updates dispatched to AVX2 code when the CPU has it. */
#include "hash.h"

#include "hash_avx2.h"

void pk_hash_update(XXH3_state_t *st, const void *buf, size_t len)
{
#if defined(__x86_64__) && defined(__GNUC__)
	static int avx2 = -1;

	if (avx2 < 0) {
		__builtin_cpu_init();
		avx2 = __builtin_cpu_supports("avx2") != 0;
	}
	if (avx2) {
		pk_hash_avx2_update(st, buf, len);
		return;
	}
#endif
	(void)XXH3_64bits_update(st, buf, len);
}
