/* hash_avx2.c: xxhash.h's XXH3 update inlined into this file, so that the
 * -mavx2 it is built with picks XXH3's AVX2 code.  Without the flag (another
 * architecture, the fuzz build) it is the portable code, still correct. */
#include "hash_avx2.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

void pk_hash_avx2_update(void *state, const void *buf, size_t len)
{
	/* The same header as the library's: the same state layout. */
	(void)XXH3_64bits_update((XXH3_state_t *)state, buf, len);
}
