/* hash_avx2.h: libxxhash's XXH3 update, compiled for AVX2 (the Makefile
 * builds hash_avx2.c alone with -mavx2 on x86-64).  Internal to hash.c,
 * which calls it only on a CPU that has AVX2. */
#ifndef PK_HASH_AVX2_H
#define PK_HASH_AVX2_H

#include <stddef.h>

/* state is an XXH3_state_t of the installed xxhash.h. */
void pk_hash_avx2_update(void *state, const void *buf, size_t len);

#endif
