/* hash.h: XXH3 over long inputs (declared input files, stdin, entry
 * checksums) with the widest vector unit the CPU has.  Debian's
 * libxxhash.a is built for baseline x86-64 (SSE2), and libxxhash's own
 * runtime dispatch is only in the shared library: hashing a 1 GiB input
 * took twice the CPU time of xxhsum.  States are libxxhash's: reset and
 * digest them with its functions. */
#ifndef PK_HASH_H
#define PK_HASH_H

#include <stddef.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

/* XXH3_64bits_update and XXH3_128bits_update are one function (the width
 * only matters to the digest): this is both, with AVX2 when the CPU has
 * it. */
void pk_hash_update(XXH3_state_t *st, const void *buf, size_t len);

#endif
