/* seal.c: keyed BLAKE2b over remote entries (see seal.h). */
#include "seal.h"

#include "bytes.h"
#include "entry.h"
#include "io.h"
#include "trust.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const unsigned char MAGIC[8] = { 'P', 'K', 'L', 'D', 'M', 'A', 'C', '1' };

#define READ_BUF (1024 * 1024)

int pk_seal_key_load(const char *path, unsigned char key[PK_SEAL_KEY], pk_error *err)
{
	unsigned char secret[PK_SEAL_SECRET_MAX];
	size_t len;
	int ret;

	if (sodium_init() < 0)
		return pk_error_set(err, 0, "cannot start libsodium");
	if (pk_trust_read_secret(path, secret, PK_SEAL_SECRET_MIN, sizeof(secret), &len, err) < 0)
		return -1;
	ret = crypto_generichash(key, PK_SEAL_KEY, secret, len, NULL, 0) == 0
	              ? 0
	              : pk_error_set(err, 0, "%s: cannot derive a key", path);
	sodium_memzero(secret, sizeof(secret));
	return ret;
}

/* Hashes len bytes of fd from off into st. */
static int hash_range(crypto_generichash_state *st, int fd, uint64_t off, uint64_t len,
                      unsigned char *buf, pk_error *err)
{
	while (len > 0) {
		size_t want = len > READ_BUF ? READ_BUF : (size_t)len;
		ssize_t n = pk_pread_full(fd, buf, want, (off_t)off);
		if (n < 0)
			return pk_error_set(err, errno, "cannot read entry");
		if ((size_t)n != want)
			return pk_error_set(err, 0, "entry truncated");
		crypto_generichash_update(st, buf, want);
		off += want;
		len -= want;
	}
	return 0;
}

/* Both tags of the entry of size bytes in fd. */
static int tags(int fd, uint64_t size, const unsigned char key[PK_SEAL_KEY],
                unsigned char meta_tag[PK_SEAL_TAG], unsigned char all_tag[PK_SEAL_TAG],
                pk_error *err)
{
	crypto_generichash_state st;
	unsigned char *buf = pk_io_alloc(READ_BUF);
	uint64_t meta_len;
	int ret = -1;

	if (buf == NULL)
		return pk_error_set(err, ENOMEM, "cannot seal entry");
	if (size < PK_ENTRY_HEADER) {
		pk_error_set(err, 0, "entry truncated");
		goto out;
	}
	if (pk_pread_full(fd, buf, PK_ENTRY_HEADER, 0) != PK_ENTRY_HEADER) {
		pk_error_set(err, errno, "cannot read entry");
		goto out;
	}
	meta_len = pk_get_le(buf + PK_ENTRY_AT_META_LEN, 8);
	if (meta_len > size - PK_ENTRY_HEADER) {
		pk_error_set(err, 0, "entry damaged: bad metadata length");
		goto out;
	}
	crypto_generichash_init(&st, key, PK_SEAL_KEY, PK_SEAL_TAG);
	crypto_generichash_update(&st, buf, PK_ENTRY_HEADER);
	if (hash_range(&st, fd, size - meta_len, meta_len, buf, err) < 0)
		goto out;
	crypto_generichash_final(&st, meta_tag, PK_SEAL_TAG);
	crypto_generichash_init(&st, key, PK_SEAL_KEY, PK_SEAL_TAG);
	if (hash_range(&st, fd, 0, size, buf, err) < 0)
		goto out;
	crypto_generichash_final(&st, all_tag, PK_SEAL_TAG);
	ret = 0;
out:
	pk_io_free(buf);
	return ret;
}

int pk_seal_trailer(int fd, uint64_t size, const unsigned char key[PK_SEAL_KEY],
                    unsigned char trailer[PK_SEAL_TRAILER], pk_error *err)
{
	memcpy(trailer, MAGIC, sizeof(MAGIC));
	return tags(fd, size, key, trailer + 8, trailer + 8 + PK_SEAL_TAG, err);
}

int pk_seal_open(int fd, uint64_t size, const unsigned char key[PK_SEAL_KEY], pk_error *err)
{
	unsigned char trailer[PK_SEAL_TRAILER], meta_tag[PK_SEAL_TAG], all_tag[PK_SEAL_TAG];
	pk_error e = { 0 };
	uint64_t entry;

	if (size < PK_ENTRY_HEADER + PK_SEAL_TRAILER)
		return pk_error_set(err, 0, "not sealed with the shared secret");
	entry = size - PK_SEAL_TRAILER;
	if (pk_pread_full(fd, trailer, sizeof(trailer), (off_t)entry) != (ssize_t)sizeof(trailer))
		return pk_error_set(err, errno, "cannot read remote entry");
	if (memcmp(trailer, MAGIC, sizeof(MAGIC)) != 0)
		return pk_error_set(err, 0, "not sealed with the shared secret");
	if (tags(fd, entry, key, meta_tag, all_tag, &e) < 0 ||
	    sodium_memcmp(meta_tag, trailer + 8, PK_SEAL_TAG) != 0 ||
	    sodium_memcmp(all_tag, trailer + 8 + PK_SEAL_TAG, PK_SEAL_TAG) != 0)
		return pk_error_set(err, 0, "not sealed with the shared secret");
	if (ftruncate(fd, (off_t)entry) < 0)
		return pk_error_set(err, errno, "cannot write remote entry");
	return 0;
}

int pk_seal_check_meta(const unsigned char *header, const unsigned char *meta, size_t meta_len,
                       const unsigned char trailer[PK_SEAL_TRAILER],
                       const unsigned char key[PK_SEAL_KEY])
{
	crypto_generichash_state st;
	unsigned char tag[PK_SEAL_TAG];

	if (memcmp(trailer, MAGIC, sizeof(MAGIC)) != 0)
		return -1;
	crypto_generichash_init(&st, key, PK_SEAL_KEY, PK_SEAL_TAG);
	crypto_generichash_update(&st, header, PK_ENTRY_HEADER);
	crypto_generichash_update(&st, meta, meta_len);
	crypto_generichash_final(&st, tag, PK_SEAL_TAG);
	return sodium_memcmp(tag, trailer + 8, PK_SEAL_TAG) == 0 ? 0 : -1;
}
