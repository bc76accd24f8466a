/* seal.h: authenticating the entries of the remote tier with a secret
 * that all hosts of a fleet share (remote.secret_file), so that only a
 * holder of the secret can make a value that hosts replay.
 *
 * A sealed value in Redis is the entry file followed by a trailer:
 *   "PKLDMAC1"  tag_meta (32 bytes)  tag_all (32 bytes)
 * tag_all is keyed BLAKE2b-256 (libsodium crypto_generichash) over every
 * byte of the entry; tag_meta the same over its 64-byte header and its
 * metadata, so that listing can check what it shows without fetching
 * the output.  The key is the BLAKE2b-256 of the secret file's bytes. */
#ifndef PK_SEAL_H
#define PK_SEAL_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

#define PK_SEAL_KEY 32
#define PK_SEAL_TAG 32
#define PK_SEAL_TRAILER (8 + 2 * PK_SEAL_TAG)
/* The secret file: at least this many bytes (of randomness, for a key of
 * 256 bits), at most the larger. */
#define PK_SEAL_SECRET_MIN 32
#define PK_SEAL_SECRET_MAX 4096

/* Reads the secret file at path (checked as pk_trust_read_secret does)
 * into key.  Returns 0, or -1 with err set. */
int pk_seal_key_load(const char *path, unsigned char key[PK_SEAL_KEY], pk_error *err);

/* Computes the trailer for the entry of size bytes in fd.  Returns 0, or
 * -1 with err set. */
int pk_seal_trailer(int fd, uint64_t size, const unsigned char key[PK_SEAL_KEY],
                    unsigned char trailer[PK_SEAL_TRAILER], pk_error *err);

/* Checks the sealed value of size bytes in fd (entry then trailer) and
 * cuts the trailer off, leaving the entry alone in fd.  Returns 0, or -1
 * with err set (errnum 0: the value is not sealed with this key). */
int pk_seal_open(int fd, uint64_t size, const unsigned char key[PK_SEAL_KEY], pk_error *err);

/* Checks tag_meta of a trailer against an entry's header (64 bytes) and
 * metadata.  Returns 0 when they match, -1 otherwise. */
int pk_seal_check_meta(const unsigned char *header, const unsigned char *meta, size_t meta_len,
                       const unsigned char trailer[PK_SEAL_TRAILER],
                       const unsigned char key[PK_SEAL_KEY]);

#endif
